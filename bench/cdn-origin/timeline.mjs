// Where a visit's time goes, on the page's own clock (ms since navigation start): the
// moments peerfetch reaches (from marks an init script records as the page runs) beside the
// browser's Resource Timing of the page, the probe, the drop-in script, the wasm package, the
// manifest and the assets.

/**
 * Run in the page before its scripts (`page.addInitScript(recordMarks)`): records in
 * `window.benchMarks` when the wasm module was compiled and instantiated, when the peer joined
 * (`window.peerfetch` is set), when a service worker took control, its first
 * browser-to-browser link, the first byte a peer sent for the site, and each `fetched` event.
 */
export function recordMarks() {
  const marks = { fetched: [] };
  window.benchMarks = marks;
  const at = () => Math.round(performance.now());
  for (const name of ["instantiateStreaming", "instantiate"]) {
    const original = WebAssembly[name];
    WebAssembly[name] = async (...args) => {
      const instance = await original.apply(WebAssembly, args);
      marks.wasmReady ??= at();
      return instance;
    };
  }
  navigator.serviceWorker?.addEventListener("controllerchange", () => { marks.controlled ??= at(); });
  let peer;
  Object.defineProperty(window, "peerfetch", {
    configurable: true,
    get: () => peer,
    set(joined) {
      peer = joined;
      marks.joined = at();
      joined.events.addEventListener("connection", ({ detail }) => {
        if (detail.transport === "webrtc") marks.firstLink ??= at();
      });
      joined.events.addEventListener("fetched", ({ detail }) => {
        marks.fetched.push({ path: detail.path, at: at(), ms: Math.round(detail.ms), fromPeers: detail.fromPeers, fromOrigin: detail.fromOrigin, fromStore: detail.fromStore });
      });
      // Bytes from peers show in transfers() as they arrive (the offload stats only once a
      // resource is whole): looked at every 10 ms until the first.
      const poll = setInterval(() => {
        if (joined.transfers().some((t) => t.peers.some((p) => p.bytesReceived > 0))) {
          marks.firstPeerByte = at();
          clearInterval(poll);
        }
      }, 10);
    },
  });
}

/** The visit's timeline: run in the page once `window.siteLoad` is set. */
export function readTimeline() {
  const round = (x) => (x === undefined ? undefined : Math.round(x));
  const entries = performance.getEntriesByType("resource");
  const path = (entry) => new URL(entry.name).pathname;
  const first = (test) => entries.find((e) => test(path(e)));
  const span = (entry) => entry && {
    start: round(entry.startTime),
    end: round(entry.responseEnd),
    bytes: entry.transferSize,
  };
  // The page's elements ask for the assets (through the service worker when it controls the
  // page); the peer's own trips to the origin are `fetch`es.
  const assets = entries.filter((e) => path(e).startsWith("/cdn/assets/") && e.initiatorType !== "fetch");
  const originFetches = entries.filter((e) => path(e).startsWith("/cdn/assets/") && e.initiatorType === "fetch");
  const navigation = performance.getEntriesByType("navigation")[0];
  return {
    document: round(navigation.responseEnd),
    probe: span(first((p) => p === "/bootstrap")),
    dropInScript: span(first((p) => p === "/peerfetch-cdn.js")),
    packageGlue: span(first((p) => p.endsWith("/peerfetch.js"))),
    packageWasm: span(first((p) => p.endsWith("/peerfetch_bg.wasm"))),
    manifest: span(first((p) => p.endsWith("/peerfetch-manifest.json"))),
    ...window.benchMarks,
    assetsRequested: round(Math.min(...assets.map((e) => e.startTime))),
    firstAssetEnd: round(Math.min(...assets.map((e) => e.responseEnd))),
    // The stylesheet and the script: what a page's rendering waits for.
    stylesAndScriptsEnd: round(Math.max(...assets.filter((e) => e.initiatorType === "link" || e.initiatorType === "script").map((e) => e.responseEnd))),
    lastAssetEnd: round(Math.max(...assets.map((e) => e.responseEnd))),
    loaded: round(window.siteLoad.ms),
    waitedForPeerfetch: round(window.siteLoad.waitedMs),
    assets: assets.map((e) => ({ path: path(e), ...span(e) })),
    originFetches: originFetches.map((e) => ({ path: path(e), ...span(e) })),
  };
}
