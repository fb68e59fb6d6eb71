// Soak: minutes of churn against one server, watching every long-lived map for growth.
// Each round, fresh tabs (fresh peer ids) join one swarm, one shares a file, the others download
// it, and all of them leave; one tab stays for the whole run. After every round the server's
// gauges (every `gauge` at its admin `/metrics`) and the staying tab's memory are sampled.
// A quantity bounded by design stops growing once the churn reaches its steady state, so the
// soak fails (exit 1) if a gauge's highest value in the last third of the run is more than
// 1.5 times (plus a small slack) its highest in the first third, and likewise for the staying
// tab's JS heap. Figures go to bench/results/soak.json. Bounded in time and count:
// SOAK_SECONDS (default 180) and SOAK_TABS per round (default 4). Run with scripts/bench.sh.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, launchBrowser, openTab, makeFile, waitFor, ROOT } from "../tests/harness.mjs";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 180);
const TABS = Number(process.env.SOAK_TABS ?? 4);
const SWARM = "soak";

/** Every gauge at `url` (Prometheus text format), by name with labels. */
async function gauges(url) {
  const text = await (await fetch(url)).text();
  const kinds = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
  const values = {};
  for (const [, name, labels = "", value] of text.matchAll(/^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/gm)) {
    if (kinds.get(name) === "gauge") values[name + labels] = Number(value);
  }
  return values;
}

/** The JS heap in use by `page`, in bytes (Chromium's CDP `Performance` domain). */
async function heapUsed(page) {
  const session = await page.context().newCDPSession(page);
  await session.send("Performance.enable");
  const { metrics } = await session.send("Performance.getMetrics");
  await session.detach();
  return metrics.find((m) => m.name === "JSHeapUsedSize").value;
}

/** Joins that rejected, with their messages (a figure of the soak, not a crash of it). */
const joinFailures = [];

/** One round of churn: `TABS` fresh tabs join, one shares, the rest download, all leave. */
async function churn(browser, server, round) {
  const tabs = [];
  try {
    for (let i = 0; i < TABS; i++) tabs.push(await openTab(browser, server.url, { swarm: SWARM }));
    const joined = [];
    for (const tab of tabs) {
      const error = await tab.evaluate(() => window.joinError && String(window.joinError.message ?? window.joinError));
      if (error) joinFailures.push({ round, error });
      else joined.push(tab);
    }
    if (joined.length < 2) return;
    const [seeder, ...downloaders] = joined;
    await makeFile(seeder, 512 * 1024, round + 1);
    const cid = await seeder.evaluate(() => peer.share(window.original));
    await Promise.all(downloaders.map((tab) => tab.evaluate((cid) => peer.download(cid, { timeoutMs: 30000 }).then((b) => b.size), cid)));
  } finally {
    for (const tab of tabs) await tab.close();
  }
}

/** Names of the samples whose late peak passes 1.5 times their early peak (plus `slack`). */
function growing(samples, key, slack) {
  const third = Math.max(1, Math.floor(samples.length / 3));
  const peak = (part) => Math.max(...part.map((s) => s[key] ?? 0));
  const early = peak(samples.slice(0, third));
  const late = peak(samples.slice(-third));
  return late > 1.5 * early + slack ? { early, late } : null;
}

// Every tab comes from one address here, standing for visitors from many: the per-address join
// rate (60 a minute by default) is lifted so that it does not refuse them.
const server = await startServer({ args: ["--registration-grace-secs", "5", "--reservation-rate-per-ip", "100000/60s"] });
const browser = await launchBrowser();
const started = Date.now();
const serverSamples = [];
const heapSamples = [];
let rounds = 0;
try {
  const staying = await openTab(browser, server.url, { swarm: SWARM });
  while (Date.now() - started < SECONDS * 1000) {
    await churn(browser, server, rounds);
    rounds += 1;
    serverSamples.push(await gauges(`${server.adminUrl}/metrics`));
    heapSamples.push({ heap: await heapUsed(staying) });
    const last = serverSamples.at(-1);
    console.log(`round ${rounds} (${Math.round((Date.now() - started) / 1000)} s): heap ${(heapSamples.at(-1).heap / 1e6).toFixed(1)} MB, ${Object.entries(last).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  }
  await waitFor("the staying tab still joined", () => staying.evaluate(() => !window.joinError && peer.connections().length > 0), 10000);
} finally {
  await browser.close();
  await server.stop();
}

const names = [...new Set(serverSamples.flatMap((s) => Object.keys(s)))].sort();
const failures = {};
for (const name of names) {
  const grew = growing(serverSamples, name, 16);
  if (grew) failures[name] = grew;
}
const heapGrew = growing(heapSamples, "heap", 8e6);
if (heapGrew) failures["staying tab JS heap"] = heapGrew;
const result = {
  seconds: Math.round((Date.now() - started) / 1000),
  rounds,
  tabsPerRound: TABS,
  gauges: Object.fromEntries(names.map((n) => [n, serverSamples.map((s) => s[n] ?? 0)])),
  heapBytes: heapSamples.map((s) => s.heap),
  joins: rounds * TABS,
  joinFailures,
  growing: failures,
};
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
writeFileSync(join(ROOT, "bench/results/soak.json"), `${JSON.stringify(result, null, 2)}\n`);
console.log(`soak: ${rounds} rounds of ${TABS} fresh tabs in ${result.seconds} s; ${names.length} gauges watched; ` +
  `${joinFailures.length} of ${result.joins} joins rejected${joinFailures.length ? `: ${JSON.stringify(joinFailures)}` : ""}`);
if (Object.keys(failures).length > 0) {
  console.log(`growing without bound: ${JSON.stringify(failures)}`);
  process.exit(1);
}
console.log("no gauge grew past its early peak");
