// The site's origin as bench/cdn-origin.mjs's visitors reach it: a proxy in the origin's
// namespace, in front of the server that holds the site's files, that answers every request
// FIRST_BYTE_MS after it came (what a real origin takes to its first byte: a round trip, a
// cache lookup; this kernel has no netem to delay packets instead) and counts the body bytes it
// sends, per path. Its stats listener (neither delayed nor counted) answers any GET with
// `{ bytes, requests, paths: { [path]: { bytes, requests } } }`. With SCRIPT_SERVER, it answers
// /peerfetch-cdn.js with a redirect there: the page then loads peerfetch's drop-in script, and
// through it the package, from the peerfetch server (a module's imports resolve against the URL
// it came from), as a site that imports the script from the peerfetch server does.
// Usage, inside the origin's namespace:
//   node delay-proxy.mjs UPSTREAM_URL HOST FIRST_BYTE_MS [SCRIPT_SERVER]
// It prints `origin: URL stats: URL` once both listen.
import { Agent, createServer, request } from "node:http";

const [upstream, host, firstByteMs, scriptServer] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true });
const counts = { bytes: 0, requests: 0, paths: {} };

const proxy = createServer((incoming, outgoing) => {
  const target = new URL(incoming.url, upstream);
  const count = (counts.paths[target.pathname] ??= { bytes: 0, requests: 0 });
  counts.requests++;
  count.requests++;
  setTimeout(() => {
    if (scriptServer && target.pathname === "/peerfetch-cdn.js") {
      return outgoing.writeHead(302, { location: `${scriptServer}/peerfetch-cdn.js` }).end();
    }
    const forwarded = request(target, { method: incoming.method, headers: incoming.headers, agent }, (answer) => {
      outgoing.writeHead(answer.statusCode, answer.headers);
      answer.on("data", (chunk) => {
        counts.bytes += chunk.length;
        count.bytes += chunk.length;
      });
      answer.pipe(outgoing);
    });
    forwarded.on("error", () => outgoing.destroy());
    // A visitor that gave up (a video's range it no longer wants) stops the upstream too.
    outgoing.on("close", () => { if (!outgoing.writableFinished) forwarded.destroy(); });
    incoming.pipe(forwarded);
  }, Number(firstByteMs));
});
const stats = createServer((_, response) => {
  response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(counts));
});

const listening = (server) => new Promise((resolve) => server.listen(0, host, () => resolve(server.address().port)));
const [proxyPort, statsPort] = await Promise.all([listening(proxy), listening(stats)]);
console.log(`origin: http://${host}:${proxyPort} stats: http://${host}:${statsPort}`);
