// Firefox (Debian's ESR, driven over WebDriver BiDi by puppeteer-core): joining, the mesh,
// sharing a file, between Firefox tabs and with Chromium tabs, and loading the demo site
// through the service worker from peers.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, launchBrowser, launchFirefox, newLoggedPage, openTab, waitFor, shareAndDownload, makeFile, makeFolder, zipEntries, logged as loggedWith } from "./harness.mjs";

const MiB = 1024 * 1024;
const browsers = [];
const pages = [];
after(async () => { for (const b of browsers) await b.close(); });
const logged = (body) => loggedWith(pages, body, async () => {
  for (const browser of browsers.splice(0)) await browser.close();
});

/** A tab in a new browser (`launch`: launchFirefox or launchBrowser), joined with `options`. */
async function tabIn(launch, server, options) {
  const browser = await launch();
  browsers.push(browser);
  const tab = await openTab(browser, server.url, options);
  pages.push(tab);
  const error = await tab.evaluate(() => window.joinError && `${window.joinError.code}: ${window.joinError.message}`);
  assert.equal(error ?? undefined, undefined, "joined");
  return tab;
}

test("Firefox tabs join, link in the mesh and share a file; Firefox and Chromium share both ways", { timeout: 180000 }, logged(async () => {
  const server = await startServer();
  try {
    const started = Date.now();
    const a = await tabIn(launchFirefox, server, { swarm: "firefox" });
    console.log(`Firefox join: ${Date.now() - started} ms (browser start included)`);
    const b = await tabIn(launchFirefox, server, { swarm: "firefox" });
    const bId = await b.evaluate(() => peer.id);
    await waitFor("Firefox A and B neighbours in the mesh", async () =>
      (await a.evaluate(() => peer.connections())).some((c) => c.peer === bId && c.transport === "webrtc"));
    const link = (await a.evaluate(() => peer.connections())).find((c) => c.peer === bId && c.transport === "webrtc");
    // One network, but the server's STUN (on it too) may give the pair a server-reflexive end.
    assert.ok(["host", "stun"].includes(link.path), `Firefox reports the path of its link: ${link.path}`);
    console.log(`4 MiB Firefox → Firefox: ${await shareAndDownload(a, b, 4 * MiB + 3, 5)} ms`);

    const c = await tabIn(launchBrowser, server, { swarm: "firefox" });
    console.log(`4 MiB Firefox → Chromium: ${await shareAndDownload(a, c, 4 * MiB + 5, 6)} ms`);
    console.log(`4 MiB Chromium → Firefox: ${await shareAndDownload(c, b, 4 * MiB + 7, 7)} ms`);
  } finally {
    await server.stop();
  }
}));

test("a Firefox visitor of the demo site gets it from a Chromium visitor through the service worker", { timeout: 180000 }, logged(async () => {
  const server = await startServer();
  try {
    const loads = [];
    for (const launch of [launchBrowser, launchFirefox]) {
      const browser = await launch();
      browsers.push(browser);
      const page = await newLoggedPage(browser.context);
      pages.push(page);
      await page.goto(`${server.url}/cdn/?peerTimeout=5000`);
      const load = await waitFor("the demo site to load", () => page.evaluate(() => window.siteLoad), 60000);
      const offload = await page.evaluate(() => window.peerfetch.stats().offload);
      const shown = await page.evaluate(() => ({
        css: getComputedStyle(document.body).getPropertyValue("--site-css").trim(),
        images: [...document.querySelectorAll("img")].map((img) => img.naturalWidth),
      }));
      console.log(`${launch.name}: ${JSON.stringify(load)}; ${offload.fromPeers} bytes from peers, ${offload.fromOrigin} from the origin`);
      assert.ok(load.ok && load.peerfetch, "loaded with peerfetch");
      assert.equal(shown.css, "loaded", "the stylesheet applied");
      assert.deepEqual(shown.images, Array(8).fill(640), "every image decoded");
      loads.push(offload);
    }
    const firefox = loads[1];
    const total = firefox.fromPeers + firefox.fromOrigin + firefox.fromStore;
    assert.ok(firefox.fromPeers >= 0.8 * total, `Firefox got ${Math.round(100 * firefox.fromPeers / total)} % from peers`);
  } finally {
    await server.stop();
  }
}));

test("Firefox opens a private file and saves a private folder from Chromium as a zip", { timeout: 180000 }, logged(async () => {
  const server = await startServer();
  const dir = mkdtempSync(join(tmpdir(), "peerfetch-firefox-zip-"));
  try {
    const sharer = await tabIn(launchBrowser, server, { swarm: "private" });
    const firefox = await tabIn(launchFirefox, server, { swarm: "private" });

    const sha256 = await makeFile(sharer, 2 * MiB + 11, 9);
    const file = await sharer.evaluate(() => peer.share(new File([window.original], "plans.pdf", { type: "application/pdf" }), { encrypt: true }));
    const opened = await firefox.evaluate(async ({ cid, key }) => {
      const file = await peer.download(cid, { key, timeoutMs: 20000 });
      const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
      return { name: file.name, type: file.type, sha256: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("") };
    }, file);
    assert.deepEqual(opened, { name: "plans.pdf", type: "application/pdf", sha256 }, "opened by its key in Firefox, byte-exact, named as shared");

    const sizes = { "notes.txt": 1000, "photos/a.jpg": MiB + 1, "photos/2026/b.jpg": 2 * MiB + 2 };
    const digests = await makeFolder(sharer, sizes);
    const folder = await sharer.evaluate(() => peer.shareFiles(window.files, { encrypt: true, name: "trip" }));
    const zip = await firefox.evaluate(async ({ cid, key }) => {
      const zip = await peer.saveCollection(cid, { key, timeoutMs: 20000 });
      const bytes = new Uint8Array(await zip.arrayBuffer());
      let text = "";
      for (let i = 0; i < bytes.length; i += 32768) text += String.fromCharCode(...bytes.subarray(i, i + 32768));
      return { name: zip.name, base64: btoa(text) };
    }, folder);
    assert.equal(zip.name, "trip.zip");
    const path = join(dir, zip.name);
    writeFileSync(path, Buffer.from(zip.base64, "base64"));
    const entries = zipEntries(path);
    assert.deepEqual(entries, Object.fromEntries(Object.entries(sizes).map(([p, size]) => [p, [size, digests[p]]])), "every file byte-exact in Firefox's zip");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
}));

test("the share page in Firefox: a private folder's link lists its files, saves the chosen ones as a zip, byte-exact", { timeout: 180000 }, logged(async () => {
  const server = await startServer();
  const dir = mkdtempSync(join(tmpdir(), "peerfetch-firefox-page-"));
  try {
    const sharer = await tabIn(launchBrowser, server, { swarm: "demo" });
    const sizes = { "notes.txt": 1000, "photos/a.jpg": MiB + 1, "photos/2026/b.jpg": 2 * MiB + 2 };
    const digests = await makeFolder(sharer, sizes);
    const { cid, key } = await sharer.evaluate(() => peer.shareFiles(window.files, { encrypt: true, name: "trip" }));

    const browser = await launchFirefox();
    browsers.push(browser);
    const page = await newLoggedPage(browser.context);
    pages.push(page);
    await page.goto(`${server.url}/#${cid}&k=${key}&files`);
    await page.waitForSelector("#receive[data-state=listed]", { timeout: 60000 });
    const listed = await page.evaluate(() => ({
      name: document.getElementById("receive-name").textContent,
      rows: [...document.querySelectorAll("#collection-files li")].map((li) => li.querySelector(".path").textContent).sort(),
      folderButton: document.getElementById("save-folder").hidden,
    }));
    assert.deepEqual(listed, { name: "trip", rows: Object.keys(sizes).sort(), folderButton: true }, "listed under its sealed name; no folder picker in Firefox");

    // Firefox has no save picker: the zip is offered as a link.
    await page.click('#collection-files input[value="notes.txt"]');
    await page.click("#save-selected");
    await page.waitForSelector("#zip-row:not([hidden])", { timeout: 60000 });
    const saved = await page.evaluate(async () => {
      const a = document.getElementById("zip-link");
      const bytes = new Uint8Array(await (await fetch(a.href)).arrayBuffer());
      let text = "";
      for (let i = 0; i < bytes.length; i += 32768) text += String.fromCharCode(...bytes.subarray(i, i + 32768));
      return { status: document.getElementById("receive-status").textContent, download: a.download, base64: btoa(text) };
    });
    assert.equal(saved.status, "Saved 2 of 3 files into a zip, verified and decrypted.");
    assert.equal(saved.download, "trip.zip");
    const path = join(dir, saved.download);
    writeFileSync(path, Buffer.from(saved.base64, "base64"));
    const picked = Object.fromEntries(Object.entries(sizes).filter(([p]) => p !== "notes.txt").map(([p, size]) => [p, [size, digests[p]]]));
    assert.deepEqual(zipEntries(path), picked, "the chosen files, byte-exact");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
}));
