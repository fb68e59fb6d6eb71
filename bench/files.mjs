// Benchmark of file sharing between tabs, each in a browser of its own (its own storage):
// - one-source download MB/s next to a raw RTCDataChannel between the same two tabs;
// - three capped sources against one capped source (each seeder's upload capped);
// - BLAKE3 hashing and verification MB/s in wasm (a tab) and native (this machine);
// - the downloading tab's peak memory (renderer resident set) during a large download.
// Prints the figures and writes them to bench/results/files.json. Run with scripts/bench.sh.
import { execFileSync } from "node:child_process";
import { writeFileSync, mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { startServer, launchBrowser, openTab, ROOT } from "../tests/harness.mjs";
import { rawThroughput } from "./raw-channel.mjs";
import { share, download, forget, memory } from "./sharing.mjs";
import { median } from "./stats.mjs";

const MiB = 1024 * 1024;
const BYTES = Number(process.env.BENCH_FILE_BYTES ?? 64 * MiB);
const LARGE_BYTES = Number(process.env.BENCH_LARGE_FILE_BYTES ?? 1024 * MiB);
const CAP = Number(process.env.BENCH_UPLOAD_CAP ?? 2_000_000);
const ROUNDS = 3;

const browsers = [];
async function tab(server, options) {
  const browser = await launchBrowser();
  browsers.push(browser);
  const page = await openTab(browser, server.url, options);
  page.browser = browser;
  return page;
}

/** Downloads `cid` into `page` (forgetting any earlier copy first, before the clock); returns MB/s. */
async function downloadMBps(page, cid) {
  await forget(page, cid);
  const { bytes, ms } = await download(page, cid);
  return bytes / (ms / 1000) / 1e6;
}

const server = await startServer();
try {
  const swarm = `bench-files-${Date.now()}`;
  const source = await tab(server, { swarm });
  const capped = [];
  for (let i = 0; i < 3; i++) capped.push(await tab(server, { swarm, uploadLimitBytesPerSecond: CAP }));
  const sink = await tab(server, { swarm });

  // One uncapped source against the raw channel between the same two tabs.
  const cid = await share(source, BYTES, 1);
  const oneSource = [];
  for (let round = 0; round < ROUNDS; round++) oneSource.push(await downloadMBps(sink, cid));
  const sinkId = await sink.evaluate(() => peer.id);
  await source.evaluate((id) => peer.connect(id), sinkId);
  const raw = await rawThroughput(source, sink, { size: 64 * 1024, bytes: BYTES, rounds: ROUNDS });

  // Capped sources: one alone, then three holding the same file.
  const cappedBytes = 24 * MiB;
  const alone = await share(capped[0], cappedBytes, 2);
  const oneCapped = await downloadMBps(sink, alone);
  const shared = await Promise.all(capped.map((page) => share(page, cappedBytes, 3)));
  const threeCapped = await downloadMBps(sink, shared[0]);

  // Peak memory of the downloading tab over a large download.
  const large = await share(source, LARGE_BYTES, 4);
  const rendererRss = () => memory(sink.browser).renderers;
  let peak = rendererRss();
  const sampler = setInterval(() => { peak = Math.max(peak, rendererRss()); }, 200);
  const before = rendererRss();
  const largeMBps = await downloadMBps(sink, large);
  clearInterval(sampler);
  const wasmMemory = await sink.evaluate(async () => {
    const { default: init } = await import("/pkg/peerfetch.js");
    return (await init()).memory.buffer.byteLength;
  });

  // Hashing speed, wasm and native.
  // In a tab of its own: the 256 MiB it hashes would stay in that tab's wasm memory.
  const hasher = await tab(server, { swarm: `${swarm}-hash` });
  const wasm = await hasher.evaluate(async () => {
    const { measureVerification } = await import("/pkg/peerfetch.js");
    return measureVerification(256);
  });
  const native = JSON.parse(execFileSync(join(ROOT, "target/release/examples/verify_speed"), ["256"], { encoding: "utf8" }));

  const oneSourceMBps = median(oneSource);
  const results = {
    date: new Date().toISOString(),
    machine: `${cpus().length} cores; every tab in its own headless Chromium, all in one network namespace`,
    fileBytes: BYTES,
    oneSourceDownloadMBps: +oneSourceMBps.toFixed(1),
    oneSourceDownloadRoundsMBps: oneSource.map((x) => +x.toFixed(1)),
    rawDataChannel64KiBMBps: +raw.toFixed(1),
    ratioToRaw: +(oneSourceMBps / raw).toFixed(3),
    uploadCapBytesPerSecond: CAP,
    cappedFileBytes: cappedBytes,
    oneCappedSourceMBps: +oneCapped.toFixed(2),
    threeCappedSourcesMBps: +threeCapped.toFixed(2),
    threeToOneCappedRatio: +(threeCapped / oneCapped).toFixed(2),
    wasmHashMBps: Math.round(wasm.hashMegabytesPerSecond),
    wasmVerifyMBps: Math.round(wasm.verifyMegabytesPerSecond),
    nativeHashMBps: Math.round(native.hashMegabytesPerSecond),
    nativeVerifyMBps: Math.round(native.verifyMegabytesPerSecond),
    largeFileBytes: LARGE_BYTES,
    largeDownloadMBps: +largeMBps.toFixed(1),
    sinkRendererRssBeforeMiB: Math.round(before / MiB),
    sinkRendererRssPeakMiB: Math.round(peak / MiB),
    sinkWasmMemoryMiB: Math.round(wasmMemory / MiB),
  };
  console.log(JSON.stringify(results, null, 2));
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "files.json"), JSON.stringify(results, null, 2) + "\n");
  console.log(`one source: ${results.oneSourceDownloadMBps} MB/s vs raw RTCDataChannel ${results.rawDataChannel64KiBMBps} MB/s (ratio ${results.ratioToRaw})`);
  console.log(`capped at ${CAP / 1e6} MB/s each: one source ${results.oneCappedSourceMBps} MB/s, three ${results.threeCappedSourcesMBps} MB/s (${results.threeToOneCappedRatio}x)`);
  console.log(`BLAKE3 verify: wasm ${results.wasmVerifyMBps} MB/s, native ${results.nativeVerifyMBps} MB/s`);
  console.log(`${LARGE_BYTES / MiB} MiB download at ${results.largeDownloadMBps} MB/s; downloading tab's renderer peaked at ${results.sinkRendererRssPeakMiB} MiB (${results.sinkRendererRssBeforeMiB} MiB before); its wasm memory: ${results.sinkWasmMemoryMiB} MiB`);
} finally {
  for (const browser of browsers) await browser.close();
  await server.stop();
}
