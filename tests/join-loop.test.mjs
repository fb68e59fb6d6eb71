// Joins as new users make them: a fresh browser context each time, default options, one after
// another. Every join must settle (resolve or reject) within its documented bound, and almost
// all must succeed. Also: a page that is not a secure context is refused at once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { startServer, newLoggedPage, CHROMIUM_OPTIONS, NETNS_IP } from "./harness.mjs";

/** Storage + bootstrap fetch + WebRTC-direct dial + WebSocket dial + reservation, at their defaults. */
const JOIN_BOUND_MS = 10000 + 10000 + 5000 + 5000 + 10000;
const JOINS = 50;

let browser;
before(async () => { browser = await chromium.launch(CHROMIUM_OPTIONS); });
after(async () => { await browser?.close(); });

/** Opens `url` in a fresh context and joins with defaults; the outcome and how long it took. */
async function joinOnce(url) {
  const context = await browser.newContext();
  try {
    const page = await newLoggedPage(context);
    await page.goto(`${url}/test.html`);
    const outcome = await page.evaluate(async (bound) => {
      const { default: init, Peer } = await import("/pkg/peerfetch.js");
      await init();
      const started = performance.now();
      // Twice the bound: a join that has not settled by then is reported as hanging.
      const hang = new Promise((resolve) => setTimeout(() => resolve({ hung: true }), 2 * bound));
      const join = Peer.join().then(
        (peer) => { const id = peer.id; peer.close(); return { id }; },
        (error) => ({ error: String(error?.message ?? error), code: error?.code ?? null }),
      );
      const result = await Promise.race([join, hang]);
      return { ...result, ms: performance.now() - started };
    }, JOIN_BOUND_MS);
    return { ...outcome, log: page.consoleLog };
  } finally {
    await context.close();
  }
}

test(`${JOINS} fresh browser contexts join one after another: each settles within the bound`, async () => {
  const server = await startServer();
  try {
    const outcomes = [];
    for (let i = 0; i < JOINS; i++) {
      const outcome = await joinOnce(server.url);
      outcomes.push(outcome);
      if (outcome.hung || outcome.error) {
        console.log(`join ${i}: ${outcome.hung ? "HUNG" : outcome.error}\n${outcome.log.slice(-20).join("\n")}`);
      }
    }
    const times = outcomes.map((o) => o.ms).sort((a, b) => a - b);
    const failed = outcomes.filter((o) => o.error).length;
    console.log(`${JOINS} joins: ${JOINS - failed} joined, ${failed} rejected; ` +
      `p50 ${times[JOINS >> 1].toFixed(0)} ms, max ${times[JOINS - 1].toFixed(0)} ms`);
    assert.equal(outcomes.filter((o) => o.hung).length, 0, "no join hangs");
    const late = outcomes.filter((o) => o.ms > JOIN_BOUND_MS + 2000);
    assert.deepEqual(late.map((o) => o.ms), [], `every join settles within ${JOIN_BOUND_MS} ms`);
    assert.ok(failed <= 1, `almost every join succeeds (${failed} of ${JOINS} rejected)`);
  } finally {
    await server.stop();
  }
});

test("a page that is not a secure context is refused at once with `insecure context`", async () => {
  // Plain http on the namespace's address (not localhost): no OPFS, no WebCrypto.
  const server = await startServer({ http: `${NETNS_IP}:0` });
  try {
    const outcome = await joinOnce(server.url);
    assert.equal(outcome.hung, undefined, "the join settles");
    assert.equal(outcome.code, "ERR_INSECURE_CONTEXT");
    assert.match(outcome.error ?? "", /^insecure context: /);
    assert.match(outcome.error, /https|localhost/);
    assert.ok(outcome.ms < 1000, `refused at once (${outcome.ms} ms)`);
  } finally {
    await server.stop();
  }
});
