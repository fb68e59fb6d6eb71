// Interop: a js-libp2p tab (npm libp2p + @libp2p/webrtc + @libp2p/circuit-relay-v2 +
// @libp2p/websockets, bundled here with esbuild) and one of our Rust tabs connect over
// browser-to-browser /webrtc through our server, in both directions, and ping and echo.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, openTab, waitFor } from "./harness.mjs";
import { browserWithJsPeer } from "./js-libp2p/tab.mjs";

const suite = browserWithJsPeer();

test("a Rust tab dials a js-libp2p tab over /webrtc: ping and echo", async () => {
  const server = await startServer();
  try {
    const jsTab = await suite.openJsTab(server);
    const rust = await openTab(suite.browser, server.url, { swarm: "interop-rust", diagnostics: true });
    assert.equal(await rust.evaluate(() => window.joinError?.message ?? null), null, rust.consoleLog.join("\n"));
    const jsId = await jsTab.evaluate(() => window.js.id);
    await rust.evaluate((id) => peer.connect(id), jsId);
    const links = (await rust.evaluate(() => peer.connections())).filter((c) => c.peer === jsId);
    assert.deepEqual(links.map((c) => c.transport), ["webrtc"], "a direct link, the relayed one closed");
    const echoed = await rust.evaluate(async (id) => {
      const data = new Uint8Array(1024 * 1024);
      for (let i = 0; i < data.length; i++) data[i] = Math.imul(i, 2654435761) >>> 24;
      const back = await peer.echo(id, data);
      return back.length === data.length && back.every((b, i) => b === data[i]);
    }, jsId);
    assert.equal(echoed, true, "1 MiB echoed byte-exact by js-libp2p");
    await waitFor("a ping from the Rust tab to js-libp2p", () =>
      rust.evaluate((id) => window.events.some((e) => e.name === "ping" && e.detail.peer === id), jsId), 20000);
    const rtt = await jsTab.evaluate((id) => window.js.ping(id), await rust.evaluate(() => peer.id));
    assert.ok(rtt >= 0, "js-libp2p pings the Rust tab back");
  } finally {
    await server.stop();
  }
});

test("a js-libp2p tab dials a Rust tab over /webrtc: ping and echo", async () => {
  const server = await startServer();
  try {
    const rust = await openTab(suite.browser, server.url, { swarm: "interop-rust", diagnostics: true });
    assert.equal(await rust.evaluate(() => window.joinError?.message ?? null), null, rust.consoleLog.join("\n"));
    const jsTab = await suite.openJsTab(server);
    const rustId = await rust.evaluate(() => peer.id);
    const remote = await jsTab.evaluate((id) => window.js.dialWebRtc(id), rustId);
    assert.match(remote, /\/p2p-circuit\/webrtc\/p2p\//);
    const jsId = await jsTab.evaluate(() => window.js.id);
    await waitFor("the Rust tab sees an inbound webrtc link", async () =>
      (await rust.evaluate(() => peer.connections())).some((c) => c.peer === jsId && c.transport === "webrtc" && c.direction === "inbound"));
    const rtt = await jsTab.evaluate((id) => window.js.ping(id), rustId);
    assert.ok(rtt >= 0);
    const echoed = await jsTab.evaluate(async (id) => {
      const data = new Uint8Array(1024 * 1024);
      for (let i = 0; i < data.length; i++) data[i] = Math.imul(i, 2654435761) >>> 24;
      const back = await window.js.echo(id, data);
      return { length: back.length, firstDifference: back.findIndex((b, i) => b !== data[i]) };
    }, rustId);
    assert.deepEqual(echoed, { length: 1024 * 1024, firstDifference: -1 }, "1 MiB echoed byte-exact by the Rust tab");
  } finally {
    await server.stop();
  }
});
