// Draws a plot as an SVG document in node: vega-lite compiles the plot's spec to a vega spec and
// vega renders it headless, with no canvas (text widths are estimated) and no network (every
// plot carries its data inline). The look every plot shares is here.
import * as vega from "vega";
import { compile } from "vega-lite";

/** Fonts every browser has, a light grid, and one palette: peerfetch is always the first colour. */
const CONFIG = {
  font: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
  background: "white",
  padding: 8,
  view: { stroke: "#ddd" },
  title: { fontSize: 14, fontWeight: "normal", anchor: "start", offset: 12 },
  axis: { gridColor: "#eee", labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal", labelLimit: 320 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal", labelLimit: 320 },
  range: { category: ["#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#9467bd", "#8c564b"] },
};

/** A loader that refuses: a plot that asked for data from anywhere would be a bug. */
const NO_LOADING = vega.loader({ mode: "file" });
NO_LOADING.load = (uri) => Promise.reject(new Error(`a plot asked to load ${uri}; plots carry their data inline`));

/** The SVG document (a string) of the vega-lite `spec`, titled `title`. */
export async function toSvg(spec, title) {
  // vega-lite warns that the panels of a plot with independent scales take their domains from
  // layers of one data set, as they do here: the sizes it then assumes are right.
  const { spec: compiled } = compile({ config: CONFIG, title, ...spec }, { logger: vega.logger(vega.Error) });
  const view = new vega.View(vega.parse(compiled), { renderer: "none", loader: NO_LOADING });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * A colour encoding of `field` whose legend lists `values` in that order (the first, peerfetch,
 * taking the palette's first colour), titled `title`.
 */
export const colourBy = (field, values, title) => ({
  field, type: "nominal", title, scale: { domain: values }, legend: { orient: "bottom", direction: "vertical" },
});
