// The npm package as a user gets it: scripts/build-package.sh packs it, `npm install` puts the
// tarball into a fresh project, esbuild bundles a small page importing "peerfetch", and that
// page, self-hosted on a site's own origin (a plain static server, not the peerfetch server),
// joins a peerfetch server on another origin, shares, and downloads in another browser (one tab
// on the SIMD128 build, the other on the build without SIMD). Only `/bootstrap` and the libp2p
// connection go to the peerfetch server: no script or wasm comes from it.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { startServer, launchBrowser, newLoggedPage, waitFor, logged, ROOT } from "./harness.mjs";

const browsers = [];
const pages = [];
const temp = mkdtempSync(join(tmpdir(), "peerfetch-package-"));
after(async () => {
  for (const b of browsers) await b.close();
  rmSync(temp, { recursive: true, force: true });
});

const SIZE = 3 * 1024 * 1024 + 4321;

/** The page's code: what a user of the package writes. */
const APP = `
import init, { Peer, simd } from "peerfetch";

const params = new URLSearchParams(location.search);
try {
  await init();
  const peer = await Peer.join({ server: params.get("server"), swarm: params.get("swarm") });
  window.peer = peer;
  let cid = null;
  if (params.has("share")) {
    const bytes = new Uint8Array(Number(params.get("share")));
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) ^ (i >> 9);
    cid = await peer.share(new Blob([bytes]));
  }
  window.result = { id: peer.id, cid, simd };
} catch (error) {
  window.result = { error: \`\${error.code ?? ""} \${error.message ?? error}\` };
}
`;

/** Runs `command` with `args` in `cwd`; returns its stdout. */
const run = (command, args, cwd = ROOT) => execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** Serves the files of `dir` over plain HTTP on loopback: a site's own origin. */
async function staticSite(dir) {
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
  const http = createServer((request, response) => {
    const path = new URL(request.url, "http://site").pathname;
    try {
      const body = readFileSync(join(dir, path.replace(/\.\.+/g, "")));
      response.writeHead(200, { "content-type": types[path.slice(path.lastIndexOf("."))] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${http.address().port}`, close: () => new Promise((resolve) => http.close(resolve)) };
}

/**
 * Opens the bundled page of `site` in a browser of its own, joining `server`; `withoutSimd`
 * makes its wasm validator refuse SIMD.
 */
async function bundledPage(site, server, query, { withoutSimd = false } = {}) {
  const browser = await launchBrowser();
  browsers.push(browser);
  const page = await newLoggedPage(browser.context);
  pages.push(page);
  page.requested = [];
  page.on("request", (r) => page.requested.push(new URL(r.url())));
  if (withoutSimd) await page.addInitScript(() => { WebAssembly.validate = () => false; });
  await page.goto(`${site.url}/index.html?server=${encodeURIComponent(server.url)}&${query}`);
  const result = await waitFor("the bundled page to join", () => page.evaluate(() => window.result), 30000);
  assert.equal(result.error, undefined, `the page failed: ${result.error}`);
  return { page, result };
}

test("the packed npm package, bundled with esbuild, joins, shares and downloads", { timeout: 180000 }, logged(pages, async () => {
  const timings = {};
  const timed = async (name, step) => {
    const started = performance.now();
    const value = await step();
    timings[name] = Math.round(performance.now() - started);
    return value;
  };

  const tarball = await timed("pack", () => join(ROOT, run("scripts/build-package.sh", []).trim().split("\n").at(-1)));
  const listed = run("tar", ["-tzf", tarball]).split("\n").filter(Boolean).map((f) => f.replace(/^package\//, ""));
  for (const file of [
    "package.json", "index.js", "peerfetch.d.ts", "peerfetch-cdn.js", "peerfetch-sw.js",
    "simd/peerfetch.js", "simd/peerfetch_bg.wasm", "simd/peerfetch.d.ts",
    "nosimd/peerfetch.js", "nosimd/peerfetch_bg.wasm",
  ]) {
    assert.ok(listed.includes(file), `the tarball holds ${file}: ${listed.join(", ")}`);
  }

  // A fresh project installs the tarball the way a user would (no registry needed: no dependencies).
  const project = join(temp, "app");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "bundled-page", private: true, type: "module" }));
  await timed("npm install", () => run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-update-notifier", tarball], project));
  const installed = join(project, "node_modules/peerfetch");
  assert.equal(JSON.parse(readFileSync(join(installed, "package.json"), "utf8")).name, "peerfetch");
  assert.match(readFileSync(join(installed, "peerfetch-cdn.js"), "utf8"), /import\("\.\/index\.js"\)/, "the packaged drop-in script loads the package's loader");

  // esbuild bundles the JavaScript; it does not rewrite `new URL(…, import.meta.url)`, so the two
  // wasm files are copied next to the bundle, as the package's README says.
  writeFileSync(join(project, "app.js"), APP);
  const dist = join(project, "dist");
  const built = await timed("esbuild", () => esbuild.build({
    absWorkingDir: project, entryPoints: ["app.js"], bundle: true, format: "esm", outdir: dist,
    logLevel: "silent", metafile: true,
  }));
  const bundle = readFileSync(join(dist, "app.js"), "utf8");
  assert.ok(bundle.includes('new URL("./simd/peerfetch_bg.wasm", import.meta.url)'), "the bundle locates the SIMD wasm next to itself");
  assert.ok(bundle.includes('new URL("./nosimd/peerfetch_bg.wasm", import.meta.url)'), "and the one without SIMD");
  assert.ok(!bundle.includes("/pkg/"), "the bundle does not use the server's /pkg/");
  for (const build of ["simd", "nosimd"]) {
    mkdirSync(join(dist, build));
    copyFileSync(join(installed, build, "peerfetch_bg.wasm"), join(dist, build, "peerfetch_bg.wasm"));
  }
  writeFileSync(join(dist, "index.html"), `<!doctype html><meta charset="utf-8"><title>bundled peerfetch</title><script type="module" src="./app.js"></script>\n`);
  console.log(`bundle: ${Object.entries(built.metafile.outputs).map(([f, o]) => `${f.split("/").at(-1)} ${o.bytes} bytes`).join(", ")}`);

  // The site serves the bundle from its own origin; the peerfetch server has no pages and no /pkg/.
  const site = await staticSite(dist);
  const server = await startServer({ args: ["--www-dir", join(temp, "no-www"), "--pkg-dir", join(temp, "no-pkg")] });
  try {
    const sharing = await timed("join + share (SIMD tab)", () => bundledPage(site, server, `swarm=package&share=${SIZE}`));
    const fetching = await timed("join (no-SIMD tab)", () => bundledPage(site, server, "swarm=package", { withoutSimd: true }));
    assert.match(sharing.result.id, /^12D3KooW/);
    assert.match(sharing.result.cid, /^[0-9a-f]{64}-\d+$/);
    assert.ok(sharing.result.cid.endsWith(`-${SIZE}`));
    assert.equal(sharing.result.simd, true);
    assert.equal(fetching.result.simd, false);
    assert.match(fetching.result.id, /^12D3KooW/);
    const fromSite = (page) => page.requested.filter((u) => u.origin === site.url).map((u) => u.pathname);
    assert.ok(fromSite(sharing.page).includes("/simd/peerfetch_bg.wasm"), `SIMD tab fetched ${fromSite(sharing.page)}`);
    assert.ok(fromSite(fetching.page).includes("/nosimd/peerfetch_bg.wasm"), `no-SIMD tab fetched ${fromSite(fetching.page)}`);
    for (const { page } of [sharing, fetching]) {
      const fromServer = page.requested.filter((u) => u.origin === server.url).map((u) => u.pathname);
      assert.deepEqual([...new Set(fromServer)], ["/bootstrap"], "only /bootstrap comes from the peerfetch server");
    }

    const same = await timed("download", () => fetching.page.evaluate(async (cid) => {
      const got = new Uint8Array(await (await window.peer.download(cid)).arrayBuffer());
      const size = Number(cid.split("-")[1]);
      return got.length === size && got.every((b, i) => b === (((i * 31) ^ (i >> 9)) & 255));
    }, sharing.result.cid));
    assert.equal(same, true, "the no-SIMD tab downloaded the shared bytes byte-exact");
    assert.match(server.logs(), /wasm package off: --pkg-dir \S+ does not exist/, "the server said /pkg/ is off");
  } finally {
    await server.stop();
    await site.close();
    console.log(`timings (ms): ${JSON.stringify(timings)}`);
  }
}));
