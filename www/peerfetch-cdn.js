// peerfetch for a website: visitors fetch the site's assets from each other, verified against
// the site's manifest, with the origin as fallback. Add to a page:
//
//   <script type="module">
//     import { start } from "https://peerfetch.example/peerfetch-cdn.js";
//     start({ manifest: "/peerfetch-manifest.json", scope: "/" });
//   </script>
//
// and serve `peerfetch-sw.js` (from the peerfetch server's www/) and the manifest
// (`peerfetch-server manifest DIR`) from the site's own origin. The service worker hands the
// page's requests to this page's peer (`peer.fetch`); when the peer cannot run (no WebRTC, the
// peerfetch server unreachable), everything goes to the network as before.


/**
 * Starts peerfetch on this page. Options: `manifest` (URL of the site manifest), `scope` (the
 * service worker's scope, default "/"), `serviceWorker` (its URL on the site, default
 * "/peerfetch-sw.js"), `match` (regular expression of URL paths to offload, default the whole
 * scope), `server` (the peerfetch server, default where this script came from), `swarm`
 * (default the site's host), `join` (more `Peer.join` options), `readyTimeoutMs` (default 5000),
 * `probe` (a `fetch` of `${server}/bootstrap` the page started earlier, e.g. in a classic
 * inline script at the top of `<head>`, so that a page whose peerfetch server is down learns it
 * before its module scripts even run).
 *
 * Returns `{ peer, ready }`: `peer` resolves to the `Peer` (or `null` if it could not start),
 * `ready` once the page is controlled by the service worker with its peer running, as soon as
 * the peer could not start, or after `readyTimeoutMs` — a page that loads its assets after
 * `ready` offloads them even on a first visit.
 */
export function start(options = {}) {
  const {
    manifest = "/peerfetch-manifest.json",
    scope = "/",
    serviceWorker = "/peerfetch-sw.js",
    match,
    server = new URL(import.meta.url).origin,
    swarm = location.host,
    join = {},
    readyTimeoutMs = 5000,
    probe,
  } = options;
  const worker = navigator.serviceWorker;
  let state = "starting";
  // The version of the site manifest this page uses: the service worker lets another page
  // answer this one's requests only if both use the same manifest (a page from before a
  // deploy must not hand out the old app.js to a page of the new one).
  let version;
  const announce = () => {
    const type = state === "ready" ? "peerfetch-ready" : state === "failed" ? "peerfetch-unavailable" : "peerfetch-version";
    if (type !== "peerfetch-version" || version) worker?.controller?.postMessage({ type, version });
  };
  // Asked only when a worker controls the page or the peer runs: a first visit whose peerfetch
  // server is down costs the page nothing but the probe.
  let versionAsked = false;
  const askVersion = () => {
    if (versionAsked) return;
    versionAsked = true;
    manifestVersion(manifest)
      .then((v) => { version ??= v; announce(); })
      .catch((error) => console.warn(`peerfetch: no manifest version: ${error.message ?? error}`));
  };
  if (worker?.controller) askVersion();

  // Fetched (not run) while the probe is out: the package loader, a few KiB. The package
  // itself is fetched only once the peerfetch server answered.
  const loader = new URL("./peerfetch-auto.js", import.meta.url);
  document.head.append(Object.assign(document.createElement("link"), { rel: "modulepreload", href: loader }));
  // A quick look first: when the peerfetch server is down, the page should not wait for the
  // wasm module to load before it knows.
  const serverUp = (async () => {
    const bootstrap = await (probe ?? fetch(`${server}/bootstrap`, { cache: "no-store" }));
    if (!bootstrap.ok) throw new Error(`${server}/bootstrap answered ${bootstrap.status}`);
  })();
  const peer = (async () => {
    try {
      await serverUp;
      askVersion();
      // A literal specifier, so that bundlers see the import.
      const { default: init, Peer } = await import("./peerfetch-auto.js");
      await init();
      const joined = await Peer.join({ server, swarm, manifest, ...join });
      joined.events.addEventListener("manifest", (event) => { version = event.detail.version; announce(); });
      window.peerfetch = joined;
      return joined;
    } catch (error) {
      console.warn(`peerfetch: assets come from the origin only: ${error.message ?? error}`);
      return null;
    }
  })();

  if (worker) {
    worker.addEventListener("message", async (event) => {
      const { data } = event;
      if (data?.type === "peerfetch-hello") return announce();
      if (data?.type !== "peerfetch-fetch") return;
      const port = event.ports[0];
      const current = state === "ready" ? await peer : null;
      if (!current || !(await current.covers(data.url))) return port.postMessage({ type: "network" });
      port.postMessage({ type: "taken" });
      try {
        const response = await current.fetch(data.url, { headers: data.headers });
        port.postMessage({
          type: "response",
          status: response.status,
          statusText: response.statusText,
          headers: [...response.headers],
          body: await response.blob(),
        });
      } catch (error) {
        console.warn(`peerfetch: ${data.url}: ${error.message ?? error}`);
        port.postMessage({ type: "network" });
      }
    });
    worker.addEventListener("controllerchange", () => { askVersion(); announce(); });
    // Messages wait in a queue until the page says it listens.
    worker.startMessages();
  }

  // Registered once the peerfetch server answered, while the package loads and the peer joins
  // (a page whose server is down has nothing to offer a worker; one whose peer then fails to
  // start tells it so, and its requests go to the network at once).
  const controlled = serverUp.then(
    () => worker?.register(`${serviceWorker}?${new URLSearchParams(match ? { match } : {})}`, { scope })
      .then(() => worker.controller ?? new Promise((resolve) => worker.addEventListener("controllerchange", resolve, { once: true })))
      .catch((error) => console.warn(`peerfetch: no service worker: ${error.message ?? error}`)),
    () => undefined,
  );
  const registered = peer.then((joined) => joined && controlled);
  peer.then((joined) => {
    state = joined ? "ready" : "failed";
    announce();
  });
  const ready = Promise.race([registered, new Promise((resolve) => setTimeout(resolve, readyTimeoutMs))]);
  return { peer, ready };
}

/**
 * The first 16 hex digits of the SHA-256 of the manifest at `url`, as the peer computes them
 * (the page's trips to its origin carry `x-peerfetch-bypass`, so the worker lets them through).
 */
async function manifestVersion(url) {
  const response = await fetch(url, { cache: "no-store", headers: { "x-peerfetch-bypass": "1" } });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const digest = await crypto.subtle.digest("SHA-256", await response.arrayBuffer());
  return [...new Uint8Array(digest, 0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
