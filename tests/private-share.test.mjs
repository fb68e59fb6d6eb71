// Private shares: a file sealed under a key that only the link carries. Peers without the key
// verify and seed the ciphertext; only a tab with the key opens it; the server never sees the
// file's name or bytes.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, tabOfItsOwn as ownTab, corruptingTab, makeFile, logged as loggedWith } from "./harness.mjs";

const MiB = 1024 * 1024;
const NAME = "secret-holiday-plans.pdf";
const browsers = [];
const tabs = [];
after(async () => { for (const b of browsers) await b.close(); });
const logged = (body) => loggedWith(tabs, body);

const tabOfItsOwn = (server, options) => ownTab(server, options, { browsers, tabs });

/** A marker the test file carries: no byte a keyless peer stores may show it. */
const MARKER = "TOP-SECRET-MARKER";

/** `window.original` (from `makeFile`) renamed `NAME`, shared sealed: resolves to `{ cid, key }`. */
const sharePrivately = (tab) => tab.evaluate((name) => {
  const file = new File([window.original], name, { type: "application/pdf" });
  return peer.share(file, { encrypt: true });
}, NAME);

/** Whether any piece `tab` stored for `cid` holds `text` (read straight from its OPFS). */
const storedBytesShow = (tab, cid, text) => tab.evaluate(async ({ cid, text }) => {
  const root = await navigator.storage.getDirectory();
  const dir = await (await root.getDirectoryHandle("peerfetch")).getDirectoryHandle(cid);
  const needle = new TextEncoder().encode(text);
  for await (const [, handle] of dir.entries()) {
    if (handle.kind !== "file") continue;
    const bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
    for (let i = bytes.indexOf(needle[0]); i !== -1; i = bytes.indexOf(needle[0], i + 1)) {
      if (needle.every((b, j) => bytes[i + j] === b)) return true;
    }
  }
  return false;
}, { cid, text });

/** `window.original` with `MARKER` written at its start. */
const markFile = (tab) => tab.evaluate(async (marker) => {
  const bytes = new Uint8Array(await window.original.arrayBuffer());
  bytes.set(new TextEncoder().encode(marker));
  window.original = new File([bytes], "random.bin");
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}, MARKER);

/** Downloads `cid` with `options`; resolves to `{ sha256, size, name, type }` or the error as `code: message`. */
const download = (tab, cid, options = {}) => tab.evaluate(async ({ cid, options }) => {
  try {
    const file = await peer.download(cid, { timeoutMs: 10000, ...options });
    const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
    const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    return { sha256, size: file.size, name: file.name, type: file.type };
  } catch (e) {
    return `${e.code}: ${e.message}`;
  }
}, { cid, options });

/** A well-formed key that is not the share's. */
const OTHER_KEY = Buffer.alloc(32, 7).toString("base64url");

test("a private share: a tab without the key seeds the ciphertext to a tab with it; a missing or wrong key fails cleanly; the server never sees the name", { timeout: 120000 }, logged(async () => {
  const server = await startServer({ args: ["--log-level", "debug"] });
  try {
    const a = await tabOfItsOwn(server, { swarm: "private" });
    const b = await tabOfItsOwn(server, { swarm: "private" });
    const size = 3 * MiB + 777;
    await makeFile(a, size, 18);
    const sha = await markFile(a);
    const { cid, key } = await sharePrivately(a);
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    const again = await sharePrivately(a);
    assert.ok(again.key !== key && again.cid !== cid, "the same file shared again gets a fresh key and other sealed bytes");
    const [hash, sealedLen] = cid.split("-");
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.ok(Number(sealedLen) > size, "the content id names the sealed bytes, longer than the file");

    assert.match(await download(b, cid), /^ERR_KEY_NEEDED: encrypted: key needed/);
    assert.equal(await b.evaluate((cid) => peer.has(cid), cid), true, "B keeps the sealed bytes and seeds them");
    assert.equal(await storedBytesShow(b, cid, MARKER), false, "B's stored bytes do not show the file");
    assert.equal(await storedBytesShow(b, cid, "secret-holiday"), false, "nor its name");
    assert.equal(await storedBytesShow(b, cid, "peerfetch/seal/1"), true, "(the check reads B's stored pieces)");
    assert.match(await download(b, cid, { key: OTHER_KEY }), /^ERR_WRONG_KEY: wrong key/);
    assert.match(await download(b, cid, { key: "short" }), /^ERR_INVALID_OPTIONS: invalid key/);
    const plainCid = await a.evaluate(() => peer.share(new Blob(["plain bytes"])));
    assert.match(await download(b, plainCid, { key }), /^ERR_INVALID_ARGUMENT: not encrypted/);
    assert.match(await a.evaluate(() => peer.share(new Blob(["x"]), { encrypt: "yes" }).then(String, (e) => `${e.code}: ${e.message}`)), /^ERR_INVALID_OPTIONS: encrypt must be a boolean/);
    assert.match(await a.evaluate(() => peer.share(new Blob(["peerfetch/seal/1 and more"])).then(String, (e) => `${e.code}: ${e.message}`)), /^ERR_INVALID_ARGUMENT: the file starts like sealed content/);

    // A leaves: C can only get the file from B, which never had the key.
    await a.evaluate(() => peer.close());
    const c = await tabOfItsOwn(server, { swarm: "private" });
    const got = await download(c, cid, { key });
    assert.deepEqual(got, { sha256: sha, size, name: NAME, type: "application/pdf" }, "byte-exact, named as A named it");
    const bId = await b.evaluate(() => peer.id);
    const sources = await c.evaluate((cid) => peer.transfers().find((t) => t.cid === cid).peers, cid);
    assert.ok(sources.some((p) => p.peer === bId && p.bytesReceived === Number(sealedLen)), `every sealed byte came from B: ${JSON.stringify(sources)}`);

    const logs = server.logs();
    assert.match(logs, new RegExp(`registered .*namespace=private/c/${hash}`), "the server's debug log shows each registration");
    assert.ok(!logs.includes("secret-holiday"), "the file's name is not in the server's log");
  } finally {
    await server.stop();
  }
}));

test("a tab serving tampered ciphertext is banned; the private file still arrives byte-exact", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  const { tab: liar, browser: liarBrowser, origin: liarOrigin } = await corruptingTab(server, { swarm: "private-liar" });
  browsers.push(liarBrowser);
  tabs.push(liar);
  try {
    const a = await tabOfItsOwn(server, { swarm: "private-liar", uploadLimitBytesPerSecond: 4_000_000 });
    const sha = await makeFile(a, 16 * MiB, 19);
    const { cid, key } = await sharePrivately(a);
    // The liar fetches the sealed bytes without the key, then serves them altered.
    assert.match(await download(liar, cid), /^ERR_KEY_NEEDED/);
    const b = await tabOfItsOwn(server, { swarm: "private-liar" });
    const got = await download(b, cid, { key });
    assert.equal(got.sha256, sha, "only verified bytes were kept");
    const liarId = await liar.evaluate(() => peer.id);
    const transfer = await b.evaluate((cid) => peer.transfers().find((t) => t.cid === cid), cid);
    assert.deepEqual(transfer.banned, [liarId], "the liar is banned");
  } finally {
    await liarOrigin.stop();
    await server.stop();
  }
}));

test("several files under one link: the index lists them, each downloads with its own key; a plain collection needs no key", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  try {
    const a = await tabOfItsOwn(server, { swarm: "collection" });
    const b = await tabOfItsOwn(server, { swarm: "collection" });
    const made = await a.evaluate(async () => {
      const sizes = { "a.txt": 10, "photo.jpg": 1024 * 1024 + 5, "empty.bin": 0 };
      window.files = Object.entries(sizes).map(([name, size]) => {
        const bytes = new Uint8Array(size);
        for (let i = 0; i < size; i++) bytes[i] = (i * 7 + name.length) & 255;
        return new File([bytes], name, { type: name.endsWith(".txt") ? "text/plain" : "" });
      });
      const digests = {};
      for (const file of window.files) {
        const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
        digests[file.name] = [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, "0")).join("");
      }
      return { sizes, digests };
    });
    const { cid, key } = await a.evaluate(() => peer.shareFiles(window.files, { encrypt: true, name: "holiday" }));
    const listing = await b.evaluate(({ cid, key }) => peer.openCollection(cid, { key }), { cid, key });
    assert.equal(listing.name, "holiday");
    assert.deepEqual(listing.files.map((f) => [f.path, f.size]), Object.entries(made.sizes));
    assert.ok(listing.files.every((f) => /^[A-Za-z0-9_-]{43}$/.test(f.key) && f.key !== key), "each file has a key of its own");
    for (const file of listing.files) {
      const got = await download(b, file.cid, { key: file.key });
      assert.equal(got.sha256, made.digests[file.path], `${file.path} byte-exact`);
      assert.equal(got.name, file.path);
    }
    assert.match(await b.evaluate((cid) => peer.openCollection(cid).then(() => "opened", (e) => `${e.code}: ${e.message}`), cid), /^ERR_KEY_NEEDED/);

    const plain = await a.evaluate(() => peer.shareFiles(window.files));
    assert.equal(typeof plain, "string");
    const plainListing = await b.evaluate((cid) => peer.openCollection(cid), plain);
    assert.deepEqual(plainListing.files.map((f) => [f.path, f.key]), Object.keys(made.sizes).map((p) => [p, null]));
    const notIndex = await a.evaluate(() => peer.share(new Blob(["just a file"])));
    assert.match(await b.evaluate((cid) => peer.openCollection(cid).then(() => "opened", (e) => `${e.code}: ${e.message}`), notIndex), /^ERR_INVALID_ARGUMENT: not a collection/);
    const duplicate = await a.evaluate(() => peer.shareFiles([new File(["x"], "same"), new File(["y"], "same")]).then(() => "shared", (e) => `${e.code}: ${e.message}`));
    assert.match(duplicate, /^ERR_INVALID_ARGUMENT: two files in the collection have the path "same"/);
  } finally {
    await server.stop();
  }
}));
