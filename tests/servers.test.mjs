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
import { startServer, tabOfItsOwn as ownTab, waitFor, makeFile, SERVER_BIN, logged as loggedWith } from "./harness.mjs";

const MiB = 1024 * 1024;
const browsers = [];
const tabs = [];
after(async () => { for (const b of browsers) await b.close(); });
const logged = (body, cleanup) => loggedWith(tabs, body, cleanup);

const tabOfItsOwn = (server, options) => ownTab(server, options, { browsers, tabs });

const bootstrap = async (server) => (await fetch(`${server.url}/bootstrap`)).json();

/** Key files and peer ids (from `peerfetch-server id`) for the servers `names` of one network. */
function networkKeys(names) {
  const keys = mkdtempSync(join(tmpdir(), "peerfetch-network-"));
  const keyFiles = names.map((name) => join(keys, `${name}.key.json`));
  const ids = keyFiles.map((keyFile) => execFileSync(SERVER_BIN, ["--key-file", keyFile, "id"], { encoding: "utf8" }).trim());
  return { names, keyFiles, ids };
}

/** Starts server `i` of the network `keys` (told every peer id), joining `previous` if given. */
async function startMember(keys, i, previous) {
  const args = keys.ids.flatMap((id) => ["--network-peer-id", id]);
  if (previous) {
    const ws = (await bootstrap(previous)).addrs.find((a) => a.includes("/ws/"));
    args.push("--peer", ws);
  }
  const server = await startServer({ args, keyFile: keys.keyFiles[i] });
  assert.equal((await bootstrap(server)).peer_id, keys.ids[i], "the id `peerfetch-server id` printed");
  server.name = keys.names[i];
  return server;
}

/** Starts servers A, B (joining A) and C (joining B), and waits until each lists the two others. */
async function threeServers() {
  const keys = networkKeys(["A", "B", "C"]);
  const servers = [];
  for (const i of keys.names.keys()) servers.push(await startMember(keys, i, servers.at(-1)));
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

test("a server that came up after a tab joined: the tab asks /bootstrap again and reaches that server's tabs", { timeout: 120000 }, logged(async () => {
  const keys = networkKeys(["A", "B"]);
  const a = await startMember(keys, 0);
  running = [a];
  const swarm = "fed-late";
  const early = await tabOfItsOwn(a, { swarm });
  assert.equal((await bootstrap(a)).servers?.length ?? 0, 0, "A alone when the tab joined");
  const b = await startMember(keys, 1, a);
  running.push(b);
  await waitFor("A to list B", async () => (await bootstrap(a)).servers?.length === 1, 20000);
  // The late tab dials nobody (meshDegree 0), so a link between them is the early tab's doing:
  // through B's relay, which the early tab's first bootstrap document did not list.
  const late = await tabOfItsOwn(b, { swarm, meshDegree: 0, maxDegree: 4 });
  const lateId = await late.evaluate(() => peer.id);
  const started = Date.now();
  await waitFor("the early tab to link to the late one", async () => {
    const direct = await early.evaluate(() => peer.connections().filter((c) => c.transport === "webrtc").map((c) => c.peer));
    return direct.includes(lateId);
  }, 30000);
  console.log(`reached a tab of a server that came up later in ${Date.now() - started} ms`);
  const sha = await makeFile(late, 2 * MiB + 5, 7);
  const cid = await late.evaluate(() => peer.share(window.original));
  await startDownload(early, cid);
  assert.equal(await early.evaluate(() => window.fetched), sha, "the early tab gets the late one's file");
}, stopAll));
