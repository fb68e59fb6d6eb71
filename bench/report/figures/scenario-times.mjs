// bench/webtorrent.mjs's scenarios as bars: each system's median time, its range over the
// rounds as a line, one panel per scenario (webtorrent.json, the full run).
import { spread } from "../../stats.mjs";
import { colourBy } from "../render.mjs";
import { need, NotPlotted } from "../results.mjs";
import { systemsOf, runOf } from "./side-by-side.mjs";

/**
 * One row per system of each scenario that delivered: `{ scenario, key, system, median, min,
 * max }`, `key` the system's key in the results (its colour: the label says more in (c)).
 */
function timeRows(scenarios) {
  const rows = [];
  for (const scenario of Object.values(scenarios)) {
    if (scenario.error || !scenario.title) continue;
    // (d) keeps a list of runs per system; (a)-(c) a summary per system.
    const systems = Array.isArray(scenario.peerfetch)
      ? Object.keys(scenario).filter((key) => Array.isArray(scenario[key])).map((key) => [key, scenario[key][0]?.label ?? key, spread(scenario[key].map((run) => run.seconds).filter((s) => typeof s === "number"))])
      : scenario.webtorrentSecondsOverPeerfetch ? systemsOf(scenario).map((key) => [key, scenario[key].label, scenario[key].seconds]) : [];
    for (const [key, system, seconds] of systems) {
      if (seconds) rows.push({ scenario: scenario.title, key, system, median: seconds.median, min: seconds.min, max: seconds.max });
    }
  }
  return rows;
}

/** Time to deliver the file per scenario and system. */
export const scenarioTimes = {
  name: "webtorrent-times",
  title: "Side by side with WebTorrent: time per scenario (shorter is better)",
  make(results) {
    const data = results.read("webtorrent.json");
    const rows = timeRows(need(data.scenarios, "webtorrent.json's scenarios"));
    if (!rows.length) throw new NotPlotted("webtorrent.json has no scenario with its systems' times");
    const x = { field: "median", type: "quantitative", title: "seconds (median; line: range over the rounds)" };
    const y = { field: "system", type: "nominal", title: null, sort: null };
    return {
      caption: `Each bar the median time from the clock's start until the downloaders had the whole file, the line through it the fastest and slowest round. (c) is until all four downloaders have it. From bench/results/webtorrent.json (${runOf(data)}).`,
      spec: {
        data: { values: rows },
        facet: { row: { field: "scenario", type: "nominal", title: null, sort: null, header: { labelAngle: 0, labelAlign: "left", labelAnchor: "start", labelOrient: "top" } } },
        spec: {
          width: 420,
          layer: [
            { mark: { type: "bar", height: 14 }, encoding: { x, y, color: { ...colourBy("key", [...new Set(rows.map((r) => r.key))]), legend: null } } },
            { mark: { type: "rule" }, encoding: { x: { field: "min", type: "quantitative" }, x2: { field: "max" }, y } },
            { mark: { type: "text", align: "left", dx: 4, dy: -9, fontSize: 10 }, encoding: { x: { field: "max", type: "quantitative" }, y, text: { field: "median", type: "quantitative", format: ".2f" } } },
          ],
        },
        resolve: { scale: { x: "independent", y: "independent" } },
      },
    };
  },
};
