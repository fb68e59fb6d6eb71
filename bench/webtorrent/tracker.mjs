// bittorrent-tracker's WebSocket tracker, run in node for bench/webtorrent.mjs (and for
// bench/hls.mjs, from its own install): the WebTorrent tabs find each other through it (their
// WebRTC offers and answers pass through it), as peerfetch's tabs find each other through
// peerfetch-server.
import { pathToFileURL } from "node:url";
import { installedFile } from "./install.mjs";

/**
 * Starts the tracker on `host` (WebSocket only) from the tracker's `server.js` at `serverFile`
 * (bench/webtorrent's install by default); resolves to its `url` and `close()`.
 */
export async function startTracker(host, serverFile = installedFile("bittorrent-tracker", "server.js")) {
  const { default: Tracker } = await import(pathToFileURL(serverFile));
  const tracker = new Tracker({ http: false, udp: false, ws: true, stats: false });
  tracker.on("warning", () => {}); // announces for unknown torrents and the like
  await new Promise((resolve, reject) => {
    tracker.once("listening", resolve);
    tracker.once("error", reject);
    tracker.listen(0, host);
  });
  return {
    url: `ws://${host}:${tracker.http.address().port}`,
    close: () => new Promise((resolve) => tracker.close(resolve)),
  };
}
