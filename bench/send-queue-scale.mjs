// Trying a smaller data-channel send queue without rebuilding the wasm package: every page of a
// context sees each RTCDataChannel's `bufferedAmount` multiplied by `divisor`, and sets its
// `bufferedAmountLowThreshold` divided by it. Code that stops writing at a fixed
// `bufferedAmount` and resumes at a fixed threshold (the package's `MAX_BUFFERED` and
// `LOW_WATER_MARK` in crate/src/browser/transport/rtc/data_channel.rs, and
// bench/raw-channel.mjs's sender) then queues `divisor` times less, as if its constants were
// divided by `divisor`.

/** Makes every page of `context` queue `divisor` times less on its data channels (see above). */
export async function divideSendQueues(context, divisor) {
  await context.addInitScript((divisor) => {
    const proto = RTCDataChannel.prototype;
    const amount = Object.getOwnPropertyDescriptor(proto, "bufferedAmount");
    const threshold = Object.getOwnPropertyDescriptor(proto, "bufferedAmountLowThreshold");
    Object.defineProperty(proto, "bufferedAmount", {
      configurable: true,
      get() { return amount.get.call(this) * divisor; },
    });
    Object.defineProperty(proto, "bufferedAmountLowThreshold", {
      configurable: true,
      get() { return threshold.get.call(this) * divisor; },
      set(value) { threshold.set.call(this, Math.floor(value / divisor)); },
    });
  }, divisor);
}
