// Opening a tab that runs the js-libp2p peer of ./peer.mjs (or another entry that exports its
// `startJsPeer`, such as ./hostile.mjs), bundled with esbuild and served to the page by
// Playwright (the server serves only our own files).
import { join } from "node:path";
import { build } from "esbuild";
import { before, after } from "node:test";
import { ROOT, launchBrowser, newLoggedPage } from "../harness.mjs";

/** The browser bundle of `entry` (a path under the repository root), ./peer.mjs by default. */
export async function bundleJsPeer(entry = "tests/js-libp2p/peer.mjs") {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true, format: "esm", platform: "browser", write: false, logLevel: "error",
  });
  return result.outputFiles[0].text;
}

/** A page of `server` that can `import("/js-libp2p.js")` (the bundle); nothing started yet. */
export async function openBundlePage(browser, server, bundle) {
  const page = await newLoggedPage(browser.context);
  await page.route(`${server.url}/js-libp2p.js`, (route) =>
    route.fulfill({ status: 200, contentType: "text/javascript", body: bundle }));
  await page.goto(`${server.url}/test.html`);
  return page;
}

/** A tab running js-libp2p, joined to `server`; `window.js` holds its helpers. */
export async function openJsTab(browser, server, bundle, options = {}) {
  const page = await openBundlePage(browser, server, bundle);
  await page.evaluate(async (options) => {
    const { startJsPeer } = await import("/js-libp2p.js");
    window.js = await startJsPeer(location.origin, options);
  }, options);
  return page;
}

/**
 * For a test file: launches the browser and bundles js-libp2p (`entry`, see `bundleJsPeer`)
 * before its tests, closes the browser after. Returns `{ browser, openJsTab(server, options),
 * openPage(server) }` (valid inside tests).
 */
export function browserWithJsPeer({ entry } = {}) {
  const suite = { browser: undefined, bundle: undefined };
  before(async () => {
    suite.browser = await launchBrowser();
    suite.bundle = await bundleJsPeer(entry);
  });
  after(async () => { await suite.browser?.close(); });
  suite.openJsTab = (server, options) => openJsTab(suite.browser, server, suite.bundle, options);
  suite.openPage = (server) => openBundlePage(suite.browser, server, suite.bundle);
  return suite;
}
