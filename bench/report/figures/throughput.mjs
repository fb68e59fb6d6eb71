// Throughput over time in (a) and (b) of bench/webtorrent.mjs: MB received since the clock
// started, for each system's median round; in all, and from each source in (b).
import { colourBy } from "../render.mjs";
import { NotPlotted } from "../results.mjs";
import { ONE_DOWNLOADER, systemsOf, runOf, runWithProgress } from "./side-by-side.mjs";

/**
 * One row per sample of each system's median round in the scenarios of (a) and (b): `{ key,
 * scenario, system, s, source, MB }`, `key` the scenario's in the results, `source` "all" for
 * the sum of every source. Each line starts at 0.
 */
function progressRows(data) {
  const rows = [];
  for (const key of ONE_DOWNLOADER) {
    const scenario = data.scenarios?.[key];
    if (!scenario || scenario.error) continue;
    for (const systemKey of systemsOf(scenario)) {
      const { label: system, progressOfMedianRound: median } = scenario[systemKey];
      if (!median) continue;
      const [{ columns, samples }] = median.downloaders;
      const row = (s, source, bytes) => rows.push({ key, scenario: scenario.title, system, s, source, MB: bytes / 1e6 });
      for (const source of ["all", ...columns.slice(1)]) row(0, source, 0);
      for (const [ms, ...bySource] of samples) {
        row(ms / 1000, "all", bySource.reduce((a, b) => a + b, 0));
        columns.slice(1).forEach((source, i) => row(ms / 1000, source, bySource[i] ?? 0));
      }
    }
  }
  return rows;
}

const unique = (values) => [...new Set(values)];
const axes = {
  x: { field: "s", type: "quantitative", title: "seconds since the clock started" },
  y: { field: "MB", type: "quantitative", title: "MB received" },
};

/** MB received over time, one line per system, (a) beside (b). */
export const throughput = {
  name: "throughput",
  title: "Throughput over time: peerfetch and WebTorrent",
  make(results) {
    const { name, data } = runWithProgress(results);
    const rows = progressRows(data).filter((r) => r.source === "all");
    if (!rows.length) throw new NotPlotted(`bench/results/${name} has no progress samples of (a) or (b)`);
    return {
      caption: `MB the downloader had received since its clock started, sampled every 100 ms (a busy page samples later), in each system's round nearest its median time: peerfetch's verified bytes per peer as peer.transfers() reports them, a whole piece (1 MiB) at a time, so its line is a staircase; WebTorrent's bytes received per wire, 16 KiB blocks before their piece is verified. From bench/results/${name} (${runOf(data)}).`,
      spec: {
        data: { values: rows },
        facet: { column: { field: "scenario", type: "nominal", title: null } },
        spec: {
          width: 320, height: 220, mark: { type: "line", interpolate: "linear" },
          encoding: { ...axes, color: colourBy("system", unique(rows.map((r) => r.system)), null) },
        },
      },
    };
  },
};

/** In (b): MB received from each of the three sources over time, one panel per system. */
export const throughputBySource = {
  name: "throughput-by-source",
  title: "Where the bytes came from: (b) three sources → one downloader",
  make(results) {
    const { name, data } = runWithProgress(results);
    const rows = progressRows(data).filter((r) => r.key === "threeSources" && r.source !== "all");
    if (!rows.length) throw new NotPlotted(`bench/results/${name} has no progress samples of (b)`);
    return {
      caption: `(b): MB received from each source over time in the same rounds as above, sources numbered in the order their first bytes came. From bench/results/${name} (${runOf(data)}).`,
      spec: {
        data: { values: rows },
        facet: { column: { field: "system", type: "nominal", title: null, sort: unique(rows.map((r) => r.system)) } },
        spec: {
          width: 220, height: 180, mark: "line",
          encoding: { ...axes, color: colourBy("source", unique(rows.map((r) => r.source)).sort(), "source") },
        },
      },
    };
  },
};
