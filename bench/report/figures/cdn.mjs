// bench/cdn.mjs's results (cdn.json): the demo site's visitors one after another, each in a
// browser of its own: how much came from peers, and how long a page took to load.
import { median } from "../../stats.mjs";
import { dayOf, need, NotPlotted } from "../results.mjs";
import { colourBy } from "../render.mjs";


/** cdn.json and its visitors, one after another. */
function visitorsIn(results) {
  const cdn = results.read("cdn.json");
  return { cdn, visitors: need(cdn.visitors, "cdn.json's visitors") };
}

/** Share of the bytes from peers per visitor, and of all visitors' bytes so far. */
export const cdnOffload = {
  name: "cdn-offload",
  title: "CDN offload: share of the site's bytes from peers, per visitor",
  make(results) {
    const { cdn, visitors } = visitorsIn(results);
    const rows = [];
    let peers = 0;
    let all = 0;
    for (const v of visitors) {
      const bytes = need(v.fromPeers, "a visitor's fromPeers") + need(v.fromOrigin, "a visitor's fromOrigin");
      peers += v.fromPeers;
      all += bytes;
      rows.push({ visitor: v.visitor, series: "this visitor", share: bytes ? v.fromPeers / bytes : 0 });
      rows.push({ visitor: v.visitor, series: "all visitors so far", share: all ? peers / all : 0 });
    }
    if (!rows.length) throw new NotPlotted("cdn.json has no visitors");
    return {
      caption: `The demo site (${((cdn.siteBytes ?? 0) / 1e6).toFixed(1)} MB), visitors one after another, each in a headless Chromium of its own that stays open: the share of each visitor's bytes that came from peers, and of all visitors' bytes up to it. From bench/results/cdn.json (${dayOf(cdn)}).`,
      spec: {
        data: { values: rows },
        width: 420, height: 200,
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "visitor", type: "ordinal", title: "visitor", axis: { labelAngle: 0 } },
          y: { field: "share", type: "quantitative", title: "from peers", axis: { format: "%" }, scale: { domain: [0, 1] } },
          color: colourBy("series", ["this visitor", "all visitors so far"], null),
        },
      },
    };
  },
};

/** Page loads: without peerfetch, with its server down, the first visitor, later visitors. */
export const pageLoad = {
  name: "page-load",
  title: "CDN demo site: page load time (shorter is better)",
  make(results) {
    const { cdn, visitors } = visitorsIn(results);
    const load = need(cdn.loadMs, "cdn.json's loadMs");
    const cases = [
      ["without peerfetch", need(load.withoutPeerfetch, "loadMs.withoutPeerfetch")],
      ["with peerfetch, its server down", need(load.serverDown, "loadMs.serverDown")],
      ["first visitor (no peers yet)", visitors.slice(0, 1).map((v) => v.loadMs)],
      ["later visitors, from peers", visitors.slice(1).map((v) => v.loadMs)],
    ];
    const loads = cases.flatMap(([what, ms]) => ms.map((m) => ({ what, ms: m })));
    // Each median is written to the right of the case's slowest load.
    const medians = cases.filter(([, ms]) => ms.length).map(([what, ms]) => ({ what, ms: median(ms), slowest: Math.max(...ms) }));
    const y = { field: "what", type: "nominal", title: null, sort: cases.map(([what]) => what) };
    return {
      caption: `Navigation to every asset loaded. Bars and figures: the median (the upper one of an even count, as the bench takes it); dots: each load (${load.withoutPeerfetch.length} without peerfetch and ${load.serverDown.length} with its server down; each later visitor once). From bench/results/cdn.json (${dayOf(cdn)}).`,
      spec: {
        width: 420,
        layer: [
          { data: { values: medians }, mark: { type: "bar", height: 18, color: "#c6dbef" }, encoding: { y, x: { field: "ms", type: "quantitative", title: "ms" } } },
          { data: { values: medians }, mark: { type: "text", align: "left", dx: 8, fontSize: 10 }, encoding: { y, x: { field: "slowest", type: "quantitative" }, text: { field: "ms", type: "quantitative", format: ".0f" } } },
          { data: { values: loads }, mark: { type: "point", filled: true, size: 28, color: "#1f77b4", opacity: 0.8 }, encoding: { y, x: { field: "ms", type: "quantitative" } } },
        ],
      },
    };
  },
};
