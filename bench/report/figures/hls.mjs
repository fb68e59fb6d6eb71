// bench/hls.mjs's results (hls.json): five hls.js viewers one after another and five at once,
// with peerfetch's service worker and with p2p-media-loader: from peers per viewer, and what
// the origin sent.
import { dayOf, need, NotPlotted } from "../results.mjs";
import { colourBy } from "../render.mjs";

/** The phases of a run, by their key in hls.json, named for a plot. */
const PHASES = { oneAfterAnother: "five viewers one after another", atOnce: "five viewers at once" };
/** The peer-to-peer modes, peerfetch first; plain hls.js ("origin") gets nothing from peers. */
const P2P_MODES = ["peerfetch", "peerfetch-at-once", "p2pml"];


/** The range of `bytes` in MB, one decimal: "11.3" or "10.9–11.3". */
function megabytes(bytes) {
  const [low, high] = [Math.min(...bytes), Math.max(...bytes)].map((b) => (b / 1e6).toFixed(1));
  return low === high ? low : `${low}–${high}`;
}

/** `[phase name, modes]` for each phase hls.json has. */
function phasesOf(hls) {
  const phases = Object.entries(need(hls.phases, "hls.json's phases")).filter(([key]) => PHASES[key]);
  if (!phases.length) throw new NotPlotted("hls.json has neither phase");
  return phases.map(([key, modes]) => [PHASES[key], modes]);
}

/** Per viewer: bytes from peers ÷ bytes its player loaded. */
export const hlsOffload = {
  name: "hls-offload",
  title: "HLS video: bytes from peers per viewer",
  make(results) {
    const hls = results.read("hls.json");
    const rows = [];
    for (const [phase, modes] of phasesOf(hls)) {
      for (const mode of P2P_MODES.filter((m) => modes[m])) {
        need(modes[mode].viewers, `hls.json's viewers of ${mode}`).forEach((v, i) => {
          rows.push({ phase, mode: modes[mode].label, viewer: i + 1, ratio: need(v.fromPeers, "a viewer's fromPeers") / need(v.received, "a viewer's received") });
        });
      }
    }
    if (!rows.length) throw new NotPlotted("hls.json has no viewer of peerfetch or p2p-media-loader");
    const loaded = phasesOf(hls).flatMap(([, modes]) => Object.values(modes).flatMap((m) => m.viewers ?? []).map((v) => v.received));
    return {
      caption: `Each viewer's bytes from peers (as each system counts them) over the bytes its player loaded (${megabytes(loaded)} MB a viewer). 1 is everything the player loaded; above 1, bytes fetched from peers ahead of the player (p2p-media-loader's defaults prefetch far ahead), which the player had not loaded when its viewer stopped watching. Plain hls.js gets nothing from peers. From bench/results/hls.json (${dayOf(hls)}).`,
      spec: {
        data: { values: rows },
        facet: { column: { field: "phase", type: "nominal", title: null, sort: Object.values(PHASES) } },
        spec: {
          width: 260, height: 200,
          layer: [
            { mark: { type: "rule", color: "#999", strokeDash: [4, 3] }, encoding: { y: { datum: 1 } } },
            {
              mark: { type: "line", point: true },
              encoding: {
                x: { field: "viewer", type: "ordinal", title: "viewer", axis: { labelAngle: 0 } },
                y: { field: "ratio", type: "quantitative", title: "from peers ÷ loaded" },
                color: colourBy("mode", [...new Set(rows.map((r) => r.mode))], null),
              },
            },
          ],
        },
      },
    };
  },
};

/** What the origin sent per mode and phase: the bytes the site pays for. */
export const hlsOrigin = {
  name: "hls-origin",
  title: "HLS video: bytes the origin sent (fewer is better)",
  make(results) {
    const hls = results.read("hls.json");
    const rows = phasesOf(hls).flatMap(([phase, modes]) => Object.entries(modes)
      .filter(([, m]) => typeof m.originBytes === "number")
      .map(([key, m]) => ({ phase, key, mode: m.label, MB: m.originBytes / 1e6 })));
    if (!rows.length) throw new NotPlotted("hls.json has no originBytes");
    const modeOrder = [...new Set(rows.map((r) => r.mode))];
    const loaded = phasesOf(hls).flatMap(([, modes]) => Object.values(modes).map((m) => m.bytesThePlayersLoaded ?? 0));
    const y = { field: "mode", type: "nominal", title: null, sort: modeOrder };
    return {
      caption: `MB the origin sent for the stream's playlists and segments while five viewers watched (their players loaded ${megabytes(loaded)} MB in all). From bench/results/hls.json (${dayOf(hls)}).`,
      spec: {
        data: { values: rows },
        facet: { row: { field: "phase", type: "nominal", title: null, sort: Object.values(PHASES), header: { labelAngle: 0, labelAlign: "left", labelAnchor: "start", labelOrient: "top" } } },
        spec: {
          width: 380,
          layer: [
            { mark: { type: "bar", height: 14 }, encoding: { y, x: { field: "MB", type: "quantitative", title: "MB from the origin" }, color: { ...colourBy("key", ["peerfetch", "peerfetch-at-once", "p2pml", "origin"]), legend: null } } },
            { mark: { type: "text", align: "left", dx: 4, fontSize: 10 }, encoding: { y, x: { field: "MB", type: "quantitative" }, text: { field: "MB", type: "quantitative", format: ".1f" } } },
          ],
        },
      },
    };
  },
};
