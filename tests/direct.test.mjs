// Browser-to-browser WebRTC between two real tabs, signalled through a real server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, openTab, waitFor } from "./harness.mjs";

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

/** Echoes `size` pseudo-random bytes from `tab` to `peer`; resolves to { same, ms }. */
const echo = (tab, peer, size) => tab.evaluate(async ({ peer, size }) => {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = Math.imul(i, 2654435761) >>> 24;
  const started = performance.now();
  const back = await window.peer.echo(peer, data);
  let same = back.length === data.length;
  for (let i = 0; same && i < size; i++) same = back[i] === data[i];
  return { same, ms: performance.now() - started };
}, { peer, size });

test("two tabs connect directly over /webrtc, echo 10 MiB, and keep working without the server", async () => {
  const server = await startServer();
  // Different swarms: the only link between A and B is the one this test asks for. No ICE
  // servers: on one network host candidates suffice (the server's STUN, on this network too,
  // would give each tab a server-reflexive candidate at its host address, and ICE may pick it).
  const options = { diagnostics: true, iceServers: [] };
  const a = await openTab(browser, server.url, { swarm: "direct-a", ...options });
  const b = await openTab(browser, server.url, { swarm: "direct-b", ...options });
  try {
    const [aId, bId] = [await a.evaluate(() => peer.id), await b.evaluate(() => peer.id)];
    const started = Date.now();
    await a.evaluate((id) => peer.connect(id), bId);
    console.log(`connect A -> B: ${Date.now() - started} ms`);
    // The relayed connection used for signaling is closed once the direct one is up.
    await waitFor("only direct links between A and B", async () => {
      const fromA = (await a.evaluate(() => peer.connections())).filter((c) => c.peer === bId);
      const fromB = (await b.evaluate(() => peer.connections())).filter((c) => c.peer === aId);
      return fromA.length === 1 && fromA[0].transport === "webrtc" && fromA[0].direction === "outbound"
        && fromB.length === 1 && fromB[0].transport === "webrtc" && fromB[0].direction === "inbound";
    });
    await waitFor("two peer connections in A (server + B)", async () =>
      (await a.evaluate(() => peer.stats())).rtcPeerConnections === 2);
    const paths = [(await a.evaluate(() => peer.connections())).find((c) => c.peer === bId).path,
      (await b.evaluate(() => peer.connections())).find((c) => c.peer === aId).path];
    assert.deepEqual(paths, ["host", "host"], "one network: host address to host address");
    // Connecting again reuses the link.
    await a.evaluate((id) => peer.connect(id), bId);
    assert.equal((await a.evaluate(() => peer.connections())).filter((c) => c.peer === bId).length, 1);

    const first = await echo(a, bId, 10 * 1024 * 1024);
    assert.equal(first.same, true, "10 MiB echoed byte-exact");
    console.log(`10 MiB echo with the server up: ${first.ms.toFixed(0)} ms`);

    await server.stop();
    const second = await echo(a, bId, 10 * 1024 * 1024);
    assert.equal(second.same, true, "10 MiB echoed byte-exact with the server stopped");
    console.log(`10 MiB echo with the server stopped: ${second.ms.toFixed(0)} ms`);
    const fromB = await echo(b, aId, 1024 * 1024);
    assert.equal(fromB.same, true, "the inbound side can open streams too");
  } finally {
    await server.stop();
    await a.close();
    await b.close();
  }
});

test("connecting to a peer that is not there fails clearly and leaks no peer connection", async () => {
  const server = await startServer();
  const a = await openTab(browser, server.url, { connectTimeoutMs: 3000 });
  try {
    const before = (await a.evaluate(() => peer.stats())).rtcPeerConnections;
    const absent = "12D3KooWGaYrmx4NkmbAT2PbhCbQTAQBHd2E3GU4mnbjq2w7mZJK";
    const message = await a.evaluate((id) => peer.connect(id).then(() => "connected", (e) => `${e.code}: ${e.message}`), absent);
    assert.match(message, /^ERR_CONNECT_FAILED: relayed connection to 12D3KooW\S+ failed: /);
    const bad = await a.evaluate(() => peer.connect("not-a-peer-id").then(() => "connected", (e) => `${e.code}: ${e.message}`));
    assert.match(bad, /^ERR_INVALID_ARGUMENT: invalid peer id "not-a-peer-id"/);
    assert.equal((await a.evaluate(() => peer.stats())).rtcPeerConnections, before);
    // Diagnostics are off unless the page asks: a tab joined with defaults does not echo.
    const plain = await openTab(browser, server.url, {});
    const plainId = await plain.evaluate(() => peer.id);
    await a.evaluate((id) => peer.connect(id), plainId);
    const refused = await a.evaluate((id) => peer.echo(id, new Uint8Array([1])).then(() => "echoed", (e) => e.code), plainId);
    assert.equal(refused, "ERR_CONNECT_FAILED");
    await plain.close();
  } finally {
    await server.stop();
    await a.close();
  }
});
