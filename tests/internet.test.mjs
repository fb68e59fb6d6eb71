// Tabs in homes behind NAT routers on the simulated internet (tests/simulated-internet.sh), the
// server on the public network: what users on the real internet get with default options.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, startTurn, launchBrowser, newLoggedPage, joinedTab, waitFor, shareAndDownload, logged as loggedWith, PUBLIC_IP } from "./harness.mjs";

const MiB = 1024 * 1024;
const browsers = [];
const tabs = [];
after(async () => { for (const b of browsers) await b.close(); });
const logged = (body) => loggedWith(tabs, body);

/** A server on the public network. */
const publicServer = (args = []) => startServer({
  http: `${PUBLIC_IP}:0`,
  args: ["--listen", `/ip4/${PUBLIC_IP}/udp/0/webrtc-direct`, "--listen", `/ip4/${PUBLIC_IP}/tcp/0/ws`, ...args],
});

/** A tab in a browser running in `home`, joined with `options`. */
async function tabIn(home, server, options) {
  const browser = await launchBrowser({ home, secureOrigin: server.url });
  browsers.push(browser);
  const tab = await joinedTab(browser, server.url, options);
  tabs.push(tab);
  return tab;
}

/** Shares a file of `size` bytes from `a`; `b` downloads it. Resolves to B's links to A. */
async function shareBetween(a, b, size) {
  console.log(`${size} bytes shared: ${await shareAndDownload(a, b, size, 11)} ms`);
  const aId = await a.evaluate(() => peer.id);
  const links = (await b.evaluate(() => peer.connections())).filter((c) => c.peer === aId);
  console.log(`B's links to A: ${JSON.stringify(links)}`);
  return links;
}

test("two homes behind NATs, default options: a direct link through the server's STUN, a file shared byte-exact", { timeout: 120000 }, logged(async () => {
  const server = await publicServer();
  try {
    const a = await tabIn("cone1", server, { swarm: "nat-share" });
    const b = await tabIn("cone2", server, { swarm: "nat-share" });
    const links = await shareBetween(a, b, 4 * MiB + 321);
    assert.ok(links.some((c) => c.transport === "webrtc" && c.path === "stun"), "a direct WebRTC link through the NATs' public addresses");
  } finally {
    await server.stop();
  }
}));

test("without ICE servers (iceServers: []) the homes cannot link: connect fails saying why", { timeout: 120000 }, logged(async () => {
  const server = await publicServer();
  try {
    const a = await tabIn("cone1", server, { swarm: "nat-none-a", iceServers: [], connectTimeoutMs: 5000 });
    const b = await tabIn("cone2", server, { swarm: "nat-none-b", iceServers: [], connectTimeoutMs: 5000 });
    const bId = await b.evaluate(() => peer.id);
    const started = Date.now();
    const error = await a.evaluate((id) => peer.connect(id).then(() => "linked", (e) => `${e.code}: ${e.message}`), bId);
    console.log(`connect without ICE servers: ${Date.now() - started} ms: ${error}`);
    assert.match(error, /^ERR_CONNECT_FAILED: .*no direct path to the peer \(ICE checks unfinished after 5s\): candidates here: host; there: host\. A side without a srflx candidate had no STUN server/);
    assert.ok(Date.now() - started < 10000, "bounded by connectTimeoutMs");
  } finally {
    await server.stop();
  }
}));

test("symmetric NATs with coturn: the server mints TURN credentials per tab, the link goes through TURN, a file is shared", { timeout: 120000 }, logged(async () => {
  const turn = await startTurn();
  const server = await publicServer(["--turn-url", turn.url, "--turn-secret-file", turn.secretFile]);
  try {
    const a = await tabIn("sym1", server, { swarm: "nat-turn" });
    const b = await tabIn("sym2", server, { swarm: "nat-turn" });
    for (const tab of [a, b]) {
      // Peer.join waits for the server's offer, so the first links already have TURN.
      assert.ok(tab.consoleLog.some((l) => /ICE servers offered: .*turn:/.test(l)), "the server's TURN in the tab when Peer.join resolved");
    }
    const links = await shareBetween(a, b, 2 * MiB + 7);
    assert.ok(links.some((c) => c.transport === "webrtc" && c.path === "turn"), "a direct WebRTC link through the TURN relay");
    const aId = await a.evaluate(() => peer.id);
    assert.match(turn.logs(), new RegExp(`user <\\d+:${aId}>`), "coturn saw A's minted user name");
  } catch (error) {
    console.log(`coturn:\n${turn.logs().split("\n").slice(-30).join("\n")}`);
    throw error;
  } finally {
    await server.stop();
    await turn.stop();
  }
}));

test("symmetric NATs without TURN: connect says a TURN server is needed, and the demo site loads from the origin", { timeout: 120000 }, logged(async () => {
  const server = await publicServer();
  try {
    const a = await tabIn("sym1", server, { swarm: "nat-sym-a", connectTimeoutMs: 5000 });
    const b = await tabIn("sym2", server, { swarm: "nat-sym-b", connectTimeoutMs: 5000 });
    const bId = await b.evaluate(() => peer.id);
    const error = await a.evaluate((id) => peer.connect(id).then(() => "linked", (e) => `${e.code}: ${e.message}`), bId);
    console.log(`connect between symmetric NATs: ${error}`);
    assert.match(error, /^ERR_CONNECT_FAILED: .*no direct path to the peer .*candidates here: host, srflx; there: host, srflx\. Both public addresses were tried: behind symmetric NATs only a TURN server joins the peers/);

    // Two visitors of the demo site, one per home: the second cannot reach the first, and loads
    // every asset from the origin, verified, without waiting long on peers.
    const loads = [];
    for (const home of ["sym1", "sym2"]) {
      const browser = await launchBrowser({ home, secureOrigin: server.url });
      browsers.push(browser);
      const page = await newLoggedPage(browser.context);
      tabs.push(page);
      await page.goto(`${server.url}/cdn/`);
      const load = await waitFor(`the demo site to load in ${home}`, () => page.evaluate(() => window.siteLoad), 60000);
      const offload = await page.evaluate(() => window.peerfetch.stats().offload);
      console.log(`${home}: ${JSON.stringify(load)}; ${offload.fromPeers} bytes from peers, ${offload.fromOrigin} from the origin`);
      assert.ok(load.ok && load.peerfetch, `the site loaded with peerfetch in ${home}`);
      loads.push(offload);
    }
    assert.equal(loads[1].fromPeers, 0, "nothing came from the unreachable peer");
    assert.ok(loads[1].fromOrigin > 0, "the origin served the second visitor");
  } finally {
    await server.stop();
  }
}));
