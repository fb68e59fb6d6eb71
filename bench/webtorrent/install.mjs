// Where bench/webtorrent.mjs finds WebTorrent and bittorrent-tracker: this folder's own
// node_modules (package.json and package-lock.json beside this file), kept out of the
// repository's root package so that no test depends on them.
import { existsSync, readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * The command that installs them. `--ignore-scripts`: the bench uses only WebTorrent's prebuilt
 * browser bundle and the tracker's pure-JS server, while install scripts of their dependencies
 * fail here (ip-set's preinstall insists on pnpm; node-datachannel's downloads a binary).
 */
export const INSTALL_COMMAND = "npm ci --prefix bench/webtorrent --ignore-scripts --no-audit --no-fund";

/** The path of `file` inside the installed package `name`; throws saying what to run when it is missing. */
export function installedFile(name, file) {
  const path = join(HERE, "node_modules", name, file);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: the WebTorrent benchmark's packages are not installed; run \`${INSTALL_COMMAND}\` (scripts/bench.sh does)`);
  }
  return path;
}

/** The installed version of package `name`. */
export const installedVersion = (name) => JSON.parse(readFileSync(installedFile(name, "package.json"), "utf8")).version;
