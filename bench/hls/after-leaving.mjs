// Newcomers after most viewers left, for bench/hls.mjs (peerfetch only): the server keeps a
// closed tab's provider records for its registration grace (30 s after it last saw the tab's
// connection, time for a tab that lost it to come back), so a newcomer right after is given
// providers that are gone. What that costs shows next to a second newcomer once the server has
// dropped those records (its `peerfetch_swarm_registrations` gauge falls; the first newcomer
// still there): their segments' load times, and the lines of their consoles that name a
// provider they could not reach.
import { median } from "../stats.mjs";
import { openViewer, report } from "./viewers.mjs";

/** How long to wait for the server to drop the gone viewers' records. */
const RECORDS_TIMEOUT_MS = 120_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Closes every viewer in `viewers` but the last, opens one at `url` at once and, once it has
 * watched `watchSeconds` and the server (its registrations gauge read by `registrations()`)
 * has dropped the gone viewers' records, another; resolves to their figures and when the
 * records went.
 */
export async function newcomersAfterLeaving(viewers, url, watchSeconds, registrations) {
  const held = await registrations();
  await Promise.all(viewers.slice(0, -1).map((v) => v.browser.close()));
  const left = Date.now();
  const opened = [];
  try {
    const duringGrace = await openViewer(url, watchSeconds);
    opened.push(duringGrace);
    await duringGrace.watched;
    // Each viewer holds about as many records: with the gone ones' dropped and the newcomer's
    // added, about 2/5 of `held` remain; before, 6/5.
    let recordsGoneAfterMs = null;
    while (Date.now() - left < RECORDS_TIMEOUT_MS) {
      if (await registrations() < 0.7 * held) { recordsGoneAfterMs = Date.now() - left; break; }
      await sleep(1000);
    }
    const afterGrace = await openViewer(url, watchSeconds);
    opened.push(afterGrace);
    await afterGrace.watched;
    return {
      goneProviders: viewers.length - 1,
      registrationsBefore: held,
      recordsGoneAfterMs,
      duringGrace: figures(await report(duringGrace), "1 live provider and the records of the gone ones"),
      afterGrace: figures(await report(afterGrace), "2 live providers, the gone ones' records dropped"),
    };
  } finally {
    await Promise.all(opened.map((v) => v.browser.close()));
  }
}

function figures(r, providers) {
  const ms = r.fragments.map((f) => f.ms);
  return {
    providers,
    startupMs: Math.round(r.startupMs),
    fragmentMsMedian: Math.round(median(ms)),
    fragmentMsMean: Math.round(ms.reduce((a, b) => a + b, 0) / ms.length),
    fragmentMs: ms,
    fromPeers: r.peerfetch?.fromPeers,
    fromOrigin: r.peerfetch?.fromOrigin,
    rebuffers: r.rebuffers.length,
    unreachableProviderLines: r.unreachableProviderLines,
    unreachableProviders: r.unreachableProviders,
    unreachableErrors: r.unreachableErrors,
  };
}
