// What the plots of bench/webtorrent.mjs's results (webtorrent*.json) read from them: the
// systems of a scenario and the runs that kept progress samples.
import { dayOf, need, NotPlotted } from "../results.mjs";

/** The scenarios of (a) and (b), with one downloader, by their keys in the results. */
export const ONE_DOWNLOADER = ["oneSource", "threeSources"];

/** The keys of a side-by-side scenario's systems, peerfetch first (bench/side-by-side.mjs's `scenario`). */
export const systemsOf = (scenario) => ["peerfetch", ...Object.keys(need(scenario.webtorrentSecondsOverPeerfetch, "webtorrentSecondsOverPeerfetch"))];

/** A run's day and rounds, for a caption: "2026-12-01; 5 rounds of (a)-(c), 1 of (d)". */
export const runOf = (data) => [dayOf(data), data.setup?.rounds?.split(";")[0]].filter(Boolean).join("; ");

/**
 * The newest webtorrent*.json whose (a) or (b) kept progress samples: `{ name, data }`. A full
 * run (webtorrent.json) has them once it ran with this bench; until then a shorter run written
 * beside it (WT_RESULTS) may.
 */
export function runWithProgress(results) {
  const readable = (name) => {
    try {
      return [{ name, data: results.read(name) }];
    } catch (error) {
      if (error instanceof NotPlotted) return [];
      throw error;
    }
  };
  const runs = results.names(/^webtorrent.*\.json$/).flatMap(readable)
    .filter(({ data }) => ONE_DOWNLOADER.some((key) => data.scenarios?.[key]?.peerfetch?.progressOfMedianRound));
  if (!runs.length) throw new NotPlotted("no bench/results/webtorrent*.json has progress samples (progressOfMedianRound: runs of bench/webtorrent.mjs before they were recorded)");
  return runs.sort((a, b) => String(b.data.date).localeCompare(String(a.data.date)))[0];
}
