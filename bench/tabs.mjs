// Server memory per browser tab, by the transport the tab reaches the server over: N real
// Chromium tabs (default 100, TABS_N) join one server, each in a swarm of its own, and the
// server's resident memory is read before, after half of them and after all
// (/proc/<pid>/status). Two figures per transport: the average over all tabs (what N tabs cost,
// with whatever the first tab makes the server set up once) and the cost of each further tab
// (the second half's growth over its count: what decides how many tabs fit). Run once with a
// server that listens on WebRTC-direct only and once with one that listens on WSS only (a test
// CA; the page on https), in the same run, so the figures compare; TABS_TRANSPORTS=wss (or
// webrtc-direct) measures one. Figures go to bench/results/tabs.json. Run with
// scripts/bench.sh (inside tests/in-netns.sh).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, launchBrowser, openTab, waitFor, NETNS_IP, ROOT } from "../tests/harness.mjs";
import { makeCertificates } from "../tests/certificates.mjs";

/** An even count: the figure for further tabs is taken over the second half. */
const TABS = 2 * Math.ceil(Number(process.env.TABS_N ?? 100) / 2);
const TRANSPORTS = (process.env.TABS_TRANSPORTS ?? "webrtc-direct,wss").split(",");
/** Fixed ports: the WSS address is advertised by name, and the namespace is ours alone. */
const HTTPS_PORT = 18444;
const WSS_PORT = 19444;
/** Every tab of the bench comes from one address, which stands for many visitors here: the
 * per-address reservation rate (60 at once, then one a minute) would refuse the 61st. */
const ONE_ADDRESS_MANY_VISITORS = ["--reservation-rate-per-ip", "100000/60s"];

/** Resident memory of process `pid`, in KiB. */
const rssKib = (pid) => Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/)[1]);

/** Waits for memory to settle (two readings a second apart within 1 %), then reads it. */
async function settledRss(pid) {
  let last = rssKib(pid);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = rssKib(pid);
    if (Math.abs(now - last) <= last / 100) return now;
    last = now;
  }
  return last;
}

/** Joins `TABS` tabs to `server` one after another; returns KiB per tab and the joins' times. */
async function measure(name, server, browserOptions) {
  const browser = await launchBrowser(browserOptions);
  const tabs = [];
  try {
    const before = await settledRss(server.process.pid);
    const joinMs = [];
    let half;
    for (let i = 0; i < TABS; i++) {
      if (i === TABS / 2) half = await settledRss(server.process.pid);
      const started = Date.now();
      const tab = await openTab(browser, server.url, { swarm: `tabs-${name}-${i}` });
      const error = await tab.evaluate(() => window.joinError && String(window.joinError.message ?? window.joinError));
      if (error) throw new Error(`${name}: tab ${i} did not join: ${error}`);
      joinMs.push(Date.now() - started);
      tabs.push(tab);
    }
    await waitFor("every tab's reservation", async () => {
      const held = await Promise.all(tabs.map((t) => t.evaluate(() => peer.stats().relayReservation)));
      return held.every(Boolean);
    }, 30000);
    const transport = await tabs[0].evaluate(() => peer.stats().serverTransport);
    const after = await settledRss(server.process.pid);
    const perTab = (after - before) / TABS;
    const eachFurther = (after - half) / (TABS / 2);
    console.log(`${name}: ${TABS} tabs (over ${transport}): server ${before} -> ${half} (half) -> ${after} KiB, ` +
      `${perTab.toFixed(1)} KiB per tab on average, ${eachFurther.toFixed(1)} KiB for each of the second half; ` +
      `join p50 ${joinMs.sort((a, b) => a - b)[Math.floor(TABS / 2)]} ms`);
    return {
      transport: name, tabs: TABS, serverKibBefore: before, serverKibAtHalf: half, serverKibAfter: after,
      kibPerTab: Number(perTab.toFixed(1)), kibPerFurtherTab: Number(eachFurther.toFixed(1)), joinMs,
    };
  } finally {
    await browser.close();
  }
}

/** Tabs against a server that listens on WebRTC-direct only. */
async function overWebrtcDirect() {
  const server = await startServer({
    args: ["--listen", `/ip4/${NETNS_IP}/udp/0/webrtc-direct`, ...ONE_ADDRESS_MANY_VISITORS],
  });
  try {
    return await measure("webrtc-direct", server);
  } finally {
    await server.stop();
  }
}

/** Tabs against a server that listens on WSS only, with certificates made in `temp`. */
async function overWss(temp) {
  const tls = makeCertificates(temp);
  const server = await startServer({
    http: `127.0.0.1:${HTTPS_PORT}`,
    args: [
      "--tls-cert", tls.chain, "--tls-key", tls.keyFile,
      "--listen", `/ip4/127.0.0.1/tcp/${WSS_PORT}/tls/ws`,
      "--external-address", `/dns4/peerfetch.test/tcp/${WSS_PORT}/tls/ws`,
      ...ONE_ADDRESS_MANY_VISITORS,
    ],
  });
  server.url = `https://peerfetch.test:${HTTPS_PORT}`;
  try {
    return await measure("wss", server, {
      args: ["--host-resolver-rules=MAP peerfetch.test 127.0.0.1", `--ignore-certificate-errors-spki-list=${tls.caSpki}`],
    });
  } finally {
    await server.stop();
  }
}

const temp = mkdtempSync(join(tmpdir(), "peerfetch-tabs-"));
const results = [];
try {
  if (TRANSPORTS.includes("webrtc-direct")) results.push(await overWebrtcDirect());
  if (TRANSPORTS.includes("wss")) results.push(await overWss(temp));
} finally {
  rmSync(temp, { recursive: true, force: true });
}
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
writeFileSync(join(ROOT, "bench/results/tabs.json"), `${JSON.stringify(results, null, 2)}\n`);
