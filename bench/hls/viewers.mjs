// The viewers of bench/hls.mjs: each a headless Chromium of its own opening the player page,
// watching until the video has played `watchSeconds`, then pausing and staying on the page
// (its peer, or its p2p-media-loader, keeps serving what it holds to later viewers).
import { launchBrowser, newLoggedPage } from "../../tests/harness.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Autoplay of a muted video needs no gesture; this makes sure headless Chromium agrees. */
const BROWSER_ARGS = ["--autoplay-policy=no-user-gesture-required"];

/** One viewer: opens `url` in a browser of its own; `watched` resolves once it has played `watchSeconds`. */
export async function openViewer(url, watchSeconds) {
  const browser = await launchBrowser({ args: BROWSER_ARGS });
  const page = await newLoggedPage(browser.context);
  await page.goto(url);
  const watched = (async () => {
    const deadline = Date.now() + (watchSeconds * 3 + 30) * 1000;
    for (;;) {
      const time = await page.evaluate(() => document.querySelector("video").currentTime).catch(() => 0);
      if (time >= watchSeconds) break;
      if (Date.now() > deadline) throw new Error(`${url}: played ${time.toFixed(1)} s of ${watchSeconds} s before the deadline`);
      await sleep(250);
    }
    await page.evaluate(() => window.stopWatching());
  })();
  return { browser, page, watched };
}

/**
 * Runs `count` viewers of `url`, one after another (each starts when the one before has
 * watched) or all at once; resolves to their browsers and pages, all still open.
 */
export async function runViewers(url, { count, watchSeconds, atOnce }) {
  const viewers = [];
  try {
    if (atOnce) {
      viewers.push(...await Promise.all(Array.from({ length: count }, () => openViewer(url, watchSeconds))));
      await Promise.all(viewers.map((v) => v.watched));
    } else {
      for (let i = 0; i < count; i++) {
        const viewer = await openViewer(url, watchSeconds);
        viewers.push(viewer);
        await viewer.watched;
      }
    }
  } catch (error) {
    error.viewers = viewers;
    throw error;
  }
  return viewers;
}

/**
 * What the page measured (`window.viewer()`), with what its console says of providers it could
 * not reach (peerfetch logs each failed dial at info): how many lines, how many peers, the
 * errors.
 */
export async function report(viewer) {
  const measured = await viewer.page.evaluate(() => window.viewer());
  const lines = viewer.page.consoleLog.filter((l) => /cannot reach provider/.test(l));
  // tracing-wasm's lines: the message, then the fields (the provider's peer id among them).
  const peers = new Set(lines.map((l) => /12D3KooW\w+/.exec(l)?.[0]));
  const errors = [...new Set(lines.map((l) => /cannot reach provider:([\s\S]*)/.exec(l)[1].replace(/12D3KooW\w+|[0-9a-f]{64}-\d+/g, "…").replace(/\s+/g, " ").trim().slice(0, 200)))];
  return { ...measured, unreachableProviderLines: lines.length, unreachableProviders: peers.size, unreachableErrors: errors.slice(0, 3) };
}
