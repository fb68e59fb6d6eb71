// Benchmark: browser-to-browser links on the simulated internet (tests/simulated-internet.sh)
// over each path a link can take: host (two browsers in one home), STUN (two homes behind
// port-preserving NATs, through the server's STUN) and TURN (two homes behind symmetric NATs,
// through coturn with credentials the server mints). For each: the time from `peer.connect` to
// the first echoed byte on a fresh tab (median of 5) and one-way throughput on a libp2p stream
// (median of 3). The host path is the same run's baseline. Prints the figures and writes them to
// bench/results/internet.json. Run with scripts/bench.sh (inside tests/in-netns.sh).
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, startTurn, launchBrowser, openTab, ROOT, PUBLIC_IP } from "../tests/harness.mjs";
import { median } from "./stats.mjs";

const BYTES = Number(process.env.BENCH_BYTES ?? 32 * 1024 * 1024);
const FRESH_TABS = 5;
const ROUNDS = 3;

const turn = await startTurn();
const server = await startServer({
  http: `${PUBLIC_IP}:0`,
  args: [
    "--listen", `/ip4/${PUBLIC_IP}/udp/0/webrtc-direct`, "--listen", `/ip4/${PUBLIC_IP}/tcp/0/ws`,
    "--turn-url", turn.url, "--turn-secret-file", turn.secretFile, "--max-circuits-per-peer", "64",
  ],
});
const browsers = [];
/** A browser in `home` whose tabs join with the default ICE servers (the server's). */
async function browserIn(home) {
  const browser = await launchBrowser({ home, secureOrigin: server.url });
  browsers.push(browser);
  return browser;
}
/** A tab of its own swarm (no mesh links), ready for TURN once the server answered. */
async function tab(browser, name) {
  const page = await openTab(browser, server.url, { swarm: `${name}-${Date.now()}-${Math.random()}`, diagnostics: true });
  const error = await page.evaluate(() => window.joinError?.message);
  if (error) throw new Error(`join failed: ${error}`);
  const started = Date.now();
  while (!page.consoleLog.some((l) => /ICE servers offered: .*turn:/.test(l)) && Date.now() - started < 5000) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return page;
}

/** Measures one path: `a` in `homeA` serves, fresh tabs in `homeB` connect to it. */
async function measure(name, homeA, homeB) {
  const browserA = await browserIn(homeA);
  const browserB = await browserIn(homeB);
  const a = await tab(browserA, name);
  const aId = await a.evaluate(() => peer.id);
  const setup = [];
  let b;
  for (let i = 0; i < FRESH_TABS; i++) {
    if (b) await b.close();
    b = await tab(browserB, name);
    setup.push(await b.evaluate(async (id) => {
      const started = performance.now();
      await peer.connect(id);
      await peer.echo(id, new Uint8Array([1]));
      return performance.now() - started;
    }, aId));
  }
  const path = (await b.evaluate(() => peer.connections())).find((c) => c.peer === aId && c.transport === "webrtc")?.path;
  const throughput = [];
  for (let round = 0; round < ROUNDS; round++) {
    throughput.push((await b.evaluate(({ id, bytes }) => peer.measureThroughput(id, bytes), { id: aId, bytes: BYTES })).megabytesPerSecond);
  }
  const result = {
    path,
    connectToFirstByteMedianMs: +median(setup).toFixed(1),
    connectToFirstByteMs: setup.map((x) => +x.toFixed(1)),
    throughputMedianMBps: +median(throughput).toFixed(1),
    throughputMBps: throughput.map((x) => +x.toFixed(1)),
  };
  console.log(`${name} (${homeA} ↔ ${homeB}): path ${path}, connect to first byte ${result.connectToFirstByteMedianMs} ms, ${result.throughputMedianMBps} MB/s`);
  for (const browser of browsers.splice(0)) await browser.close();
  return result;
}

try {
  const results = {
    date: new Date().toISOString(),
    bytesPerRound: BYTES,
    host: await measure("host", "cone1", "cone1"),
    stun: await measure("stun", "cone1", "cone2"),
    turn: await measure("turn", "sym1", "sym2"),
  };
  console.log(JSON.stringify(results, null, 2));
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "internet.json"), JSON.stringify(results, null, 2) + "\n");
} finally {
  for (const browser of browsers) await browser.close();
  await server.stop();
  await turn.stop();
}
