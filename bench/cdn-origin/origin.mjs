// The site's origin of bench/cdn-origin.mjs, on a host of its own: the namespace `origin` of the
// simulated internet (tests/simulated-internet.sh, 203.0.113.2), whose link sends at most a
// given rate (a `tc` token bucket on its side, so every response shares it as one uplink), with
// a fixed first-byte delay added by delay-proxy.mjs. Behind the proxy, on the origin's loopback,
// peerfetch-server serves the files as the demo site's origin does (www/: the pages, the
// assets, the manifest, the drop-in script and the service worker; /pkg/: the wasm package, as
// its precompressed copy where the request accepts one). Its libp2p side is unused: visitors
// signal through another server, outside this namespace.
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { startServer } from "../../tests/harness.mjs";

const NAMESPACE = "origin";
const HOST = "203.0.113.2";
/** The token bucket's size: what the link sends at once after a quiet spell. */
const BURST = "64kb";
/** How long a packet may queue behind the bucket before it is dropped (the link's buffer). */
const QUEUE_LATENCY = "50ms";

/**
 * Shapes the origin's link to `bytesPerSecond`, starts the file server and the proxy that
 * answers `firstByteMs` late (and, given `scriptServer`, sends pages there for peerfetch's
 * drop-in script and package). Resolves to `{ url, counts(), link(), close() }`: `counts` the
 * proxy's byte counts, `link` what the token bucket sent and dropped.
 */
export async function startOrigin({ bytesPerSecond, firstByteMs, scriptServer }) {
  const inOrigin = (command, args) => ["netns", "exec", NAMESPACE, command, ...args];
  execFileSync("ip", inOrigin("tc", ["qdisc", "replace", "dev", "wan", "root", "tbf",
    "rate", `${bytesPerSecond}bps`, "burst", BURST, "latency", QUEUE_LATENCY]));
  const files = await startServer({ netns: NAMESPACE, args: ["--listen", "/ip4/127.0.0.1/tcp/0/ws"] });
  const proxy = spawn("ip", inOrigin(process.execPath, [join(import.meta.dirname, "delay-proxy.mjs"), files.url, HOST, String(firstByteMs), ...(scriptServer ? [scriptServer] : [])]),
    { stdio: ["ignore", "pipe", "inherit"] });
  const close = async () => {
    if (proxy.exitCode === null && proxy.signalCode === null) {
      const exited = new Promise((r) => proxy.once("exit", r));
      proxy.kill("SIGTERM");
      await exited;
    }
    await files.stop();
  };
  let urls;
  try {
    urls = await new Promise((resolve, reject) => {
      let out = "";
      proxy.stdout.on("data", (d) => {
        out += d;
        const match = /origin: (\S+) stats: (\S+)/.exec(out);
        if (match) resolve({ url: match[1], stats: match[2] });
      });
      proxy.once("exit", (code) => reject(new Error(`the origin's proxy exited ${code}`)));
    });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    url: urls.url,
    counts: async () => (await fetch(urls.stats)).json(),
    link: () => linkCounts(execFileSync("ip", inOrigin("tc", ["-s", "qdisc", "show", "dev", "wan"])).toString()),
    close,
  };
}

/** What `tc -s qdisc show` says the token bucket sent and dropped. */
function linkCounts(text) {
  const match = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)/.exec(text);
  if (!match) return { text };
  const [bytes, packets, dropped, overlimits] = match.slice(1).map(Number);
  return { bytes, packets, dropped, overlimits };
}
