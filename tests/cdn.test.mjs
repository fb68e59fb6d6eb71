// The CDN side: the demo site (www/cdn/) served by the server as origin, pages loading it
// through the service worker and `peer.fetch`, each tab in a browser of its own.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, launchBrowser, newLoggedPage, openTab, waitFor, corruptingTab, ROOT, SERVER_BIN, logged as loggedWith } from "./harness.mjs";

const ASSETS = join(ROOT, "www/cdn/assets");
const files = Object.fromEntries(readdirSync(ASSETS).map((name) => [`/cdn/assets/${name}`, readFileSync(join(ASSETS, name))]));
const SITE_BYTES = Object.values(files).reduce((sum, data) => sum + data.length, 0);
const sha256 = (data) => createHash("sha256").update(data).digest("hex");
const expected = Object.fromEntries(Object.entries(files).map(([path, data]) => [path, sha256(data)]));
const manifest = JSON.parse(readFileSync(join(ROOT, "www/cdn/peerfetch-manifest.json"), "utf8"));

const browsers = [];
const pages = [];
after(async () => { for (const b of browsers) await b.close(); });

/** Closes the test's browsers at its end, so the next test does not share the machine with them. */
const logged = (body) => loggedWith(pages, body, async () => {
  for (const browser of browsers.splice(0)) await browser.close();
});

/**
 * Opens `url` in a browser of its own and waits until the demo site says it loaded;
 * `prepare(page)` runs before the page is opened.
 */
async function visit(url, prepare = async () => {}) {
  const browser = await launchBrowser();
  browsers.push(browser);
  const page = await newLoggedPage(browser.context);
  pages.push(page);
  await prepare(page);
  await page.goto(url);
  const load = await waitFor(`${url} to load`, () => page.evaluate(() => window.siteLoad), 60000);
  return { page, browser, load };
}

/** What the page shows: the script ran, the stylesheet applied, every image decoded, the video has data. */
const rendered = (page) => page.evaluate(() => ({
  checksum: window.appChecksum,
  css: getComputedStyle(document.body).getPropertyValue("--site-css").trim(),
  images: [...document.querySelectorAll("img")].map((img) => img.naturalWidth),
  video: document.querySelector("video").readyState,
}));

/** SHA-256 of every asset as `fetch` (through the service worker) gives it to the page. */
const pageHashes = (page, paths) => page.evaluate(async (paths) => {
  const out = {};
  for (const path of paths) {
    const bytes = await (await fetch(path)).arrayBuffer();
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    out[path] = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  return out;
}, paths);

const originBytes = async (server) => (await (await fetch(`${server.adminUrl}/origin-stats`)).json());

test("five visitors one after another: the origin serves the site about once, later visitors get it from peers", { timeout: 300000 }, logged(async () => {
  const server = await startServer();
  try {
    const expectedChecksum = (await visit(`${server.url}/cdn/?peerfetch=off`)).page;
    const checksum = await expectedChecksum.evaluate(() => window.appChecksum);
    const baseline = (await originBytes(server)).totalBytes;
    const ratios = [];
    for (let i = 0; i < 5; i++) {
      // What is measured is that the peer path works, not how fast a two-core machine running
      // five browsers moves 11 MiB over WebRTC (bench/ does): peers get 5 s of silence (15 s
      // while bytes arrive) before the origin, not the default 1.5 s.
      const { page, load } = await visit(`${server.url}/cdn/?peerTimeout=5000`);
      assert.ok(load.ok && load.peerfetch, `visitor ${i + 1} loaded with peerfetch: ${JSON.stringify(load)}`);
      const shown = await rendered(page);
      assert.equal(shown.checksum, checksum, "the script ran byte-exact");
      assert.equal(shown.css, "loaded", "the stylesheet applied");
      assert.deepEqual(shown.images, Array(8).fill(640), "every image decoded");
      assert.ok(shown.video >= 2, "the video has data");
      // A resource is counted once obtained whole; the video may have played from its first
      // pieces before (a Range answered early), so its count can come after the page loaded.
      const counted = (stats) => stats.fromPeers + stats.fromOrigin + stats.fromStore;
      const stats = await waitFor("every asset counted", async () => {
        const stats = await page.evaluate(() => window.peerfetch.stats().offload);
        return counted(stats) >= SITE_BYTES && stats;
      }, 30000);
      const total = counted(stats);
      assert.equal(total, SITE_BYTES, "every asset was counted once");
      ratios.push(stats.fromPeers / total);
      console.log(`visitor ${i + 1}: ${(load.ms / 1000).toFixed(2)} s, ${stats.fromPeers} bytes from peers, ${stats.fromOrigin} from the origin (${Math.round(100 * stats.fromPeers / total)} % from peers, ${stats.peers.length} peers)`);
      if (i > 0) {
        assert.ok(stats.fromPeers >= 0.8 * total, `visitor ${i + 1} got ${Math.round(100 * stats.fromPeers / total)} % from peers`);
        assert.deepEqual(await pageHashes(page, Object.keys(files)), expected, "byte-exact through the service worker");
      }
    }
    const served = (await originBytes(server)).totalBytes - baseline;
    console.log(`origin served ${served} bytes for five visitors of a ${SITE_BYTES}-byte site (${(served / SITE_BYTES).toFixed(2)}×)`);
    assert.ok(served <= 1.3 * SITE_BYTES, `origin served ${(served / SITE_BYTES).toFixed(2)}× the site`);
  } finally {
    await server.stop();
  }
}));

test("video seeking through the service worker gets the right ranges", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  try {
    await visit(`${server.url}/cdn/`);
    const { page } = await visit(`${server.url}/cdn/`);
    const clip = files["/cdn/assets/clip.webm"];
    const ranges = [[0, 99], [1_000_000, 2_345_677], [clip.length - 1000, clip.length - 1]];
    for (const [first, last] of ranges) {
      const got = await page.evaluate(async ({ first, last }) => {
        const response = await fetch("/cdn/assets/clip.webm", { headers: { range: `bytes=${first}-${last}` } });
        const bytes = new Uint8Array(await response.arrayBuffer());
        return { status: response.status, range: response.headers.get("content-range"), source: response.headers.get("x-peerfetch-source"), bytes: [...bytes] };
      }, { first, last });
      assert.equal(got.status, 206);
      assert.equal(got.range, `bytes ${first}-${last}/${clip.length}`);
      assert.ok(got.source, "answered by peerfetch through the service worker");
      assert.deepEqual(Buffer.from(got.bytes), clip.subarray(first, last + 1), `bytes ${first}-${last}`);
    }
    const seeked = await page.evaluate(() => new Promise((resolve) => {
      const video = document.querySelector("video");
      video.addEventListener("seeked", () => resolve(video.currentTime), { once: true });
      video.currentTime = 15;
    }));
    assert.ok(Math.abs(seeked - 15) < 1, `the video seeked to ${seeked} s`);
  } finally {
    await server.stop();
  }
}));

test("a peer serving tampered data is banned and the page still gets correct bytes", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  const manifestUrl = `${server.url}/cdn/peerfetch-manifest.json`;
  const path = "/cdn/assets/clip.webm";
  const cid = manifest.resources[path].cid;
  const { tab: liar, browser: liarBrowser, origin: liarOrigin } = await corruptingTab(server, { swarm: "cdn-liar", manifest: manifestUrl });
  browsers.push(liarBrowser);
  pages.push(liar);
  try {
    const fromOrigin = await liar.evaluate(async (url) => (await peer.fetch(url)).headers.get("x-peerfetch-source"), `${server.url}${path}`);
    assert.equal(fromOrigin, "origin");
    const viewerBrowser = await launchBrowser();
    browsers.push(viewerBrowser);
    const viewer = await openTab(viewerBrowser, server.url, { swarm: "cdn-liar", manifest: manifestUrl });
    pages.push(viewer);
    const got = await viewer.evaluate(async (path) => {
      const response = await peer.fetch(path);
      const digest = await crypto.subtle.digest("SHA-256", await response.arrayBuffer());
      const sha = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
      return { sha, source: response.headers.get("x-peerfetch-source"), offload: peer.stats().offload };
    }, path);
    assert.equal(got.sha, expected[path], "the page got the right bytes");
    assert.match(got.source, /origin/, "what the liar sent was replaced from the origin");
    const liarId = await liar.evaluate(() => peer.id);
    const transfer = await viewer.evaluate((cid) => peer.transfers().find((t) => t.cid === cid), cid);
    assert.deepEqual(transfer.banned, [liarId], "the liar is banned");
    assert.equal(got.offload.fromPeers, 0, "nothing from the liar counted as delivered");
    // What the manifest does not cover goes to the network unchanged.
    const plain = await viewer.evaluate(async () => Promise.all(["/cdn/index.html", "/cdn/assets/unlisted.js"].map(async (path) => {
      const response = await peer.fetch(path);
      return { status: response.status, source: response.headers.get("x-peerfetch-source") };
    })));
    assert.deepEqual(plain, [{ status: 200, source: null }, { status: 404, source: null }]);
  } finally {
    await liarOrigin.stop();
    await server.stop();
  }
}));

test("with no peers and the peerfetch server down, the site loads from the origin about as fast as without peerfetch", { timeout: 300000 }, logged(async () => {
  const origin = await startServer();
  try {
    // A port nothing listens on: the peerfetch server is down.
    const down = "http://127.0.0.1:9";
    const times = { off: [], down: [] };
    const waited = [];
    // Page loads vary by ±20 % here: enough rounds for the medians to settle.
    for (let round = 0; round < Number(process.env.LOAD_ROUNDS ?? 25); round++) {
      for (const mode of ["off", "down"]) {
        const query = mode === "off" ? "peerfetch=off" : `server=${encodeURIComponent(down)}`;
        const { page, browser, load } = await visit(`${origin.url}/cdn/?${query}`);
        assert.ok(load.ok, `the site loaded (${mode})`);
        const shown = await rendered(page);
        assert.deepEqual(shown.images, Array(8).fill(640));
        assert.equal(shown.css, "loaded");
        times[mode].push(load.ms);
        if (mode === "down") waited.push(load.waitedMs);
        browsers.splice(browsers.indexOf(browser), 1);
        await browser.close();
      }
    }
    // And when peerfetch's own script cannot be loaded at all, the site still loads.
    const unreachable = await visit(`${origin.url}/cdn/`, (page) => page.route("**/peerfetch-cdn.js", (route) => route.abort()));
    assert.ok(unreachable.load.ok && !unreachable.load.peerfetch, `loads without peerfetch's script: ${JSON.stringify(unreachable.load)}`);
    const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
    const ratio = median(times.down) / median(times.off);
    console.log(`load without peerfetch: median ${median(times.off).toFixed(0)} ms ${JSON.stringify(times.off.map(Math.round))}; ` +
      `with peerfetch and its server down: median ${median(times.down).toFixed(0)} ms ${JSON.stringify(times.down.map(Math.round))}; ratio ${ratio.toFixed(3)}; ` +
      `assets held back for peerfetch: ${JSON.stringify(waited.map(Math.round))} ms`);
    // What peerfetch costs a page whose server is down is the time the page holds its assets
    // back to learn that: it must not wait (the probe fails before the page code runs).
    assert.ok(median(waited) <= 50, `the page held its assets back for a median ${median(waited).toFixed(0)} ms`);
    // Whole page loads vary by ±20 % here, so a median of 25 of them moves by about 6 %: a
    // ratio bound near 1 fails on noise alone (1.136 once in CI with nothing slower). This bound
    // catches a page that really waits; bench/cdn.mjs reports the ratio itself.
    assert.ok(ratio <= 1.3, `load time ratio ${ratio.toFixed(3)}`);
  } finally {
    await origin.stop();
  }
}));

test("when the only peer goes away mid-resource, just the missing parts come from the origin by Range", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  const path = "/cdn/assets/clip.webm";
  const cid = manifest.resources[path].cid;
  const clip = files[path];
  try {
    // A seeder that uploads slowly, so the viewer is still downloading when it leaves.
    const seederBrowser = await launchBrowser();
    browsers.push(seederBrowser);
    const seeder = await openTab(seederBrowser, server.url, { swarm: "cdn-hybrid", manifest: "/cdn/peerfetch-manifest.json", uploadLimitBytesPerSecond: 1_000_000 });
    pages.push(seeder);
    assert.equal(await seeder.evaluate(async (path) => (await peer.fetch(path)).headers.get("x-peerfetch-source"), path), "origin");
    const before = (await originBytes(server)).paths[path] ?? 0;
    const viewerBrowser = await launchBrowser();
    browsers.push(viewerBrowser);
    const viewer = await openTab(viewerBrowser, server.url, { swarm: "cdn-hybrid", manifest: "/cdn/peerfetch-manifest.json" });
    pages.push(viewer);
    await viewer.evaluate((path) => {
      window.fetched = new Promise((resolve) => peer.events.addEventListener("fetched", (e) => resolve(e.detail), { once: true }));
      window.answer = peer.fetch(path).then(async (response) => {
        const digest = await crypto.subtle.digest("SHA-256", await response.arrayBuffer());
        return { source: response.headers.get("x-peerfetch-source"), sha: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("") };
      });
    }, path);
    await waitFor("the viewer to hold a piece from the seeder", () => viewer.evaluate((cid) => (peer.transfers().find((t) => t.cid === cid)?.pieces ?? 0) >= 1, cid), 30000);
    browsers.splice(browsers.indexOf(seederBrowser), 1);
    await seederBrowser.close();
    const answer = await viewer.evaluate(() => window.answer);
    const fetched = await viewer.evaluate(() => window.fetched);
    assert.equal(answer.sha, expected[path], "byte-exact");
    assert.equal(answer.source, "peers+origin");
    assert.ok(fetched.fromPeers > 0 && fetched.fromOrigin > 0, `${fetched.fromPeers} bytes from the peer, ${fetched.fromOrigin} from the origin`);
    assert.equal(fetched.fromPeers + fetched.fromOrigin, clip.length);
    const sent = (await originBytes(server)).paths[path] - before;
    assert.equal(sent, fetched.fromOrigin, "the origin sent only the missing parts");
    console.log(`hybrid: ${fetched.fromPeers} bytes from the peer, ${fetched.fromOrigin} by Range from the origin, in ${fetched.ms.toFixed(0)} ms`);
  } finally {
    await server.stop();
  }
}));

test("a Range request for a resource not held is answered from the pieces it needs, before the rest has come", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  const path = "/cdn/assets/clip.webm";
  const cid = manifest.resources[path].cid;
  const clip = files[path];
  const pieces = Math.ceil(clip.length / (1024 * 1024));
  try {
    // A seeder that uploads slowly, so pieces come one by one.
    const seederBrowser = await launchBrowser();
    browsers.push(seederBrowser);
    const seeder = await openTab(seederBrowser, server.url, { swarm: "cdn-early", manifest: "/cdn/peerfetch-manifest.json", uploadLimitBytesPerSecond: 500_000 });
    pages.push(seeder);
    assert.equal(await seeder.evaluate(async (path) => (await peer.fetch(path)).headers.get("x-peerfetch-source"), path), "origin");
    const before = (await originBytes(server)).paths[path] ?? 0;
    const viewerBrowser = await launchBrowser();
    browsers.push(viewerBrowser);
    const viewer = await openTab(viewerBrowser, server.url, { swarm: "cdn-early", manifest: "/cdn/peerfetch-manifest.json", peerTimeoutMs: 10000 });
    pages.push(viewer);
    const ask = (range) => viewer.evaluate(async ({ path, range, cid }) => {
      const started = performance.now();
      const response = await peer.fetch(path, { headers: { range } });
      const bytes = new Uint8Array(await response.arrayBuffer());
      return {
        status: response.status, range: response.headers.get("content-range"), source: response.headers.get("x-peerfetch-source"),
        bytes: [...bytes], ms: performance.now() - started, held: peer.transfers().find((t) => t.cid === cid)?.pieces ?? 0,
      };
    }, { path, range, cid });
    // The last 100 bytes need the last piece only: it is asked for first.
    const tail = await ask("bytes=-100");
    assert.equal(tail.status, 206);
    assert.equal(tail.range, `bytes ${clip.length - 100}-${clip.length - 1}/${clip.length}`);
    assert.deepEqual(Buffer.from(tail.bytes), clip.subarray(clip.length - 100));
    assert.equal(tail.source, "peers");
    assert.ok(tail.held < pieces, `answered with ${tail.held} of ${pieces} pieces held`);
    // An open range, as a player seeking asks: answered from its start with what is held from there.
    const seek = await ask("bytes=1500000-");
    assert.equal(seek.status, 206);
    const [first, last, len] = seek.range.match(/^bytes (\d+)-(\d+)\/(\d+)$/).slice(1).map(Number);
    assert.deepEqual([first, len], [1_500_000, clip.length]);
    assert.deepEqual(Buffer.from(seek.bytes), clip.subarray(first, last + 1), `bytes ${first}-${last}`);
    const sent = ((await originBytes(server)).paths[path] ?? 0) - before;
    assert.equal(sent, 0, "nothing of it came from the origin");
    console.log(`early ranges: the last 100 bytes in ${tail.ms.toFixed(0)} ms (${tail.held} of ${pieces} pieces held); ` +
      `bytes ${first}-${last} in ${seek.ms.toFixed(0)} ms (${seek.held} held)`);
  } finally {
    await server.stop();
  }
}));

test("origin bytes that do not match the manifest reach the page as the origin sent them, and are never served onward", { timeout: 120000 }, logged(async () => {
  // A site whose photo changed after its manifest was written.
  const www = mkdtempSync(join(tmpdir(), "peerfetch-stale-"));
  mkdirSync(join(www, "cdn/assets"), { recursive: true });
  copyFileSync(join(ROOT, "www/test.html"), join(www, "test.html"));
  copyFileSync(join(ROOT, "www/cdn/peerfetch-manifest.json"), join(www, "cdn/peerfetch-manifest.json"));
  const path = "/cdn/assets/photo-1.png";
  const changed = Buffer.from(files[path]);
  changed[1000] ^= 0xff;
  writeFileSync(join(www, "cdn/assets/photo-1.png"), changed);
  const server = await startServer({ args: ["--www-dir", www] });
  try {
    const browser = await launchBrowser();
    browsers.push(browser);
    const tab = await openTab(browser, server.url, { swarm: "cdn-stale", manifest: "/cdn/peerfetch-manifest.json" });
    pages.push(tab);
    const got = await tab.evaluate(async ({ path, cid }) => {
      const response = await peer.fetch(path);
      const bytes = new Uint8Array(await response.arrayBuffer());
      await new Promise((r) => setTimeout(r, 500));
      return { source: response.headers.get("x-peerfetch-source"), byte: bytes[1000], length: bytes.length, kept: await peer.has(cid) };
    }, { path, cid: manifest.resources[path].cid });
    assert.deepEqual(got, { source: null, byte: changed[1000], length: changed.length, kept: false });
  } finally {
    await server.stop();
    rmSync(www, { recursive: true, force: true });
  }
}));

test("a stored piece changed on disk is never served to the page: it is checked, dropped and fetched again", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  try {
    const browser = await launchBrowser();
    browsers.push(browser);
    const tab = await openTab(browser, server.url, { swarm: "cdn-tampered", manifest: "/cdn/peerfetch-manifest.json" });
    pages.push(tab);
    const path = "/cdn/assets/photo-1.png";
    const cid = manifest.resources[path].cid;
    const fetchOnce = () => tab.evaluate(async (path) => {
      const response = await peer.fetch(path);
      const bytes = new Uint8Array(await response.arrayBuffer());
      const digest = await crypto.subtle.digest("SHA-256", bytes);
      const hash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
      return { source: response.headers.get("x-peerfetch-source"), hash };
    }, path);
    const first = await fetchOnce();
    assert.equal(first.hash, expected[path]);
    await waitFor("the photo stored", () => tab.evaluate((cid) => peer.has(cid), cid));
    // Another script of the origin (or a failing disk) changes the stored piece.
    await tab.evaluate(async (cid) => {
      const root = await (await navigator.storage.getDirectory()).getDirectoryHandle("peerfetch");
      const file = await (await root.getDirectoryHandle(cid)).getFileHandle("p0");
      const writable = await file.createWritable({ keepExistingData: true });
      await writable.write({ type: "write", position: 1000, data: new Uint8Array(64).fill(0x5a) });
      await writable.close();
    }, cid);
    const second = await fetchOnce();
    assert.equal(second.hash, expected[path], "the page got the site's bytes, not the changed file");
    assert.notEqual(second.source, "store", `served from ${second.source}`);
    await waitFor("the photo stored again, correct", () => tab.evaluate((cid) => peer.has(cid), cid));
    const third = await fetchOnce();
    assert.deepEqual(third, { source: "store", hash: expected[path] });
  } finally {
    await server.stop();
  }
}));

test("after a deploy, a page of the old site never answers a page of the new one; a URL with a query the manifest does not name goes to the network", { timeout: 120000 }, logged(async () => {
  // The site in a folder of its own, so that the test can deploy a new photo.
  const www = mkdtempSync(join(tmpdir(), "peerfetch-deploy-"));
  cpSync(join(ROOT, "www"), www, { recursive: true });
  const manifestFile = join(www, "cdn/peerfetch-manifest.json");
  const deploy = () => execFileSync(SERVER_BIN, ["manifest", join(www, "cdn/assets"), "--base", "/cdn/assets", "--out", manifestFile]);
  /** The version the peer and the drop-in script give the manifest: 16 hex digits of its SHA-256. */
  const version = () => sha256(readFileSync(manifestFile)).slice(0, 16);
  const path = "/cdn/assets/photo-1.png";
  const server = await startServer({ args: ["--www-dir", www] });
  try {
    // The old page: the site as it was, its peer running and answering the worker.
    const { page: old, browser } = await visit(`${server.url}/cdn/`);
    const oldVersion = version();
    // Another page of the site in the same browser, controlled by the same worker, that runs
    // no peer: the worker hands its requests to another page only if they use the same manifest.
    writeFileSync(join(www, "cdn/plain.html"), "<!doctype html><title>a page without peerfetch</title>\n");
    const other = await newLoggedPage(browser.context);
    pages.push(other);
    await other.goto(`${server.url}/cdn/plain.html`);
    await waitFor("the worker controls the other page", () => other.evaluate(() => !!navigator.serviceWorker.controller));
    const fetchSaying = (manifestVersion) => other.evaluate(async ({ path, manifestVersion }) => {
      navigator.serviceWorker.controller.postMessage({ type: "peerfetch-version", version: manifestVersion });
      const response = await fetch(path, { cache: "no-store" });
      const digest = await crypto.subtle.digest("SHA-256", await response.arrayBuffer());
      const hash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
      return { source: response.headers.get("x-peerfetch-source"), hash };
    }, { path, manifestVersion });
    const same = await fetchSaying(oldVersion);
    assert.equal(same.hash, expected[path]);
    assert.ok(same.source, "a page with the same manifest answered through the worker");

    // A deploy: the photo changes, and so does the manifest.
    const changed = Buffer.from(files[path]);
    changed[1000] ^= 0xff;
    writeFileSync(join(www, "cdn/assets/photo-1.png"), changed);
    deploy();
    assert.notEqual(version(), oldVersion);
    const newer = await fetchSaying(version());
    assert.deepEqual(newer, { source: null, hash: sha256(changed) }, "the new page got the new photo from the network");

    // `photo-1.png?v=2` is not what the manifest names `photo-1.png`: the network answers it.
    const queried = await old.evaluate(async (url) => {
      const response = await window.peerfetch.fetch(url);
      return { source: response.headers.get("x-peerfetch-source"), covered: await window.peerfetch.covers(url) };
    }, `${path}?v=2`);
    assert.deepEqual(queried, { source: null, covered: false });
  } finally {
    await server.stop();
    rmSync(www, { recursive: true, force: true });
  }
}));
