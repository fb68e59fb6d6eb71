// Where bench/hls.mjs finds hls.js, p2p-media-loader and bittorrent-tracker: this folder's own
// node_modules (package.json and package-lock.json beside this file), kept out of the
// repository's root package so that no test depends on them.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The command that installs them. `--ignore-scripts`: the bench uses the players' browser
 * builds and the tracker's pure-JS server; install scripts of the tracker's dependencies fail
 * here (bench/webtorrent/install.mjs says which).
 */
export const INSTALL_COMMAND = "npm ci --prefix bench/hls --ignore-scripts --no-audit --no-fund";

/** The path of `file` inside the installed package `name`; throws saying what to run when it is missing. */
export function installedFile(name, file) {
  const path = join(import.meta.dirname, "node_modules", name, file);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: the HLS benchmark's packages are not installed; run \`${INSTALL_COMMAND}\` (scripts/bench.sh does)`);
  }
  return path;
}

/** The installed version of package `name`. */
export const installedVersion = (name) => JSON.parse(readFileSync(installedFile(name, "package.json"), "utf8")).version;
