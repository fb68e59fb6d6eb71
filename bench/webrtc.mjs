// Benchmark: one libp2p stream between two Rust tabs over direct /webrtc, next to a raw JS
// RTCDataChannel between the same two tabs (16 KiB and 64 KiB messages), and the time from
// dial to first byte on a fresh direct connection (median of 20). Prints the figures and writes
// them to bench/results/. Run with scripts/bench.sh (inside a private network namespace).
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, launchBrowser, openTab, ROOT } from "../tests/harness.mjs";
import { bundleJsPeer, openJsTab } from "../tests/js-libp2p/tab.mjs";
import { rawThroughput } from "./raw-channel.mjs";
import { median } from "./stats.mjs";

const BYTES = Number(process.env.BENCH_BYTES ?? 64 * 1024 * 1024);
const ROUNDS = 3;

// Twenty short-lived tabs each open a circuit to A; allow them all at once.
const server = await startServer({ args: ["--max-circuits-per-peer", "64"] });
const browser = await launchBrowser();
try {
  // A large maxDegree: the 20 short-lived tabs of the first-byte test would otherwise be
  // dropped while A still counts closed ones as neighbours.
  const options = { swarm: `bench-${Date.now()}`, meshDegree: 1, maxDegree: 64, diagnostics: true };
  const a = await openTab(browser, server.url, options);
  const b = await openTab(browser, server.url, options);
  const bId = await b.evaluate(() => peer.id);
  await a.evaluate((id) => peer.connect(id), bId);
  // Both tabs' meshes dial each other too, and `connect` can resolve on b's link while a's own
  // dial is still under way: a stream on the duplicate closed after it would break. Then one
  // unmeasured round: a link's first bulk transfer may stall for seconds, however long the link
  // has been up (docs/benchmarks.md, "A slow start on new links").
  await new Promise((r) => setTimeout(r, 4000));
  await a.evaluate(({ id, bytes }) => peer.measureThroughput(id, bytes), { id: bId, bytes: 16 * 1024 * 1024 });
  const ours = [];
  for (let round = 0; round < ROUNDS; round++) {
    ours.push((await a.evaluate(({ id, bytes }) => peer.measureThroughput(id, bytes), { id: bId, bytes: BYTES })).megabytesPerSecond);
  }
  const raw16 = await rawThroughput(a, b, { size: 16 * 1024, bytes: BYTES, rounds: ROUNDS });
  const raw64 = await rawThroughput(a, b, { size: 64 * 1024, bytes: BYTES, rounds: ROUNDS });

  const aId = await a.evaluate(() => peer.id);
  const firstByte = [];
  for (let i = 0; i < 20; i++) {
    const c = await openTab(browser, server.url, { swarm: `ttfb-${Date.now()}-${i}` });
    firstByte.push(await c.evaluate(async (id) => {
      const started = performance.now();
      await peer.connect(id);
      await peer.echo(id, new Uint8Array([1]));
      return performance.now() - started;
    }, aId));
    await c.close();
  }

  // The same measure for js-libp2p dialing the same Rust tab: dial, 1-byte echo, hang up.
  const jsTab = await openJsTab(browser, server, await bundleJsPeer());
  const jsFirstByte = [];
  for (let i = 0; i < 20; i++) {
    jsFirstByte.push(await jsTab.evaluate(async (id) => {
      const started = performance.now();
      await window.js.dialWebRtc(id);
      await window.js.echo(id, new Uint8Array([1]));
      const elapsed = performance.now() - started;
      await window.js.hangUp(id);
      return elapsed;
    }, aId));
  }

  const streamMBps = median(ours);
  const results = {
    date: new Date().toISOString(),
    bytesPerRound: BYTES,
    rounds: ROUNDS,
    libp2pStreamMBps: +streamMBps.toFixed(1),
    rawDataChannel16KiBMBps: +raw16.toFixed(1),
    rawDataChannel64KiBMBps: +raw64.toFixed(1),
    ratioTo16KiBRaw: +(streamMBps / raw16).toFixed(3),
    ratioTo64KiBRaw: +(streamMBps / raw64).toFixed(3),
    dialToFirstByteMedianMs: +median(firstByte).toFixed(1),
    dialToFirstByteMs: firstByte.map((x) => +x.toFixed(1)),
    jsLibp2pDialToFirstByteMedianMs: +median(jsFirstByte).toFixed(1),
    jsLibp2pDialToFirstByteMs: jsFirstByte.map((x) => +x.toFixed(1)),
  };
  console.log(JSON.stringify(results, null, 2));
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "webrtc.json"), JSON.stringify(results, null, 2) + "\n");
  console.log(`libp2p stream over /webrtc: ${results.libp2pStreamMBps} MB/s; raw RTCDataChannel: ${results.rawDataChannel16KiBMBps} MB/s (16 KiB), ${results.rawDataChannel64KiBMBps} MB/s (64 KiB); ratio to 16 KiB raw: ${results.ratioTo16KiBRaw}`);
  console.log(`dial to first byte: median ${results.dialToFirstByteMedianMs} ms over 20 (js-libp2p dialing the same tab: ${results.jsLibp2pDialToFirstByteMedianMs} ms)`);
} finally {
  await browser.close();
  await server.stop();
}
