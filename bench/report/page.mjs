// The report page: every plot inline as SVG, with its caption, or the note saying why it is
// missing. One file with no script, stylesheet, font or image from anywhere: it opens offline.

const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

/** An SVG document as an element of a page: without its XML prolog, if it has one. */
const inline = (svg) => svg.replace(/^<\?xml[^>]*>\s*/, "");

const STYLE = `
  body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2.5rem; }
  figure { margin: 2.5rem 0 0; } figcaption, .note { color: #555; font-size: 0.9rem; max-width: 48rem; }
  .note { border-left: 3px solid #e6a23c; padding-left: 0.75rem; }
  svg { max-width: 100%; height: auto; }`;

/**
 * The page of `plots` (`{ title, svg, caption }`, or `{ title, note }` for one not drawn), made
 * at `made` (a Date).
 */
export function reportPage(plots, made) {
  // A drawn plot carries its title; a note gets it as a heading.
  const sections = plots.map(({ title, svg, caption, note }) => svg
    ? `<figure aria-label="${escape(title)}">\n${inline(svg)}\n<figcaption>${escape(caption)}</figcaption>\n</figure>`
    : `<section>\n<h2>${escape(title)}</h2>\n<p class="note">Not drawn: ${escape(note)}.</p>\n</section>`);
  return `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>peerfetch benchmarks</title>
<style>${STYLE}</style>
<h1>peerfetch benchmarks</h1>
<p>Plots of <code>bench/results/*.json</code>, drawn by <code>node bench/report.mjs</code> on ${escape(made.toISOString().slice(0, 10))}. The tables and what each run means are in <code>docs/benchmarks.md</code>.</p>
${sections.join("\n")}
</html>
`;
}
