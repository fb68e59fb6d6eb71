// Test harness: a real peerfetch-server process and real Chromium tabs, inside the network
// namespace made by tests/in-netns.sh.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import puppeteer from "puppeteer-core";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The veth address inside the test namespace: libp2p listeners bind here (not loopback). */
export const NETNS_IP = "10.213.0.1";
export const SERVER_BIN = process.env.PEERFETCH_SERVER_BIN ?? join(ROOT, "target/release/peerfetch-server");

if (process.env.PEERFETCH_IN_NETNS !== "1") {
  throw new Error("browser tests must run inside tests/in-netns.sh (their own network namespace)");
}

/**
 * Starts peerfetch-server with `args` (ports default to 0) and resolves once it prints its URL;
 * with `netns`, inside that network namespace (then pass `--listen`: the default listeners
 * are on this namespace's veth address).
 */
export async function startServer({ args = [], keyFile, http = "127.0.0.1:0", netns } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "peerfetch-server-"));
  const fullArgs = [
    "--http", http,
    "--admin-http", "127.0.0.1:0",
    "--key-file", keyFile ?? join(dir, "key.json"),
    ...(args.some((a) => a === "--listen") ? [] : [
      "--listen", `/ip4/${NETNS_IP}/udp/0/webrtc-direct`,
      "--listen", `/ip4/${NETNS_IP}/tcp/0/ws`,
    ]),
    ...args,
  ];
  // `ip netns exec` execs the server itself, so signals sent to the child reach it.
  const [command, commandArgs] = netns ? ["ip", ["netns", "exec", netns, SERVER_BIN, ...fullArgs]] : [SERVER_BIN, fullArgs];
  const child = spawn(command, commandArgs, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  const [url, adminUrl] = await new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 15000);
    child.stdout.on("data", (d) => {
      stdout += d;
      const match = stdout.match(/peerfetch demo: (https?:\/\/\S+)\/\npeerfetch admin: (http:\/\/\S+)\//);
      if (match) { clearTimeout(timer); resolve([match[1], match[2]]); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
  });
  return {
    url,
    adminUrl,
    process: child,
    logs: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The simulated internet of tests/simulated-internet.sh: its public host (this namespace, where
 * servers run) and the homes behind NAT routers (`cone1`, `cone2`: port-preserving; `sym1`,
 * `sym2`: symmetric).
 */
export const PUBLIC_IP = "203.0.113.1";

/**
 * Starts Debian's coturn on the public network of the simulated internet (UDP and TCP
 * `${PUBLIC_IP}:3479`, relay ports 50000–50999) with the TURN REST API's shared secret, as the
 * README's configuration does; resolves once it answers a STUN Binding request.
 */
export async function startTurn() {
  const dir = mkdtempSync(join(tmpdir(), "peerfetch-coturn-"));
  const secretFile = join(dir, "secret");
  const secret = randomBytes(24).toString("hex");
  writeFileSync(secretFile, `${secret}\n`);
  const port = 3479;
  // Line-buffered, so its log (which names every user it let allocate) can be read as it runs.
  const child = spawn("stdbuf", ["-oL", "turnserver",
    "-n", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint",
    "--listening-ip", PUBLIC_IP, "--listening-port", String(port), "--relay-ip", PUBLIC_IP,
    "--min-port", "50000", "--max-port", "50999",
    "--use-auth-secret", "--static-auth-secret", secret, "--realm", "peerfetch.test",
    "--pidfile", join(dir, "pid"), "--userdb", join(dir, "turndb"),
    "--log-file", "stdout", "--simple-log", "--verbose",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  let logs = "";
  child.stdout.on("data", (d) => { logs += d; });
  child.stderr.on("data", (d) => { logs += d; });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("coturn to answer STUN", async () => {
      if (child.exitCode !== null) throw new Error(`coturn exited ${child.exitCode}`);
      return stunAnswers(PUBLIC_IP, port);
    }, 15000);
  } catch (error) {
    await stop();
    throw new Error(`${error.message}\n${logs}`);
  }
  return { url: `turn:${PUBLIC_IP}:${port}`, secretFile, logs: () => logs, stop };
}

/** Whether a STUN Binding request to `host:port` is answered within half a second. */
function stunAnswers(host, port) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    const request = Buffer.concat([Buffer.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42]), randomBytes(12)]);
    const done = (answered) => { clearTimeout(timer); socket.close(); resolve(answered); };
    const timer = setTimeout(() => done(false), 500);
    socket.on("message", () => done(true));
    socket.on("error", () => done(false));
    socket.send(request, port, host);
  });
}

/** How every test launches Debian's Chromium. */
export const CHROMIUM_OPTIONS = {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
  ],
};

/**
 * Launches Debian's Chromium headless with a fresh profile and more command-line `args`; with
 * `home`, inside that home of the simulated internet, treating the plain-http `secureOrigin`
 * (the server's page) as a secure context as https would be.
 */
export async function launchBrowser({ home, secureOrigin, args = [] } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "peerfetch-chromium-"));
  const options = { ...CHROMIUM_OPTIONS, args: [...CHROMIUM_OPTIONS.args, ...args] };
  if (home) {
    options.executablePath = join(profile, "chromium-in-home");
    writeFileSync(options.executablePath,
      `#!/bin/sh\nexec ip netns exec ${home} ${CHROMIUM_OPTIONS.executablePath} "$@"\n`, { mode: 0o755 });
  }
  if (secureOrigin) options.args.push(`--unsafely-treat-insecure-origin-as-secure=${secureOrigin}`);
  const context = await chromium.launchPersistentContext(join(profile, "data"), options);
  return {
    context,
    /** The profile folder, which names this browser's processes on their command line. */
    profile,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Launches Debian's Firefox ESR headless with a fresh profile, driven over WebDriver BiDi by
 * puppeteer-core (playwright's Firefox needs its own build). Returns the same shape as
 * `launchBrowser`, so `openTab` and `newLoggedPage` work with it; its pages are puppeteer pages
 * (`evaluate(fn, arg)`, `goto`, `on("console")` as in playwright).
 */
export async function launchFirefox() {
  const profile = mkdtempSync(join(tmpdir(), "peerfetch-firefox-"));
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: process.env.FIREFOX ?? "/usr/bin/firefox-esr",
    headless: true,
    userDataDir: profile,
  });
  return {
    context: { newPage: () => browser.newPage() },
    profile,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A new page of `context` whose console messages and uncaught errors collect in `page.consoleLog`. */
export async function newLoggedPage(context) {
  const page = await context.newPage();
  page.consoleLog = [];
  page.on("console", (m) => page.consoleLog.push(`${(performance.now()/1000).toFixed(3)} ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => page.consoleLog.push(`pageerror: ${e.message}`));
  return page;
}

/**
 * Opens a tab on `url`, loads the wasm package and joins with `options`. Resolves to the page;
 * the peer is `window.peer`, the join error (if any) `window.joinError`.
 */
export async function openTab(browser, url, options = {}) {
  const page = await newLoggedPage(browser.context);
  await page.goto(`${url}/test.html`);
  await page.evaluate(async (options) => {
    const { default: init, Peer } = await import("/pkg/peerfetch.js");
    // The wasm exports: `wasm.memory` is the module's linear memory (tests measure it).
    window.wasm = await init();
    window.Peer = Peer;
    window.events = [];
    try {
      window.peer = await Peer.join(options);
      for (const name of ["connection", "disconnection", "ping", "reservation", "neighbour", "neighbourgone", "server", "close"]) {
        window.peer.events.addEventListener(name, (e) => window.events.push({ name, detail: e.detail }));
      }
    } catch (error) {
      window.joinError = error;
    }
  }, options);
  return page;
}

/**
 * `openTab`, then fails the test unless the tab joined, with the join error and the tab's last
 * console lines (a join that fails now and then must say why in the CI log).
 */
export async function joinedTab(browser, url, options = {}) {
  const tab = await openTab(browser, url, options);
  const error = await tab.evaluate(() => window.joinError && `${window.joinError.code}: ${window.joinError.message}`);
  assert.equal(error, undefined, `the tab joined; its console:\n${tab.consoleLog.slice(-40).join("\n")}`);
  return tab;
}

/**
 * A tab joined to `server` with `options`, in a browser of its own (its own Origin Private File
 * System). The browser goes into `browsers` (to close) and is `tab.browser`; the tab goes into
 * `tabs` (whose consoles `logged` prints on failure).
 */
export async function tabOfItsOwn(server, options, { browsers, tabs }) {
  const browser = await launchBrowser();
  browsers.push(browser);
  const tab = await joinedTab(browser, server.url, options);
  tab.browser = browser;
  tabs.push(tab);
  return tab;
}

/**
 * A liar: a tab of its own browser that corrupts every piece it uploads (the test-only build
 * `target/pkg-corrupt`, whose page a second server serves), joined with `options` to `server`'s
 * network. Resolves to `{ tab, browser, origin }`; the caller closes `browser` and stops `origin`.
 */
export async function corruptingTab(server, options) {
  const origin = await startServer({ args: ["--pkg-dir", join(ROOT, "target/pkg-corrupt")] });
  const browser = await launchBrowser();
  try {
    const tab = await joinedTab(browser, origin.url, { ...options, server: server.url, corruptUploads: true });
    return { tab, browser, origin };
  } catch (error) {
    await browser.close();
    await origin.stop();
    throw error;
  }
}

/** Waits until `predicate(page)` is truthy, polling; throws with `what` after `ms`. */
export async function waitFor(what, predicate, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Wraps a test body: `pages` (an array the body fills with the pages it opens) is emptied first;
 * on failure the pages' warnings and errors are printed before the error; `cleanup` runs last.
 */
export function logged(pages, body, cleanup = async () => {}) {
  return async () => {
    pages.length = 0;
    try {
      await body();
    } catch (error) {
      for (const [i, page] of pages.entries()) {
        const lines = page.consoleLog.filter((l) => /WARN|ERROR|warning|error|pageerror|panicked/.test(l));
        console.log(`page ${i} console:\n${lines.slice(-30).join("\n")}`);
      }
      throw error;
    } finally {
      await cleanup();
    }
  };
}

/**
 * `a` shares `size` pseudo-random bytes made from `seed`, `b` downloads them; asserts they
 * arrive byte-exact and resolves to the download's milliseconds.
 */
export async function shareAndDownload(a, b, size, seed) {
  const sha = await makeFile(a, size, seed);
  const cid = await a.evaluate(() => peer.share(window.original));
  const started = Date.now();
  const got = await b.evaluate(async (cid) => {
    const blob = await window.peer.download(cid);
    const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    return { size: blob.size, sha256: [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, "0")).join("") };
  }, cid);
  assert.deepEqual(got, { size, sha256: sha }, "byte-exact");
  return Date.now() - started;
}

/** Makes `size` pseudo-random bytes from `seed` in the tab as `window.original`; returns its SHA-256. */
export const makeFile = (tab, size, seed) => tab.evaluate(async ({ size, seed }) => {
  const bytes = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    bytes[i] = x; bytes[i + 1] = x >>> 8; bytes[i + 2] = x >>> 16; bytes[i + 3] = x >>> 24;
  }
  window.original = new File([bytes], "random.bin", { type: "application/octet-stream" });
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}, { size, seed });

/**
 * Makes `window.files` in `tab`: files of pseudo-random bytes at `sizes`' paths (as a dropped
 * folder gives them: `webkitRelativePath`); resolves to `{ path: sha256 }`.
 */
export const makeFolder = (tab, sizes) => tab.evaluate(async (sizes) => {
  const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
  window.files = [];
  const digests = {};
  let state = 0x9e3779b9;
  for (const [path, size] of Object.entries(sizes)) {
    const bytes = new Uint8Array(size);
    const words = new Uint32Array(bytes.buffer, 0, size >> 2);
    for (let i = 0; i < words.length; i++) {
      state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
      words[i] = state;
    }
    const file = new File([bytes], path.split("/").pop());
    Object.defineProperty(file, "webkitRelativePath", { value: path });
    window.files.push(file);
    digests[path] = hex(await crypto.subtle.digest("SHA-256", bytes));
  }
  return digests;
}, sizes);

/**
 * `{ path: [size, sha256] }` of the zip file at `path`, read by a zip reader that is not ours
 * (Python's `zipfile`, which checks every entry's CRC).
 */
export function zipEntries(path) {
  const script = [
    "import hashlib, json, sys, zipfile",
    "z = zipfile.ZipFile(sys.argv[1])",
    "print(json.dumps({i.filename: [i.file_size, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()}))",
  ].join("\n");
  return JSON.parse(execFileSync("python3", ["-c", script, path], { maxBuffer: 1 << 24 }).toString());
}
