// The demo site's page code: start peerfetch, then load the assets (through the service worker,
// so they come from peers when they can), and show where the bytes came from.
// Query parameters: `peerfetch=off` loads the same assets without peerfetch (the baseline for
// load-time comparisons); `server=URL` names the peerfetch server (default this origin);
// `log=debug` makes peerfetch log more to the console.
const params = new URLSearchParams(location.search);

/** Starts peerfetch unless turned off; never throws, so the page loads whatever happens. */
async function startPeerfetch() {
  if (params.get("peerfetch") === "off") return null;
  try {
    const { start } = await import("/peerfetch-cdn.js");
    const session = start({
      manifest: "/cdn/peerfetch-manifest.json",
      scope: "/cdn/",
      match: "^/cdn/assets/",
      ...(params.get("server") ? { server: params.get("server") } : {}),
      join: params.get("log") ? { logLevel: params.get("log") } : {},
    });
    await session.ready;
    return session;
  } catch (error) {
    console.warn(`peerfetch did not start: ${error.message ?? error}`);
    return null;
  }
}

/** Sets each asset's URL and resolves once all have loaded (or failed). */
function loadAssets() {
  const loads = [];
  const settle = (element, event) => new Promise((resolve) => {
    element.addEventListener(event, () => resolve(true), { once: true });
    element.addEventListener("error", () => resolve(false), { once: true });
  });
  for (const element of document.querySelectorAll("[data-src], [data-href]")) {
    const event = element.tagName === "VIDEO" ? "loadeddata" : "load";
    if (element.tagName === "SCRIPT") {
      // A script element that already ran once does not run again: use a fresh one.
      const script = document.createElement("script");
      loads.push(settle(script, "load"));
      script.src = element.dataset.src;
      element.replaceWith(script);
      continue;
    }
    loads.push(settle(element, event));
    if (element.dataset.href) element.href = element.dataset.href;
    else element.src = element.dataset.src;
  }
  return Promise.all(loads);
}

function megabytes(bytes) {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function render(peer) {
  const stats = peer?.stats().offload;
  if (!stats) return;
  const total = stats.fromPeers + stats.fromOrigin + stats.fromStore;
  document.getElementById("ratio").textContent = total ? `${Math.round(stats.offloadRatio * 100)} %` : "–";
  for (const source of ["peers", "store", "origin"]) {
    const key = `from${source[0].toUpperCase()}${source.slice(1)}`;
    document.getElementById(`bar-${source}`).style.width = total ? `${(100 * stats[key]) / total}%` : "0";
  }
  document.getElementById("summary").textContent =
    `${megabytes(stats.fromPeers)} from ${stats.peers.length} peer(s), ${megabytes(stats.fromStore)} from this browser, ` +
    `${megabytes(stats.fromOrigin)} from the origin.`;
  const rows = Object.entries(stats.resources).map(([path, r]) =>
    `<tr><td>${path.split("/").pop()}</td><td class="n">${megabytes(r.fromPeers)}</td><td class="n">${megabytes(r.fromOrigin)}</td></tr>`);
  document.getElementById("resources").innerHTML = `<tr><td></td><td class="n">peers</td><td class="n">origin</td></tr>${rows.join("")}`;
}

const session = await startPeerfetch();
const loaded = await loadAssets();
window.siteLoad = { ms: performance.now(), ok: loaded.every(Boolean), peerfetch: Boolean(session) };
const peer = session ? await session.peer : null;
if (peer) {
  render(peer);
  peer.events.addEventListener("fetched", () => render(peer));
  setInterval(() => render(peer), 1000);
} else {
  document.getElementById("summary").textContent = "peerfetch is off: everything came from the origin.";
}
