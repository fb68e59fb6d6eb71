// The demo page's file sharing, driven like a person would: pick a file, copy the link, open it
// in another browser, save the download; a link to a file nobody has; several files under one
// link, some of them saved as a zip; a link opened before anyone holding it is online; the page
// on a phone-sized screen, its QR code read back from a screenshot.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { startServer, launchBrowser, newLoggedPage, zipEntries, waitFor } from "./harness.mjs";

const MiB = 1024 * 1024;
/** An iPhone 12-14's viewport, in CSS pixels. */
const PHONE = { width: 390, height: 844 };

const browsers = [];
after(async () => { for (const b of browsers) await b.close(); });
async function browserPage() {
  const browser = await launchBrowser();
  browsers.push(browser);
  return newLoggedPage(browser.context);
}

/** A page of a browser of its own on `url`, joined; `viewport` and an `init` script first when given. */
async function joinedPage(url, { viewport, init } = {}) {
  const page = await browserPage();
  if (viewport) await page.setViewportSize(viewport);
  if (init) await page.addInitScript(init);
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Joined"));
  return page;
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** Writes random files of `sizes` (`{ path: bytes }`) below `dir`; resolves to `{ path: [size, sha256] }`. */
function writeFiles(dir, sizes) {
  const digests = {};
  for (const [path, size] of Object.entries(sizes)) {
    const bytes = randomBytes(size);
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
    digests[path] = [size, sha256(bytes)];
  }
  return digests;
}

/** A test body run as `body(server, dir)` with a server and a temporary folder, both gone afterwards. */
const withServerAndFolder = (body) => async () => {
  const server = await startServer();
  const dir = mkdtempSync(join(tmpdir(), "peerfetch-share-page-"));
  try {
    await body(server, dir);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

/** Shares `input`'s files (`#file` or `#folder`), privately or not; resolves to the link shown. */
async function shareOn(page, input, files, { encrypt = true } = {}) {
  await page.setChecked("#private", encrypt);
  await page.setInputFiles(input, files);
  await page.waitForSelector("#share-link-row:not([hidden])", { timeout: 60000 });
  return page.inputValue("#link");
}

/** How far the page is wider than its viewport (0: no horizontal scrolling). */
const overflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** `[path, status line]` of each row of the file list `list`. */
const rowsOf = (page, list) => page.evaluate((list) => [...document.querySelectorAll(`#${list} li`)]
  .map((li) => [li.dataset.path, li.querySelector(".file-status").textContent]), list);

/** Waits until the page's receive section is in `state`, with its status on failure. */
async function untilState(page, state, ms) {
  await page.waitForSelector(`#receive[data-state=${state}]`, { timeout: ms }).catch(async (error) => {
    throw new Error(`${error.message}\nreceive status: ${await page.textContent("#receive-status")}\nconsole:\n${page.consoleLog.slice(-20).join("\n")}`);
  });
}

test("share a file from the page (private by default), open its link in another browser, save it", { timeout: 120000 }, async () => {
  const server = await startServer();
  const dir = mkdtempSync(join(tmpdir(), "peerfetch-share-page-"));
  try {
    const content = randomBytes(3 * 1024 * 1024 + 777);
    const path = join(dir, "holiday photos.bin");
    writeFileSync(path, content);

    const sender = await browserPage();
    await sender.goto(`${server.url}/`);
    await sender.waitForFunction(() => document.getElementById("status").textContent.startsWith("Joined"));
    await sender.setInputFiles("#file", path);
    await sender.waitForSelector("#share-link-row:not([hidden])", { timeout: 30000 });
    const link = await sender.inputValue("#link");
    assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/#[0-9a-f]{64}-\d+&k=[A-Za-z0-9_-]{43}$/, "a private link: the key, no name");
    assert.equal(await sender.evaluate(() => document.getElementById("share-progress").value), 1);

    const receiver = await browserPage();
    await receiver.goto(link);
    await receiver.waitForSelector("#save:not([hidden])", { timeout: 30000 }).catch(async (error) => {
      const logs = [sender, receiver].map((p) => p.consoleLog.filter((l) => /WARN|ERROR|content_service/.test(l)).slice(-20).join("\n"));
      throw new Error(`${error.message}\nreceiver says: ${await receiver.textContent("#receive-status")}\nsender log:\n${logs[0]}\nreceiver log:\n${logs[1]}`);
    });
    assert.match(await receiver.textContent("#receive-status"), /Downloaded, verified and decrypted holiday photos\.bin/);
    assert.equal(await receiver.textContent("#receive-name"), "holiday photos.bin");
    const [download] = await Promise.all([receiver.waitForEvent("download"), receiver.click("#save")]);
    assert.equal(download.suggestedFilename(), "holiday photos.bin");
    const saved = readFileSync(await download.path());
    assert.equal(createHash("sha256").update(saved).digest("hex"), createHash("sha256").update(content).digest("hex"));

    // Unticked, the link is public: it names the file, and its content id is the file's own.
    await sender.uncheck("#private");
    await sender.setInputFiles("#file", []);
    await sender.setInputFiles("#file", path);
    await sender.waitForFunction(() => /&name=/.test(document.getElementById("link").value), null, { timeout: 30000 });
    assert.match(await sender.inputValue("#link"), /#[0-9a-f]{64}-3146505&name=holiday\+photos\.bin&type=/);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a link to a file no peer has says so plainly", { timeout: 120000 }, async () => {
  const server = await startServer();
  try {
    const page = await browserPage();
    await page.goto(`${server.url}/#${"cd".repeat(32)}-4096&name=gone.txt&type=text%2Fplain`);
    await page.waitForFunction(() => /No peer has this file/.test(document.getElementById("receive-status").textContent), null, { timeout: 40000 });
    assert.equal(await page.isHidden("#save"), true);
  } finally {
    await server.stop();
  }
});

test("several files picked on the page share under one link; another browser lists them and saves the ones picked as a zip, byte-exact", { timeout: 180000 }, withServerAndFolder(async (server, dir) => {
  const sizes = { "notes.txt": 200000 + 13, "photo one.jpg": 3 * MiB + 5, "clip.webm": 2 * MiB + 321 };
  const digests = writeFiles(dir, sizes);
  const sender = await joinedPage(`${server.url}/`);
  const link = await shareOn(sender, "#file", Object.keys(sizes).map((path) => join(dir, path)));
  assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/#[0-9a-f]{64}-\d+&k=[A-Za-z0-9_-]{43}&files$/, "one private link to the collection");
  assert.deepEqual((await rowsOf(sender, "share-files")).sort(), Object.keys(sizes).map((p) => [p, "ready to send"]).sort());
  assert.match(await sender.textContent("#share-status"), /^Shared 3 files as “files” \(5\.4 MB, encrypted\)\.$/);
  // Without `navigator.share` (headless Chromium on Linux) the Share button stays hidden.
  assert.equal(await sender.isHidden("#web-share"), !(await sender.evaluate(() => "share" in navigator)));

  // A phone without the File System Access API (as Firefox and Safari): the zip is offered as a link.
  const receiver = await joinedPage(link, {
    viewport: PHONE,
    init: () => {
      for (const name of ["showSaveFilePicker", "showDirectoryPicker"]) Object.defineProperty(window, name, { value: undefined });
    },
  });
  await untilState(receiver, "listed", 60000);
  assert.equal(await receiver.textContent("#receive-name"), "files", "the private collection's sealed name");
  assert.match(await receiver.textContent("#receive-status"), /^3 files, 5\.4 MB: choose what to save\.$/);
  const listed = await receiver.evaluate(() => [...document.querySelectorAll("#collection-files li")]
    .map((li) => [li.querySelector(".path").textContent, li.querySelector(".size").textContent]));
  assert.deepEqual(listed.sort(), [["clip.webm", "2.1 MB"], ["notes.txt", "0.2 MB"], ["photo one.jpg", "3.1 MB"]]);
  assert.equal(await receiver.isHidden("#save-folder"), true, "no folder picker, no folder button");
  assert.equal(await overflow(receiver), 0, "the list fits a phone's width");

  await receiver.uncheck('#collection-files input[value="clip.webm"]');
  assert.equal(await receiver.isChecked("#select-all"), false);
  await receiver.click("#save-selected");
  await receiver.waitForSelector("#zip-row:not([hidden])", { timeout: 60000 });
  assert.match(await receiver.textContent("#receive-status"), /^Saved 2 of 3 files into a zip, verified and decrypted\.$/);
  assert.deepEqual((await rowsOf(receiver, "collection-files")).sort(), [["clip.webm", ""], ["notes.txt", "saved"], ["photo one.jpg", "saved"]]);
  const [download] = await Promise.all([receiver.waitForEvent("download"), receiver.click("#zip-link")]);
  assert.equal(download.suggestedFilename(), "files.zip");
  const zip = join(dir, "saved.zip");
  await download.saveAs(zip);
  assert.deepEqual(zipEntries(zip), { "notes.txt": digests["notes.txt"], "photo one.jpg": digests["photo one.jpg"] });

  // The sender sees each picked file go out whole to the one peer (its sealed bytes: a little
  // more than the file), and the other never asked for.
  const sentWhole = () => sender.evaluate((sizes) => Object.entries(sizes).every(([path, size]) => {
    const status = document.querySelector(`#share-files li[data-path="${path}"] .file-status`).textContent;
    const sent = status.match(/^sent (\d+\.\d) MB to [01] peers? at \d+\.\d MB\/s$/);
    return sent && Number(sent[1]) >= Number((size / 1e6).toFixed(1));
  }), { "notes.txt": sizes["notes.txt"], "photo one.jpg": sizes["photo one.jpg"] });
  await waitFor("the sender's figures", sentWhole, 10000).catch(async (error) => {
    throw new Error(`${error.message}: ${JSON.stringify(await rowsOf(sender, "share-files"))}`);
  });
  const sent = Object.fromEntries(await rowsOf(sender, "share-files"));
  assert.equal(sent["clip.webm"], "ready to send");
}));

test("a folder picked on the page saves into a zip file the person picks (File System Access); dropped files share too", { timeout: 180000 }, withServerAndFolder(async (server, dir) => {
  const digests = writeFiles(dir, { "trip/day 1/a.bin": MiB + 1, "trip/day 2/b.bin": 700000, "trip/readme.txt": 999 });
  const sender = await joinedPage(`${server.url}/`);
  const link = await shareOn(sender, "#folder", join(dir, "trip"), { encrypt: false });
  assert.match(link, /#[0-9a-f]{64}-\d+&name=trip&files$/, "a public link names the folder");

  // The picker answers with a file of the origin's private storage, which the test reads back.
  const receiver = await joinedPage(link, {
    init: () => {
      window.showSaveFilePicker = async (options) => {
        window.suggestedName = options.suggestedName;
        return (await navigator.storage.getDirectory()).getFileHandle("picked.zip", { create: true });
      };
    },
  });
  await untilState(receiver, "listed", 60000);
  assert.equal(await receiver.textContent("#receive-name"), "trip");
  await receiver.click("#save-all");
  await untilState(receiver, "done", 60000);
  assert.match(await receiver.textContent("#receive-status"), /^Saved 3 of 3 files into picked\.zip, verified\.$/);
  assert.equal(await receiver.isHidden("#zip-row"), true, "nothing more to save");
  const picked = await receiver.evaluate(async () => {
    const file = await (await (await navigator.storage.getDirectory()).getFileHandle("picked.zip")).getFile();
    const dataUrl = await new Promise((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.readAsDataURL(file);
    });
    return { suggestedName: window.suggestedName, base64: dataUrl.slice(dataUrl.indexOf(",") + 1) };
  });
  assert.equal(picked.suggestedName, "trip.zip");
  const zip = join(dir, "picked.zip");
  writeFileSync(zip, Buffer.from(picked.base64, "base64"));
  assert.deepEqual(zipEntries(zip), digests);

  // Files dropped on the page (a drop made in the page: a test cannot drag from the desktop)
  // share as one more collection.
  const dropped = await sender.evaluateHandle(() => {
    const transfer = new DataTransfer();
    for (const [name, size] of [["x.txt", 1000], ["y.txt", 2000]]) transfer.items.add(new File([new Uint8Array(size).fill(7)], name));
    return transfer;
  });
  await sender.dispatchEvent("#drop", "drop", { dataTransfer: dropped });
  await sender.waitForFunction((before) => document.getElementById("link").value !== before
    && !document.getElementById("share-link-row").hidden, link, { timeout: 30000 });
  assert.match(await sender.inputValue("#link"), /#[0-9a-f]{64}-\d+&name=files&files$/);
  assert.deepEqual(await rowsOf(sender, "share-files"), [["x.txt", "ready to send"], ["y.txt", "ready to send"]]);
}));

test("a link opened while nobody holding it is online waits for a peer that has it, then downloads once one joins", { timeout: 180000 }, withServerAndFolder(async (server, dir) => {
  const digests = writeFiles(dir, { "late.bin": 6 * MiB + 7 });
  const share = (page) => shareOn(page, "#file", join(dir, "late.bin"), { encrypt: false });
  // A public link names the content by its bytes: whoever shares the file again serves it.
  const first = await joinedPage(`${server.url}/`);
  const link = await share(first);
  await first.close();

  const receiver = await joinedPage(link);
  await untilState(receiver, "waiting", 60000);
  await receiver.waitForFunction(() => /\(2 tries so far\)/.test(document.getElementById("receive-status").textContent), null, { timeout: 60000 });
  assert.match(await receiver.textContent("#receive-status"), /^Waiting for a peer that has it… No peer has this file right now/);
  assert.equal(await receiver.getAttribute("#receive-status", "class"), "", "waiting is not an error");
  assert.equal(await receiver.isHidden("#save"), true);
  await receiver.evaluate(() => {
    window.states = [];
    const section = document.getElementById("receive");
    new MutationObserver(() => window.states.push(section.dataset.state)).observe(section, { attributeFilter: ["data-state"] });
  });

  const second = await newLoggedPage(first.context());
  await second.goto(`${server.url}/`);
  await second.waitForFunction(() => document.getElementById("status").textContent.startsWith("Joined"));
  assert.equal(await share(second), link);
  await untilState(receiver, "done", 90000);
  const states = await receiver.evaluate(() => window.states);
  assert.ok(states.indexOf("receiving") >= 0 && states.indexOf("receiving") < states.indexOf("done"), `progress shown once a holder joined: ${states}`);
  assert.match(await receiver.textContent("#receive-status"), /^Downloaded, verified late\.bin \(6\.3 MB\)\.$/);
  const [download] = await Promise.all([receiver.waitForEvent("download"), receiver.click("#save")]);
  assert.deepEqual([readFileSync(await download.path()).length, sha256(readFileSync(await download.path()))], digests["late.bin"]);
}));

test("on a phone-sized screen the link's QR code reads back from a screenshot, nothing scrolls sideways, Copy and Share hand over the link", { timeout: 120000 }, withServerAndFolder(async (server, dir) => {
  const name = "a-rather-long-file-name-without-any-spaces-from-a-phone-camera-20250101.jpg";
  writeFiles(dir, { [name]: 300000 });
  const browser = await launchBrowser();
  browsers.push(browser);
  await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
  const page = await newLoggedPage(browser.context);
  await page.setViewportSize(PHONE);
  await page.addInitScript(() => { navigator.share = async (data) => { window.sharedData = data; }; });
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Joined"));
  assert.equal(await overflow(page), 0, "the empty page fits");

  const link = await shareOn(page, "#file", join(dir, name));
  assert.match(link, /#[0-9a-f]{64}-\d+&k=[A-Za-z0-9_-]{43}$/);
  await page.click("summary"); // the mesh details, with their long peer ids
  await page.waitForFunction(() => document.querySelectorAll("#connections tr").length > 0);
  assert.equal(await overflow(page), 0, "the shared page fits a phone's width");
  const qr = await page.locator("#qr").boundingBox();
  assert.ok(qr.x >= 0 && qr.x + qr.width <= PHONE.width && qr.width >= 200, `the QR code is whole on screen: ${JSON.stringify(qr)}`);

  const screenshot = PNG.sync.read(await page.screenshot({ fullPage: true }));
  assert.equal(screenshot.width, PHONE.width);
  const code = jsQR(new Uint8ClampedArray(screenshot.data), screenshot.width, screenshot.height);
  if (code?.data !== link) writeFileSync(join(tmpdir(), "peerfetch-share-page-phone.png"), PNG.sync.write(screenshot));
  assert.equal(code?.data, link, `the QR code in the screenshot is the link shown (screenshot kept in ${tmpdir()} on failure)`);

  await page.click("#copy");
  await page.waitForFunction(() => document.getElementById("copy").textContent === "Copied", null, { timeout: 5000 });
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
  await page.click("#web-share");
  await page.waitForFunction(() => window.sharedData, null, { timeout: 5000 });
  assert.deepEqual(await page.evaluate(() => window.sharedData), { title: name, url: link });
}));
