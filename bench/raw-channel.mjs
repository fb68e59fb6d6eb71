// The baseline every throughput figure is compared with: a plain JS RTCDataChannel between the
// same two tabs, in the same run.

import { median } from "./stats.mjs";

/**
 * Raw RTCDataChannel from tab `a` to tab `b` (signalled through this script): `bytes` bytes in
 * `size`-byte messages, keeping at most 1 MiB queued; the median MB/s of `rounds` rounds.
 */
export const rawThroughput = async (a, b, options) => median(await rawThroughputRounds(a, b, options));

/** `rawThroughput`'s MB/s of each round. */
export async function rawThroughputRounds(a, b, { size, bytes, rounds }) {
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
  const results = [];
  for (let round = 0; round < rounds; round++) {
    await b.evaluate((bytes) => { window.rawExpected = bytes; }, bytes);
    results.push(await a.evaluate(async ({ bytes, size }) => {
      const channel = window.rawChannel;
      channel.bufferedAmountLowThreshold = 256 * 1024;
      const message = new Uint8Array(size);
      const done = new Promise((r) => { channel.onmessage = r; });
      channel.send("start");
      const started = performance.now();
      for (let sent = 0; sent < bytes; sent += size) {
        if (channel.bufferedAmount > 1024 * 1024) {
          await new Promise((r) => { channel.onbufferedamountlow = r; });
        }
        channel.send(message);
      }
      await done;
      return bytes / ((performance.now() - started) / 1000) / 1e6;
    }, { bytes: bytes, size }));
  }
  await a.evaluate(() => window.rawPc.close());
  await b.evaluate(() => window.rawPc.close());
  return results;
}
