// Benchmark of CDN offload against an origin that behaves like a real one (issue 17, "a CDN
// that never slows the page"): the demo site (www/cdn/) served from a host of its own on the
// simulated internet, whose link sends at most CDN_ORIGIN_MBYTES_PER_S megabytes a second (4;
// a `tc` token bucket shared by every response) and which answers every request
// CDN_ORIGIN_FIRST_BYTE_MS late (40), bench/cdn-origin/origin.mjs. The site's origin serves
// what the demo site's does: its pages, assets and manifest, and peerfetch's drop-in script,
// service worker and wasm package (the page imports the script from its own origin, and the
// script loads the package from beside itself). With CDN_ORIGIN_SCRIPT=server the drop-in
// script and the package come from the peerfetch server instead, as docs/js-api.md shows a
// site adopting it (the origin redirects the page's import there; results then go to
// bench/results/cdn-origin-script-from-server.json). The peerfetch server, which visitors
// signal through, runs outside the origin's host (the page's `server=` parameter names it).
// CDN_ORIGIN_VISITORS visitors (5) one after another, each a Chromium of its own kept open;
// before each, CDN_ORIGIN_BASELINES rounds (2) of the same site with `peerfetch=off` in a fresh
// Chromium, so baseline and visitors alternate and the open browsers weigh on both. Per
// visitor: page load (navigation to every asset loaded), its ratio to the baseline median,
// bytes from peers, the origin and the store, what the origin sent during the visit, and the
// visit's timeline (bench/cdn-origin/timeline.mjs). Prints the figures and writes
// bench/results/cdn-origin.json; it never fails on a slow machine.
// Run with scripts/bench.sh, or alone: tests/in-netns.sh node bench/cdn-origin.mjs (after
// scripts/build-cdn-site.sh; PEERFETCH_WWW_DIR names another www/ with the built site).
import { readdirSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { startServer, launchBrowser, newLoggedPage, waitFor, ROOT, PUBLIC_IP } from "../tests/harness.mjs";
import { median, round } from "./stats.mjs";
import { startOrigin } from "./cdn-origin/origin.mjs";
import { recordMarks, readTimeline } from "./cdn-origin/timeline.mjs";

const VISITORS = Number(process.env.CDN_ORIGIN_VISITORS ?? 5);
const BASELINES = Number(process.env.CDN_ORIGIN_BASELINES ?? 2);
const MBYTES_PER_S = Number(process.env.CDN_ORIGIN_MBYTES_PER_S ?? 4);
const FIRST_BYTE_MS = Number(process.env.CDN_ORIGIN_FIRST_BYTE_MS ?? 40);
/** Where peerfetch's drop-in script and package come from: "origin" or "server". */
const SCRIPT = process.env.CDN_ORIGIN_SCRIPT ?? "origin";
const ASSETS = join(process.env.PEERFETCH_WWW_DIR ?? join(ROOT, "www"), "cdn/assets");
const SITE_BYTES = readdirSync(ASSETS).reduce((sum, name) => sum + statSync(join(ASSETS, name)).size, 0);

/** What the origin sent, by what it is: the site's assets, peerfetch's files, the pages. */
function byKind(paths) {
  const kinds = { assets: 0, peerfetch: 0, pages: 0 };
  for (const [path, { bytes }] of Object.entries(paths)) {
    const kind = path.startsWith("/cdn/assets/") ? "assets" : path.startsWith("/pkg/") || path.startsWith("/peerfetch-") ? "peerfetch" : "pages";
    kinds[kind] += bytes;
  }
  return kinds;
}

/** The origin's counts since `before`, by kind. */
function originSince(before, after) {
  const paths = Object.fromEntries(Object.entries(after.paths).map(([path, c]) => [path, { bytes: c.bytes - (before.paths[path]?.bytes ?? 0) }]));
  return { bytes: after.bytes - before.bytes, requests: after.requests - before.requests, ...byKind(paths) };
}

const server = await startServer({ http: `${PUBLIC_IP}:0` });
const origin = await startOrigin({
  bytesPerSecond: MBYTES_PER_S * 1e6,
  firstByteMs: FIRST_BYTE_MS,
  scriptServer: SCRIPT === "server" ? server.url : undefined,
});
// Plain http on addresses that are not the machine's: Chromium must be told they count as
// secure, as https would (service workers need a secure context).
const secureOrigin = `${origin.url},${server.url}`;
const browsers = [];

/** Opens the site with `query` in a Chromium of its own; resolves to the visit's figures. */
async function visit(query) {
  const browser = await launchBrowser({ secureOrigin });
  browsers.push(browser);
  const page = await newLoggedPage(browser.context);
  await page.addInitScript(recordMarks);
  const before = await origin.counts();
  const cpuBefore = cpus();
  await page.goto(`${origin.url}/cdn/?${query}`);
  const load = await waitFor("the site to load", () => page.evaluate(() => window.siteLoad), 60000);
  if (!load.ok) throw new Error(`the site did not load completely: ${load.failed}`);
  const cpuBusy = busy(cpuBefore, cpus());
  const timeline = await page.evaluate(readTimeline);
  // The video plays once its first part is in; its peer goes on fetching the rest, and the
  // offload stats count a resource once it is whole.
  const offload = await page.evaluate(() => window.peerfetch?.stats().offload);
  if (offload) {
    const whole = () => page.evaluate((site) => {
      const o = window.peerfetch.stats().offload;
      return o.fromPeers + o.fromOrigin + o.fromStore >= site && o;
    }, SITE_BYTES);
    Object.assign(offload, await waitFor("every asset whole", whole, 30000).catch(() => ({ incomplete: true })));
  }
  const originSent = originSince(before, await origin.counts());
  return { browser, page, loadMs: Math.round(load.ms), cpuBusy, originSent, timeline, offload };
}

/** The share of the machine's CPU time between two `os.cpus()` readings that was not idle. */
function busy(before, after) {
  const total = (times) => Object.values(times).reduce((a, b) => a + b, 0);
  const sum = (list, f) => list.reduce((acc, cpu) => acc + f(cpu.times), 0);
  const all = sum(after, total) - sum(before, total);
  return round(1 - (sum(after, (t) => t.idle) - sum(before, (t) => t.idle)) / all, 2);
}

const results = {
  date: new Date().toISOString(),
  setup: {
    origin: `its own host (namespace origin, 203.0.113.2); tc tbf ${MBYTES_PER_S} MB/s on its link, 64 KiB burst; ` +
      `every response ${FIRST_BYTE_MS} ms after its request (a node proxy in front of peerfetch-server's files)`,
    originServes: SCRIPT === "server"
      ? "the site's pages, assets and manifest and peerfetch-sw.js; a redirect to the peerfetch server for peerfetch-cdn.js, whose imports (peerfetch-auto.js, /pkg/) follow it there"
      : "the site's pages, assets and manifest, peerfetch-cdn.js, peerfetch-auto.js, peerfetch-sw.js and /pkg/ (precompressed copy by Accept-Encoding)",
    peerfetchServer: `${PUBLIC_IP} (the test namespace), unshaped; visitors link to each other over the test namespace, unshaped`,
    visitors: `${VISITORS} one after another, each a headless Chromium of its own kept open; ${BASELINES} baseline rounds (peerfetch=off, a fresh Chromium, closed after) before each`,
  },
  siteBytes: SITE_BYTES,
};
const baselines = [];
const visitors = [];
try {
  for (let i = 1; i <= VISITORS; i++) {
    for (let b = 0; b < BASELINES; b++) {
      const { browser, loadMs, cpuBusy, originSent, timeline } = await visit("peerfetch=off");
      baselines.push({ beforeVisitor: i, loadMs, cpuBusy, originBytes: originSent.bytes, timeline });
      await browser.close();
      browsers.splice(browsers.indexOf(browser), 1);
    }
    const v = await visit(`server=${encodeURIComponent(server.url)}`);
    visitors.push({
      visitor: i,
      loadMs: v.loadMs,
      cpuBusy: v.cpuBusy,
      allAssetsWhole: !v.offload?.incomplete,
      fromPeers: v.offload?.fromPeers ?? 0,
      fromOrigin: v.offload?.fromOrigin ?? 0,
      fromStore: v.offload?.fromStore ?? 0,
      peersUsed: v.offload?.peers.length ?? 0,
      originSent: v.originSent,
      timeline: v.timeline,
    });
    if (!v.offload) console.log(`visitor ${i}: peerfetch did not start:\n${v.page.consoleLog.slice(-20).join("\n")}`);
  }
} catch (error) {
  results.error = error.message;
  console.log(`stopped early: ${error.stack}`);
} finally {
  results.originLink = origin.link();
  for (const browser of browsers) await browser.close();
  await origin.close();
  await server.stop();
}

const baselineMedian = median(baselines.map((b) => b.loadMs));
for (const v of visitors) v.toBaseline = round(v.loadMs / baselineMedian);
const later = visitors.slice(1);
const fromPeers = visitors.reduce((sum, v) => sum + v.fromPeers, 0);
const originSent = visitors.reduce((sum, v) => sum + v.originSent.bytes, 0);
Object.assign(results, {
  baseline: {
    loadMsMedian: baselineMedian,
    loadMs: baselines.map((b) => b.loadMs),
    cpuBusy: baselines.map((b) => b.cpuBusy),
    originBytesMedian: median(baselines.map((b) => b.originBytes)),
    timeline: baselines.find((b) => b.loadMs === baselineMedian)?.timeline,
  },
  summary: {
    firstVisitorToBaseline: visitors[0]?.toBaseline,
    laterVisitorsLoadMsMedian: later.length ? median(later.map((v) => v.loadMs)) : undefined,
    laterVisitorsToBaseline: later.length ? round(median(later.map((v) => v.loadMs)) / baselineMedian) : undefined,
    // Of the site's bytes the visitors loaded (assets only).
    assetsFromPeers: round(fromPeers / (visitors.length * SITE_BYTES), 3),
    // Of every byte they got: from peers, or what the origin sent (assets, pages, peerfetch's files).
    bytesFromPeers: round(fromPeers / (fromPeers + originSent), 3),
    originBytes: originSent,
  },
  visitors,
});

const dir = join(ROOT, "bench/results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, SCRIPT === "server" ? "cdn-origin-script-from-server.json" : "cdn-origin.json"), JSON.stringify(results, null, 2) + "\n");
print(results);

/** The figures: the setup, the baseline, each visitor and its timeline. */
function print({ setup, siteBytes, baseline, visitors, summary, originLink }) {
  const mb = (bytes) => `${round(bytes / 1e6, 2)} MB`;
  for (const [name, text] of Object.entries(setup)) console.log(`${name}: ${text}`);
  console.log(`site: ${mb(siteBytes)} of assets; origin link: ${JSON.stringify(originLink)}`);
  console.log(`baseline (peerfetch=off): ${baseline.loadMsMedian} ms median of ${baseline.loadMs.join(", ")} (machine CPU busy ${baseline.cpuBusy.join(", ")}); ` +
    `the origin sent ${mb(baseline.originBytesMedian)} a visit by then`);
  console.log("| visitor | load ms | ÷ baseline | CPU busy | from peers | from origin | from store | origin sent (assets / peerfetch / pages) |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const v of visitors) {
    const o = v.originSent;
    console.log(`| ${v.visitor} | ${v.loadMs} | ${v.toBaseline} | ${v.cpuBusy} | ${mb(v.fromPeers)} | ${mb(v.fromOrigin)} | ${mb(v.fromStore)}${v.allAssetsWhole ? "" : " (not all whole)"} | ` +
      `${mb(o.bytes)} (${mb(o.assets)} / ${mb(o.peerfetch)} / ${mb(o.pages)}) |`);
  }
  console.log(`first visitor ${summary.firstVisitorToBaseline}× the baseline, later visitors ${summary.laterVisitorsToBaseline}× (median ${summary.laterVisitorsLoadMsMedian} ms); ` +
    `after ${visitors.length}: ${Math.round(summary.assetsFromPeers * 100)} % of the assets from peers, ${Math.round(summary.bytesFromPeers * 100)} % of every byte`);
  const steps = ["document", "dropInScript", "probe", "packageWasm", "wasmReady", "joined", "controlled", "firstLink", "assetsRequested", "firstPeerByte", "firstAssetEnd", "stylesAndScriptsEnd", "lastAssetEnd", "loaded"];
  const moment = (t, step) => (typeof t[step] === "object" && t[step] ? `${t[step].start}–${t[step].end}` : t[step] ?? "–");
  console.log(`timeline, ms since navigation start | ${steps.join(" | ")} |`);
  console.log(`baseline (median) | ${steps.map((s) => moment(baseline.timeline ?? {}, s)).join(" | ")} |`);
  for (const v of visitors) console.log(`visitor ${v.visitor} | ${steps.map((s) => moment(v.timeline, s)).join(" | ")} |`);
}
