// Runs bench/webtorrent.mjs's scenarios with several file-sharing systems in one run, the same
// browsers and the same bytes. A system (bench/peerfetch-system.mjs,
// bench/webtorrent/system.mjs) is:
//   { key, label, options,
//     tab(browser)              its tab in a browser of the bench (`browser.tabs[...]`),
//     open(browser)             a new tab of it,
//     seed(page, bytes, seed)   shares `window.files[seed]` from the page: `{ id, ... }`,
//     prepare(pages, what, n)   readies the downloaders before the clock (WebTorrent: adds the
//                               torrent and connects to up to `n` peers; peerfetch: nothing),
//                               resolving to each one's `{ links }`,
//     download(page, what)      `{ bytes, ms, firstByteMs, startedAt, endedAt, progress }`
//                               (`progress`: bench/sharing.mjs's `sampleProgress`),
//     digest(page, what)        the digest of the page's copy (bench/sharing.mjs's `digestOf`),
//     drop(pages, what)         deletes the pages' copies,
//     state(page), notes()      what to print when a download fails }.
import { cpuSeconds, makeRandomFile, memory } from "./sharing.mjs";
import { median, round, spread } from "./stats.mjs";

const MiB = 1024 * 1024;
/** The pause between dropping one round's copies (or readying the downloaders) and the next clock. */
export const SETTLE_MS = 2000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPU milliseconds per MB delivered, by process kind, from two `cpuSeconds` readings. */
function cpuMsPerMB(before, after, megabytes) {
  const out = {};
  for (const kind of Object.keys(after)) out[kind] = round((after[kind] - (before[kind] ?? 0)) * 1000 / megabytes, 1);
  return out;
}

/** Prints what `system`'s tabs in `roles` (`[label, page]`) knew when a download failed. */
async function explain(system, roles) {
  console.log((await system.notes()).join("\n"));
  for (const [label, page] of roles) {
    const state = await system.state(page).catch((e) => ({ unreadable: e.message }));
    console.log(`${label}: ${JSON.stringify(state)}`);
    console.log(page.consoleLog.filter((l) => /WARN|ERROR|warning|error|panicked/.test(l)).slice(-15).join("\n"));
  }
}

/** Seeds `bytes` bytes from `seed` with `system` in each of `pages`; resolves to what downloaders need and the bytes' digest. */
async function seedAll(system, pages, bytes, seed) {
  const seeded = [];
  for (const page of pages) {
    const digest = await makeRandomFile(page, bytes, seed);
    seeded.push({ ...await system.seed(page, bytes, seed), digest });
  }
  if (new Set(seeded.map((s) => s.id)).size !== 1) throw new Error(`${system.label}'s seeders made different ids of the same bytes`);
  return seeded[0];
}

/**
 * One download of `what` into each of `pages` at once with `system`, `peers` the number of
 * other tabs holding or fetching it. The downloaders are readied, the machine settles, then the
 * clock and the CPU window (of every process of `all`) start; a copy that differs from the
 * source fails the round. The copies are dropped right after the digests, outside any window.
 */
async function downloadRound(system, what, { pages, peers, all, bytes, label, roles }) {
  const links = (await system.prepare(pages, what, peers)).map((l) => l.links);
  await sleep(SETTLE_MS);
  const cpuBefore = cpuSeconds(all);
  const settled = await Promise.allSettled(pages.map((page) => system.download(page, what)));
  const cpuAfter = cpuSeconds(all);
  let error = settled.find((r) => r.status === "rejected")?.reason.message;
  let row;
  if (!error) {
    const digests = await Promise.all(pages.map((page) => system.digest(page, what)));
    const differ = digests.filter((d) => d !== what.digest).length;
    if (differ) error = `${differ} of ${pages.length} downloads differ from the source`;
  }
  if (!error) {
    const results = settled.map((r) => r.value);
    const seconds = (Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt))) / 1000;
    row = {
      seconds: round(seconds),
      each: results.map((r) => round(r.ms / 1000)),
      firstByteMs: results.map((r) => r.firstByteMs === null ? null : Math.round(r.firstByteMs)),
      links,
      cpuMsPerMB: cpuMsPerMB(cpuBefore, cpuAfter, bytes * pages.length / 1e6),
      progress: results.map((r) => r.progress),
    };
  }
  if (error) {
    console.log(`${label}: ${system.label} failed: ${error}`);
    await explain(system, [...roles, ...pages.map((page, i) => [`downloader ${i + 1}`, page])]);
  }
  await system.drop(pages, what);
  return error ? { error, links } : row;
}

/** The median of each field of `rows` (objects of numbers). */
function medianOfFields(rows) {
  const out = {};
  for (const key of Object.keys(rows[0] ?? {})) out[key] = round(median(rows.map((r) => r[key] ?? 0)), 1);
  return out;
}

/**
 * The progress samples of the round whose time is nearest the median (the earlier one of a
 * tie), one per downloader: `{ round, seconds, downloaders }`, or null when no round delivered.
 */
function progressOfMedianRound(rows) {
  const done = rows.map((row, i) => ({ row, number: i + 1 })).filter(({ row }) => !row.error);
  if (!done.length) return null;
  const middle = median(done.map(({ row }) => row.seconds));
  const { row, number } = done.reduce((best, r) => Math.abs(r.row.seconds - middle) < Math.abs(best.row.seconds - middle) ? r : best);
  return { round: number, seconds: row.seconds, downloaders: row.progress };
}

/**
 * Medians and ranges of a system's rounds of a scenario that delivered `bytes` to `downloaders`,
 * and the progress over time of its median round (the rounds keep no samples).
 */
function summary(system, rows, bytes, downloaders) {
  const done = rows.filter((r) => !r.error);
  const seconds = done.map((r) => r.seconds);
  return {
    label: system.label,
    options: system.options,
    seconds: spread(seconds),
    // Without what comes before the first byte (finding peers, asking them): the transfer alone.
    secondsFromFirstByte: spread(done.map((r) => r.seconds - Math.min(...r.firstByteMs) / 1000)),
    MBpsPerDownloader: spread(seconds.map((s) => bytes / s / 1e6), 1),
    MBpsAllDownloaders: spread(seconds.map((s) => bytes * downloaders / s / 1e6), 1),
    firstByteMs: spread(done.flatMap((r) => r.firstByteMs).filter((x) => x !== null), 0),
    cpuMsPerMB: medianOfFields(done.map((r) => r.cpuMsPerMB)),
    failedRounds: rows.length - done.length,
    rounds: rows.map(({ progress, ...row }) => row),
    progressOfMedianRound: progressOfMedianRound(rows),
  };
}

/**
 * For each system but the first (peerfetch): its seconds ÷ the first's, of the medians and
 * in each round where both delivered.
 */
function ratios(systems, out) {
  const [base, ...others] = systems;
  const ratio = {};
  for (const system of others) {
    const a = out[system.key];
    const b = out[base.key];
    const perRound = a.rounds.map((r, i) => !r.error && !b.rounds[i].error ? r.seconds / b.rounds[i].seconds : null).filter((x) => x !== null);
    ratio[system.key] = {
      ofMedians: a.seconds && b.seconds ? round(a.seconds.median / b.seconds.median) : null,
      perRound: spread(perRound),
    };
  }
  return ratio;
}

/**
 * A scenario: `bytes` bytes from `seed` seeded by `sources` and downloaded by `sinks` at once
 * with each of `systems` (peerfetch first), `rounds` times; each round runs every system, the
 * order rotating from round to round. The time of a round is from the first start to the last
 * finish. Resolves to each system's `summary` and `webtorrentSecondsOverPeerfetch`.
 */
export async function scenario({ title, bytes, seed, sources, sinks, rounds, all, systems }) {
  const out = { title, bytes, sources: sources.length, downloaders: sinks.length };
  const seeded = new Map();
  for (const system of systems) seeded.set(system, await seedAll(system, sources.map(system.tab), bytes, seed));
  if (new Set([...seeded.values()].map((s) => s.digest)).size !== 1) throw new Error("the systems were given different bytes");
  const rows = new Map(systems.map((system) => [system, []]));
  for (let r = 0; r < rounds; r++) {
    const order = [...systems.slice(r % systems.length), ...systems.slice(0, r % systems.length)];
    for (const system of order) {
      const row = await downloadRound(system, seeded.get(system), {
        pages: sinks.map(system.tab), peers: sources.length + sinks.length - 1, all, bytes,
        label: `${title}, round ${r + 1}`, roles: sources.map((b) => ["source", system.tab(b)]),
      });
      rows.get(system).push(row);
      if (!row.error) console.log(`${title}, round ${r + 1}: ${system.label} ${row.seconds} s, ${row.cpuMsPerMB.all} ms CPU/MB, links ${row.links}`);
    }
  }
  for (const system of systems) {
    out[system.key] = summary(system, rows.get(system), bytes, sinks.length);
    await system.drop(sources.map(system.tab), seeded.get(system));
  }
  out.webtorrentSecondsOverPeerfetch = ratios(systems, out);
  return out;
}

/**
 * Scenario (d) with one system: `bytes` bytes from `seed` seeded by `source`, downloaded by a
 * fresh tab of the system in `sink`'s browser (its only tab), whose processes' resident memory
 * is sampled every 250 ms: before, at the peak, at the end with the copy still held, and after
 * the copy is dropped.
 */
export async function largeDownload(system, { source, sink, bytes, seed, all }) {
  const what = await seedAll(system, [system.tab(source)], bytes, seed);
  const page = await system.open(sink);
  const [{ links }] = await system.prepare([page], what, 1);
  await sleep(3000); // the tab's start-up settles
  const before = memory(sink);
  const peak = { ...before, byRenderer: { ...before.byRenderer } };
  const sampler = setInterval(() => {
    const now = memory(sink);
    peak.renderers = Math.max(peak.renderers, now.renderers);
    peak.all = Math.max(peak.all, now.all);
    for (const [pid, rss] of Object.entries(now.byRenderer)) peak.byRenderer[pid] = Math.max(peak.byRenderer[pid] ?? 0, rss);
  }, 250);
  const cpuBefore = cpuSeconds(all);
  let result;
  try {
    result = await system.download(page, what);
  } catch (error) {
    result = { error: error.message };
  } finally {
    clearInterval(sampler);
  }
  const cpuAfter = cpuSeconds(all);
  const end = memory(sink);
  if (!result.error && await system.digest(page, what) !== what.digest) result = { error: "the download differs from the source" };
  if (result.error) {
    console.log(`(d): ${system.label} failed: ${result.error}`);
    await explain(system, [["source", system.tab(source)], ["downloader", page]]);
  }
  await system.drop([page], what);
  await sleep(3000);
  const dropped = memory(sink);
  await system.drop([system.tab(source)], what);
  await page.close();
  // The tab's renderer: of the renderers there before, the one that peaked highest (the others
  // are the context's blank first page and Chromium's spare renderer, idle).
  const tab = Object.keys(before.byRenderer).sort((a, b) => peak.byRenderer[b] - peak.byRenderer[a])[0];
  const mib = (x) => Math.round(x / MiB);
  const readings = (pick) => ({ before: mib(pick(before)), peak: mib(pick(peak)), end: mib(pick(end)), dropped: mib(pick(dropped)) });
  return {
    label: system.label,
    options: { ...system.options, pieceLength: what.pieceLength ?? system.options.pieceLength },
    seconds: result.error ? null : round(result.ms / 1000),
    MBps: result.error ? null : round(bytes / (result.ms / 1000) / 1e6, 1),
    firstByteMs: result.error ? null : Math.round(result.firstByteMs),
    links,
    error: result.error,
    cpuMsPerMB: cpuMsPerMB(cpuBefore, cpuAfter, bytes / 1e6),
    memoryMiB: {
      tabRenderer: readings((m) => m.byRenderer[tab] ?? 0),
      renderers: readings((m) => m.renderers),
      browser: readings((m) => m.all),
    },
  };
}
