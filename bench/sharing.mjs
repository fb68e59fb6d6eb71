// What the file-sharing benchmarks (bench/files.mjs, bench/webtorrent.mjs) have in common: the
// same pseudo-random bytes made in any tab, a digest that checks them without holding a large
// file in memory, peerfetch's share and download as the benchmarks time them, and a browser's
// resident memory and CPU time read from /proc.
import { readdirSync, readFileSync } from "node:fs";

/** Bytes in a part of a generated file and in a chunk of the digest. */
const PART = 16 * 1024 * 1024;

const installed = new WeakSet();

/**
 * Defines in the page (once per page):
 * - `window.makeRandomFile(bytes, seed)`: a `File` named `random-<seed>.bin` of `bytes`
 *   xorshift32 bytes from `seed` (the same bytes in every tab and browser for the same
 *   arguments), made in 16 MiB parts, kept as `window.files[seed]`;
 * - `window.digestOf(size, read)`: SHA-256 over the SHA-256 of each 16 MiB chunk, where
 *   `read(start, end)` resolves to the bytes `[start, end)` as an ArrayBuffer: a check of
 *   large files that never holds more than one chunk;
 * - `window.sampleProgress(read, everyMs)`: samples a download's bytes received from each source
 *   every `everyMs` from now on, `read()` giving them as `{ [source id]: bytes }`; its `stop()`
 *   takes a last sample and returns `{ everyMs, columns: ["ms", "source 1", …], samples }`, each
 *   sample `[ms since the call, bytes from source 1, …]`, sources numbered in the order their
 *   first bytes came (a source that leaves keeps its last count; a sample shorter than
 *   `columns` had nothing yet from the sources past its end).
 */
export async function installHelpers(page) {
  if (installed.has(page)) return;
  await page.evaluate((PART) => {
    window.files = {};
    window.makeRandomFile = (bytes, seed) => {
      const parts = [];
      let x = seed >>> 0 || 1;
      for (let at = 0; at < bytes; at += PART) {
        const part = new Uint8Array(Math.min(PART, bytes - at));
        const words = new Uint32Array(part.buffer, 0, part.length >>> 2);
        for (let i = 0; i < words.length; i++) {
          x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
          words[i] = x;
        }
        parts.push(part);
      }
      window.files[seed] = new File(parts, `random-${seed}.bin`, { type: "application/octet-stream" });
      return window.files[seed];
    };
    const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
    window.digestOf = async (size, read) => {
      const digests = [];
      for (let at = 0; at < size; at += PART) {
        digests.push(new Uint8Array(await crypto.subtle.digest("SHA-256", await read(at, Math.min(size, at + PART)))));
      }
      const all = new Uint8Array(digests.length * 32);
      digests.forEach((d, i) => all.set(d, i * 32));
      return hex(await crypto.subtle.digest("SHA-256", all));
    };
    window.sampleProgress = (read, everyMs) => {
      const started = performance.now();
      const latest = new Map();
      const samples = [];
      const sample = () => {
        for (const [id, bytes] of Object.entries(read())) if (bytes > 0) latest.set(id, bytes);
        samples.push([Math.round(performance.now() - started), ...latest.values()]);
      };
      const timer = setInterval(sample, everyMs);
      return {
        stop() {
          clearInterval(timer);
          sample();
          return { everyMs, columns: ["ms", ...[...latest.keys()].map((_, i) => `source ${i + 1}`)], samples };
        },
      };
    };
  }, PART);
  installed.add(page);
}

/**
 * Makes `bytes` pseudo-random bytes from `seed` in `page` as `window.files[seed]`; resolves to
 * their digest (`digestOf`).
 */
export async function makeRandomFile(page, bytes, seed) {
  await installHelpers(page);
  return page.evaluate(async ({ bytes, seed }) => {
    const file = window.makeRandomFile(bytes, seed);
    return window.digestOf(file.size, (start, end) => file.slice(start, end).arrayBuffer());
  }, { bytes, seed });
}

/**
 * Shares `bytes` pseudo-random bytes from `seed` with peerfetch from `page` (a joined tab), the
 * file `makeRandomFile` made there if it did; resolves to the content id. The page keeps no
 * copy of the file but the one in peerfetch's store.
 */
export async function share(page, bytes, seed) {
  await installHelpers(page);
  return page.evaluate(async ({ bytes, seed }) => {
    const cid = await peer.share(window.files[seed] ?? window.makeRandomFile(bytes, seed));
    delete window.files[seed];
    return cid;
  }, { bytes, seed });
}

/** How often a timed download's progress is sampled (`sampleProgress`), in ms. */
export const PROGRESS_EVERY_MS = 100;

/**
 * Downloads `cid` with peerfetch into `page`; resolves to `{ bytes, ms, firstByteMs, startedAt,
 * endedAt, progress }`: the times by the page's clock (`Date.now()`) from the call to the `Blob`
 * in hand (every piece verified and stored), and `firstByteMs` from the call to the first bytes a
 * peer delivered, verified (a whole 1 MiB piece, since a piece is verified once it is all there:
 * `peer.transfers()`, read every 5 ms until then; progress
 * reports come every 200 ms, too coarse); `progress`, the verified bytes from each peer
 * (`transfers()`' `bytesReceived`, which grows a whole piece at a time) every
 * `PROGRESS_EVERY_MS` (`sampleProgress`). The `Blob` stays
 * as `window.downloaded`. A copy the page already has is not fetched again: `forget` it first.
 */
export async function download(page, cid) {
  await installHelpers(page);
  return page.evaluate(async ({ cid, everyMs }) => {
    delete window.downloaded;
    const startedAt = Date.now();
    const started = performance.now();
    let firstByteMs = null;
    let finished = false;
    const transfer = () => peer.transfers().find((t) => t.cid === cid);
    const sampler = window.sampleProgress(() => Object.fromEntries((transfer()?.peers ?? []).map((p) => [p.peer, p.bytesReceived])), everyMs);
    const watch = (async () => {
      while (!finished && !transfer()?.peers.some((p) => p.bytesReceived > 0)) await new Promise((r) => setTimeout(r, 5));
      if (!finished) firstByteMs = performance.now() - started;
    })();
    let ms;
    let endedAt;
    let progress;
    try {
      window.downloaded = await peer.download(cid);
      ms = performance.now() - started;
      endedAt = Date.now();
    } finally {
      finished = true;
      progress = sampler.stop();
      await watch;
    }
    return { bytes: window.downloaded.size, ms, firstByteMs, startedAt, endedAt, progress };
  }, { cid, everyMs: PROGRESS_EVERY_MS });
}

/** Deletes `page`'s copy of `cid` (and the `Blob` of the last `download`), if it has one. */
export const forget = (page, cid) => page.evaluate(async (cid) => {
  delete window.downloaded;
  await peer.remove(cid);
}, cid);

/** The digest (`digestOf`) of the last `download` into `page`; it forgets that `Blob`. */
export async function downloadedDigest(page) {
  await installHelpers(page);
  return page.evaluate(async () => {
    const blob = window.downloaded;
    delete window.downloaded;
    return window.digestOf(blob.size, (start, end) => blob.slice(start, end).arrayBuffer());
  });
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times (`getconf CLK_TCK`: 100 on Linux). */
const TICKS = 100;

/**
 * The processes of `browser` (launched by the harness's `launchBrowser`: the browser process,
 * whose command line names the profile, and every process under it), each `{ pid, kind, rss,
 * cpu }`: `kind` is `browser`, `renderer`, `gpu`, `network`, `storage`, `zygote` or `other`;
 * `rss` its VmRSS in bytes; `cpu` the CPU seconds it has used (user and system).
 */
export function browserProcesses(browser) {
  const processes = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const statLine = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The fields after the command name (in parentheses) from state on: utime and stime are
      // the 12th and 13th.
      const stat = statLine.slice(statLine.lastIndexOf(")") + 2).split(" ");
      processes.push({
        pid,
        parent: status.match(/PPid:\s+(\d+)/)[1],
        cmdline: readFileSync(`/proc/${pid}/cmdline`, "utf8"),
        rss: Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1] ?? 0) * 1024,
        cpu: (Number(stat[11]) + Number(stat[12])) / TICKS,
      });
    } catch {
      // The process ended while being read.
    }
  }
  const ours = new Set(processes
    .filter((p) => p.cmdline.includes(browser.profile) && !p.cmdline.includes("--type="))
    .map((p) => p.pid));
  for (let grew = true; grew;) {
    grew = false;
    for (const p of processes) {
      if (!ours.has(p.pid) && ours.has(p.parent)) { ours.add(p.pid); grew = true; }
    }
  }
  const kind = (cmdline) => !cmdline.includes("--type=") ? "browser"
    : cmdline.includes("--type=renderer") ? "renderer"
    : cmdline.includes("--type=gpu-process") ? "gpu"
    : cmdline.includes("NetworkService") ? "network"
    : cmdline.includes("StorageService") ? "storage"
    : cmdline.includes("--type=zygote") ? "zygote"
    : "other";
  return processes.filter((p) => ours.has(p.pid)).map(({ pid, cmdline, rss, cpu }) => ({ pid, kind: kind(cmdline), rss, cpu }));
}

/**
 * Resident memory (VmRSS) in bytes of the processes of `browser`: `renderers`, its renderer
 * processes (the tabs' JavaScript, wasm, WebRTC; besides the tabs, the persistent context's
 * first blank page and Chromium's spare renderer); `byRenderer`, each renderer's by pid; `all`,
 * every process of the browser (the browser process with the blob and storage services, the
 * network service, the GPU and utility processes, the zygotes and the renderers). Chromium's
 * own code counts in each process (about 50-120 MiB each), so compare figures with each other,
 * not with the machine's.
 */
export function memory(browser) {
  let renderers = 0;
  let all = 0;
  const byRenderer = {};
  for (const p of browserProcesses(browser)) {
    all += p.rss;
    if (p.kind === "renderer") {
      renderers += p.rss;
      byRenderer[p.pid] = p.rss;
    }
  }
  return { renderers, byRenderer, all };
}

/** CPU seconds used so far by the processes of `browsers`, by process kind, and `all`. */
export function cpuSeconds(browsers) {
  const used = { all: 0 };
  for (const browser of browsers) {
    for (const p of browserProcesses(browser)) {
      used[p.kind] = (used[p.kind] ?? 0) + p.cpu;
      used.all += p.cpu;
    }
  }
  return used;
}
