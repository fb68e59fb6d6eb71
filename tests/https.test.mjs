// HTTPS on the simulated internet (tests/simulated-internet.sh): a peerfetch server with a
// certificate from a test CA the test makes, reached by name (Chromium maps peerfetch.test and
// site.test to the public address with --host-resolver-rules and trusts the CA by its key with
// --ignore-certificate-errors-spki-list), and a site on its own HTTPS origin that adopts
// peerfetch as docs/js-api.md says. Visitors and tabs run in homes behind NAT routers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { startServer, launchBrowser, newLoggedPage, openTab, waitFor, shareAndDownload, logged as loggedWith, PUBLIC_IP, ROOT } from "./harness.mjs";
import { makeCertificates } from "./certificates.mjs";

/** Fixed ports, so that --external-address can name them: the test namespace is ours alone. */
const HTTPS_PORT = 18443;
const WEBRTC_DIRECT_PORT = 19090;
const WSS_PORT = 19443;
const WS_PORT = 19091;
const SERVER = `https://peerfetch.test:${HTTPS_PORT}`;

const browsers = [];
const tabs = [];
const temp = mkdtempSync(join(tmpdir(), "peerfetch-https-"));
let tls;
before(() => { tls = makeCertificates(temp); });
after(async () => {
  for (const b of browsers) await b.close();
  rmSync(temp, { recursive: true, force: true });
});
const logged = (body) => loggedWith(tabs, body);

/** A browser in `home` that resolves the test names to the public address and trusts the test CA. */
async function browserIn(home) {
  const browser = await launchBrowser({
    home,
    args: [
      `--host-resolver-rules=MAP peerfetch.test ${PUBLIC_IP},MAP site.test ${PUBLIC_IP}`,
      `--ignore-certificate-errors-spki-list=${tls.caSpki}`,
    ],
  });
  browsers.push(browser);
  return browser;
}

/**
 * The peerfetch server on the public network over HTTPS, WebRTC-direct, WSS and plain
 * WebSocket, advertising the WebSockets by name (the certificate names peerfetch.test, not the
 * address); pages of `allowOrigin` may read it from scripts.
 */
function httpsServer(allowOrigin) {
  return startServer({
    http: `${PUBLIC_IP}:${HTTPS_PORT}`,
    args: [
      "--tls-cert", tls.chain, "--tls-key", tls.keyFile,
      "--listen", `/ip4/${PUBLIC_IP}/udp/${WEBRTC_DIRECT_PORT}/webrtc-direct`,
      "--listen", `/ip4/${PUBLIC_IP}/tcp/${WSS_PORT}/tls/ws`,
      "--listen", `/ip4/${PUBLIC_IP}/tcp/${WS_PORT}/ws`,
      "--external-address", `/ip4/${PUBLIC_IP}/udp/${WEBRTC_DIRECT_PORT}/webrtc-direct`,
      "--external-address", `/dns4/peerfetch.test/tcp/${WS_PORT}/ws`,
      "--external-address", `/dns4/peerfetch.test/tcp/${WSS_PORT}/tls/ws`,
      ...(allowOrigin ? ["--allow-origin", allowOrigin] : []),
    ],
  });
}

/**
 * The demo site on its own HTTPS origin (site.test), adopting peerfetch as a site does: the
 * manifest, the assets and the service worker from the site; the drop-in script (and through it
 * the package) and `/bootstrap` from the peerfetch server. Counts the asset bytes it sends.
 */
async function httpsSite() {
  const types = { ".html": "text/html", ".js": "text/javascript", ".json": "application/json", ".css": "text/css", ".webm": "video/webm", ".png": "image/png", ".svg": "image/svg+xml" };
  const www = join(ROOT, "www");
  const site = { assetBytes: 0 };
  const server = createServer({ cert: tls.cert, key: tls.key }, (request, response) => {
    const path = normalize(new URL(request.url, "https://site.test").pathname);
    let file = path === "/peerfetch-sw.js" ? join(www, "peerfetch-sw.js") : join(www, path);
    if (!path.startsWith("/cdn/") && path !== "/peerfetch-sw.js") return response.writeHead(404).end();
    if (path.endsWith("/")) file = join(file, "index.html");
    let body;
    try {
      body = readFileSync(file);
    } catch {
      return response.writeHead(404).end();
    }
    if (file.endsWith("index.html")) {
      body = body.toString().replace(`from "/peerfetch-cdn.js"`, `from "${SERVER}/peerfetch-cdn.js"`);
    }
    if (path.startsWith("/cdn/assets/")) site.assetBytes += body.length;
    response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    response.end(body);
  });
  await new Promise((resolve) => server.listen(0, PUBLIC_IP, resolve));
  site.origin = `https://site.test:${server.address().port}`;
  site.close = () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); });
  return site;
}

/** `nft` commands run in the router of `home`. */
const nftIn = (home, commands) => execFileSync("ip", ["netns", "exec", `r-${home}`, "nft", "-f", "-"], { input: commands });

test("an HTTPS site on another origin offloads through an HTTPS peerfetch server (a test CA, names mapped)", { timeout: 180000 }, logged(async () => {
  const site = await httpsSite();
  const server = await httpsServer(site.origin);
  try {
    const loads = [];
    for (const home of ["cone1", "cone2"]) {
      const before = site.assetBytes;
      const page = await newLoggedPage((await browserIn(home)).context);
      tabs.push(page);
      await page.goto(`${site.origin}/cdn/?server=${encodeURIComponent(SERVER)}`);
      const load = await waitFor(`the site to load in ${home}`, () => page.evaluate(() => window.siteLoad), 60000);
      const offload = await page.evaluate(() => window.peerfetch?.stats().offload);
      const fromSite = site.assetBytes - before;
      console.log(`${home}: ${JSON.stringify(load)}; peers ${offload?.fromPeers}, origin ${offload?.fromOrigin}; the site sent ${fromSite} asset bytes`);
      assert.ok(load.ok && load.peerfetch, `the site loaded with peerfetch in ${home}`);
      loads.push({ offload, fromSite });
    }
    assert.ok(loads[0].fromSite > 0, "the first visitor got the assets from the site");
    assert.ok(loads[1].offload.fromPeers > 0, "the second visitor got bytes from the first");
    assert.ok(loads[1].fromSite < loads[0].fromSite, "the site sent the second visitor less");
  } finally {
    await server.stop();
    await site.close();
  }
}));

test("from behind NATs a tab joins over WSS where the server has TLS, and over WebRTC-direct where TCP to it is blocked (never plain ws from https); the two link and share", { timeout: 180000 }, logged(async () => {
  const server = await httpsServer();
  nftIn("cone2", `table inet no_wss_to_server {
  chain forward {
    type filter hook forward priority filter;
    oifname "wan" ip daddr ${PUBLIC_IP} tcp dport ${WSS_PORT} reject with tcp reset
  }
}
`);
  try {
    const joined = [];
    for (const home of ["cone1", "cone2"]) {
      const tab = await openTab(await browserIn(home), SERVER, { swarm: "https-nat" });
      tabs.push(tab);
      const error = await tab.evaluate(() => window.joinError && `${window.joinError.code}: ${window.joinError.message}`);
      assert.equal(error, undefined, `the tab in ${home} joined`);
      // Only the server is reached over these two.
      const transport = await tab.evaluate(() => peer.connections()
        .map((c) => c.transport).filter((t) => t === "webrtc-direct" || t === "websocket").join());
      console.log(`${home}: to the server over ${transport}`);
      joined.push({ tab, transport });
    }
    assert.equal(joined[0].transport, "websocket", "the server has TLS: WSS");
    assert.equal(joined[1].transport, "webrtc-direct", "WSS blocked: WebRTC-direct");
    // Tried in order: WSS (blocked), then WebRTC-direct, which worked; plain ws (listed first
    // in /bootstrap) never, as an https page may not open ws:// to another host.
    const failures = joined[1].tab.consoleLog.filter((l) => /dial to server failed/.test(l));
    console.log(`cone2's failed dials: ${failures.join(" | ")}`);
    assert.equal(failures.length, 1, "one failed dial");
    assert.match(failures[0], new RegExp(`/tcp/${WSS_PORT}/tls/ws`));
    // A refused WebSocket fails the dial at once, not at the dial timeout (transport/websocket.rs).
    assert.doesNotMatch(failures[0], /no connection within/);
    console.log(`4 MiB shared: ${await shareAndDownload(joined[0].tab, joined[1].tab, 4 * 1024 * 1024, 5)} ms`);
  } finally {
    nftIn("cone2", "delete table inet no_wss_to_server\n");
    await server.stop();
  }
}));
