// Server memory per browser tab, by the transport the tab reaches the server over: N real
// Chromium tabs (default 30, TABS_N) join one server, each in a swarm of its own, and the
// server's resident memory is read before and after (/proc/<pid>/status). Run once with a
// server that listens on WebRTC-direct only and once with one that listens on WSS only (a test
// CA; the page on https), in the same run, so the two figures compare. Figures go to
// bench/results/tabs.json. Run with scripts/bench.sh (inside tests/in-netns.sh).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, launchBrowser, openTab, waitFor, NETNS_IP, ROOT } from "../tests/harness.mjs";
import { makeCertificates } from "../tests/certificates.mjs";

const TABS = Number(process.env.TABS_N ?? 30);
/** Fixed ports: the WSS address is advertised by name, and the namespace is ours alone. */
const HTTPS_PORT = 18444;
const WSS_PORT = 19444;

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
    for (let i = 0; i < TABS; i++) {
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
    console.log(`${name}: ${TABS} tabs (over ${transport}): server ${before} -> ${after} KiB, ${perTab.toFixed(1)} KiB per tab; ` +
      `join p50 ${joinMs.sort((a, b) => a - b)[Math.floor(TABS / 2)]} ms`);
    return { transport: name, tabs: TABS, serverKibBefore: before, serverKibAfter: after, kibPerTab: Number(perTab.toFixed(1)), joinMs };
  } finally {
    await browser.close();
  }
}

const temp = mkdtempSync(join(tmpdir(), "peerfetch-tabs-"));
const results = [];
try {
  const direct = await startServer({ args: ["--listen", `/ip4/${NETNS_IP}/udp/0/webrtc-direct`] });
  try {
    results.push(await measure("webrtc-direct", direct));
  } finally {
    await direct.stop();
  }
  const tls = makeCertificates(temp);
  const wss = await startServer({
    http: `127.0.0.1:${HTTPS_PORT}`,
    args: [
      "--tls-cert", tls.chain, "--tls-key", tls.keyFile,
      "--listen", `/ip4/127.0.0.1/tcp/${WSS_PORT}/tls/ws`,
      "--external-address", `/dns4/peerfetch.test/tcp/${WSS_PORT}/tls/ws`,
    ],
  });
  wss.url = `https://peerfetch.test:${HTTPS_PORT}`;
  try {
    results.push(await measure("wss", wss, {
      args: ["--host-resolver-rules=MAP peerfetch.test 127.0.0.1", `--ignore-certificate-errors-spki-list=${tls.caSpki}`],
    }));
  } finally {
    await wss.stop();
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
writeFileSync(join(ROOT, "bench/results/tabs.json"), `${JSON.stringify(results, null, 2)}\n`);
