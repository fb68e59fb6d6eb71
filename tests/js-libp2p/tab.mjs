// Opening a tab that runs the js-libp2p peer of ./peer.mjs, bundled with esbuild and served to
// the page by Playwright (the server serves only our own files).
import { join } from "node:path";
import { build } from "esbuild";
import { ROOT } from "../harness.mjs";

/** The browser bundle of ./peer.mjs. */
export async function bundleJsPeer() {
  const result = await build({
    entryPoints: [join(ROOT, "tests/js-libp2p/peer.mjs")],
    bundle: true, format: "esm", platform: "browser", write: false, logLevel: "error",
  });
  return result.outputFiles[0].text;
}

/** A tab running js-libp2p, joined to `server`; `window.js` holds its helpers. */
export async function openJsTab(browser, server, bundle, options = {}) {
  const page = await browser.context.newPage();
  const log = [];
  page.on("console", (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  page.consoleLog = log;
  await page.route(`${server.url}/js-libp2p.js`, (route) =>
    route.fulfill({ status: 200, contentType: "text/javascript", body: bundle }));
  await page.goto(`${server.url}/test.html`);
  await page.evaluate(async (options) => {
    const { startJsPeer } = await import("/js-libp2p.js");
    window.js = await startJsPeer(location.origin, options);
  }, options);
  return page;
}
