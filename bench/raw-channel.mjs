// The baseline every throughput figure is compared with: a plain JS RTCDataChannel between the
// same two tabs, in the same run.

import { median } from "./stats.mjs";

/**
 * Raw RTCDataChannel from tab `a` to tab `b` (signalled through this script): `bytes` bytes in
 * `size`-byte messages, keeping at most 1 MiB queued; the median MB/s of `rounds` rounds.
 */
export const rawThroughput = async (a, b, options) => median(await rawThroughputRounds(a, b, options));

/** `rawThroughput`'s MB/s of each round, on a channel opened for them and closed after. */
export async function rawThroughputRounds(a, b, { size, bytes, rounds }) {
  await openRawChannel(a, b);
  const results = [];
  for (let round = 0; round < rounds; round++) {
    const { ms } = await sendRaw(a, b, { size, bytes });
    results.push(bytes / (ms / 1000) / 1e6);
  }
  await closeRawChannel(a, b);
  return results;
}

/**
 * Opens a fresh peer connection from `a` to `b` (offer and answer with every candidate, no
 * ICE server) and resolves once its data channel "raw" is open at `a`; it is `a`'s
 * `window.rawChannel`, and each side's connection is its `window.rawPc`.
 */
export async function openRawChannel(a, b) {
  const offer = await a.evaluate(async () => {
    const pc = new RTCPeerConnection();
    window.rawPc = pc;
    window.rawChannel = pc.createDataChannel("raw");
    await pc.setLocalDescription(await pc.createOffer());
    while (pc.iceGatheringState !== "complete") await new Promise((r) => setTimeout(r, 10));
    return pc.localDescription.sdp;
  });
  const answer = await b.evaluate(async (offer) => {
    const pc = new RTCPeerConnection();
    window.rawPc = pc;
    pc.ondatachannel = ({ channel }) => {
      channel.binaryType = "arraybuffer";
      let received = 0;
      channel.onmessage = (e) => {
        if (typeof e.data === "string") { received = 0; return; } // a new round starts
        received += e.data.byteLength;
        if (received >= window.rawExpected) channel.send("done");
      };
    };
    await pc.setRemoteDescription({ type: "offer", sdp: offer });
    await pc.setLocalDescription(await pc.createAnswer());
    while (pc.iceGatheringState !== "complete") await new Promise((r) => setTimeout(r, 10));
    return pc.localDescription.sdp;
  }, offer);
  await a.evaluate(async (answer) => {
    await window.rawPc.setRemoteDescription({ type: "answer", sdp: answer });
    const channel = window.rawChannel;
    if (channel.readyState !== "open") await new Promise((r) => { channel.onopen = r; });
  }, answer);
}

/**
 * Sends `bytes` bytes in `size`-byte messages on the channel `openRawChannel` opened, keeping at
 * most 1 MiB queued; resolves to `{ bytes, ms, startedAt, endedAt }`: the time from the first
 * send to `b`'s word that all arrived, and both ends by the page's clock (`Date.now()`).
 */
export async function sendRaw(a, b, { size, bytes }) {
  await b.evaluate((bytes) => { window.rawExpected = bytes; }, bytes);
  return a.evaluate(async ({ bytes, size }) => {
    const channel = window.rawChannel;
    channel.bufferedAmountLowThreshold = 256 * 1024;
    const message = new Uint8Array(size);
    const done = new Promise((r) => { channel.onmessage = r; });
    channel.send("start");
    const startedAt = Date.now();
    const started = performance.now();
    for (let sent = 0; sent < bytes; sent += size) {
      if (channel.bufferedAmount > 1024 * 1024) {
        await new Promise((r) => { channel.onbufferedamountlow = r; });
      }
      channel.send(message);
    }
    await done;
    return { bytes, ms: performance.now() - started, startedAt, endedAt: Date.now() };
  }, { bytes, size });
}

/** Closes both ends of the connection `openRawChannel` made. */
export async function closeRawChannel(a, b) {
  await a.evaluate(() => window.rawPc.close());
  await b.evaluate(() => window.rawPc.close());
}
