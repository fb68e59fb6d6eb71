// File sharing between tabs of different browsers (each its own profile, so its own storage):
// content addressing, verified multi-peer download, churn, a lying peer, reload and resume.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, openTab, waitFor } from "./harness.mjs";

const MiB = 1024 * 1024;
const browsers = [];
/** A tab in a browser of its own (its own Origin Private File System). */
async function tabOfItsOwn(server, options = {}) {
  const browser = await launchBrowser();
  browsers.push(browser);
  return openTab(browser, server.url, options);
}
after(async () => { for (const b of browsers) await b.close(); });

/** Makes `size` pseudo-random bytes from `seed` in the tab as `window.original`; returns its SHA-256. */
const makeFile = (tab, size, seed) => tab.evaluate(async ({ size, seed }) => {
  const bytes = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    bytes[i] = x; bytes[i + 1] = x >>> 8; bytes[i + 2] = x >>> 16; bytes[i + 3] = x >>> 24;
  }
  window.original = new File([bytes], "random.bin", { type: "application/octet-stream" });
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}, { size, seed });

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

test("a shared file downloads byte-exact in another browser; unknown content says not found", async () => {
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
    const error = await b.evaluate((cid) => peer.download(cid, { timeoutMs: 2000 }).then(() => "resolved", (e) => e.message), missing);
    assert.match(error, /not found in swarm/);
  } finally {
    await server.stop();
  }
});
