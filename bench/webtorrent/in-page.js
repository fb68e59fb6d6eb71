// The WebTorrent side of bench/webtorrent.mjs inside its tab (served by pages.mjs, imported by
// system.mjs): one WebTorrent client, which announces to the bench's tracker only and gathers
// host ICE candidates only (no STUN server is reachable in the test namespace, and the peerfetch
// tabs use host candidates too), and the steps the bench drives it through. The file to seed is
// `window.files[seed]` and the digest `window.digestOf`, both from bench/sharing.mjs.
import WebTorrent from "/webtorrent.min.js";

/** A download that gets no byte for this long is given up (peerfetch's own patience is 15 s). */
const STALL_MS = 60_000;

const client = new WebTorrent({ tracker: { rtcConfig: { iceServers: [] } } });
const errors = [];
client.on("error", (e) => errors.push(String(e?.message ?? e)));
/** The torrents this tab seeds or holds, by info hash. */
const torrents = new Map();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const toBase64 = (bytes) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const failure = (what, e) => new Error(`${what}: ${e?.message ?? e}`);

/**
 * What `torrent`'s pieces are stored in, read from its store: WebTorrent wraps the store it
 * picked in an ImmediateChunkStore and (unless the store is in memory) a CacheChunkStore, each
 * holding the next as `.store`.
 */
function storeOf(torrent) {
  const layers = [];
  let store = torrent.store;
  while (store.store) {
    layers.push(store.cache ? `a memory cache of ${store.cache.max} pieces` : "writes held until stored");
    store = store.store;
  }
  const kind = store.storageDirPromise ? "OPFS (fsa-chunk-store, a file per piece)"
    : Array.isArray(store.chunks) ? "memory (memory-chunk-store)" : store.constructor.name;
  return `${kind}, behind ${layers.join(" and ")}`;
}

/**
 * Seeds `window.files[seed]` with `pieceLength` (WebTorrent's default for the size when
 * undefined); resolves once its pieces are in the store, to what a downloader needs (the
 * torrent file in base64, so no `ut_metadata` exchange is timed) and the torrent's facts.
 */
export function seed(seed, { tracker, pieceLength }) {
  const file = window.files[seed];
  return new Promise((resolve, reject) => {
    const options = { announce: [tracker], name: file.name, ...(pieceLength && { pieceLength }) };
    const torrent = client.seed(file, options, (torrent) => {
      torrents.set(torrent.infoHash, torrent);
      delete window.files[seed];
      resolve({ infoHash: torrent.infoHash, torrentFile: toBase64(torrent.torrentFile), pieceLength: torrent.pieceLength, store: storeOf(torrent) });
    });
    torrent.once("error", (e) => reject(failure("seeding failed", e)));
  });
}

/**
 * Adds the torrent with no piece selected, so that it announces, connects to peers and
 * exchanges bitfields but requests nothing; resolves once it has `wires` connected peers (or
 * after `timeoutMs`) to the number it has and its store.
 */
export async function prepare({ infoHash, torrentFile }, { tracker, strategy, wires, timeoutMs }) {
  const torrent = client.add(fromBase64(torrentFile), { announce: [tracker], strategy, deselect: true });
  torrents.set(infoHash, torrent);
  if (!torrent.ready) {
    await new Promise((resolve, reject) => {
      torrent.once("ready", resolve);
      torrent.once("error", (e) => reject(failure("adding the torrent failed", e)));
    });
  }
  const deadline = performance.now() + timeoutMs;
  while (torrent.wires.length < wires && performance.now() < deadline) await sleep(50);
  return { links: torrent.wires.length, store: storeOf(torrent) };
}

/**
 * Selects every piece of a prepared torrent; resolves with the times (`Date.now()`) from then
 * to the torrent's `done` (every piece verified and stored), and from then to the first block
 * received (`firstByteMs`), and `progress`: the bytes received on each peer's wire every
 * `everyMs` (`window.sampleProgress`).
 */
export function download(infoHash, everyMs) {
  const torrent = torrents.get(infoHash);
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const started = performance.now();
    const sampler = window.sampleProgress(() => Object.fromEntries(torrent.wires.map((w) => [w.peerId, w.downloaded])), everyMs);
    let firstByteMs = null;
    let last = -1;
    let lastChange = started;
    const fail = (error) => { clearInterval(watch); sampler.stop(); reject(error); };
    const watch = setInterval(() => {
      if (torrent.downloaded !== last) { last = torrent.downloaded; lastChange = performance.now(); }
      if (performance.now() - lastChange > STALL_MS) {
        fail(new Error(`no byte for ${STALL_MS / 1000} s after ${torrent.downloaded} bytes from ${torrent.numPeers} peers`));
      }
    }, 1000);
    torrent.once("download", () => { firstByteMs = performance.now() - started; });
    torrent.once("error", (e) => fail(failure("download failed", e)));
    torrent.once("done", () => {
      clearInterval(watch);
      const ms = performance.now() - started;
      resolve({ bytes: torrent.length, ms, firstByteMs, startedAt, endedAt: Date.now(), progress: sampler.stop() });
    });
    torrent.select(0, torrent.pieces.length - 1);
  });
}

/** The digest (`window.digestOf`) of the torrent's file as this tab holds it. */
export function digest(infoHash) {
  const file = torrents.get(infoHash).files[0];
  return window.digestOf(file.length, (start, end) => file.arrayBuffer({ start, end: end - 1 }));
}

/** Destroys the torrent and deletes its store, if this tab has it. */
export function remove(infoHash) {
  const torrent = torrents.get(infoHash);
  torrents.delete(infoHash);
  if (!torrent) return Promise.resolve();
  return new Promise((resolve) => torrent.destroy({ destroyStore: true }, () => resolve()));
}

/** What the client knows, for a report when a download fails. */
export function state() {
  return {
    torrents: client.torrents.map((t) => ({ infoHash: t.infoHash, progress: t.progress, peers: t.numPeers, wires: t.wires.length })),
    errors,
  };
}
