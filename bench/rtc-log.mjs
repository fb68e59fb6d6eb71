// A record of every RTCPeerConnection a page makes (the wasm package's as well as a page
// script's), for benchmarks that explain what a link did: its state changes, its data channels,
// the selected ICE candidate pair as it changes, and getStats() sampled over its first seconds.

/**
 * Makes every page of `context` (a launchBrowser context) record its peer connections in
 * `window.rtcLog`, from before the page's own scripts run: each entry `{ createdAt, kind,
 * events, samples }` (times by `Date.now()`, so the records of two tabs line up):
 * - `kind`: "server" (WebRTC-direct to peerfetch-server: its offer carries the
 *   `libp2p+webrtc+v1` ufrag), "raw" (it carries a channel labelled "raw", bench/raw-channel.mjs)
 *   or "tab" (another tab over `/webrtc`), read once it connects;
 * - `events`: `{ at, name, ... }` for connection and ICE state changes, data channels opened
 *   (`channel`, with `label` and `direction`), and `pair` (the ICE transport's
 *   `selectedcandidatepairchange`, with the pair);
 * - `samples`: every `intervalMs` for `forMs` after creation, `{ at, pair, rttMs,
 *   pairBytesSent, pairBytesReceived, pairPacketsSent, pairPacketsReceived,
 *   pairPacketsDiscarded, transportPacketsSent, transportPacketsReceived, pairChanges,
 *   channelBytesSent, channelBytesReceived, buffered, channels, pairs }`: the selected pair (as
 *   "host 10.213.0.1:5000 > prflx …"), its `currentRoundTripTime`, the bytes and packets it
 *   carried, the packets it could not hand to its socket (`packetsDiscardedOnSend`: in Chromium,
 *   the renderer's socket refused them), the packets of the whole transport, its
 *   `selectedCandidatePairChanges`, the data channels' bytes, their summed `bufferedAmount`
 *   (the browser's own figure), how many are open, and how many candidate pairs exist by state.
 */
export async function recordPeerConnections(context, { intervalMs = 100, forMs = 12000 } = {}) {
  await context.addInitScript(installRecorder, { intervalMs, forMs });
}

/** The `window.rtcLog` of `page`, entries of `kinds` only (all when not given). */
export const peerConnectionLog = (page, kinds) => page.evaluate(
  (kinds) => window.rtcLog.filter((entry) => !kinds || kinds.includes(entry.kind)),
  kinds,
);

/** Forgets the entries recorded in `page` so far (a new round starts). */
export const clearPeerConnectionLog = (page) => page.evaluate(() => { window.rtcLog.length = 0; });

/** Runs in the page (an init script): replaces `RTCPeerConnection` with a recording subclass. */
function installRecorder({ intervalMs, forMs }) {
  const Native = window.RTCPeerConnection;
  // The browser's own getter, in case another init script changes what pages see.
  const bufferedAmount = Object.getOwnPropertyDescriptor(RTCDataChannel.prototype, "bufferedAmount").get;
  const log = (window.rtcLog = []);
  // getStats() candidates have `candidateType`, RTCIceCandidate objects `type`; an mDNS
  // host candidate has no address in getStats() and a `….local` one as an RTCIceCandidate.
  const describe = (candidate) => candidate
    ? `${candidate.candidateType ?? candidate.type} ${candidate.address || "?"}:${candidate.port}` : "?";
  const pairName = (pair) => pair && `${describe(pair.local)} > ${describe(pair.remote)}`;

  async function sample(pc, channels) {
    const stats = await pc.getStats();
    let transport;
    const pairStates = {};
    let channelBytesSent = 0;
    let channelBytesReceived = 0;
    for (const s of stats.values()) {
      if (s.type === "transport") transport = s;
      if (s.type === "candidate-pair") pairStates[s.state] = (pairStates[s.state] ?? 0) + 1;
      if (s.type === "data-channel") {
        channelBytesSent += s.bytesSent ?? 0;
        channelBytesReceived += s.bytesReceived ?? 0;
      }
    }
    const pair = transport && stats.get(transport.selectedCandidatePairId);
    return {
      at: Date.now(),
      pair: pair && pairName({ local: stats.get(pair.localCandidateId), remote: stats.get(pair.remoteCandidateId) }),
      rttMs: pair?.currentRoundTripTime === undefined ? null : pair.currentRoundTripTime * 1000,
      pairBytesSent: pair?.bytesSent ?? 0,
      pairBytesReceived: pair?.bytesReceived ?? 0,
      pairPacketsSent: pair?.packetsSent ?? 0,
      pairPacketsReceived: pair?.packetsReceived ?? 0,
      pairPacketsDiscarded: pair?.packetsDiscardedOnSend ?? null,
      transportPacketsSent: transport?.packetsSent ?? 0,
      transportPacketsReceived: transport?.packetsReceived ?? 0,
      pairChanges: transport?.selectedCandidatePairChanges ?? null,
      channelBytesSent,
      channelBytesReceived,
      buffered: channels.reduce((sum, c) => sum + (c.readyState === "open" ? bufferedAmount.call(c) : 0), 0),
      channels: channels.filter((c) => c.readyState === "open").length,
      pairs: pairStates,
    };
  }

  window.RTCPeerConnection = class RecordedPeerConnection extends Native {
    constructor(...args) {
      super(...args);
      const entry = { createdAt: Date.now(), kind: "tab", events: [], samples: [] };
      log.push(entry);
      this.rtcLogEntry = entry;
      this.rtcLogChannels = [];
      const event = (name, detail) => entry.events.push({ at: Date.now(), name, ...detail });
      this.addEventListener("datachannel", (e) => this.rtcLogChannel(e.channel, "inbound"));
      this.addEventListener("iceconnectionstatechange", () => event("ice", { state: this.iceConnectionState }));
      this.addEventListener("connectionstatechange", () => {
        event("connection", { state: this.connectionState });
        if (this.connectionState !== "connected") return;
        if (this.localDescription?.sdp.includes("ice-ufrag:libp2p+webrtc+v1")) entry.kind = "server";
        const ice = this.sctp?.transport?.iceTransport;
        const notePair = () => {
          const pair = ice.getSelectedCandidatePair?.();
          event("pair", { pair: pair && pairName(pair) });
        };
        if (ice && !this.rtcLogWatchingPair) {
          this.rtcLogWatchingPair = true;
          notePair();
          ice.addEventListener("selectedcandidatepairchange", notePair);
        }
      });
      const timer = setInterval(async () => {
        if (this.connectionState === "closed" || Date.now() - entry.createdAt > forMs) {
          clearInterval(timer);
          return;
        }
        this.rtcLogChannels = this.rtcLogChannels.filter((c) => c.readyState !== "closed");
        try {
          entry.samples.push(await sample(this, this.rtcLogChannels));
        } catch {
          // Closed while sampling.
        }
      }, intervalMs);
    }

    createDataChannel(...args) {
      return this.rtcLogChannel(super.createDataChannel(...args), "outbound");
    }

    rtcLogChannel(channel, direction) {
      if (channel.label === "raw") this.rtcLogEntry.kind = "raw";
      this.rtcLogChannels.push(channel);
      this.rtcLogEntry.events.push({ at: Date.now(), name: "channel", label: channel.label, direction, id: channel.id });
      return channel;
    }
  };
}
