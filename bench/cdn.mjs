// Benchmark of CDN offload with the demo site (www/cdn/, served by the server as origin):
// - the offload ratio (share of the visitors' bytes that came from peers) after 1, 2, 5 and
//   10 visitors, one after another, each in a browser of its own (and kept open);
// - page load time (navigation start to every asset loaded) per visitor, next to the same site
//   without peerfetch and with peerfetch whose server is down (the no-peers fallback).
// Prints the figures and writes them to bench/results/cdn.json. Run with scripts/bench.sh.
import { readdirSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, launchBrowser, waitFor, ROOT } from "../tests/harness.mjs";
import { median } from "./stats.mjs";

const VISITORS = Number(process.env.BENCH_CDN_VISITORS ?? 10);
const BASELINE_ROUNDS = 5;
const ASSETS = join(ROOT, "www/cdn/assets");
const SITE_BYTES = readdirSync(ASSETS).reduce((sum, name) => sum + statSync(join(ASSETS, name)).size, 0);
const round = (x, digits = 3) => Number(x.toFixed(digits));

const browsers = [];
/** Opens `url` in a browser of its own; resolves to the page and `window.siteLoad`. */
async function visit(url) {
  const browser = await launchBrowser();
  browsers.push(browser);
  const page = await browser.context.newPage();
  await page.goto(url);
  const load = await waitFor(`${url} to load`, () => page.evaluate(() => window.siteLoad), 60000);
  if (!load.ok) throw new Error(`${url} did not load completely: ${load.failed}`);
  return { page, browser, load };
}
async function closeBrowser(browser) {
  await browser.close();
  browsers.splice(browsers.indexOf(browser), 1);
}

const server = await startServer();
try {
  const originTotal = async () => (await (await fetch(`${server.adminUrl}/origin-stats`)).json()).totalBytes;
  // Baselines, alternating so drift hits both alike.
  const without = [];
  const serverDown = [];
  for (let i = 0; i < BASELINE_ROUNDS; i++) {
    for (const [query, list] of [["peerfetch=off", without], [`server=${encodeURIComponent("http://127.0.0.1:9")}`, serverDown]]) {
      const { browser, load } = await visit(`${server.url}/cdn/?${query}`);
      list.push(load.ms);
      await closeBrowser(browser);
    }
  }
  const before = await originTotal();
  const visitors = [];
  for (let i = 1; i <= VISITORS; i++) {
    const { page, load } = await visit(`${server.url}/cdn/`);
    const stats = await page.evaluate(() => window.peerfetch.stats().offload);
    visitors.push({
      visitor: i,
      loadMs: Math.round(load.ms),
      fromPeers: stats.fromPeers,
      fromOrigin: stats.fromOrigin,
      peersUsed: stats.peers.length,
      originBytesSoFar: (await originTotal()) - before,
    });
    console.log(`visitor ${i}: ${Math.round(load.ms)} ms, ${Math.round((100 * stats.fromPeers) / SITE_BYTES)} % from ${stats.peers.length} peers`);
  }
  const offloadAfter = Object.fromEntries([1, 2, 5, 10].filter((n) => n <= VISITORS).map((n) => {
    const first = visitors.slice(0, n);
    const fromPeers = first.reduce((sum, v) => sum + v.fromPeers, 0);
    return [n, { offloadRatio: round(fromPeers / (n * SITE_BYTES)), originBytes: first.at(-1).originBytesSoFar, originToSite: round(first.at(-1).originBytesSoFar / SITE_BYTES, 2) }];
  }));
  const results = {
    measuredAt: new Date().toISOString(),
    siteBytes: SITE_BYTES,
    offloadAfterVisitors: offloadAfter,
    loadMs: {
      withoutPeerfetchMedian: Math.round(median(without)),
      withoutPeerfetch: without.map(Math.round),
      serverDownMedian: Math.round(median(serverDown)),
      serverDown: serverDown.map(Math.round),
      serverDownToWithout: round(median(serverDown) / median(without)),
      firstVisitorNoPeers: visitors[0].loadMs,
      laterVisitorsMedian: Math.round(median(visitors.slice(1).map((v) => v.loadMs))),
    },
    visitors,
  };
  console.log(JSON.stringify(results, null, 2));
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "cdn.json"), JSON.stringify(results, null, 2) + "\n");
  for (const [n, o] of Object.entries(offloadAfter)) {
    console.log(`after ${n} visitor(s): ${Math.round(o.offloadRatio * 100)} % of their bytes from peers; origin served ${o.originToSite}× the site`);
  }
  console.log(`load: ${results.loadMs.withoutPeerfetchMedian} ms without peerfetch, ${results.loadMs.serverDownMedian} ms with its server down (${results.loadMs.serverDownToWithout}×), ` +
    `${results.loadMs.firstVisitorNoPeers} ms first visitor (no peers), ${results.loadMs.laterVisitorsMedian} ms later visitors (median, from peers)`);
} finally {
  for (const b of [...browsers]) await b.close();
  await server.stop();
}
