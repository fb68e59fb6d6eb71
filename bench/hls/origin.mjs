// The origin of bench/hls.mjs, in node: the site the viewers open. It behaves like a CDN for
// the stream (bench/hls/stream/ under /hls/stream/): every response waits a fixed first-byte
// delay, and all of them share one uplink (shared-rate.mjs); it counts the stream bytes it
// sends. It also serves the player page and the players' modules (hls.js, p2p-media-loader),
// and passes everything else (peerfetch's scripts, service worker, package, /bootstrap) to
// peerfetch-server unthrottled, so the site's origin is the page's origin as on a real site.
import { createServer, request as httpRequest } from "node:http";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { join, normalize } from "node:path";
import { installedFile } from "./install.mjs";
import { SharedRate } from "./shared-rate.mjs";
import { STREAM_DIR, STREAM_PATH, MANIFEST_FILE } from "./stream.mjs";

const CHUNK = 16 * 1024;
const TYPES = { ".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t" };

/** The page and modules at their paths. */
function pageFiles() {
  const here = (file) => join(import.meta.dirname, file);
  return {
    "/hls/": [here("player.html"), "text/html; charset=utf-8"],
    "/hls/player.js": [here("player.js"), "text/javascript"],
    "/hls/peerfetch-manifest.json": [MANIFEST_FILE, "application/json"],
    "/hls/vendor/hls.mjs": [installedFile("hls.js", "dist/hls.mjs"), "text/javascript"],
    "/hls/vendor/p2p-media-loader-core.js": [installedFile("p2p-media-loader-core", "dist/p2p-media-loader-core.es.js"), "text/javascript"],
    "/hls/vendor/p2p-media-loader-hlsjs.js": [installedFile("p2p-media-loader-hlsjs", "dist/p2p-media-loader-hlsjs.es.js"), "text/javascript"],
  };
}

/**
 * Starts the origin on `host`, in front of peerfetch-server at `peerfetchUrl`; each stream
 * response starts after `firstByteMs` and all share `bitsPerSecond`. Resolves to its `url`,
 * `counters` and `close()`.
 */
export async function startOrigin({ host = "127.0.0.1", peerfetchUrl, firstByteMs, bitsPerSecond }) {
  const files = pageFiles();
  const uplink = new SharedRate(bitsPerSecond / 8, 64 * 1024);
  /** Stream bytes and requests so far, and requests by path. */
  const counters = { bytes: 0, requests: 0, byPath: new Map() };
  const server = createServer((request, response) => {
    const path = new URL(request.url, "http://origin").pathname;
    if (path.startsWith(`${STREAM_PATH}/`)) return sendStreamFile(path, request, response);
    const file = files[path];
    if (file) {
      return response.writeHead(200, { "content-type": file[1], "cache-control": "no-store" }).end(readFileSync(file[0]));
    }
    passToPeerfetch(request, response);
  });

  async function sendStreamFile(path, request, response) {
    const file = normalize(join(STREAM_DIR, path.slice(STREAM_PATH.length)));
    let size;
    try {
      if (!file.startsWith(STREAM_DIR)) throw new Error("outside the stream");
      size = statSync(file).size;
    } catch {
      return response.writeHead(404).end();
    }
    counters.requests++;
    counters.byPath.set(path, (counters.byPath.get(path) ?? 0) + 1);
    const range = byteRange(request.headers.range, size);
    const headers = { "content-type": TYPES[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream", "accept-ranges": "bytes", "cache-control": "public, max-age=3600" };
    await new Promise((r) => setTimeout(r, firstByteMs));
    if (range) {
      response.writeHead(206, { ...headers, "content-length": range.end - range.start + 1, "content-range": `bytes ${range.start}-${range.end}/${size}` });
    } else {
      response.writeHead(200, { ...headers, "content-length": size });
    }
    let closed = false;
    response.on("close", () => { closed = true; });
    const stream = createReadStream(file, { highWaterMark: CHUNK, ...(range && { start: range.start, end: range.end }) });
    try {
      for await (const chunk of stream) {
        await uplink.take(chunk.length);
        if (closed) break;
        counters.bytes += chunk.length;
        if (!response.write(chunk)) await drained(response);
      }
    } finally {
      stream.destroy();
      response.end();
    }
  }

  function passToPeerfetch(request, response) {
    const target = new URL(request.url, peerfetchUrl);
    const upstream = httpRequest(target, { method: request.method, headers: { ...request.headers, host: target.host } }, (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    });
    upstream.on("error", () => response.writeHead(502).end());
    request.pipe(upstream);
  }

  await new Promise((resolve) => server.listen(0, host, resolve));
  return {
    url: `http://${host}:${server.address().port}`,
    counters,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

/** The single byte range `header` asks for of `size` bytes (undefined: all of them). */
function byteRange(header, size) {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header ?? "");
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  if (match[1] === "") return { start: Math.max(0, size - Number(match[2])), end: size - 1 };
  return { start: Number(match[1]), end: Math.min(size - 1, match[2] === "" ? size - 1 : Number(match[2])) };
}

/** Resolves once `response` can take more, or has closed. */
function drained(response) {
  return new Promise((resolve) => {
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}
