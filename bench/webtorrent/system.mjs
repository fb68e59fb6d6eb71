// WebTorrent as one of the systems bench/side-by-side.mjs compares: its tab (pages.mjs's page
// running in-page.js) and the steps of a round, driven from node.
import { newLoggedPage } from "../../tests/harness.mjs";
import { installHelpers, PROGRESS_EVERY_MS } from "../sharing.mjs";

/** How long a downloader may take to connect to its peers before the clock starts anyway. */
const LINK_TIMEOUT_MS = 20_000;

/** Opens WebTorrent's page in `browser` with its client (in-page.js as `window.wt`). */
export async function openWebTorrentTab(browser, pagesUrl) {
  const page = await newLoggedPage(browser.context);
  await page.goto(`${pagesUrl}/`);
  await page.evaluate(async () => { window.wt = await import("/in-page.js"); });
  await installHelpers(page);
  return page;
}

/**
 * WebTorrent with `pieceLength` (undefined: its default for the size) and the piece selection
 * `strategy` (`sequential`, its default, or `rarest`), announcing to the tracker at `trackerUrl`;
 * `key` names it in the results. The interface is bench/side-by-side.mjs's.
 */
export function webtorrentSystem({ key, label, pagesUrl, trackerUrl, pieceLength, strategy = "sequential" }) {
  const call = (page, step, ...args) => page.evaluate(({ step, args }) => window.wt[step](...args), { step, args });
  return {
    key,
    label,
    options: { pieceLength: pieceLength ?? "WebTorrent's default for the size", strategy },
    tab: (browser) => browser.tabs.webtorrent,
    open: (browser) => openWebTorrentTab(browser, pagesUrl),
    seed: async (page, bytes, seed) => {
      const torrent = await call(page, "seed", seed, { tracker: trackerUrl, pieceLength });
      return { id: torrent.infoHash, ...torrent };
    },
    prepare: (pages, what, peers) => Promise.all(pages.map((page) => call(page, "prepare", what,
      { tracker: trackerUrl, strategy, wires: peers, timeoutMs: LINK_TIMEOUT_MS }))),
    download: (page, what) => call(page, "download", what.id, PROGRESS_EVERY_MS),
    digest: (page, what) => call(page, "digest", what.id),
    drop: (pages, what) => Promise.all(pages.map((page) => call(page, "remove", what.id))),
    state: (page) => call(page, "state"),
    notes: async () => [],
  };
}
