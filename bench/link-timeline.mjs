// What one peer connection did while a transfer ran, read from the record bench/rtc-log.mjs
// keeps: which candidate pairs carried it, whether ICE switched pairs, the round-trip times, the
// data channels it opened, how much was queued, how many packets its socket refused, and when
// bytes stopped flowing.

/** A pause in the bytes a pair carried at least this long counts as a stall. */
const STALL_MS = 250;

/**
 * The part of `entry` (a `window.rtcLog` entry) between `startedAt` and `endedAt` (`Date.now()`
 * times), `direction` "received" or "sent" (the bytes the transfer moved on this side):
 * - `ageMs`: the connection's age at the start (from `connected`);
 * - `pairs`: the selected pairs seen; `pairChanges`: the transport's changes of selected pair
 *   during the transfer;
 * - `rttMs`: the smallest and largest round-trip time sampled;
 * - `channelsOpened`: data channels opened during it; `maxBuffered`: the most bytes queued on
 *   its channels;
 * - `discardedOnSend`: packets the pair could not hand to its socket during it;
 * - `stallMs`, `stalls`: the pauses of `STALL_MS` or more in the bytes, once they flowed;
 * - `curve`: MB/s in each second of the transfer.
 */
export function duringTransfer(entry, startedAt, endedAt, direction) {
  const connected = entry.events.find((e) => e.name === "connection" && e.state === "connected");
  const within = (at) => at >= startedAt && at <= endedAt;
  const samples = entry.samples.filter((s) => within(s.at));
  const before = entry.samples.filter((s) => s.at < startedAt).at(-1);
  const last = samples.at(-1);
  const bytes = (s) => (s ? (direction === "received" ? s.pairBytesReceived : s.pairBytesSent) : 0);
  const grew = (field) => (last ? (last[field] ?? 0) - (before?.[field] ?? 0) : 0);
  const rtts = samples.map((s) => s.rttMs).filter((x) => x !== null);
  return {
    ageMs: connected ? startedAt - connected.at : null,
    pairs: [...new Set(samples.map((s) => s.pair).filter(Boolean))],
    pairChanges: grew("pairChanges"),
    rttMs: rtts.length ? [Math.min(...rtts), Math.max(...rtts)].map((x) => +x.toFixed(1)) : null,
    channelsOpened: entry.events.filter((e) => e.name === "channel" && within(e.at)).length,
    maxBuffered: Math.max(0, ...samples.map((s) => s.buffered)),
    discardedOnSend: grew("pairPacketsDiscarded"),
    ...stalls(samples, bytes, bytes(before)),
    curve: perSecond(samples, bytes, before, startedAt),
  };
}

/** `{ stallMs, stalls }`: pauses of `STALL_MS` or more between growths of `bytes`, once it grew. */
function stalls(samples, bytes, initial) {
  let stallMs = 0;
  let count = 0;
  let lastGrowth = null;
  let previous = initial;
  for (const s of samples) {
    if (bytes(s) > previous) {
      if (lastGrowth !== null && s.at - lastGrowth >= STALL_MS) {
        stallMs += s.at - lastGrowth;
        count++;
      }
      lastGrowth = s.at;
    }
    previous = bytes(s);
  }
  return { stallMs, stalls: count };
}

/** MB/s of `bytes` over each second from `startedAt` (from the sample `before` it, if any). */
function perSecond(samples, bytes, before, startedAt) {
  const curve = [];
  let from = { at: before?.at ?? startedAt, bytes: bytes(before) };
  for (const s of samples) {
    if (s.at - from.at >= 1000) {
      curve.push(+((bytes(s) - from.bytes) / (s.at - from.at) / 1000).toFixed(1));
      from = { at: s.at, bytes: bytes(s) };
    }
  }
  return curve;
}
