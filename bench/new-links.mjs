// Benchmark of a new browser-to-browser link's first transfer: fresh tabs each round join, one
// shares 10 MiB and the other downloads it at once (cold), then again 4 s later after removing
// its copy (warm). Beside it, in the same browsers, the floor below peerfetch: a fresh raw JS
// RTCDataChannel pair sending the same bytes right after it opens (cold) and 4 s later (warm).
// Two variants: both tabs in one Chromium, and each in a Chromium of its own. Every peer
// connection's getStats() is sampled (bench/rtc-log.mjs) and the namespace's UDP counters read
// around each transfer, to tell where the time goes (bench/link-timeline.mjs). Prints the
// figures and writes bench/results/new-links.json; never fails on a slow machine (a failed
// round is recorded as such).
//
// BENCH_NEW_LINKS_ROUNDS (10), BENCH_NEW_LINKS_BYTES (10 MiB), BENCH_NEW_LINKS_PAUSE_MS (4000),
// BENCH_NEW_LINKS_VARIANTS ("one-browser,two-browsers"). Experiments:
// BENCH_NEW_LINKS_FIRST_AFTER_MS (0) waits that long on the new link before the first transfer;
// BENCH_NEW_LINKS_SEND_QUEUE_DIVISORS ("1") makes every data channel queue that many times less
// (bench/send-queue-scale.mjs), rounds taking the comma-separated divisors in turn so that they
// share the machine's load; BENCH_NEW_LINKS_TRACE names a file for every peer connection's
// whole record.
import { writeFileSync, mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { startServer, launchBrowser, openTab, newLoggedPage, ROOT } from "../tests/harness.mjs";
import { duringTransfer } from "./link-timeline.mjs";
import { openRawChannel, sendRaw, closeRawChannel } from "./raw-channel.mjs";
import { recordPeerConnections, peerConnectionLog } from "./rtc-log.mjs";
import { divideSendQueues } from "./send-queue-scale.mjs";
import { share, download, forget } from "./sharing.mjs";
import { spread, round } from "./stats.mjs";
import { udpCounters, udpCountersSince } from "./udp-counters.mjs";

const MiB = 1024 * 1024;
const ROUNDS = Number(process.env.BENCH_NEW_LINKS_ROUNDS ?? 10);
const BYTES = Number(process.env.BENCH_NEW_LINKS_BYTES ?? 10 * MiB);
const PAUSE_MS = Number(process.env.BENCH_NEW_LINKS_PAUSE_MS ?? 4000);
const VARIANTS = (process.env.BENCH_NEW_LINKS_VARIANTS ?? "one-browser,two-browsers").split(",");
const FIRST_AFTER_MS = Number(process.env.BENCH_NEW_LINKS_FIRST_AFTER_MS ?? 0);
const DIVISORS = (process.env.BENCH_NEW_LINKS_SEND_QUEUE_DIVISORS ?? "1").split(",").map(Number);
const TRACE = process.env.BENCH_NEW_LINKS_TRACE;
/** Message size of the raw channel: a libp2p stream's frames are at most 16 KiB too. */
const RAW_MESSAGE = 16 * 1024;
/** A cold transfer slower than this many times the median warm one is a slow start. */
const SLOW = 1.5;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const traces = [];

/**
 * The browsers of one round: one Chromium for both tabs, or one each. Tab `b` is on another
 * origin than tab `a` (`localhost` rather than `127.0.0.1`), so that in one Chromium it has a
 * storage of its own (a shared one would hold the shared file already) and a renderer of its own.
 */
async function launchRound(variant, divisor, server) {
  const first = await launchBrowser();
  const second = variant === "one-browser" ? first : await launchBrowser();
  const browsers = [...new Set([first, second])];
  for (const browser of browsers) {
    await recordPeerConnections(browser.context, { forMs: 30000 });
    if (divisor !== 1) await divideSendQueues(browser.context, divisor);
  }
  return {
    sides: [
      { browser: first, url: server.url },
      { browser: second, url: server.url.replace("127.0.0.1", "localhost") },
    ],
    close: () => Promise.all(browsers.map((b) => b.close())),
  };
}

/** The peer connection of `kind` in `page` that carried the most bytes (the tabs' link). */
async function busiestConnection(page, kind) {
  const log = await peerConnectionLog(page, [kind]);
  const carried = (entry) => {
    const last = entry.samples.at(-1);
    return last ? last.pairBytesSent + last.pairBytesReceived : 0;
  };
  return { entry: log.reduce((a, b) => (carried(b) > carried(a) ? b : a), log[0]), count: log.length };
}

/**
 * A transfer's figures: its time, and what the receiving and the sending peer connection did
 * meanwhile (see `duringTransfer`; pairs of figures are the sender's, then the receiver's), with
 * the namespace's UDP counters that grew.
 */
function transferFigures({ result, udp }, receiver, sender) {
  const { ms, firstByteMs, startedAt, endedAt } = result;
  const link = receiver && duringTransfer(receiver, startedAt, endedAt, "received");
  const sent = sender && duringTransfer(sender, startedAt, endedAt, "sent");
  return {
    ms: Math.round(ms),
    ...(firstByteMs === undefined ? {} : { firstByteMs: firstByteMs && Math.round(firstByteMs) }),
    ageMs: link?.ageMs,
    stallMs: link?.stallMs,
    stalls: link?.stalls,
    discardedOnSend: link && sent ? [sent.discardedOnSend, link.discardedOnSend] : null,
    pairs: link?.pairs,
    pairChanges: link && sent ? [sent.pairChanges, link.pairChanges] : null,
    channelsOpened: link && sent ? [sent.channelsOpened, link.channelsOpened] : null,
    senderRttMs: sent?.rttMs,
    senderMaxBuffered: sent?.maxBuffered,
    curve: link?.curve,
    udp,
  };
}

/** Runs `transfer()`, reading the UDP counters around it. */
async function counted(transfer) {
  const before = udpCounters();
  const result = await transfer();
  return { result, udp: udpCountersSince(before) };
}

/** Keeps both pages' whole records and the transfers' times, when tracing. */
async function trace(what, a, b, cold, warm) {
  if (!TRACE) return;
  const times = ({ result: { startedAt, endedAt } }) => ({ startedAt, endedAt });
  traces.push({ what, cold: times(cold), warm: times(warm), a: await peerConnectionLog(a), b: await peerConnectionLog(b) });
}

/** peerfetch: tabs join, `a` shares, `b` downloads at once, then again after the pause. */
async function peerfetchRound(sides, n, label) {
  const swarm = `new-links-${Date.now()}-${n}`;
  const [a, b] = await Promise.all(sides.map(({ browser, url }) => openTab(browser, url, { swarm })));
  const joinErrors = await Promise.all([a, b].map((t) => t.evaluate(() => window.joinError?.message)));
  if (joinErrors.some(Boolean)) throw new Error(`join failed: ${joinErrors.filter(Boolean).join("; ")}`);
  const cid = await share(a, BYTES, n + 1);
  await sleep(FIRST_AFTER_MS);
  const cold = await counted(() => download(b, cid));
  const transports = await b.evaluate(() => peer.connections().map((c) => `${c.transport}${c.path ? `/${c.path}` : ""}`));
  await sleep(PAUSE_MS);
  await forget(b, cid);
  const warm = await counted(() => download(b, cid));
  const [atA, atB] = await Promise.all([a, b].map((page) => busiestConnection(page, "tab")));
  await trace(`${label} peerfetch`, a, b, cold, warm);
  await Promise.all([a.close(), b.close()]);
  return {
    tabConnections: [atA.count, atB.count],
    connectionsAfterCold: transports,
    cold: transferFigures(cold, atB.entry, atA.entry),
    warm: transferFigures(warm, atB.entry, atA.entry),
  };
}

/** The raw channel between two fresh tabs (not joined): cold, then after the pause. */
async function rawRound(sides, label) {
  const [a, b] = await Promise.all(sides.map(async ({ browser, url }) => {
    const page = await newLoggedPage(browser.context);
    await page.goto(`${url}/test.html`);
    return page;
  }));
  await openRawChannel(a, b);
  await sleep(FIRST_AFTER_MS);
  const cold = await counted(() => sendRaw(a, b, { size: RAW_MESSAGE, bytes: BYTES }));
  await sleep(PAUSE_MS);
  const warm = await counted(() => sendRaw(a, b, { size: RAW_MESSAGE, bytes: BYTES }));
  const [atA, atB] = await Promise.all([a, b].map((page) => busiestConnection(page, "raw")));
  await trace(`${label} raw`, a, b, cold, warm);
  await closeRawChannel(a, b);
  await Promise.all([a.close(), b.close()]);
  return {
    cold: transferFigures(cold, atB.entry, atA.entry),
    warm: transferFigures(warm, atB.entry, atA.entry),
  };
}

/** Runs `step`, recording a failure instead of throwing. */
async function attempt(step) {
  try {
    return await step();
  } catch (error) {
    return { error: error.message.split("\n")[0] };
  }
}

const line = (what, r) => (r.error ? `${what} failed: ${r.error}`
  : `${what} cold ${r.cold.ms} ms (stalled ${r.cold.stallMs} ms, packets discarded ${r.cold.discardedOnSend?.join("/")}), `
    + `warm ${r.warm.ms} ms (discarded ${r.warm.discardedOnSend?.join("/")})`);

/** `{ median, min, max }` in seconds of the rounds' `which` ("cold" or "warm") times. */
const seconds = (results, which) => spread(results.filter((r) => !r.error).map((r) => r[which].ms / 1000));

function summary(results) {
  const ok = results.filter((r) => !r.error);
  const cold = seconds(ok, "cold");
  const warm = seconds(ok, "warm");
  const slow = warm ? ok.filter((r) => r.cold.ms / 1000 > SLOW * warm.median) : [];
  const stalled = (which) => ok.filter((r) => r[which].stallMs > 0).length;
  const discarding = (which) => ok.filter((r) => r[which].discardedOnSend?.some((n) => n > 0)).length;
  return {
    coldSeconds: cold,
    warmSeconds: warm,
    coldToWarm: cold && warm ? round(cold.median / warm.median) : null,
    slowStarts: slow.length,
    coldStalled: stalled("cold"),
    warmStalled: stalled("warm"),
    coldDiscarding: discarding("cold"),
    warmDiscarding: discarding("warm"),
    rounds: ok.length,
    failed: results.length - ok.length,
  };
}

const server = await startServer();
const rounds = [];
try {
  for (const variant of VARIANTS) {
    for (let n = 0; n < ROUNDS; n++) {
      const divisor = DIVISORS[n % DIVISORS.length];
      const browsers = await launchRound(variant, divisor, server);
      try {
        const label = `${variant}${divisor === 1 ? "" : ` (queues ÷${divisor})`} ${n}`;
        const peerfetch = await attempt(() => peerfetchRound(browsers.sides, n, label));
        const raw = await attempt(() => rawRound(browsers.sides, label));
        rounds.push({ variant, divisor, round: n, peerfetch, raw });
        console.log(`${label}: ${line("peerfetch", peerfetch)}; ${line("raw", raw)}`);
      } finally {
        await browsers.close();
      }
    }
  }
} finally {
  await server.stop();
}

const groups = VARIANTS.flatMap((variant) => DIVISORS.map((divisor) => ({ variant, divisor })));
const byVariant = Object.fromEntries(groups.map(({ variant, divisor }) => {
  const ofGroup = rounds.filter((r) => r.variant === variant && r.divisor === divisor);
  return [divisor === 1 ? variant : `${variant}, send queues ÷${divisor}`, {
    peerfetch: summary(ofGroup.map((r) => r.peerfetch)),
    raw: summary(ofGroup.map((r) => r.raw)),
  }];
}));
const results = {
  date: new Date().toISOString(),
  machine: `${cpus().length} cores; headless Chromium in one network namespace`,
  bytes: BYTES,
  pauseMs: PAUSE_MS,
  firstAfterMs: FIRST_AFTER_MS,
  sendQueueDivisors: DIVISORS,
  rawMessageBytes: RAW_MESSAGE,
  byVariant,
  rounds,
};
const dir = join(ROOT, "bench/results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "new-links.json"), JSON.stringify(results, null, 2) + "\n");
if (TRACE) writeFileSync(TRACE, JSON.stringify(traces) + "\n");
const s = (x) => (x ? `${x.median} s (${x.min}–${x.max})` : "none");
for (const [variant, figures] of Object.entries(byVariant)) {
  for (const [what, f] of Object.entries(figures)) {
    console.log(`${variant}, ${what}: cold ${s(f.coldSeconds)}, warm ${s(f.warmSeconds)}, cold/warm ${f.coldToWarm}; `
      + `${f.slowStarts} of ${f.rounds} cold transfers over ${SLOW}x the warm median; stalled: ${f.coldStalled} cold, ${f.warmStalled} warm; `
      + `packets discarded on send: ${f.coldDiscarding} cold, ${f.warmDiscarding} warm`);
  }
}
