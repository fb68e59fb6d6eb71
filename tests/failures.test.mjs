// Browser-to-browser failures surface as distinct errors and leak no RTCPeerConnection or data
// channel. The remote ends are js-libp2p tabs set up to refuse or to stall.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, openTab, waitFor } from "./harness.mjs";
import { browserWithJsPeer } from "./js-libp2p/tab.mjs";

const suite = browserWithJsPeer();

/** Counts once the server link is steady (its ping streams open right after joining). */
const baseline = async (tab) => {
  await new Promise((r) => setTimeout(r, 2000));
  return counts(tab);
};

const counts = (tab) => tab.evaluate(() => {
  const { rtcPeerConnections, dataChannels } = window.peer.stats();
  return { rtcPeerConnections, dataChannels };
});
/** Nothing the failed attempt created is left: peer connections back to what they were, and data
 * channels not above it (the server link's own short streams come and go meanwhile). */
const nothingLeaked = (tab, before) => waitFor("no leaked peer connection or data channel", async () => {
  const now = await counts(tab);
  return now.rtcPeerConnections === before.rtcPeerConnections && now.dataChannels <= before.dataChannels;
});

const connectError = (tab, id) =>
  tab.evaluate((id) => window.peer.connect(id).then(() => "connected", (e) => `${e.code}: ${e.message}`), id);

test("a peer without /webrtc-signaling refuses: a clear error, nothing leaked", async () => {
  const server = await startServer();
  try {
    const refuser = await suite.openJsTab(server, { webrtc: false });
    const rust = await openTab(suite.browser, server.url, { swarm: "failures" });
    const before = await baseline(rust);
    const message = await connectError(rust, await refuser.evaluate(() => window.js.id));
    console.log(`refusal: ${message}`);
    assert.match(message, /^ERR_CONNECT_FAILED: direct WebRTC connection to \S+ failed: .*cannot open a signaling stream: .*does not support \/webrtc-signaling\/0\.0\.1/);
    await nothingLeaked(rust, before);
  } finally {
    await server.stop();
  }
});

test("a peer that never answers the offer times out: a clear error, nothing leaked", async () => {
  const server = await startServer();
  try {
    const staller = await suite.openJsTab(server, { webrtc: false, silentSignaling: true });
    const rust = await openTab(suite.browser, server.url, { swarm: "failures", connectTimeoutMs: 2000 });
    const before = await baseline(rust);
    const started = Date.now();
    const message = await connectError(rust, await staller.evaluate(() => window.js.id));
    console.log(`timeout: ${message}`);
    assert.match(message, /^ERR_CONNECT_FAILED: direct WebRTC connection to \S+ failed: .*signaling timed out after 2s/);
    assert.ok(Date.now() - started < 10000, "bounded by connectTimeoutMs");
    await nothingLeaked(rust, before);
  } finally {
    await server.stop();
  }
});
