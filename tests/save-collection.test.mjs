// Saving a collection (`peer.saveCollection`): a folder of files shared under one link arrives
// as a zip streamed to disk, or file by file into a folder, checked against what was shared and
// read back by a zip reader that is not ours (Python's `zipfile`, which checks every CRC).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, tabOfItsOwn as ownTab, makeFolder, zipEntries, logged as loggedWith } from "./harness.mjs";
import { memory } from "../bench/sharing.mjs";

const MiB = 1024 * 1024;
const browsers = [];
const tabs = [];
after(async () => { for (const b of browsers) await b.close(); });
const logged = (body) => loggedWith(tabs, body);

const tabOfItsOwn = (server, options) => ownTab(server, options, { browsers, tabs });

/** Saves `file` (a `File` in the page, `window[name]`) through `<a download>`, as a person would; resolves to its path on disk. */
async function saveAsPersonWould(tab, name, dir) {
  const [download] = await Promise.all([
    tab.waitForEvent("download"),
    tab.evaluate((name) => {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(window[name]);
      a.download = window[name].name;
      a.click();
    }, name),
  ]);
  const path = join(dir, download.suggestedFilename());
  await download.saveAs(path);
  return path;
}

test("a private folder of 100 files (about 200 MB) arrives as a zip streamed to disk: every entry byte-exact, memory flat", { timeout: 300000 }, logged(async () => {
  const server = await startServer();
  const dir = mkdtempSync(join(tmpdir(), "peerfetch-save-"));
  try {
    const sender = await tabOfItsOwn(server, { swarm: "folder" });
    const receiver = await tabOfItsOwn(server, { swarm: "folder" });
    const sizes = {};
    for (let i = 0; i < 100; i++) sizes[`holiday/day ${i % 7}/photo ${i}.jpg`] = Math.round(1.5 * MiB + (i % 11) * 0.1 * MiB + i);
    const total = Object.values(sizes).reduce((a, b) => a + b, 0);
    assert.ok(total > 190 * MiB && total < 220 * MiB, `${total} bytes`);
    const digests = await makeFolder(sender, sizes);
    const { cid, key } = await sender.evaluate(async () => {
      const shared = await peer.shareFiles(window.files, { encrypt: true, name: "holiday" });
      window.files = null;
      return shared;
    });

    const before = memory(receiver.browser).all;
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, memory(receiver.browser).all); }, 250);
    const started = Date.now();
    const report = await receiver.evaluate(async ({ cid, key }) => {
      const reports = [];
      window.zip = await peer.saveCollection(cid, {
        key,
        onProgress: (p) => reports.push(p),
      });
      const last = reports.at(-1);
      const monotonic = reports.every((p, i) => i === 0 || p.collectionBytes >= reports[i - 1].collectionBytes);
      const paths = new Set(reports.map((p) => p.path));
      return {
        wasmMemory: window.wasm.memory.buffer.byteLength,
        name: window.zip.name, size: window.zip.size, last, monotonic, paths: paths.size,
        fields: Object.keys(reports[0]).sort(),
      };
    }, { cid, key });
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    console.log(`saved ${(total / 1e6).toFixed(0)} MB in 100 files in ${seconds.toFixed(1)} s; browser memory grew by at most ${((peak - before) / MiB).toFixed(0)} MiB, wasm memory ${(report.wasmMemory / MiB).toFixed(0)} MiB`);

    assert.equal(report.name, "holiday.zip");
    assert.ok(report.monotonic, "collection progress only goes up");
    assert.equal(report.paths, 100, "every file reported");
    assert.equal(report.last.files, 100);
    assert.equal(report.last.file, 99);
    assert.equal(report.last.collectionBytes, report.last.collectionTotal);
    for (const field of ["bytes", "total", "bytesPerSecond", "peers", "path", "collectionBytes", "collectionTotal"]) {
      assert.ok(report.fields.includes(field), `progress has ${field}`);
    }
    // Holding the zip (or the files) would add the collection's 200 MB on top of what a download
    // costs (about 100 MiB here, mostly buffers waiting for the garbage collector).
    assert.ok(peak - before < total * 0.75, `the zip is not held in memory: the browser grew by ${peak - before} bytes for ${total}`);
    // Each idle link's decoder kept its last piece alive: 221 MB of wasm memory after this save.
    assert.ok(report.wasmMemory < 64 * MiB, `wasm memory stays small: ${report.wasmMemory} bytes`);

    const saved = await saveAsPersonWould(receiver, "zip", dir);
    const entries = zipEntries(saved);
    assert.deepEqual(Object.keys(entries).sort(), Object.keys(sizes).sort());
    for (const [path, [size, sha256]] of Object.entries(entries)) {
      assert.equal(size, sizes[path], `${path} size`);
      assert.equal(sha256, digests[path], `${path} byte-exact`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
}));

test("saving some files into a folder or into a chosen file; bad choices, a lying index and an abort fail cleanly and keep nothing partial", { timeout: 120000 }, logged(async () => {
  const server = await startServer();
  try {
    const sender = await tabOfItsOwn(server, { swarm: "some" });
    const receiver = await tabOfItsOwn(server, { swarm: "some" });
    const sizes = { "a.txt": 10, "docs/b.bin": 3 * MiB + 3, "docs/deep/c.bin": 5, "empty": 0 };
    const digests = await makeFolder(sender, sizes);
    const cid = await sender.evaluate(() => peer.shareFiles(window.files, { name: "docs" }));

    // Two of the files, into a folder (an OPFS folder stands in for one `showDirectoryPicker`
    // gives: both are FileSystemDirectoryHandles).
    const inFolder = await receiver.evaluate(async (cid) => {
      const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
      const root = await (await navigator.storage.getDirectory()).getDirectoryHandle("chosen", { create: true });
      const result = await peer.saveCollection(cid, { paths: ["docs/b.bin", "a.txt", "a.txt"], to: root });
      const found = {};
      async function walk(dir, prefix) {
        for await (const [name, handle] of dir.entries()) {
          if (handle.kind === "directory") await walk(handle, `${prefix}${name}/`);
          else found[`${prefix}${name}`] = hex(await crypto.subtle.digest("SHA-256", await (await handle.getFile()).arrayBuffer()));
        }
      }
      await walk(root, "");
      return { result: result ?? null, found };
    }, cid);
    assert.equal(inFolder.result, null, "nothing to hand back: the files are in the folder");
    assert.deepEqual(inFolder.found, { "a.txt": digests["a.txt"], "docs/b.bin": digests["docs/b.bin"] });

    // All of them, as a zip into a chosen file (an OPFS file for a `showSaveFilePicker` one).
    const inFile = await receiver.evaluate(async (cid) => {
      const handle = await (await navigator.storage.getDirectory()).getFileHandle("chosen.zip", { create: true });
      const result = await peer.saveCollection(cid, { to: handle });
      const bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
      return { result: result ?? null, size: bytes.length, magic: [...bytes.subarray(0, 4)] };
    }, cid);
    assert.equal(inFile.result, null);
    assert.deepEqual(inFile.magic, [0x50, 0x4b, 0x03, 0x04], "a zip");
    assert.ok(inFile.size > 3 * MiB);

    const failure = (options, of = cid) => receiver.evaluate(async ({ cid, options }) => {
      try {
        await peer.saveCollection(cid, options);
        return "saved";
      } catch (e) {
        return `${e.code}: ${e.message}`;
      }
    }, { cid: of, options });
    assert.match(await failure({ paths: ["nope.txt"] }), /^ERR_INVALID_ARGUMENT: the collection has no file "nope.txt"/);
    assert.match(await failure({ paths: [] }), /^ERR_INVALID_ARGUMENT: no file of the collection was chosen/);
    assert.match(await failure({ paths: "a.txt" }), /^ERR_INVALID_OPTIONS: paths must be an array of strings/);
    assert.match(await failure({ to: "downloads/" }), /^ERR_INVALID_OPTIONS: to must be a FileSystemFileHandle or a FileSystemDirectoryHandle/);
    assert.match(await failure({ key: Buffer.alloc(32, 1).toString("base64url") }), /^ERR_INVALID_ARGUMENT: not encrypted/);

    // A private index that lies about a file's size: the save stops at the lie.
    const lying = await sender.evaluate(async () => {
      const file = await peer.share(new File([new Uint8Array(1000)], "real.bin"), { encrypt: true });
      const index = { peerfetch: "collection/1", files: [{ path: "real.bin", size: 10, cid: file.cid, key: file.key }] };
      return peer.share(new File([JSON.stringify(index)], "liar", { type: "application/vnd.peerfetch.collection+json" }), { encrypt: true });
    });
    assert.match(await failure({ key: lying.key }, lying.cid), /^ERR_INVALID_ARGUMENT: "real.bin" has \d+ bytes or more where the collection index says 10/);

    // Aborted while saving into private storage: rejected, and no zip is left there.
    const aborted = await receiver.evaluate(async (cid) => {
      const controller = new AbortController();
      const result = peer.saveCollection(cid, {
        signal: controller.signal,
        onProgress: (p) => { if (p.path === "docs/b.bin") controller.abort(); },
      }).then(() => "saved", (e) => `${e.code}: ${e.message}`);
      const outcome = await result;
      const saves = await (await navigator.storage.getDirectory()).getDirectoryHandle("peerfetch-saves");
      const left = [];
      for await (const [name] of saves.entries()) left.push(name);
      return { outcome, left };
    }, cid);
    assert.match(aborted.outcome, /^ERR_CANCELLED/);
    assert.deepEqual(aborted.left, [], "no partial zip kept");

    // Into private storage: a public collection's name comes from its link, given as `name`,
    // and whatever its sharer wrote there makes a file name and nothing else.
    const names = await receiver.evaluate(async (cid) => [
      (await peer.saveCollection(cid, { paths: ["a.txt"] })).name,
      (await peer.saveCollection(cid, { paths: ["a.txt"], name: "../../etc/passwd" })).name,
    ], cid);
    assert.deepEqual(names, ["files.zip", ".._.._etc_passwd.zip"]);
  } finally {
    await server.stop();
  }
}));
