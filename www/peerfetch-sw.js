// peerfetch service worker: lets a site offload its assets to peers without changing how its
// pages load them. A worker cannot open RTCPeerConnections, so it hands each matching request
// to a page of the site running the peerfetch peer (peerfetch-cdn.js) over a MessageChannel;
// whenever no page can answer in time, the request goes to the network as usual.
//
// Register it from the site's origin (peerfetch-cdn.js does):
//   navigator.serviceWorker.register("/peerfetch-sw.js?match=^/cdn/", { scope: "/cdn/" })
// Query parameters: `match`, a regular expression URL paths must match to be handed to a page
// (default: everything under the worker's scope); `waitMs`, how long a request waits for the page
// that made it to start its peer (default 3000); `answerMs`, how long a page may take to say it
// took a request (default 1000); `takenMs`, how long a page that took one may take to answer it
// (default 60000).

const params = new URL(self.location.href).searchParams;
const scopePath = new URL(self.registration.scope).pathname;
const match = new RegExp(params.get("match") ?? `^${scopePath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);
const waitMs = Number(params.get("waitMs") ?? 3000);
const answerMs = Number(params.get("answerMs") ?? 1000);
const takenMs = Number(params.get("takenMs") ?? 60000);
/** Requests the page marks with this header are its own trips to the origin. */
const BYPASS_HEADER = "x-peerfetch-bypass";

/** Pages by client id: `ready` once their peer runs, `false` if it could not start. */
const pages = new Map();

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  const id = event.source?.id;
  if (!id) return;
  const page = pageState(id);
  if (typeof event.data?.version === "string") page.version = event.data.version;
  if (event.data?.type === "peerfetch-ready") page.settle(true);
  if (event.data?.type === "peerfetch-unavailable") page.settle(false);
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET" || request.mode === "navigate") return;
  if (request.headers.has(BYPASS_HEADER)) return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !match.test(url.pathname)) return;
  event.respondWith(answer(request, event.clientId));
});

/**
 * The state of the page `id`, created on first mention. A page this worker has not heard from
 * (it started before the worker last restarted) is asked to say again whether its peer runs.
 */
function pageState(id) {
  let page = pages.get(id);
  if (!page) {
    let settle;
    const ready = new Promise((resolve) => { settle = resolve; });
    page = { ready, settled: undefined, settle: (ok) => { page.settled = ok; settle(ok); } };
    pages.set(id, page);
    self.clients.get(id).then((client) => client?.postMessage({ type: "peerfetch-hello" }));
  }
  return page;
}

/**
 * A page that can answer: the one that asked (waiting a little for it to start), else another
 * ready one using the same version of the site manifest (a page from before a deploy would
 * answer with the old bytes; a page whose version is not known yet gets the network).
 */
async function answeringPage(clientId) {
  if (!clientId) return undefined;
  const own = pageState(clientId);
  const ready = await Promise.race([own.ready, sleep(waitMs).then(() => false)]);
  if (ready) {
    const client = await self.clients.get(clientId);
    if (client) return client;
  }
  if (own.version === undefined) return undefined;
  for (const [id, page] of pages) {
    if (id === clientId || page.settled !== true || page.version !== own.version) continue;
    const client = await self.clients.get(id);
    if (client) return client;
    pages.delete(id);
  }
  return undefined;
}

async function answer(request, clientId) {
  try {
    const page = await answeringPage(clientId);
    if (page) {
      const response = await askPage(page, request);
      if (response) return response;
    }
  } catch (error) {
    console.warn(`peerfetch-sw: ${request.url} goes to the network: ${error}`);
  }
  return fetch(request);
}

/** Hands `request` to `page`; resolves to its Response, or undefined if the network should answer. */
function askPage(page, request) {
  const channel = new MessageChannel();
  return new Promise((resolve) => {
    let taken = false;
    const timer = setTimeout(() => { if (!taken) { channel.port1.close(); resolve(undefined); } }, answerMs);
    channel.port1.onmessage = ({ data }) => {
      if (data.type === "taken") {
        taken = true;
        clearTimeout(timer);
        // A page that went away never answers: the network does after `takenMs`.
        setTimeout(() => { channel.port1.close(); resolve(undefined); }, takenMs);
        return;
      }
      clearTimeout(timer);
      channel.port1.close();
      if (data.type === "response") {
        resolve(new Response(data.body, { status: data.status, statusText: data.statusText, headers: data.headers }));
      } else {
        resolve(undefined);
      }
    };
    page.postMessage(
      { type: "peerfetch-fetch", url: request.url, headers: [...request.headers] },
      [channel.port2],
    );
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
