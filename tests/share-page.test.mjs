// The demo page's file sharing, driven like a person would: pick a file, copy the link, open it
// in another browser, save the download; and a link to a file nobody has.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { startServer, launchBrowser, newLoggedPage } from "./harness.mjs";

const browsers = [];
after(async () => { for (const b of browsers) await b.close(); });
async function browserPage() {
  const browser = await launchBrowser();
  browsers.push(browser);
  return newLoggedPage(browser.context);
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
