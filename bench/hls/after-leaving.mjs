// Newcomers after most viewers left, for bench/hls.mjs (peerfetch only): the server keeps a
// closed tab's provider records for its registration grace (30 s, time for a tab that lost its
// connection to come back), so a newcomer right after is given providers that are gone. What
// that costs shows next to a second newcomer once the grace is over (the first one still
// there): their segments' load times, and the lines of their consoles that name a provider
// they could not reach.
import { median } from "../stats.mjs";
import { openViewer, report } from "./viewers.mjs";

/** The server's registration grace (peerfetch-server `--registration-grace-secs`). */
const GRACE_MS = 30_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Closes every viewer in `viewers` but the last, opens one at `url` at once and, once it has
 * watched `watchSeconds` and the grace is over, another; resolves to their figures.
 */
export async function newcomersAfterLeaving(viewers, url, watchSeconds) {
  await Promise.all(viewers.slice(0, -1).map((v) => v.browser.close()));
  const left = Date.now();
  const opened = [];
  try {
    const duringGrace = await openViewer(url, watchSeconds);
    opened.push(duringGrace);
    await duringGrace.watched;
    await sleep(Math.max(0, left + GRACE_MS + 1000 - Date.now()));
    const afterGrace = await openViewer(url, watchSeconds);
    opened.push(afterGrace);
    await afterGrace.watched;
    return {
      goneProviders: viewers.length - 1,
      duringGrace: figures(await report(duringGrace), "1 live provider and the records of the gone ones"),
      afterGrace: figures(await report(afterGrace), "2 live providers, the gone ones' records expired"),
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
  };
}
