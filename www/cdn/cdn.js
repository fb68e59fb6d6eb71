// The demo site's page code: once peerfetch is ready (started in the page's head), load the
// assets (through the service worker, so they come from peers when they can), and show where
// the bytes came from.
// Query parameters: `peerfetch=off` loads the same assets without peerfetch (the baseline for
// load-time comparisons); `server=URL` names the peerfetch server (default this origin);
// `log=debug` makes peerfetch log more to the console; `peerTimeout=MS` sets `peerTimeoutMs`.
const params = new URLSearchParams(location.search);

/** Waits for peerfetch (started in the page's head) unless it is off; never throws. */
async function peerfetchReady() {
  try {
    const session = await window.peerfetchSession;
    if (!session) return null;
    await session.ready;
    return session;
  } catch (error) {
    console.warn(`peerfetch did not start: ${error.message ?? error}`);
    return null;
  }
}

/** Sets each asset's URL; resolves to the URLs of those that failed, once all have settled. */
async function loadAssets() {
  const loads = [];
  const settle = (element, event, url) => new Promise((resolve) => {
    element.addEventListener(event, () => resolve(null), { once: true });
    element.addEventListener("error", () => resolve(url), { once: true });
  });
  for (const element of document.querySelectorAll("[data-src], [data-href]")) {
    const url = element.dataset.src ?? element.dataset.href;
    if (element.tagName === "SCRIPT") {
      // A script element that already ran once does not run again: use a fresh one.
      const script = document.createElement("script");
      loads.push(settle(script, "load", url));
      script.src = url;
      element.replaceWith(script);
      continue;
    }
    loads.push(settle(element, element.tagName === "VIDEO" ? "loadeddata" : "load", url));
    if (element.dataset.href) element.href = url;
    else element.src = url;
  }
  return (await Promise.all(loads)).filter(Boolean);
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

// How long the page held its assets back for peerfetch (0 when it is off).
const waitStart = performance.now();
const session = await peerfetchReady();
const waitedMs = performance.now() - waitStart;
const failed = await loadAssets();
window.siteLoad = { ms: performance.now(), waitedMs, ok: failed.length === 0, failed, peerfetch: Boolean(session) };
const peer = session ? await session.peer : null;
if (peer) {
  render(peer);
  peer.events.addEventListener("fetched", () => render(peer));
  setInterval(() => render(peer), 1000);
} else {
  document.getElementById("summary").textContent = "peerfetch is off: everything came from the origin.";
}
