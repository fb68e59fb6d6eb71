// Summaries of a benchmark's rounds, shared by bench/*.mjs.

/** The median of `xs` (the upper one of an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** `x` rounded to `digits` decimals. */
export const round = (x, digits = 2) => +x.toFixed(digits);

/**
 * `{ median, min, max }` of `xs`, each rounded to `digits` decimals; null for no value (every
 * round failed).
 */
export function spread(xs, digits = 2) {
  if (xs.length === 0) return null;
  return { median: round(median(xs), digits), min: round(Math.min(...xs), digits), max: round(Math.max(...xs), digits) };
}
