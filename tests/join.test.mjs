// Real Chromium tabs joining a real peerfetch-server, asserted through the JS API.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { startServer, launchBrowser, openTab, waitFor, NETNS_IP } from "./harness.mjs";

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const stats = (page) => page.evaluate(() => window.peer.stats());
const connections = (page) => page.evaluate(() => window.peer.connections());
/** `CODE: message` of the page's join error, or null if it joined. */
const joinError = (page) =>
  page.evaluate(() => (window.joinError ? `${window.joinError.code}: ${window.joinError.message}` : null));

test("two tabs join over WebRTC-direct and hold relay reservations", async () => {
  const server = await startServer();
  try {
    const serverId = (await (await fetch(`${server.url}/bootstrap`)).json()).peer_id;
    const tabs = [await openTab(browser, server.url), await openTab(browser, server.url)];
    const ids = new Set();
    for (const tab of tabs) {
      assert.equal(await joinError(tab), null, tab.consoleLog.join("\n"));
      const id = await tab.evaluate(() => window.peer.id);
      assert.match(id, /^12D3KooW/);
      ids.add(id);
      // (The two tabs share a swarm, so their mesh may link them too; only the server link counts here.)
      const toServer = (await connections(tab)).filter((c) => c.peer === serverId);
      assert.deepEqual(toServer, [{ peer: serverId, transport: "webrtc-direct", direction: "outbound" }]);
      const s = await stats(tab);
      assert.equal(s.relayReservation, true);
      assert.equal(s.serverTransport, "webrtc-direct");
      assert.equal(s.server, serverId);
    }
    assert.equal(ids.size, 2, "each tab has its own peer id");
    // The server saw and accepted both reservations.
    await waitFor("server logs both reservations", () =>
      [...ids].every((id) => server.logs().includes(`relay reservation accepted peer_id=${id}`)));
    for (const tab of tabs) await tab.close();
  } finally {
    await server.stop();
  }
});

test("ping RTT over WebRTC-direct never stalls: p99 under 50 ms over 100 pings", async () => {
  const server = await startServer();
  try {
    const tab = await openTab(browser, server.url, { pingIntervalMs: 50 });
    assert.equal(await joinError(tab), null, tab.consoleLog.join("\n"));
    assert.equal((await stats(tab)).serverTransport, "webrtc-direct");
    await waitFor("100 pings", async () => (await stats(tab)).pings >= 100, 30000);
    const s = await stats(tab);
    console.log(`webrtc-direct ping from a tab: pings=${s.pings} p50=${s.rttP50Ms} ms p99=${s.rttP99Ms} ms max=${s.rttMaxMs} ms`);
    assert.ok(s.rttP99Ms < 50, `p99 ${s.rttP99Ms} ms`);
    assert.ok(s.rttMaxMs < 1000, `no stall: max ${s.rttMaxMs} ms`);
    assert.equal(s.pingFailures, 0);
    const pingEvents = await tab.evaluate(() => window.events.filter((e) => e.name === "ping").length);
    assert.ok(pingEvents >= 90, `ping events reach the page (${pingEvents})`);
    await tab.close();
  } finally {
    await server.stop();
  }
});

/** A TCP and a UDP port that nothing listens on (bound, then released). */
async function freePorts() {
  const tcp = await new Promise((resolve) => {
    const s = createServer().listen(0, NETNS_IP, () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
  const udp = await new Promise((resolve) => {
    const s = createSocket("udp4").bind(0, NETNS_IP, () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
  return { tcp, udp };
}

test("falls back to WebSocket when the WebRTC-direct port is closed", async () => {
  const { tcp, udp } = await freePorts();
  const ws = `/ip4/${NETNS_IP}/tcp/${tcp}/ws`;
  const server = await startServer({
    args: ["--listen", ws, "--external-address", `/ip4/${NETNS_IP}/udp/${udp}/webrtc-direct`, "--external-address", ws],
  });
  try {
    const advertised = (await (await fetch(`${server.url}/bootstrap`)).json()).addrs;
    assert.ok(advertised.some((a) => a.includes(`/udp/${udp}/webrtc-direct/certhash/`)), "closed WebRTC-direct port is advertised first");
    const started = Date.now();
    const tab = await openTab(browser, server.url, { dialTimeoutMs: 3000 });
    const elapsed = Date.now() - started;
    assert.equal(await joinError(tab), null, tab.consoleLog.join("\n"));
    const conns = await connections(tab);
    assert.equal(conns.length, 1);
    assert.equal(conns[0].transport, "websocket");
    assert.equal((await stats(tab)).relayReservation, true);
    assert.ok(elapsed < 15000, `fallback within bounded time (${elapsed} ms)`);
    await tab.close();
  } finally {
    await server.stop();
  }
});

test("join rejects with a clear error when the server is unreachable or no transport works", async () => {
  const { tcp, udp } = await freePorts();
  const server = await startServer({
    args: [
      "--listen", `/ip4/${NETNS_IP}/tcp/0/ws`,
      "--external-address", `/ip4/${NETNS_IP}/udp/${udp}/webrtc-direct`,
      "--external-address", `/ip4/${NETNS_IP}/tcp/${tcp}/ws`,
    ],
  });
  try {
    const unreachable = await openTab(browser, server.url, { server: `http://127.0.0.1:${tcp}`, stepTimeoutMs: 3000 });
    assert.match(await joinError(unreachable), /^ERR_UNREACHABLE: server unreachable: /);
    const started = Date.now();
    const stranded = await openTab(browser, server.url, { dialTimeoutMs: 2000 });
    const message = await joinError(stranded);
    assert.match(message, /^ERR_UNREACHABLE: no transport worked: webrtc-direct \(\/ip4\/.*\): .*; websocket \(\/ip4\/.*\/ws\/p2p\/.*\): /);
    assert.ok(Date.now() - started < 15000, "bounded");
    const bad = await openTab(browser, server.url, { pingIntervalMs: "often" });
    assert.match(await joinError(bad), /^ERR_INVALID_OPTIONS: invalid join options: /);
  } finally {
    await server.stop();
  }
});

test("close() ends every connection and fires close; events report connections", async () => {
  const server = await startServer();
  try {
    const tab = await openTab(browser, server.url);
    assert.equal(await joinError(tab), null);
    const cid = `${"ab".repeat(32)}-1000`;
    // A download under way when the peer closes ends with it, and one asked for later fails at once.
    await tab.evaluate((cid) => { window.waiting = peer.download(cid, { timeoutMs: 60000 }).then(() => "resolved", (e) => e.code); }, cid);
    await tab.evaluate(() => window.peer.close());
    await waitFor("close event", () => tab.evaluate(() => window.events.some((e) => e.name === "close")));
    const ended = await tab.evaluate(async (cid) => {
      const started = performance.now();
      const later = await peer.download(cid, { timeoutMs: 60000 }).then(() => "resolved", (e) => e.code);
      return { waiting: await window.waiting, later, ms: performance.now() - started };
    }, cid);
    assert.equal(ended.waiting, "ERR_CANCELLED");
    assert.equal(ended.later, "ERR_CLOSED");
    assert.ok(ended.ms < 2000, `at once: ${ended.ms} ms`);
    assert.deepEqual(await connections(tab), []);
    const s = await stats(tab);
    assert.equal(s.closed, true);
    assert.equal(s.relayReservation, false);
    await tab.close();
  } finally {
    await server.stop();
  }
});

test("the demo page shows the peer id, WebRTC-direct and a live ping RTT", async () => {
  const server = await startServer();
  try {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/`);
    await waitFor("peer id shown", async () => /^12D3KooW/.test(await page.textContent("#peer-id")));
    await waitFor("transport shown", async () => (await page.textContent("#transport")) === "webrtc-direct");
    await waitFor("rtt shown", async () => / ms \(p50 /.test(await page.textContent("#rtt")), 20000);
    assert.equal(await page.textContent("#reservation"), "accepted");
    await page.close();
  } finally {
    await server.stop();
  }
});
