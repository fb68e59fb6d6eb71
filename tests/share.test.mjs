// File sharing between tabs of different browsers (each its own profile, so its own storage):
// content addressing, verified multi-peer download, churn, a lying peer, reload and resume.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, openTab, waitFor, corruptingTab, makeFile, logged as loggedWith } from "./harness.mjs";

const MiB = 1024 * 1024;
const browsers = [];
const tabs = [];
/** A tab in a browser of its own (its own Origin Private File System). */
async function tabOfItsOwn(server, options = {}) {
  const browser = await launchBrowser();
  browsers.push(browser);
  const tab = await openTab(browser, server.url, options);
  tabs.push(tab);
  return tab;
}
after(async () => { for (const b of browsers) await b.close(); });

const logged = (body) => loggedWith(tabs, body);

/** Downloads `cid` in `tab`; resolves to { sha256, size, type, progress (last report), ms }. */
const download = (tab, cid, options = {}) => tab.evaluate(async ({ cid, options }) => {
  const reports = [];
  const started = performance.now();
  const blob = await window.peer.download(cid, { ...options, onProgress: (p) => reports.push(p) });
  const ms = performance.now() - started;
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { sha256, size: blob.size, type: blob.type, last: reports.at(-1), reports: reports.length, ms };
}, { cid, options });

test("a shared file downloads byte-exact in another browser; unknown content says not found", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  try {
    const a = await tabOfItsOwn(server, { swarm: "share-basic" });
    const b = await tabOfItsOwn(server, { swarm: "share-basic" });
    const sha = await makeFile(a, 8 * MiB + 12345, 7);
    const cid = await a.evaluate(() => peer.share(window.original));
    assert.match(cid, /^[0-9a-f]{64}-8400953$/);
    assert.equal(await a.evaluate((cid) => peer.has(cid), cid), true);
    const got = await download(b, cid);
    console.log(`8 MiB from one peer: ${got.ms.toFixed(0)} ms, ${got.reports} progress reports`);
    assert.equal(got.sha256, sha);
    assert.equal(got.size, 8 * MiB + 12345);
    assert.equal(got.last.bytes, got.size);
    assert.equal(await b.evaluate((cid) => peer.has(cid), cid), true);

    const missing = "ab".repeat(32) + "-1000";
    const error = await b.evaluate((cid) => peer.download(cid, { timeoutMs: 2000 }).then(() => "resolved", (e) => `${e.code}: ${e.message}`), missing);
    assert.match(error, /^ERR_NOT_FOUND: not found in swarm/);
  } finally {
    await server.stop();
  }
}));

/** Verified bytes `tab` received from each peer for `cid`, as { peerId: bytes }. */
const receivedFrom = (tab, cid) => tab.evaluate((cid) => Object.fromEntries(
  (peer.transfers().find((t) => t.cid === cid)?.peers ?? []).map((p) => [p.peer, p.bytesReceived])), cid);

test("64 MiB: B and C download from A; B then downloads from A and C at once", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  try {
    const a = await tabOfItsOwn(server, { swarm: "share-64" });
    const b = await tabOfItsOwn(server, { swarm: "share-64" });
    const c = await tabOfItsOwn(server, { swarm: "share-64" });
    const sha = await makeFile(a, 64 * MiB, 64);
    const cid = await a.evaluate(() => peer.share(window.original));
    const fromA = await download(c, cid);
    assert.equal(fromA.sha256, sha, "C's copy equals the original");
    console.log(`64 MiB, one source: ${fromA.ms.toFixed(0)} ms (${(64 * MiB / fromA.ms / 1000).toFixed(1)} MB/s)`);
    const both = await download(b, cid);
    assert.equal(both.sha256, sha, "B's copy equals the original");
    console.log(`64 MiB, two sources: ${both.ms.toFixed(0)} ms (${(64 * MiB / both.ms / 1000).toFixed(1)} MB/s)`);
    const [aId, cId] = [await a.evaluate(() => peer.id), await c.evaluate(() => peer.id)];
    const sources = await receivedFrom(b, cid);
    console.log(`B received: from A ${sources[aId]} bytes, from C ${sources[cId]} bytes`);
    assert.ok(sources[aId] > 4 * MiB && sources[cId] > 4 * MiB, "both A and C served B");
    assert.equal(sources[aId] + sources[cId], 64 * MiB, "every byte came from one of them, once");
  } finally {
    await server.stop();
  }
}));

test("the first source closes mid-transfer: the download finishes from the other", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  try {
    // Capped uploads keep the transfer long enough to close A in the middle of it.
    const capped = { swarm: "share-churn", uploadLimitBytesPerSecond: 3_000_000 };
    const a = await tabOfItsOwn(server, capped);
    const c = await tabOfItsOwn(server, capped);
    const b = await tabOfItsOwn(server, { swarm: "share-churn" });
    const sha = await makeFile(a, 24 * MiB, 24);
    assert.equal(await makeFile(c, 24 * MiB, 24), sha);
    const cid = await a.evaluate(() => peer.share(window.original));
    assert.equal(await c.evaluate(() => peer.share(window.original)), cid);
    const aId = await a.evaluate(() => peer.id);
    const result = download(b, cid);
    await waitFor("A serving B", async () => ((await receivedFrom(b, cid))[aId] ?? 0) > 2 * MiB, 30000);
    await a.close();
    const got = await result;
    assert.equal(got.sha256, sha, "finished byte-exact without A");
    const sources = await receivedFrom(b, cid);
    console.log(`after A closed: ${JSON.stringify(sources)}`);
  } finally {
    await server.stop();
  }
}));

test("reloading mid-download resumes from the stored pieces", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  try {
    const a = await tabOfItsOwn(server, { swarm: "share-resume", uploadLimitBytesPerSecond: 4_000_000 });
    const b = await tabOfItsOwn(server, { swarm: "share-resume" });
    const sha = await makeFile(a, 32 * MiB, 32);
    const cid = await a.evaluate(() => peer.share(window.original));
    b.evaluate((cid) => { window.first = peer.download(cid).catch((e) => e.message); }, cid);
    await waitFor("a third downloaded", async () =>
      (await b.evaluate((cid) => peer.transfers().find((t) => t.cid === cid)?.bytes ?? 0, cid)) > 10 * MiB, 30000);
    await b.reload();
    await b.evaluate(async () => {
      const { default: init, Peer } = await import("/pkg/peerfetch.js");
      await init();
      window.peer = await Peer.join({ swarm: "share-resume" });
    });
    const stored = await b.evaluate((cid) => peer.storage().usedBytes, cid);
    assert.ok(stored >= 10 * MiB, `pieces survived the reload (${stored} bytes stored)`);
    const got = await download(b, cid);
    assert.equal(got.sha256, sha, "resumed download is byte-exact");
    const fetched = Object.values(await receivedFrom(b, cid)).reduce((x, y) => x + y, 0);
    console.log(`stored before resuming: ${stored} bytes; fetched after: ${fetched} bytes`);
    assert.ok(fetched <= 32 * MiB - stored + 2 * MiB, "stored pieces were not fetched again");
  } finally {
    await server.stop();
  }
}));

test("a tab announces only what its page uses: a file stored on an earlier visit is served again once the page asks for it", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  try {
    const a = await tabOfItsOwn(server, { swarm: "share-history" });
    const sha = await makeFile(a, 3 * MiB, 41);
    const cid = await a.evaluate(() => peer.share(window.original));
    // A later visit: the file is still in the store, but the page has not asked for it.
    await a.reload();
    await a.evaluate(async () => {
      const { default: init, Peer } = await import("/pkg/peerfetch.js");
      await init();
      window.peer = await Peer.join({ swarm: "share-history" });
    });
    assert.equal(await a.evaluate((cid) => peer.has(cid), cid), true, "still stored");
    const b = await tabOfItsOwn(server, { swarm: "share-history" });
    const unannounced = await b.evaluate((cid) => peer.download(cid, { timeoutMs: 4000 }).then(() => "found", (e) => e.code), cid);
    assert.equal(unannounced, "ERR_NOT_FOUND", "a stored file is not announced on its own");
    // The page asks for it: it comes from the store at once, and is served again.
    const local = await download(a, cid);
    assert.equal(local.sha256, sha);
    const got = await download(b, cid);
    assert.equal(got.sha256, sha, "served again once the page used it");
  } finally {
    await server.stop();
  }
}));

test("a tab serving corrupted pieces is detected and banned; the download is still correct", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  const { tab: liar, browser: liarBrowser, origin: liarOrigin } = await corruptingTab(server, { swarm: "share-liar" });
  browsers.push(liarBrowser);
  tabs.push(liar);
  try {
    const a = await tabOfItsOwn(server, { swarm: "share-liar", uploadLimitBytesPerSecond: 4_000_000 });
    const b = await tabOfItsOwn(server, { swarm: "share-liar" });
    const sha = await makeFile(a, 16 * MiB, 16);
    assert.equal(await makeFile(liar, 16 * MiB, 16), sha);
    const cid = await a.evaluate(() => peer.share(window.original));
    assert.equal(await liar.evaluate(() => peer.share(window.original)), cid);
    const got = await download(b, cid);
    assert.equal(got.sha256, sha, "only verified bytes were kept");
    const liarId = await liar.evaluate(() => peer.id);
    const transfer = await b.evaluate((cid) => peer.transfers().find((t) => t.cid === cid), cid);
    assert.deepEqual(transfer.banned, [liarId], "the liar is banned");
    assert.equal(transfer.peers.find((p) => p.peer === liarId)?.bytesReceived ?? 0, 0, "nothing from the liar was kept");
  } finally {
    await liarOrigin.stop();
    await server.stop();
  }
}));

test("a full store and an aborted download fail with errors that say so", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  try {
    const a = await tabOfItsOwn(server, { swarm: "share-errors", uploadLimitBytesPerSecond: 2_000_000 });
    const small = await tabOfItsOwn(server, { swarm: "share-errors", storageQuotaBytes: 3 * MiB });
    await makeFile(a, 8 * MiB, 8);
    const cid = await a.evaluate(() => peer.share(window.original));
    const full = await small.evaluate((cid) => peer.download(cid).then(() => "resolved", (e) => `${e.code}: ${e.message}`), cid);
    assert.match(full, /^ERR_QUOTA_FULL: storage quota full: /);
    const storage = await small.evaluate(() => peer.storage());
    assert.ok(storage.usedBytes <= 3 * MiB, `quota held: ${JSON.stringify(storage)}`);

    const b = await tabOfItsOwn(server, { swarm: "share-errors" });
    const aborted = await b.evaluate(async (cid) => {
      const controller = new AbortController();
      const result = peer.download(cid, { signal: controller.signal }).then(() => "resolved", (e) => `${e.code}: ${e.message}`);
      setTimeout(() => controller.abort(), 500);
      return result;
    }, cid);
    assert.match(aborted, /^ERR_CANCELLED: cancelled: /);
    const transfer = await b.evaluate((cid) => peer.transfers().find((t) => t.cid === cid), cid);
    assert.equal(transfer.downloading, false, "the aborted download stopped");
    assert.equal(await b.evaluate((cid) => peer.has(cid), cid), false);
    // Two callers wait for one download: the one that aborts leaves, the other gets the file.
    const both = await b.evaluate(async (cid) => {
      const controller = new AbortController();
      const settled = (p) => p.then((blob) => `resolved ${blob.size}`, (e) => e.code);
      const leaving = settled(peer.download(cid, { signal: controller.signal }));
      const staying = settled(peer.download(cid));
      setTimeout(() => controller.abort(), 500);
      return [await leaving, await staying];
    }, cid);
    assert.deepEqual(both, ["ERR_CANCELLED", `resolved ${8 * MiB}`]);
    const bad = await b.evaluate(() => peer.download("not-a-cid").then(() => "resolved", (e) => `${e.code}: ${e.message}`));
    assert.match(bad, /^ERR_INVALID_ARGUMENT: invalid content id: /);
  } finally {
    await server.stop();
  }
}));
