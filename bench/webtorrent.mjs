// Side by side with WebTorrent (issue 17): in one run, the same Chromiums and the same random
// bytes, each scenario with peerfetch and with WebTorrent's browser bundle twice, at its default
// piece length and at peerfetch's 1 MiB (bench/webtorrent/: its tracker, page and client):
//   (a) one source → one downloader (WT_SIZE_MB, 64 MiB);
//   (b) three sources → one downloader (the same size);
//   (c) one seed → four downloaders at once, the time until all four have the file (WebTorrent
//       with its `rarest` piece selection; WT_C_STRATEGY=sequential for its default);
//   (d) one source → one downloader, WT_BIG_MB (1 GiB), sampling the downloading browser's
//       memory (WebTorrent only at 1 MiB pieces, its default for that size).
// Every browser (three seeders, four downloaders) has one tab of each system. Rounds
// (WT_ROUNDS, 5; WT_BIG_ROUNDS, 1, for (d)) rotate which system goes first; a round whose copy
// differs from the source fails. After (a), a raw RTCDataChannel between the same two browsers
// shows this machine's ceiling. WT_SCENARIOS (abcd) picks the scenarios to run.
// bench/side-by-side.mjs says what is timed; each system's median round of (a)-(c) keeps its
// bytes from each source every 100 ms (`progressOfMedianRound`). Prints the figures and writes
// bench/results/webtorrent.json, or the file WT_RESULTS names there (a shorter run beside the
// full one); it never fails on a slow machine. Needs bench/webtorrent's
// packages (bench/webtorrent/install.mjs says how; scripts/bench.sh installs them). Run with
// tests/in-netns.sh node bench/webtorrent.mjs.
import { writeFileSync, mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { startServer, launchBrowser, NETNS_IP, ROOT } from "../tests/harness.mjs";
import { peerfetchSystem } from "./peerfetch-system.mjs";
import { rawThroughputRounds } from "./raw-channel.mjs";
import { cpuSeconds } from "./sharing.mjs";
import { scenario, largeDownload, SETTLE_MS } from "./side-by-side.mjs";
import { spread, round } from "./stats.mjs";
import { installedVersion } from "./webtorrent/install.mjs";
import { startPages } from "./webtorrent/pages.mjs";
import { webtorrentSystem } from "./webtorrent/system.mjs";
import { startTracker } from "./webtorrent/tracker.mjs";

const MiB = 1024 * 1024;
const SIZE = Math.round(Number(process.env.WT_SIZE_MB ?? 64) * MiB);
const BIG = Math.round(Number(process.env.WT_BIG_MB ?? 1024) * MiB);
const ROUNDS = Number(process.env.WT_ROUNDS ?? 5);
const BIG_ROUNDS = Number(process.env.WT_BIG_ROUNDS ?? 1);
/** The scenarios to run, by letter (all by default). */
const SCENARIOS = process.env.WT_SCENARIOS ?? "abcd";
/** WebTorrent's piece selection in (c). */
const C_STRATEGY = process.env.WT_C_STRATEGY ?? "rarest";
/** The results file's name in bench/results. */
const RESULTS_FILE = process.env.WT_RESULTS ?? "webtorrent.json";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Every tab here comes from one address (the namespace's), which no deployment sees: with the
// server's per-address budgets for circuits (one per signaling exchange) and reservations, 60
// at once and one more a minute, the seven tabs' mesh ran out of circuits before scenario (c)
// (435 circuits refused, a downloader with no neighbour, downloads failing as not found).
// The per-tab budgets stay as they are.
const ONE_ADDRESS_MANY_TABS = ["--circuit-rate-per-ip", "100000/60s", "--reservation-rate-per-ip", "100000/60s"];
const versions = { webtorrent: installedVersion("webtorrent"), tracker: installedVersion("bittorrent-tracker") };
const server = await startServer({ args: ONE_ADDRESS_MANY_TABS });
/** The server's counts of relay events and refusals (Prometheus lines), to show what it refused. */
const relayMetrics = () => fetch(`${server.adminUrl}/metrics`).then((r) => r.text())
  .then((text) => text.split("\n").filter((l) => /^(libp2p_relay_events_total|peerfetch_refusals_total)/.test(l)))
  .catch((e) => [e.message]);
server.process.on("exit", (code, signal) => {
  console.log(`peerfetch-server exited (${signal ?? code}); its last log lines:\n${server.logs().split("\n").slice(-30).join("\n")}`);
});
const tracker = await startTracker(NETNS_IP);
const pages = await startPages();
const swarm = `bench-webtorrent-${Date.now()}`;
const peerfetch = peerfetchSystem({ serverUrl: server.url, swarm, notes: relayMetrics });
const webtorrent = (key, label, pieceLength, strategy) => webtorrentSystem({ key, label, pagesUrl: pages.url, trackerUrl: tracker.url, pieceLength, strategy });
const wtDefault = webtorrent("webtorrent", "WebTorrent, default pieces");
const wt1MiB = webtorrent("webtorrent1MiB", "WebTorrent, 1 MiB pieces", MiB);
const forC = [webtorrent("webtorrent", `WebTorrent, default pieces, ${C_STRATEGY}`, undefined, C_STRATEGY),
  webtorrent("webtorrent1MiB", `WebTorrent, 1 MiB pieces, ${C_STRATEGY}`, MiB, C_STRATEGY)];

const browsers = [];
const results = {
  date: new Date().toISOString(),
  machine: `${cpus().length} cores; every browser a headless Chromium of its own (3 seeders, 4 downloaders), all in one network namespace`,
  setup: {
    webtorrent: `WebTorrent ${versions.webtorrent} (dist/webtorrent.min.js) with bittorrent-tracker ${versions.tracker}'s WebSocket tracker in node on ${NETNS_IP}: peers found through the tracker (5 WebRTC offers per announce), host ICE candidates only; a downloader is given the torrent file (no ut_metadata), adds it with no piece selected and waits (up to 20 s) for a connection to every other tab in the scenario; the clock starts when it selects every piece and stops at the torrent's 'done' (every piece verified by SHA-1 and stored); firstByteMs to its first 'download' event (a block received, not yet verified)`,
    peerfetch: "peerfetch (this build, wasm SIMD128) with peerfetch-server: the seven tabs' mesh is linked before the first round; the clock starts at peer.download(cid) (which asks the server for providers and opens streams to them) and stops with the Blob in hand (every 16 KiB chunk verified by BLAKE3/bao as it arrives, 1 MiB pieces stored in OPFS); firstByteMs to its first progress report with verified bytes",
    rounds: `${ROUNDS} rounds of (a)-(c), ${BIG_ROUNDS} of (d); each round runs every system, the order rotating from round to round; a copy is dropped right after its digest, and the next clock starts ${SETTLE_MS / 1000} s after the downloaders are readied`,
    memory: "scenario (d): VmRSS from /proc of the downloading browser's processes, every 250 ms: before the download, at its peak, at its end (the copy still held: WebTorrent's torrent live and seeding, peerfetch's copy stored and served) and 3 s after the copy is dropped (torrent destroyed / peer.remove); the tab's renderer (the renderer that peaked highest), all renderers, all the browser's processes; the browser has that one tab open",
    progress: "progressOfMedianRound: for each system in (a)-(c), the round whose time is nearest the median, each downloader's bytes received from each source (peerfetch: verified bytes per peer, peer.transfers(), which counts whole pieces; WebTorrent: bytes received per wire) every 100 ms from its clock's start, and once more at its end; sources numbered in the order their first bytes came",
    cpu: "CPU milliseconds (user + system, /proc/<pid>/stat) of every process of all seven browsers over each transfer, per MB delivered to the downloaders, by process kind; the median over rounds",
  },
  scenarios: {},
};
const run = async (letter, key, make) => {
  if (!SCENARIOS.includes(letter)) return;
  try {
    results.scenarios[key] = await make();
  } catch (error) {
    console.log(`${key} failed: ${error.stack}`);
    results.scenarios[key] = { error: error.message };
  }
};
try {
  /** A browser of its own with one tab of each system. */
  async function browserWithTabs() {
    const browser = await launchBrowser();
    browsers.push(browser);
    browser.tabs = { peerfetch: await peerfetch.open(browser), webtorrent: await wtDefault.open(browser) };
    return browser;
  }
  const seeders = [];
  for (let i = 0; i < 3; i++) seeders.push(await browserWithTabs());
  const downloaders = [];
  for (let i = 0; i < 4; i++) downloaders.push(await browserWithTabs());
  const all = [...seeders, ...downloaders];
  // The peerfetch mesh forms (seven tabs: up to six neighbours each).
  const neighbours = () => Promise.all(all.map((b) => b.tabs.peerfetch.evaluate(() => peer.stats().neighbours)));
  const meshDeadline = Date.now() + 30_000;
  while ((await neighbours()).some((n) => n < 6) && Date.now() < meshDeadline) await sleep(500);
  results.meshNeighboursAtStart = await neighbours();

  const [s1] = seeders;
  const [d1] = downloaders;
  const systems = [peerfetch, wtDefault, wt1MiB];
  await run("a", "oneSource", () => scenario({
    title: `(a) one source → one downloader, ${SIZE / MiB} MiB`, bytes: SIZE, seed: 11, sources: [s1], sinks: [d1], rounds: ROUNDS, all, systems,
  }));
  // The ceiling on this machine: a plain RTCDataChannel between the same two browsers, in
  // 64 KiB messages and in 16 KiB ones (what libp2p's /webrtc sends at most per message).
  await run("a", "rawDataChannel", async () => {
    const raw = { title: `a raw RTCDataChannel between the same two browsers, ${SIZE / MiB} MiB, ${ROUNDS} rounds` };
    for (const kib of [64, 16]) {
      const cpuBefore = cpuSeconds(all);
      const rounds = await rawThroughputRounds(s1.tabs.peerfetch, d1.tabs.peerfetch, { size: kib * 1024, bytes: SIZE, rounds: ROUNDS });
      const cpuMs = (cpuSeconds(all).all - cpuBefore.all) * 1000;
      raw[`messages${kib}KiB`] = { MBps: spread(rounds, 1), cpuMsPerMBAll: round(cpuMs / (ROUNDS * SIZE / 1e6), 1) };
    }
    return raw;
  });
  await run("b", "threeSources", () => scenario({
    title: `(b) three sources → one downloader, ${SIZE / MiB} MiB`, bytes: SIZE, seed: 12, sources: seeders, sinks: [d1], rounds: ROUNDS, all, systems,
  }));
  await run("c", "oneSeedFourDownloaders", () => scenario({
    title: `(c) one seed → four downloaders at once, ${SIZE / MiB} MiB`, bytes: SIZE, seed: 13, sources: [s1], sinks: downloaders, rounds: ROUNDS, all,
    systems: [peerfetch, ...forC],
  }));

  // (d): the downloading browser keeps only the tab of the system being measured.
  await d1.tabs.peerfetch.close();
  await d1.tabs.webtorrent.close();
  await run("d", "large", async () => {
    const large = { title: `(d) one source → one downloader, ${BIG / MiB} MiB, with memory`, bytes: BIG, peerfetch: [], webtorrent1MiB: [] };
    for (let r = 0; r < BIG_ROUNDS; r++) {
      for (const system of r % 2 === 0 ? [peerfetch, wt1MiB] : [wt1MiB, peerfetch]) {
        large[system.key].push(await largeDownload(system, { source: s1, sink: d1, bytes: BIG, seed: 14, all }));
      }
    }
    return large;
  });
} finally {
  results.serverRelayMetrics = await relayMetrics();
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, RESULTS_FILE), JSON.stringify(results, null, 2) + "\n");
  printSummary(results);
  for (const browser of browsers) await browser.close().catch(() => {});
  await pages.close();
  await tracker.close();
  server.process.removeAllListeners("exit");
  await server.stop();
}

/** One line a figure: medians with their ranges. */
function printSummary({ setup, scenarios }) {
  for (const [name, text] of Object.entries(setup)) console.log(`${name}: ${text}`);
  const range = (s, unit = "") => s ? `${s.median}${unit} (${s.min}–${s.max})` : "failed";
  for (const s of Object.values(scenarios)) {
    if (s.error) { console.log(`${s.title ?? "a scenario"}: failed: ${s.error}`); continue; }
    if (s.messages64KiB) {
      console.log(`${s.title}: 64 KiB ${range(s.messages64KiB.MBps, " MB/s")}, 16 KiB ${range(s.messages16KiB.MBps, " MB/s")}`);
    } else if (s.webtorrentSecondsOverPeerfetch) {
      for (const key of ["peerfetch", ...Object.keys(s.webtorrentSecondsOverPeerfetch)]) {
        const r = s[key];
        console.log(`${s.title}: ${r.label} ${range(r.seconds, " s")}, ${range(r.MBpsPerDownloader, " MB/s")} per downloader, first byte ${range(r.firstByteMs, " ms")}, ${r.cpuMsPerMB.all} ms CPU/MB, ${r.failedRounds} failed`);
      }
      for (const [key, ratio] of Object.entries(s.webtorrentSecondsOverPeerfetch)) {
        console.log(`${s.title}: ${s[key].label} s ÷ peerfetch s: ${ratio.ofMedians} of the medians, ${range(ratio.perRound)} per round`);
      }
    } else {
      for (const r of [...s.peerfetch, ...s.webtorrent1MiB]) {
        const m = r.memoryMiB.tabRenderer;
        console.log(`${s.title}: ${r.label} ${r.seconds ?? "failed"} s, ${r.cpuMsPerMB.all} ms CPU/MB; the tab's renderer MiB before / peak / end / dropped: ${m.before} / ${m.peak} / ${m.end} / ${m.dropped}`);
      }
    }
  }
}
