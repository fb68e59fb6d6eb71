// Several servers as one network (joined with --peer, Kademlia among them): tabs attached to
// different servers find each other, link directly over WebRTC and share files; when a server
// is killed mid-download, the download finishes over the direct link and its tabs move to
// another server, where they are found again.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, launchBrowser, openTab, waitFor, makeFile, SERVER_BIN, logged as loggedWith } from "./harness.mjs";

const MiB = 1024 * 1024;
const browsers = [];
const tabs = [];
after(async () => { for (const b of browsers) await b.close(); });
const logged = (body, cleanup) => loggedWith(tabs, body, cleanup);

async function tabOfItsOwn(server, options) {
  const browser = await launchBrowser();
  browsers.push(browser);
  const tab = await openTab(browser, server.url, options);
  tabs.push(tab);
  const error = await tab.evaluate(() => window.joinError?.message);
  assert.equal(error, undefined, `join failed: ${error}`);
  return tab;
}

const bootstrap = async (server) => (await fetch(`${server.url}/bootstrap`)).json();

/**
 * Starts servers A, B (joining A) and C (joining B), each told the network's peer ids (from
 * `peerfetch-server id`), and waits until each lists the two others.
 */
async function threeServers() {
  const keys = mkdtempSync(join(tmpdir(), "peerfetch-network-"));
  const keyFiles = ["A", "B", "C"].map((name) => join(keys, `${name}.key.json`));
  const ids = keyFiles.map((keyFile) => execFileSync(SERVER_BIN, ["--key-file", keyFile, "id"], { encoding: "utf8" }).trim());
  const servers = [];
  for (const [i, name] of ["A", "B", "C"].entries()) {
    const previous = servers.at(-1);
    const args = ids.flatMap((id) => ["--network-peer-id", id]);
    if (previous) {
      const ws = (await bootstrap(previous)).addrs.find((a) => a.includes("/ws/"));
      args.push("--peer", ws);
    }
    const server = await startServer({ args, keyFile: keyFiles[i] });
    assert.equal((await bootstrap(server)).peer_id, ids[i], "the id `peerfetch-server id` printed");
    server.name = name;
    servers.push(server);
  }
  for (const server of servers) {
    await waitFor(`${server.name} to list the other servers`,
      async () => (await bootstrap(server)).servers?.length === 2, 20000);
  }
  return servers;
}

/** Starts downloading `cid` in `tab` as `window.fetched` (a promise of its SHA-256). */
const startDownload = (tab, cid) => tab.evaluate((cid) => {
  window.progress = { bytes: 0 };
  window.fetched = peer.download(cid, { onProgress: (p) => { window.progress = p; } })
    .then(async (blob) => {
      const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
      return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    });
}, cid);

const serverOf = (tab) => tab.evaluate(() => peer.stats().server);

let running = [];
const stopAll = async () => { for (const s of running) await s.stop(); running = []; };

test("tabs on three servers find each other, link directly and share files", { timeout: 180000 }, logged(async () => {
  running = await threeServers();
  const [a, b, c] = running;
  const swarm = "fed-mesh";
  const onA = await tabOfItsOwn(a, { swarm });
  const onB = await tabOfItsOwn(b, { swarm });
  const onC = await tabOfItsOwn(c, { swarm });
  const ids = await Promise.all([onA, onB, onC].map((t) => t.evaluate(() => peer.id)));
  const servers = await Promise.all([onA, onB, onC].map(serverOf));
  assert.equal(new Set(servers).size, 3, "each tab is attached to its own server");
  // Each tab is the only one on its server: every neighbour is on another server.
  for (const [i, tab] of [onA, onB, onC].entries()) {
    await waitFor(`tab on ${running[i].name} to link to both others`, async () => {
      const direct = await tab.evaluate(() => peer.connections()
        .filter((c) => c.transport === "webrtc").map((c) => c.peer));
      return ids.filter((id, j) => j !== i).every((id) => direct.includes(id));
    }, 30000);
  }
  const sha = await makeFile(onA, 8 * MiB + 99, 3);
  const cid = await onA.evaluate(() => peer.share(window.original));
  await startDownload(onC, cid);
  assert.equal(await onC.evaluate(() => window.fetched), sha, "C's tab gets A's tab's file");
}, stopAll));

test("a server killed mid-download: the download finishes and its tabs move to another server", { timeout: 180000 }, logged(async () => {
  running = await threeServers();
  const [a, b, c] = running;
  const swarm = "fed-kill";
  const seeder = await tabOfItsOwn(a, { swarm, uploadLimitBytesPerSecond: 3 * MiB });
  const downloader = await tabOfItsOwn(b, { swarm });
  const sha = await makeFile(seeder, 24 * MiB, 11);
  const cid = await seeder.evaluate(() => peer.share(window.original));
  const bId = (await bootstrap(b)).peer_id;
  assert.equal(await serverOf(downloader), bId);
  await startDownload(downloader, cid);
  await waitFor("the download to be under way",
    () => downloader.evaluate((least) => window.progress.bytes > least, 2 * MiB), 30000);
  b.process.kill("SIGKILL");
  const killedAt = Date.now();
  const bytesAtKill = await downloader.evaluate(() => window.progress.bytes);
  assert.ok(bytesAtKill < 24 * MiB, "killed mid-download");
  assert.equal(await downloader.evaluate(() => window.fetched), sha, "the download finished intact");
  const moved = await waitFor("the downloader to move to another server, a relay slot reserved there",
    () => downloader.evaluate((lost) => {
      const stats = peer.stats();
      return stats.server !== lost && stats.relayReservation && stats.server;
    }, bId), 30000);
  const others = await Promise.all([a, c].map(async (s) => (await bootstrap(s)).peer_id));
  assert.ok(others.includes(moved), `moved to ${moved}`);
  console.log(`killed at ${(bytesAtKill / MiB).toFixed(1)} MiB; moved ${Date.now() - killedAt} ms after the kill`);
  const told = await downloader.evaluate(() => window.events.filter((e) => e.name === "server").map((e) => e.detail));
  assert.deepEqual(told, [{ server: moved, previous: bId }], "the page is told of the move");
  // Found again at its new home: a newcomer on C downloads while the original seeder is gone.
  await seeder.evaluate(() => peer.close());
  const newcomer = await tabOfItsOwn(c, { swarm });
  await startDownload(newcomer, cid);
  assert.equal(await newcomer.evaluate(() => window.fetched), sha, "the moved tab serves the file");
  running = running.filter((s) => s !== b);
}, stopAll));
