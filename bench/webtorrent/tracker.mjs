// bittorrent-tracker's WebSocket tracker, run in node for bench/webtorrent.mjs: the WebTorrent
// tabs find each other through it (their WebRTC offers and answers pass through it), as
// peerfetch's tabs find each other through peerfetch-server.
import { pathToFileURL } from "node:url";
import { installedFile } from "./install.mjs";

/** Starts the tracker on `host` (WebSocket only); resolves to its `url` and `close()`. */
export async function startTracker(host) {
  const { default: Tracker } = await import(pathToFileURL(installedFile("bittorrent-tracker", "server.js")));
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
