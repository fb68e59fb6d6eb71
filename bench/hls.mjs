// HLS video side by side with p2p-media-loader (issue 17): one stream (bench/hls/stream.mjs:
// two renditions, 2 s segments, 2 minutes), one origin that behaves like a CDN
// (bench/hls/origin.mjs: a fixed first-byte delay, one shared uplink, bytes counted), and in
// one run, for each mode of bench/hls/player.js (plain hls.js from the origin; hls.js through
// peerfetch's service worker, no player plugin, the player waiting for peerfetch or starting at
// once; hls.js with p2p-media-loader and a local bittorrent-tracker), HLS_VIEWERS viewers (5)
// one after another and then as many at once, each a headless Chromium of its own watching
// HLS_WATCH_S seconds (20; with hls.js's 30 s buffer ahead, 50 s of video loaded) and staying
// on the page. Per mode: the share of the viewers' bytes from peers, the bytes the origin
// sent, startup (navigation start to the first `playing`) and rebuffering (`waiting` events
// after that, and their time). HLS_MODES picks the modes. After peerfetch's viewers one after
// another, newcomers show what providers that left cost (bench/hls/after-leaving.mjs).
// Prints the figures and writes bench/results/hls.json (it never fails on a slow machine).
// Needs bench/hls's packages (`npm ci --prefix bench/hls --ignore-scripts --no-audit --no-fund`;
// scripts/bench.sh installs them). Run with tests/in-netns.sh node bench/hls.mjs.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { startServer, NETNS_IP, ROOT } from "../tests/harness.mjs";
import { median, round } from "./stats.mjs";
import { installedFile, installedVersion } from "./hls/install.mjs";
import { startOrigin } from "./hls/origin.mjs";
import { makeStream } from "./hls/stream.mjs";
import { runViewers, report } from "./hls/viewers.mjs";
import { newcomersAfterLeaving } from "./hls/after-leaving.mjs";
import { startTracker } from "./webtorrent/tracker.mjs";

const VIEWERS = Number(process.env.HLS_VIEWERS ?? 5);
const WATCH_S = Number(process.env.HLS_WATCH_S ?? 20);
const MODES = (process.env.HLS_MODES ?? "origin,peerfetch,peerfetch-at-once,p2pml").split(",");
const FIRST_BYTE_MS = Number(process.env.HLS_FIRST_BYTE_MS ?? 50);
const ORIGIN_MBIT = Number(process.env.HLS_ORIGIN_MBIT ?? 20);
/** After peerfetch's viewers one after another, newcomers once all but one left (after-leaving.mjs). */
const AFTER_LEAVING = process.env.HLS_AFTER_LEAVING !== "0";
const LABELS = {
  origin: "hls.js from the origin",
  peerfetch: "peerfetch (player waits for it)",
  "peerfetch-at-once": "peerfetch (player starts at once)",
  p2pml: "p2p-media-loader",
};
// Every tab here comes from one address (the namespace's): see bench/webtorrent.mjs.
const ONE_ADDRESS_MANY_TABS = ["--circuit-rate-per-ip", "100000/60s", "--reservation-rate-per-ip", "100000/60s"];

/** The phases to run (both by default). */
const PHASES = (process.env.HLS_PHASES ?? "oneAfterAnother,atOnce").split(",");

const started = Date.now();
const stream = makeStream();
const server = await startServer({ args: ONE_ADDRESS_MANY_TABS });
const origin = await startOrigin({ peerfetchUrl: server.url, firstByteMs: FIRST_BYTE_MS, bitsPerSecond: ORIGIN_MBIT * 1e6 });
const tracker = await startTracker(NETNS_IP, installedFile("bittorrent-tracker", "server.js"));
const results = {
  date: new Date().toISOString(),
  machine: `${cpus().length} cores; every viewer a headless Chromium of its own, all in one network namespace`,
  setup: {
    stream: `${stream.seconds} s, ${stream.segments} segments of ${stream.segmentSeconds} s: ${stream.renditions.map((r) => `${r.width}x${r.height} ${r.kbps} kbit/s (${round(r.bytes / 1e6, 1)} MB)`).join(", ")}; H.264 + AAC in MPEG-TS`,
    origin: `node, ${FIRST_BYTE_MS} ms before each response's first byte, ${ORIGIN_MBIT} Mbit/s shared by all responses (token bucket, 64 KiB burst)`,
    viewers: `${VIEWERS} one after another (each starts once the one before has played ${WATCH_S} s), then ${VIEWERS} at once; each watches ${WATCH_S} s, pauses and stays on the page until its phase ends`,
    versions: Object.fromEntries(["hls.js", "p2p-media-loader-core", "p2p-media-loader-hlsjs", "bittorrent-tracker"].map((n) => [n, installedVersion(n)])),
  },
  phases: {},
};

/** The swarm and provider registrations the server holds (a gauge of its metrics). */
async function registrations() {
  const text = await (await fetch(`${server.adminUrl}/metrics`)).text();
  return Number(/^peerfetch_swarm_registrations (\d+)/m.exec(text)?.[1] ?? NaN);
}

/** One mode in one phase: its viewers' reports and what the origin sent meanwhile. */
async function measure(phase, mode) {
  const swarm = `hls-${phase}-${mode}-${Date.now()}`;
  const query = new URLSearchParams({ mode, src: stream.master, swarm, tracker: tracker.url });
  const before = { ...origin.counters, byPath: new Map(origin.counters.byPath) };
  const begun = Date.now();
  let viewers = [];
  try {
    viewers = await runViewers(`${origin.url}/hls/?${query}`, { count: VIEWERS, watchSeconds: WATCH_S, atOnce: phase === "atOnce" });
    const reports = await Promise.all(viewers.map(report));
    const figures = summary(mode, reports, {
      originBytes: origin.counters.bytes - before.bytes,
      originRequests: origin.counters.requests - before.requests,
      ...segmentFetches(before.byPath, origin.counters.byPath),
      seconds: round((Date.now() - begun) / 1000, 1),
    });
    if (AFTER_LEAVING && mode === "peerfetch" && phase === "oneAfterAnother") {
      figures.newcomersAfterLeaving = await newcomersAfterLeaving(viewers, `${origin.url}/hls/?${query}`, WATCH_S, registrations);
    }
    return figures;
  } catch (error) {
    viewers = error.viewers ?? viewers;
    for (const [i, v] of viewers.entries()) console.log(`viewer ${i + 1} console:\n${v.page.consoleLog.slice(-20).join("\n")}`);
    return { label: LABELS[mode], error: error.message };
  } finally {
    await Promise.all(viewers.map((v) => v.browser.close().catch(() => {})));
  }
}

/**
 * How often the origin sent each segment it sent in a phase (requests by path `before` and
 * `after`): as many times as there are viewers when none got it from a peer.
 */
function segmentFetches(before, after) {
  const sent = [...after].filter(([path]) => path.endsWith(".ts")).map(([path, n]) => [path, n - (before.get(path) ?? 0)]).filter(([, n]) => n > 0);
  const counts = sent.map(([, n]) => n);
  const requests = counts.reduce((a, b) => a + b, 0);
  const histogram = {};
  for (const n of counts) histogram[n] = (histogram[n] ?? 0) + 1;
  return {
    originSegments: counts.length,
    originSegmentRequests: requests,
    originFetchesPerSegment: counts.length ? round(requests / counts.length) : 0,
    /** How many segments the origin sent once, twice, …; and how often it sent each, in order. */
    originSendsHistogram: histogram,
    originSendsBySegment: Object.fromEntries(sent.sort(([a], [b]) => a.localeCompare(b)).map(([path, n]) => [path.split("/").slice(-2).join("/"), n])),
  };
}

/** A mode's figures from its viewers' reports. */
function summary(mode, reports, originFigures) {
  const fromPeers = (r) => r.peerfetch?.fromPeers ?? (mode === "p2pml" ? r.p2pml.p2p : 0);
  const received = reports.reduce((sum, r) => sum + r.fragmentBytes, 0);
  const peers = reports.reduce((sum, r) => sum + fromPeers(r), 0);
  const startups = reports.map((r) => Math.round(r.startupMs));
  return {
    label: LABELS[mode],
    // Of all the bytes the viewers got (what each system counts from peers, and what the origin
    // sent: also before the worker controlled the page, and aborted or unused responses).
    offloadRatio: round(peers / (peers + originFigures.originBytes), 3),
    bytesFromPeers: peers,
    bytesThePlayersLoaded: received,
    // What the origin sent per byte the players loaded (more than 1: fetched ahead of the
    // player, or twice).
    originPerPlayerByte: round(originFigures.originBytes / received, 3),
    ...originFigures,
    startupMsMedian: Math.round(median(startups)),
    startupMs: startups,
    rebuffers: reports.reduce((sum, r) => sum + r.rebuffers.length, 0),
    stallMs: Math.round(reports.reduce((sum, r) => sum + r.stallMs, 0)),
    bufferStalledErrors: reports.reduce((sum, r) => sum + r.bufferStalledErrors, 0),
    viewers: reports.map((r) => ({
      startupMs: Math.round(r.startupMs),
      playRequestedMs: Math.round(r.playRequestedMs),
      fromPeers: fromPeers(r),
      received: r.fragmentBytes,
      rebuffers: r.rebuffers,
      fragmentsByLevel: r.fragmentsByLevel,
      fragmentMsMedian: Math.round(median(r.fragments.map((f) => f.ms))),
      unreachableProviderLines: r.unreachableProviderLines,
      errors: r.errors,
    })),
    fragments: reports.map((r) => r.fragments),
  };
}

try {
  for (const phase of PHASES) {
    results.phases[phase] = {};
    for (const mode of MODES) {
      console.log(`${phase}: ${LABELS[mode]}…`);
      results.phases[phase][mode] = await measure(phase, mode);
      printMode(phase, results.phases[phase][mode]);
    }
  }
} finally {
  results.seconds = Math.round((Date.now() - started) / 1000);
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "hls.json"), JSON.stringify(results, null, 2) + "\n");
  printTable(results);
  await tracker.close();
  await origin.close();
  await server.stop();
}

function printMode(phase, m) {
  if (m.error) return console.log(`${phase}: ${m.label}: failed: ${m.error}`);
  console.log(`${phase}: ${m.label}: ${Math.round(m.offloadRatio * 100)} % from peers, origin ${round(m.originBytes / 1e6, 1)} MB, ` +
    `each segment it sent ${m.originFetchesPerSegment}× on average, startup ${m.startupMsMedian} ms (${m.startupMs.join(", ")}), ` +
    `${m.rebuffers} rebuffers (${m.stallMs} ms), ${m.seconds} s`);
  const n = m.newcomersAfterLeaving;
  for (const [when, v] of Object.entries(n ?? {}).filter(([, v]) => v.providers)) {
    console.log(`${phase}: a newcomer after ${n.goneProviders} viewers left, ${when} (${v.providers}): segments in ${v.fragmentMsMedian} ms median, ` +
      `${v.fragmentMsMean} ms mean, startup ${v.startupMs} ms, ${v.unreachableProviderLines} "cannot reach provider" lines ` +
      `(${v.unreachableProviders} peers: ${v.unreachableErrors.join(" / ")}), ${v.rebuffers} rebuffers`);
  }
  if (n) console.log(`${phase}: the server dropped the gone viewers' records ${n.recordsGoneAfterMs ?? "more than 120000"} ms after they closed`);
}

/** The table: each mode's figures, with startup over plain hls.js and origin bytes over p2p-media-loader's. */
function printTable({ setup, phases, seconds }) {
  for (const [name, text] of Object.entries(setup)) console.log(`${name}: ${typeof text === "string" ? text : JSON.stringify(text)}`);
  console.log("| phase | mode | from peers | origin MB | origin ÷ p2p-media-loader's | origin bytes per byte played | origin sends of a segment | startup ms, median | ÷ plain hls.js | rebuffers (stall ms) |");
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const [phase, modes] of Object.entries(phases)) {
    for (const m of Object.values(modes)) {
      if (m.error) { console.log(`| ${phase} | ${m.label} | failed: ${m.error} |`); continue; }
      const plain = modes.origin?.startupMsMedian;
      const anchor = modes.p2pml?.originBytes;
      console.log(`| ${phase} | ${m.label} | ${Math.round(m.offloadRatio * 100)} % | ${round(m.originBytes / 1e6, 1)} | ${anchor ? round(m.originBytes / anchor, 2) : "–"} | ${m.originPerPlayerByte} | ${m.originFetchesPerSegment} | ` +
        `${m.startupMsMedian} | ${plain ? round(m.startupMsMedian / plain, 2) : "–"} | ${m.rebuffers} (${m.stallMs}) |`);
    }
  }
  console.log(`the whole run: ${seconds} s`);
}
