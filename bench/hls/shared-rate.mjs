// A token bucket shared by every response of the bench's origin (bench/hls/origin.mjs): the
// origin's uplink, as a CDN edge or a small video server has one. Each chunk written waits for
// its tokens, so concurrent responses interleave and share the rate.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `bytesPerSecond` on average, up to `burstBytes` at once after a quiet spell. */
export class SharedRate {
  constructor(bytesPerSecond, burstBytes) {
    this.msPerByte = 1000 / bytesPerSecond;
    this.burstMs = burstBytes * this.msPerByte;
    /** When the bucket is next empty, on the performance.now() clock. */
    this.emptyAt = 0;
  }

  /** Resolves when `bytes` may be sent. */
  async take(bytes) {
    const now = performance.now();
    // A bucket that has filled up during a quiet spell holds at most burstBytes.
    this.emptyAt = Math.max(this.emptyAt, now - this.burstMs) + bytes * this.msPerByte;
    const wait = this.emptyAt - now;
    if (wait > 1) await sleep(wait);
  }
}
