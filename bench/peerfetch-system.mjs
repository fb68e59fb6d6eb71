// peerfetch as one of the systems bench/side-by-side.mjs compares: its tab (a page of
// peerfetch-server that joined `swarm`) and the steps of a round.
import { openTab } from "../tests/harness.mjs";
import { installHelpers, share, download, downloadedDigest, forget } from "./sharing.mjs";

/**
 * peerfetch on the server at `serverUrl`, its tabs in `swarm`; `notes()` resolves to lines
 * about the server worth printing when a download fails. The interface is
 * bench/side-by-side.mjs's.
 */
export function peerfetchSystem({ serverUrl, swarm, notes }) {
  return {
    key: "peerfetch",
    label: "peerfetch",
    options: { pieceLength: 1024 * 1024 },
    tab: (browser) => browser.tabs.peerfetch,
    async open(browser) {
      const page = await openTab(browser, serverUrl, { swarm });
      const joinError = await page.evaluate(() => window.joinError && String(window.joinError.message));
      if (joinError) throw new Error(`a peerfetch tab did not join: ${joinError}`);
      await installHelpers(page);
      return page;
    },
    seed: async (page, bytes, seed) => ({ id: await share(page, bytes, seed) }),
    // The mesh's links are up before the first round (the bench waits for them); a download
    // asks the server for providers and opens streams on those links.
    prepare: (pages) => Promise.all(pages.map((page) => page.evaluate(() => ({ links: peer.stats().neighbours })))),
    download: (page, what) => download(page, what.id),
    digest: (page) => downloadedDigest(page),
    drop: (pages, what) => Promise.all(pages.map((page) => forget(page, what.id))),
    state: (page) => page.evaluate(() => ({ id: peer.id, stats: peer.stats(), connections: peer.connections().length, transfers: peer.transfers() })),
    notes,
  };
}
