// A scripted hostile peer for tests/hostile-peer.test.mjs: a js-libp2p node (./peer.mjs) in a
// Chromium page that links to a victim Rust tab over browser-to-browser /webrtc and speaks
// `/peerfetch/swarm/1` (./hostile-wire.mjs) with scripted misbehaviours. Bundled by the test with
// esbuild; the page gets `window.hostile` (see the end of this file).
import { startJsPeer } from "./peer.mjs";
import * as wire from "./hostile-wire.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const bytesOf = (chunk) => (chunk instanceof Uint8Array ? chunk : chunk.subarray());
const garbage = (length) => {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
};

/**
 * A swarm stream the attacker opened. Decodes and counts what the victim sends (unless
 * `reading` is turned off: then the bytes are dropped unlooked-at, as a peer that never reads
 * would leave them), and sends with js-libp2p's backpressure.
 */
class SwarmStream {
  constructor(stream) {
    this.stream = stream;
    this.reading = true;
    this.bytesIn = 0;
    this.counts = {};
    this.onMessage = () => {};
    this.closedAt = null;
    this.closeReason = null;
    this.closed = new Promise((resolve) => stream.addEventListener("close", (event) => {
      this.closedAt = Date.now();
      this.closeReason = event.error ? String(event.error.message ?? event.error) : (event.local ? "closed here" : "closed by the victim");
      resolve();
    }, { once: true }));
    const decoder = new wire.Decoder();
    stream.addEventListener("message", (event) => {
      const bytes = bytesOf(event.data);
      this.bytesIn += bytes.length;
      if (!this.reading) return;
      for (const message of decoder.push(bytes)) {
        this.counts[message.name] = (this.counts[message.name] ?? 0) + 1;
        this.onMessage(message);
      }
    });
  }

  get open() {
    return this.stream.status === "open" && this.stream.writeStatus === "writable";
  }

  /** Sends `bytes`; resolves once js-libp2p can take more. False if the stream is gone. */
  async send(bytes) {
    if (!this.open) return false;
    try {
      if (!this.stream.send(bytes)) await this.stream.onDrain();
      return true;
    } catch {
      return false;
    }
  }

  /** The next message the victim sends within `ms`, or null (none, or the stream closed). */
  nextMessage(ms) {
    return new Promise((resolve) => {
      const previous = this.onMessage;
      let settled = false;
      const done = (message) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.onMessage = previous;
        resolve(message);
      };
      const timer = setTimeout(() => done(null), ms);
      this.closed.then(() => done(null));
      this.onMessage = (message) => { previous(message); done(message); };
    });
  }

  stats() {
    return { open: this.open, bytesIn: this.bytesIn, counts: this.counts, closedAt: this.closedAt, closeReason: this.closeReason };
  }
}

/** A js-libp2p identity that links to victims and misbehaves on their swarm streams. */
class HostilePeer {
  constructor(js) {
    this.js = js;
    this.id = js.id;
    this.connections = new Map();
  }

  /** The direct /webrtc connection to `victim` (dialed once, through the server's relay). */
  async connection(victim) {
    const known = this.connections.get(victim);
    if (known?.status === "open") return known;
    const connection = await this.js.webRtcConnection(victim);
    this.connections.set(victim, connection);
    return connection;
  }

  /** A new swarm stream to `victim`, not yet about anything. */
  async openStream(victim) {
    const connection = await this.connection(victim);
    return new SwarmStream(await connection.newStream(wire.SWARM_PROTOCOL, { maxOutboundStreams: 100000 }));
  }

  /**
   * Opens a stream about `cid`: sends `Want` and waits for the victim's `Have` (it took the
   * stream). A victim that does not know `cid` yet closes the stream: tries again until
   * `timeoutMs`.
   */
  async join(victim, cid, { timeoutMs = 20000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const stream = await this.openStream(victim);
      await stream.send(wire.want(cid));
      const first = await stream.nextMessage(1000);
      if (first?.name === "have") return stream;
      stream.stream.abort(new Error("not taken"));
      if (Date.now() > deadline) throw new Error(`the victim never took a stream about ${cid}`);
      await sleep(20);
    }
  }

  async stop() {
    await this.js.node.stop();
  }
}

/** Starts a fresh hostile identity joined to the server at `origin` (dial-out only). */
export async function startHostilePeer(origin) {
  return new HostilePeer(await startJsPeer(origin, { listen: false, monitor: false }));
}

// --- Behaviours. Each takes a joined SwarmStream and the content id. ---

/** Claims to hold every piece of `cid` (a `Have` with every bit set). */
export const claimAll = (stream, cid) =>
  stream.send(wire.have(wire.fullBitfield(wire.pieceCount(wire.parseCid(cid).len))));

/**
 * Slow drip (issue item 9): answers the first request with the length prefix of a whole piece,
 * then one byte a second, for ever; later requests wait behind it.
 */
export function trickle(stream, { everyMs = 1000 } = {}) {
  const stats = { requests: 0, cancels: 0, dripped: 0 };
  let timer = null;
  stream.onMessage = (message) => {
    if (message.name === "cancel") stats.cancels++;
    if (message.name !== "request") return;
    stats.requests++;
    if (timer) return;
    stream.send(wire.varint(wire.PIECE_LEN + 4096));
    timer = setInterval(() => {
      if (!stream.open) return clearInterval(timer);
      stream.send(new Uint8Array(1));
      stats.dripped++;
    }, everyMs);
  };
  return { stats: () => ({ ...stats, ...stream.stats() }), stop: () => clearInterval(timer) };
}

/**
 * Lies in pieces: answers each request with the bytes `answer(request, pieces)` makes (a piece
 * message that cannot verify, or the wrong piece).
 */
export function answerWith(stream, cid, answer) {
  const pieces = wire.pieceCount(wire.parseCid(cid).len);
  const stats = { requests: 0, answered: 0 };
  stream.onMessage = async (message) => {
    if (message.name !== "request") return;
    stats.requests++;
    if (await stream.send(answer(message, pieces))) stats.answered++;
  };
  return { stats: () => ({ ...stats, ...stream.stats() }) };
}

/** A piece message with the requested id and index and 1 MiB of random bytes for its encoding. */
export const garbagePiece = (request) => wire.piece(request.id, request.piece, garbage(wire.PIECE_LEN));
/** A piece message answering the request with the next piece's index. */
export const wrongIndexPiece = (request, pieces) =>
  wire.piece(request.id, (request.piece + 1) % pieces, garbage(wire.PIECE_LEN));

/** Sends `count` messages made by `make(i)`, concatenated into sends of about 64 KiB. */
async function sendMany(stream, count, make) {
  let batch = [];
  let size = 0;
  let sent = 0;
  const flush = async () => {
    const joined = new Uint8Array(size);
    let at = 0;
    for (const part of batch) { joined.set(part, at); at += part.length; }
    batch = [];
    size = 0;
    return stream.send(joined);
  };
  for (let i = 0; i < count; i++) {
    const message = make(i);
    batch.push(message);
    size += message.length;
    if (size >= 65536) {
      if (!(await flush())) return sent;
      sent = i + 1;
    }
  }
  if (size > 0 && (await flush())) sent = count;
  return sent;
}

/** HavePiece flood: `count` announcements cycling over every (valid) piece index. */
export async function floodHavePiece(stream, cid, count) {
  const pieces = wire.pieceCount(wire.parseCid(cid).len);
  const started = Date.now();
  const sent = await sendMany(stream, count, (i) => wire.havePiece(i % pieces));
  return { sent, ms: Date.now() - started, ...stream.stats() };
}

/** Unsolicited pieces: `count` piece messages nobody asked for, with garbage for their proofs. */
export async function sendUnsolicitedPieces(stream, cid, count) {
  const pieces = wire.pieceCount(wire.parseCid(cid).len);
  let sent = 0;
  for (let i = 0; i < count; i++) {
    if (await stream.send(wire.piece(1_000_000 + i, i % pieces, garbage(64 * 1024)))) sent++;
  }
  return { sent, ...stream.stats() };
}

/**
 * No-read flood (item 10): stops reading, then sends `count` requests, alternating pieces the
 * victim holds (its uploads and queue fill up: Busy) and indices past the end (NotHave).
 */
export async function floodRequests(stream, cid, count) {
  const pieces = wire.pieceCount(wire.parseCid(cid).len);
  stream.reading = false;
  const started = Date.now();
  const sent = await sendMany(stream, count, (i) =>
    wire.request(i, i % 2 === 0 ? (i / 2) % pieces : pieces + (i % 1000)));
  return { sent, ms: Date.now() - started, ...stream.stats() };
}

/**
 * Streams without Want (item 11): keeps `count` streams to `victim` open and says nothing on
 * them; each one the victim closes is opened again (after `pauseMs`), until `stop()`.
 */
export function holdSilentStreams(peer, victim, count, { pauseMs = 100 } = {}) {
  const held = new Map(); // stream → when it opened
  const lifetimes = [];
  let opened = 0;
  let failed = 0;
  let stopped = false;
  const keepOne = async () => {
    while (!stopped) {
      let stream;
      try {
        stream = await peer.openStream(victim);
      } catch {
        failed++;
        await sleep(pauseMs);
        continue;
      }
      opened++;
      const at = Date.now();
      held.set(stream, at);
      await stream.closed;
      held.delete(stream);
      if (!stopped) lifetimes.push(Date.now() - at);
      await sleep(pauseMs);
    }
  };
  for (let i = 0; i < count; i++) keepOne();
  return {
    /**
     * `open`: streams open now, including some the victim has refused and whose close is on its
     * way; `settled`: those open for over a second, which the victim has taken.
     */
    stats: () => ({
      opened, failed, open: [...held.keys()].filter((s) => s.open).length,
      settled: [...held].filter(([s, at]) => s.open && Date.now() - at > 1000).length,
      closedByVictim: lifetimes.length, longestMs: Math.max(0, ...lifetimes),
    }),
    stop() {
      stopped = true;
      for (const stream of held.keys()) stream.stream.abort(new Error("attack over"));
    },
  };
}

/**
 * Rejoining under new ids (item 18): `rounds` times, a fresh identity links to `victim`, joins
 * `cid` and lies with a garbage piece; records when each was taken and how it ended.
 */
export async function rejoinUnderNewIds(origin, victim, cid, rounds) {
  const started = Date.now();
  const results = [];
  for (let round = 0; round < rounds; round++) {
    const result = { round, id: null, takenAtMs: null, requests: 0, closedAfterMs: null, error: null };
    let peer;
    try {
      peer = await startHostilePeer(origin);
      result.id = peer.id;
      const stream = await peer.join(victim, cid, { timeoutMs: 5000 });
      result.takenAtMs = Date.now() - started;
      const lie = answerWith(stream, cid, garbagePiece);
      await claimAll(stream, cid);
      await Promise.race([stream.closed, sleep(5000)]);
      result.requests = lie.stats().requests;
      result.closedAfterMs = stream.closedAt === null ? null : stream.closedAt - started - result.takenAtMs;
    } catch (error) {
      result.error = String(error?.message ?? error);
    } finally {
      await peer?.stop().catch(() => {});
    }
    results.push(result);
  }
  return { ms: Date.now() - started, results };
}

/**
 * Link churn: for `ms`, opens stream after stream about `cid` to `victim`, says `Want`, and
 * closes it once the victim took it (its `Have` came) or refused it (closed it); counts both.
 */
export async function churnLinks(peer, victim, cid, ms) {
  const started = Date.now();
  let taken = 0;
  let refused = 0;
  while (Date.now() - started < ms) {
    const stream = await peer.openStream(victim);
    await stream.send(wire.want(cid));
    const first = await stream.nextMessage(2000);
    if (first?.name === "have") taken++;
    else refused++;
    stream.stream.abort(new Error("churn"));
    await stream.closed;
  }
  return { taken, refused, ms: Date.now() - started };
}

export { wire, startJsPeer };
