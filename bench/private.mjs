// What sealing costs: the same file shared plain and sealed (`encrypt: true`) between two tabs in
// browsers of their own, in the same run, with the raw RTCDataChannel between them as the floor:
// - sharing (hashing and storing; sealed, the file is encrypted twice) in MB/s;
// - one-source download MB/s, plain and sealed (sealed includes opening it with the key);
// - WebCrypto AES-256-GCM sealing and opening rate in one tab, 1 MiB blocks.
// Prints the figures and writes bench/results/private.json. Run with scripts/bench.sh.
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, launchBrowser, openTab, ROOT } from "../tests/harness.mjs";
import { rawThroughput } from "./raw-channel.mjs";
import { median } from "./stats.mjs";

const MiB = 1024 * 1024;
const BYTES = Number(process.env.BENCH_FILE_BYTES ?? 64 * MiB);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const range = (xs) => [Math.min(...xs), Math.max(...xs)].map((x) => Number(x.toFixed(1)));

const browsers = [];
async function tab(server, options) {
  const browser = await launchBrowser();
  browsers.push(browser);
  return openTab(browser, server.url, options);
}

/** Makes `bytes` pseudo-random bytes as `window.file` in `page`. */
const makeFile = (page, bytes) => page.evaluate((bytes) => {
  const data = new Uint8Array(bytes);
  for (let at = 0; at < bytes; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
  window.file = new File([data], "bench.bin");
}, bytes);

/** Shares `window.file` (sealed when `encrypt`); returns `{ cid, key, mbps }`. */
const share = (page, encrypt) => page.evaluate(async (encrypt) => {
  const started = performance.now();
  const shared = await peer.share(window.file, { encrypt });
  const mbps = window.file.size / ((performance.now() - started) / 1000) / 1e6;
  return typeof shared === "string" ? { cid: shared, mbps } : { ...shared, mbps };
}, encrypt);

/** Downloads `cid` (opening it with `key`, if any) after forgetting any copy; returns MB/s of the file. */
const download = (page, cid, key) => page.evaluate(async ({ cid, key }) => {
  await peer.remove(cid);
  await new Promise((r) => setTimeout(r, 300));
  const started = performance.now();
  const file = await peer.download(cid, key ? { key } : {});
  await file.slice(0, 1).arrayBuffer();
  return file.size / ((performance.now() - started) / 1000) / 1e6;
}, { cid, key });

/** WebCrypto AES-256-GCM on `mib` 1 MiB blocks in `page`: `{ sealMBps, openMBps }`. */
const cipherRate = (page, mib) => page.evaluate(async (mib) => {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  const block = crypto.getRandomValues(new Uint8Array(65536));
  const plain = new Uint8Array(1024 * 1024);
  for (let at = 0; at < plain.length; at += block.length) plain.set(block, at);
  const iv = (i) => { const v = new Uint8Array(12); new DataView(v.buffer).setUint32(8, i); return v; };
  let started = performance.now();
  const sealed = [];
  for (let i = 0; i < mib; i++) sealed.push(await crypto.subtle.encrypt({ name: "AES-GCM", iv: iv(i) }, key, plain));
  const sealMBps = mib * 1.048576 / ((performance.now() - started) / 1000);
  started = performance.now();
  for (let i = 0; i < mib; i++) await crypto.subtle.decrypt({ name: "AES-GCM", iv: iv(i) }, key, sealed[i]);
  const openMBps = mib * 1.048576 / ((performance.now() - started) / 1000);
  return { sealMBps, openMBps };
}, mib);

const server = await startServer();
try {
  const swarm = `bench-private-${Date.now()}`;
  const source = await tab(server, { swarm });
  const sink = await tab(server, { swarm });
  await makeFile(source, BYTES);
  const plain = await share(source, false);
  const sealed = await share(source, true);
  const rounds = { plain: [], sealed: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating, so a slower moment of the machine does not land on one side only.
    const order = round % 2 ? ["sealed", "plain"] : ["plain", "sealed"];
    for (const kind of order) {
      const { cid, key } = kind === "plain" ? plain : sealed;
      rounds[kind].push(await download(sink, cid, key));
    }
  }
  const raw = await rawThroughput(source, sink, { size: 64 * 1024, bytes: BYTES, rounds: 3 });
  const cipher = await cipherRate(source, 256);
  const results = {
    fileBytes: BYTES,
    rounds: ROUNDS,
    shareMBps: { plain: plain.mbps, sealed: sealed.mbps },
    downloadMBps: {
      plain: { median: median(rounds.plain), range: range(rounds.plain) },
      sealed: { median: median(rounds.sealed), range: range(rounds.sealed) },
    },
    sealedCostPercent: 100 * (1 - median(rounds.sealed) / median(rounds.plain)),
    rawChannelMBps: raw,
    webCrypto: cipher,
    cores: (await import("node:os")).cpus().length,
  };
  const f = (x) => x.toFixed(1);
  console.log(`${BYTES / MiB} MiB, ${ROUNDS} rounds each, alternating; raw RTCDataChannel between the same tabs ${f(raw)} MB/s`);
  console.log(`one-source download: plain ${f(median(rounds.plain))} MB/s (${range(rounds.plain).join("–")}), sealed ${f(median(rounds.sealed))} MB/s (${range(rounds.sealed).join("–")}): sealing costs ${f(results.sealedCostPercent)}%`);
  console.log(`share (hash + store): plain ${f(plain.mbps)} MB/s, sealed ${f(sealed.mbps)} MB/s`);
  console.log(`WebCrypto AES-256-GCM, 1 MiB blocks: seal ${f(cipher.sealMBps)} MB/s, open ${f(cipher.openMBps)} MB/s`);
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(join(ROOT, "bench/results/private.json"), `${JSON.stringify(results, null, 2)}\n`);
} finally {
  for (const b of browsers) await b.close();
  await server.stop();
}
