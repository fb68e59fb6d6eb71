// The HLS stream bench/hls.mjs plays: made once with ffmpeg into bench/hls/stream/ (ignored by
// git) and reused while its recipe stays the same, with a peerfetch site manifest of its
// playlists and segments (`peerfetch-server manifest`).
//
// Two renditions of test pattern and tone, H.264 + AAC in MPEG-TS, 2 s segments (a keyframe
// every 2 s, none in between), constant bitrate (x264's filler NAL units): the test pattern
// compresses to almost nothing otherwise, and a stream's bytes are what the bench counts.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SERVER_BIN } from "../../tests/harness.mjs";

export const STREAM_DIR = join(import.meta.dirname, "stream");
/** The URL path the origin serves the stream under (the manifest's base). */
export const STREAM_PATH = "/hls/stream";
export const MANIFEST_FILE = join(import.meta.dirname, "stream-manifest.json");

const SECONDS = 120;
const SEGMENT_SECONDS = 2;
const FPS = 25;
/** Height and video kbit/s of each rendition; audio is 64 kbit/s AAC in both. */
const RENDITIONS = [
  { height: 480, width: 854, kbps: 1600 },
  { height: 240, width: 426, kbps: 500 },
];
const RECIPE = JSON.stringify({ SECONDS, SEGMENT_SECONDS, FPS, RENDITIONS, version: 1 });

/** Makes the stream and its manifest unless they are there from the same recipe; resolves to their facts. */
export function makeStream() {
  const recipeFile = join(STREAM_DIR, "recipe.json");
  const fresh = existsSync(recipeFile) && readFileSync(recipeFile, "utf8") === RECIPE && existsSync(MANIFEST_FILE);
  if (!fresh) {
    rmSync(STREAM_DIR, { recursive: true, force: true });
    mkdirSync(STREAM_DIR, { recursive: true });
    encode();
    execFileSync(SERVER_BIN, ["manifest", STREAM_DIR, "--base", STREAM_PATH, "--out", MANIFEST_FILE]);
    writeFileSync(recipeFile, RECIPE);
  }
  const files = readdirSync(STREAM_DIR, { recursive: true }).filter((f) => /\.(ts|m3u8)$/.test(f));
  const bytes = (pattern) => files.filter((f) => pattern.test(f)).reduce((sum, f) => sum + statSync(join(STREAM_DIR, f)).size, 0);
  return {
    master: `${STREAM_PATH}/master.m3u8`,
    seconds: SECONDS,
    segmentSeconds: SEGMENT_SECONDS,
    renditions: RENDITIONS.map((r, i) => ({ ...r, bytes: bytes(new RegExp(`^r${i}/.*\\.ts$`)) })),
    segments: files.filter((f) => f.endsWith(".ts")).length,
  };
}

/** Runs ffmpeg: one encode, both renditions, segmented into r0/ and r1/ with a master playlist. */
function encode() {
  const gop = SEGMENT_SECONDS * FPS;
  const split = RENDITIONS.map((_, i) => `[v${i}]`).join("");
  const scale = RENDITIONS.map((r, i) => `[v${i}]scale=${r.width}:${r.height}[s${i}]`).join(";");
  const perRendition = RENDITIONS.flatMap((r, i) => [
    "-map", `[s${i}]`, "-map", "1:a",
    `-b:v:${i}`, `${r.kbps}k`, `-minrate:v:${i}`, `${r.kbps}k`, `-maxrate:v:${i}`, `${r.kbps}k`, `-bufsize:v:${i}`, `${r.kbps}k`,
  ]);
  execFileSync("ffmpeg", [
    "-v", "error", "-y",
    "-f", "lavfi", "-i", `testsrc2=duration=${SECONDS}:size=854x480:rate=${FPS}`,
    "-f", "lavfi", "-i", `sine=frequency=440:duration=${SECONDS}`,
    "-filter_complex", `[0:v]split=${RENDITIONS.length}${split};${scale}`,
    ...perRendition,
    "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-x264-params", "nal-hrd=cbr",
    "-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0",
    "-c:a", "aac", "-b:a", "64k", "-ac", "2",
    "-f", "hls", "-hls_time", String(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
    "-hls_segment_filename", join(STREAM_DIR, "r%v/seg%03d.ts"),
    "-master_pl_name", "master.m3u8",
    "-var_stream_map", RENDITIONS.map((_, i) => `v:${i},a:${i}`).join(" "),
    join(STREAM_DIR, "r%v/index.m3u8"),
  ], { stdio: ["ignore", "inherit", "inherit"] });
}
