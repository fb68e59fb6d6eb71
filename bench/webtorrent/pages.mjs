// The WebTorrent tabs' web server for bench/webtorrent.mjs: a blank page, WebTorrent's browser
// bundle and the bench's in-page client (in-page.js), on loopback. Its origin
// (http://localhost:<port>) is not peerfetch-server's (http://127.0.0.1:<port>), so the two
// systems' tabs never share a renderer process or an OPFS; both are secure contexts.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { installedFile } from "./install.mjs";

const PAGE = "<!doctype html><meta charset=\"utf-8\"><title>WebTorrent bench page</title>\n";

/** Starts the server; resolves to its `url` and `close()`. */
export async function startPages() {
  const files = {
    "/webtorrent.min.js": readFileSync(installedFile("webtorrent", "dist/webtorrent.min.js")),
    "/in-page.js": readFileSync(new URL("./in-page.js", import.meta.url)),
  };
  const server = createServer((request, response) => {
    if (request.url === "/") {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE);
    } else if (files[request.url]) {
      response.writeHead(200, { "content-type": "text/javascript" }).end(files[request.url]);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://localhost:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}
