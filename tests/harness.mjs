// Test harness: a real peerfetch-server process and real Chromium tabs, inside the network
// namespace made by tests/in-netns.sh.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The veth address inside the test namespace: libp2p listeners bind here (not loopback). */
export const NETNS_IP = "10.213.0.1";
export const SERVER_BIN = process.env.PEERFETCH_SERVER_BIN ?? join(ROOT, "target/release/peerfetch-server");

if (process.env.PEERFETCH_IN_NETNS !== "1") {
  throw new Error("browser tests must run inside tests/in-netns.sh (their own network namespace)");
}

/** Starts peerfetch-server with `args` (ports default to 0) and resolves once it prints its URL. */
export async function startServer({ args = [], keyFile, http = "127.0.0.1:0" } = {}) {
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
  const child = spawn(SERVER_BIN, fullArgs, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  const [url, adminUrl] = await new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 15000);
    child.stdout.on("data", (d) => {
      stdout += d;
      const match = stdout.match(/peerfetch demo: (http:\/\/\S+)\/\npeerfetch admin: (http:\/\/\S+)\//);
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

/** How every test launches Debian's Chromium. */
export const CHROMIUM_OPTIONS = {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
  ],
};

/** Launches Debian's Chromium headless with a fresh profile. */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), "peerfetch-chromium-"));
  const context = await chromium.launchPersistentContext(profile, CHROMIUM_OPTIONS);
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
