// The generated `peerfetch.d.ts` describes the JS API: an example page (tests/types/example.ts)
// type-checks against it with `tsc --strict`, and its deliberate mistakes are caught.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { readFile } from "node:fs/promises";

const root = fileURLToPath(new URL("..", import.meta.url));

test("the example page type-checks against peerfetch.d.ts", async () => {
  const tsc = `${root}node_modules/typescript/bin/tsc`;
  const run = promisify(execFile)(process.execPath, [tsc, "-p", "tests/types/tsconfig.json"], { cwd: root });
  const { stdout, stderr } = await run.catch((e) => e);
  assert.equal(`${stdout}${stderr}`.trim(), "", "tsc reports no error");
});

test("no method of Peer returns or takes `any`", async () => {
  const dts = await readFile(`${root}target/pkg/peerfetch.d.ts`, "utf8");
  const peer = dts.slice(dts.indexOf("export class Peer"), dts.indexOf("export type InitInput"));
  const loose = peer.split("\n").filter((line) => /\bany\b/.test(line) && !line.trim().startsWith("*"));
  assert.deepEqual(loose, []);
});
