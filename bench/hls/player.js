// The player of bench/hls.mjs: hls.js playing the bench's stream as soon as the page opens,
// in one of four modes (`?mode=`):
//   origin            plain hls.js, every byte from the origin (the baseline);
//   peerfetch         hls.js unchanged, peerfetch's service worker handing its requests to the
//                     page's peer; the player starts once peerfetch is ready (`session.ready`);
//   peerfetch-at-once the same, the player starting at once (its first requests go to the
//                     origin until the worker controls the page);
//   p2pml             hls.js with p2p-media-loader (its loaders injected into hls.js), peers
//                     found through the bench's tracker (`?tracker=`), in swarm `?swarm=`.
// What the bench reads: `window.viewer()`, a snapshot of startup, rebuffering and bytes.
import Hls from "/hls/vendor/hls.mjs";

const params = new URLSearchParams(location.search);
const mode = params.get("mode");
const video = document.querySelector("video");
const state = {
  mode,
  /** ms from navigation start (the viewer opening the video's page) to the player's start. */
  playRequestedMs: null,
  /** ms from navigation start to the first `playing` event. */
  startupMs: null,
  /** `waiting` events after the first `playing`, with how long each lasted (ms). */
  rebuffers: [],
  waitingSince: null,
  /** hls.js `BUFFER_STALLED_ERROR`s (non-fatal: the buffer ran dry while playing). */
  bufferStalledErrors: 0,
  /** Bytes of the fragments hls.js loaded, their count by level, and each one's load time. */
  fragmentBytes: 0,
  fragmentsByLevel: {},
  fragments: [],
  /** p2p-media-loader's bytes by source (`http`, `p2p`). */
  p2pml: { http: 0, p2p: 0, peers: 0 },
  errors: [],
};

video.addEventListener("playing", () => {
  const now = performance.now();
  state.startupMs ??= now;
  if (state.waitingSince !== null) {
    state.rebuffers.at(-1).ms = now - state.waitingSince;
    state.waitingSince = null;
  }
});
video.addEventListener("waiting", () => {
  if (state.startupMs === null || state.waitingSince !== null) return;
  state.waitingSince = performance.now();
  state.rebuffers.push({ atSeconds: video.currentTime, ms: null });
});

/**
 * hls.js's defaults but one: it buffers 30 s ahead (`maxBufferLength`) and no more. By default
 * it stretches that to what 60 MB hold (`maxBufferSize`), up to 600 s: here the whole stream,
 * fetched in the first seconds whatever the viewer watches.
 */
const HLS_CONFIG = { maxMaxBufferLength: 30 };

/** hls.js for this mode. */
async function player() {
  if (mode !== "p2pml") return new Hls(HLS_CONFIG);
  const { HlsJsP2PEngine } = await import("/hls/vendor/p2p-media-loader-hlsjs.js");
  const HlsWithP2P = HlsJsP2PEngine.injectMixin(Hls);
  return new HlsWithP2P({
    ...HLS_CONFIG,
    p2p: {
      // Its defaults but for the tracker and ICE: the bench's tracker, host candidates only (no
      // STUN server is reachable in the test namespace; peerfetch's tabs use host candidates too).
      core: { announceTrackers: [params.get("tracker")], rtcConfig: { iceServers: [] }, swarmId: params.get("swarm") },
      onHlsJsCreated(hls) {
        hls.p2pEngine.addEventListener("onChunkDownloaded", (bytes, source) => { state.p2pml[source] += bytes; });
        hls.p2pEngine.addEventListener("onPeerConnect", () => { state.p2pml.peers++; });
        hls.p2pEngine.addEventListener("onPeerClose", () => { state.p2pml.peers--; });
      },
    },
  });
}

if (mode === "peerfetch") {
  try {
    await window.peerfetchSession.ready;
  } catch (error) {
    state.errors.push(`peerfetch: ${error.message ?? error}`);
  }
}
state.playRequestedMs = performance.now();
const hls = await player();
hls.on(Hls.Events.FRAG_LOADED, (_, { frag, payload }) => {
  state.fragmentBytes += payload.byteLength;
  state.fragmentsByLevel[frag.level] = (state.fragmentsByLevel[frag.level] ?? 0) + 1;
  const { loading } = frag.stats;
  state.fragments.push({ sn: frag.sn, level: frag.level, at: Math.round(loading.start), ms: Math.round(loading.end - loading.start) });
});
hls.on(Hls.Events.ERROR, (_, data) => {
  if (data.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR) state.bufferStalledErrors++;
  else if (data.fatal) state.errors.push(`hls.js: ${data.details}`);
});
hls.attachMedia(video);
hls.loadSource(params.get("src"));
video.play().catch((error) => state.errors.push(`play: ${error.message}`));

/** What the bench reads. */
window.viewer = async () => {
  const peer = window.peerfetchSession ? await window.peerfetchSession.peer : null;
  const offload = peer?.stats().offload;
  const stalled = state.waitingSince === null ? 0 : performance.now() - state.waitingSince;
  const { waitingSince, ...rest } = state;
  return {
    ...rest,
    currentTime: video.currentTime,
    stallMs: state.rebuffers.reduce((sum, r) => sum + (r.ms ?? 0), 0) + stalled,
    peerfetch: offload && { fromPeers: offload.fromPeers, fromOrigin: offload.fromOrigin, fromStore: offload.fromStore, peers: offload.peers.length },
  };
};
/** Stops watching; the page stays open (its peer keeps serving what it holds). */
window.stopWatching = () => video.pause();
