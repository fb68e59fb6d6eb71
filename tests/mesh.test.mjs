// Swarm discovery and the bounded mesh: real tabs, real server, rendezvous + /webrtc.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, joinedTab, waitFor } from "./harness.mjs";

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const neighbours = (tab) => tab.evaluate(() =>
  [...new Set(window.peer.connections().filter((c) => c.transport === "webrtc").map((c) => c.peer))]);

test("eight tabs in one swarm and two in another each reach their degree within their swarm, and heal", async () => {
  const server = await startServer();
  const degree = 4;
  try {
    const x = [];
    for (let i = 0; i < 8; i++) x.push(await joinedTab(browser, server.url, { swarm: "x", meshDegree: degree, maxDegree: 6 }));
    const y = [await joinedTab(browser, server.url, { swarm: "y", meshDegree: degree }), await joinedTab(browser, server.url, { swarm: "y", meshDegree: degree })];
    const ids = new Map();
    for (const tab of [...x, ...y]) ids.set(tab, await tab.evaluate(() => peer.id));
    const xIds = new Set(x.map((t) => ids.get(t)));

    const started = Date.now();
    await waitFor("every x tab has its degree", async () =>
      (await Promise.all(x.map(neighbours))).every((n) => n.length >= degree), 30000);
    console.log(`8 tabs reached degree ${degree} in ${Date.now() - started} ms`);
    for (const tab of x) {
      const n = await neighbours(tab);
      assert.ok(n.every((p) => xIds.has(p)), "x tabs only link to x tabs");
      assert.ok(n.length <= 6, `at most maxDegree neighbours (${n.length})`);
      // Negotiations in flight and duplicate links being closed hold peer connections for a
      // moment; once settled a page holds the server link plus at most maxDegree neighbours.
      await waitFor("peer connections settle within 1 + maxDegree", async () =>
        (await tab.evaluate(() => peer.stats())).rtcPeerConnections <= 1 + 6);
      const events = await tab.evaluate(() => window.events.filter((e) => e.name === "connection" && e.detail.transport === "webrtc").length);
      assert.ok(events >= n.length, "connection events reached the page");
    }
    await waitFor("the two y tabs find each other", async () => {
      const [a, b] = await Promise.all(y.map(neighbours));
      return a.length === 1 && b.length === 1 && a[0] === ids.get(y[1]) && b[0] === ids.get(y[0]);
    }, 30000);

    // Close three x tabs: the other five heal back to their degree (a full mesh of five). A
    // closing page closes its peer connections, which the others notice within a second (the
    // SCTP association ends), and losing a neighbour makes a full tab discover again at once:
    // healing takes a few seconds, not the ~8 s of ICE consent checks plus a discovery period.
    const closed = x.splice(0, 3);
    for (const tab of closed) await tab.close();
    const healStarted = Date.now();
    const closedIds = new Set(closed.map((t) => ids.get(t)));
    await waitFor("the remaining x tabs heal", async () =>
      (await Promise.all(x.map(neighbours))).every((n) => n.length >= degree && n.every((p) => !closedIds.has(p))), 20000)
      .catch(async (error) => {
        for (const tab of x) {
          const short = (id) => id.slice(-6);
          const lines = tab.consoleLog.filter((l) => /WARN|ERROR|mesh|dial|neighbour/i.test(l)).slice(-25);
          console.log(`tab ${short(ids.get(tab))} neighbours ${(await neighbours(tab)).map(short)}:\n${lines.join("\n")}`);
        }
        throw error;
      });
    console.log(`healed after closing 3 tabs in ${Date.now() - healStarted} ms`);
    for (const tab of x) {
      const events = await tab.evaluate(() => window.events.map((e) => e.name));
      assert.ok(events.includes("neighbour"), "neighbour events reach the page");
    }
    const lost = await Promise.all(x.map((tab) => tab.evaluate(() => window.events.filter((e) => e.name === "neighbourgone").length)));
    assert.ok(lost.some((n) => n > 0), "neighbourgone events reach the page");
  } finally {
    await server.stop();
  }
});

test("a mesh link with nothing on it stays up past the idle timeout (60 s): no neighbour is lost or dialed again", { timeout: 150000 }, async () => {
  const server = await startServer();
  try {
    const a = await joinedTab(browser, server.url, { swarm: "idle" });
    const b = await joinedTab(browser, server.url, { swarm: "idle" });
    const bId = await b.evaluate(() => peer.id);
    await waitFor("A and B are neighbours", async () => (await neighbours(a)).includes(bId), 30000);
    // The relayed connection that carried the link's signaling closes once the link is up.
    await waitFor("only the direct link left", () => a.evaluate((id) =>
      peer.connections().filter((c) => c.peer === id).every((c) => c.transport === "webrtc"), bId), 30000);
    const names = () => a.evaluate(() => window.events.map((e) => e.name).filter((n) => /neighbour|connection/.test(n)));
    const before = await names();
    await new Promise((r) => setTimeout(r, 75000));
    assert.deepEqual(await names(), before, "no link event in 75 s");
    assert.deepEqual(await neighbours(a), [bId]);
  } finally {
    await server.stop();
  }
});
