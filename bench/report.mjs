// Draws the benchmarks' results (bench/results/*.json) as pictures: an SVG file per plot in
// bench/results/plots/ (docs/benchmarks.md shows them beside their tables, README.md two) and
// one page with every plot inline, bench/results/report.html, which opens offline. The plots are
// vega-lite specs rendered by vega in node (bench/report/package.json; scripts/bench.sh installs
// it and runs this last). A results file that is missing or of an older format leaves its plot
// out with a note, in the page and here; the SVG an earlier run drew stays as it was. Run with
// `node bench/report.mjs`.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cdnOffload, pageLoad } from "./report/figures/cdn.mjs";
import { hlsOffload, hlsOrigin } from "./report/figures/hls.mjs";
import { scenarioTimes } from "./report/figures/scenario-times.mjs";
import { throughput, throughputBySource } from "./report/figures/throughput.mjs";
import { reportPage } from "./report/page.mjs";
import { NotPlotted, resultsIn } from "./report/results.mjs";

const INSTALL_COMMAND = "npm ci --prefix bench/report --ignore-scripts --no-audit --no-fund";
/** The plots, in the page's order. */
const FIGURES = [throughput, throughputBySource, scenarioTimes, cdnOffload, pageLoad, hlsOffload, hlsOrigin];

const { toSvg } = await import("./report/render.mjs").catch((error) => {
  if (error.code !== "ERR_MODULE_NOT_FOUND") throw error;
  console.error(`bench/report's packages are not installed (${error.message}): run \`${INSTALL_COMMAND}\` (scripts/bench.sh does)`);
  process.exit(1);
});
const dir = fileURLToPath(new URL("results", import.meta.url));
const results = resultsIn(dir);
mkdirSync(join(dir, "plots"), { recursive: true });
const plots = [];
for (const figure of FIGURES) {
  try {
    const { spec, caption } = figure.make(results);
    const svg = await toSvg(spec, figure.title);
    writeFileSync(join(dir, "plots", `${figure.name}.svg`), svg);
    plots.push({ title: figure.title, svg, caption });
    console.log(`bench/results/plots/${figure.name}.svg: ${figure.title}`);
  } catch (error) {
    // A results file of a shape no figure expected is a note too, with what went wrong.
    const note = error instanceof NotPlotted ? error.message : `its results could not be read (${error.message})`;
    plots.push({ title: figure.title, note });
    console.log(`${figure.name}: not drawn: ${note}`);
  }
}
writeFileSync(join(dir, "report.html"), reportPage(plots, new Date()));
console.log(`bench/results/report.html: ${plots.filter((p) => p.svg).length} of ${plots.length} plots`);
