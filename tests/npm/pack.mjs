// Packs the npm package (`npm pack`), installs the tarball into a scratch
// project as a user would, and bundles tests/npm/worker.js against it with
// esbuild (as wrangler does: `.wasm` imports stay WebAssembly modules).
// Prints nothing; returns the directory holding `worker.js` and the `.wasm`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const bundles = new Map();

/** Packs once per process; bundles `entry` (with `deps` installed from the npm cache). */
export function packAndBundle(entry = path.join(ROOT, "tests/npm/worker.js"), deps = []) {
  const id = `${entry}|${deps.join(",")}`;
  if (!bundles.has(id)) bundles.set(id, build(entry, deps));
  return bundles.get(id);
}

function build(entry, deps) {
  const scratch = mkdtempSync(path.join(tmpdir(), "edge-session-npm-"));
  const out = execFileSync("npm", ["pack", "--silent", "--pack-destination", scratch], { cwd: path.join(ROOT, "npm"), encoding: "utf8" });
  const tarball = path.join(scratch, out.trim().split("\n").pop());
  const project = path.join(scratch, "project");
  mkdirSync(project);
  writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "user-worker", private: true, type: "module" }));
  execFileSync("npm", ["install", "--silent", "--no-audit", "--no-fund", "--offline", tarball, ...deps], { cwd: project, stdio: "inherit" });
  copyFileSync(entry, path.join(project, "worker.js"));
  const dist = path.join(project, "dist");
  const esbuild = path.join(ROOT, "node_modules/.bin/esbuild");
  execFileSync(esbuild, ["worker.js", "--bundle", "--format=esm", "--platform=neutral", "--main-fields=module,main", "--loader:.wasm=copy", `--outdir=${dist}`, "--log-level=warning"], { cwd: project, stdio: "inherit" });
  return { dist, tarball };
}

/** Sizes of what the package ships: `{ wasm_raw, wasm_gz, js_raw, js_gz }` (JS = glue + wrapper). */
export function packageSizes() {
  const gz = (f) => Number(execFileSync("sh", ["-c", `gzip -9 -c '${f}' | wc -c`], { encoding: "utf8" }).trim());
  const wasm = path.join(ROOT, "npm/pkg/edge_session_bg.wasm");
  const js = [path.join(ROOT, "npm/pkg/edge_session.js"), path.join(ROOT, "npm/index.js")];
  return {
    wasm_raw: statSync(wasm).size,
    wasm_gz: gz(wasm),
    js_raw: js.reduce((n, f) => n + statSync(f).size, 0),
    js_gz: js.reduce((n, f) => n + gz(f), 0),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { dist } = packAndBundle();
  console.log(dist, readdirSync(dist));
}
