// Waiting for a peer that has the content: a link opened while no tab holding it is online (its
// sender has not opened theirs yet, or closed it) keeps looking instead of failing, and turns to
// progress once such a tab joins.

/** How long each attempt waits for a peer (`timeoutMs`) before the page says it is waiting. */
export const ATTEMPT_MS = 5000;

/** A pause between attempts, so that an attempt that fails at once is not repeated in a loop. */
const PAUSE_MS = 1000;

/**
 * Resolves to what `attempt()` resolves to, calling it again each time it rejects with
 * `ERR_NOT_FOUND` (after `onWaiting(attempts)`) unless `signal` aborted; any other error rejects.
 */
export async function untilFound(attempt, onWaiting, signal) {
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error) {
      if (error.code !== "ERR_NOT_FOUND" || signal.aborted) throw error;
      onWaiting(attempts);
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  }
}

/** The waiting state's words, for `what` ("this file", "these files"). */
export const waitingText = (what, attempts) =>
  `Waiting for a peer that has it… No peer has ${what} right now: ask the sender to open the page ` +
  `they shared from and keep it open. This page keeps looking (${attempts} ${attempts === 1 ? "try" : "tries"} so far).`;
