// Reads bench/results/*.json for the report. A plot whose file is missing, is not JSON or is of
// an older format (a field it needs is absent) is not drawn: `NotPlotted` says why, and the
// report shows that note in the plot's place.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Why a plot was not drawn, in words for the report's reader. */
export class NotPlotted extends Error {}

/** `value`, or `NotPlotted` saying that `what` is missing when it is undefined or null. */
export function need(value, what) {
  if (value === undefined || value === null) throw new NotPlotted(`${what} is missing`);
  return value;
}

/** The day (YYYY-MM-DD) a results file was written (`date`, or cdn.json's `measuredAt`). */
export const dayOf = (data) => (data.date ?? data.measuredAt)?.slice(0, 10) ?? "an undated run";

/**
 * The results in `dir`: `read(name)` parses one file (an object, else `NotPlotted`),
 * `names(pattern)` lists those whose names match.
 */
export function resultsIn(dir) {
  return {
    read(name) {
      const path = join(dir, name);
      if (!existsSync(path)) throw new NotPlotted(`bench/results/${name} is missing (its benchmark has not run here)`);
      let data;
      try {
        data = JSON.parse(readFileSync(path, "utf8"));
      } catch (error) {
        throw new NotPlotted(`bench/results/${name} is not JSON: ${error.message}`);
      }
      if (typeof data !== "object" || data === null || Array.isArray(data)) throw new NotPlotted(`bench/results/${name} is not a JSON object`);
      return data;
    },
    names: (pattern) => (existsSync(dir) ? readdirSync(dir) : []).filter((name) => pattern.test(name)).sort(),
  };
}
