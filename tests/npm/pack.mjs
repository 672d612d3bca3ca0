// Packs the npm package (`npm pack`), installs the tarball into a scratch
// project as a user would, and bundles tests/npm/worker.js against it with
// esbuild (as wrangler does: `.wasm` imports stay WebAssembly modules).
// Prints nothing; returns the directory holding `worker.js` and the `.wasm`.
//
// Hermetic on purpose: the scratch install uses its own empty npm cache, and
// installs only local tarballs. Dependencies of the test workers (`hono@4.13.19`) are packed
// from this repository's `node_modules` (installed by `npm ci` from
// package-lock.json) after checking their version, so the step passes on a
// new machine exactly as on one that ran the tests before.
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const bundles = new Map();

/** Packs once per process; bundles `entry` (with `deps`, `name@version`, packed from the repo's node_modules). */
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
  const depTarballs = deps.map((spec) => packDependency(spec, scratch));
  // An empty private cache: nothing may come from an earlier run. Every
  // package is a local tarball, so npm has nothing to fetch.
  const env = { ...process.env, npm_config_cache: path.join(scratch, "npm-cache") };
  execFileSync("npm", ["install", "--silent", "--no-audit", "--no-fund", "--prefer-offline", tarball, ...depTarballs], { cwd: project, stdio: "inherit", env });
  copyFileSync(entry, path.join(project, "worker.js"));
  const dist = path.join(project, "dist");
  const esbuild = path.join(ROOT, "node_modules/.bin/esbuild");
  execFileSync(esbuild, ["worker.js", "--bundle", "--format=esm", "--platform=neutral", "--main-fields=module,main", "--loader:.wasm=copy", `--outdir=${dist}`, "--log-level=warning"], { cwd: project, stdio: "inherit" });
  return { dist, tarball };
}

/** `name@version` from the repository's own node_modules, as a tarball in `dir`. */
function packDependency(spec, dir) {
  const at = spec.lastIndexOf("@");
  const [name, version] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, undefined];
  const source = path.join(ROOT, "node_modules", name);
  const installed = JSON.parse(readFileSync(path.join(source, "package.json"), "utf8")).version;
  if (version !== undefined && installed !== version) {
    throw new Error(`tests/npm/pack.mjs: ${name}@${version} wanted, node_modules has ${installed} (run npm ci)`);
  }
  const out = execFileSync("npm", ["pack", "--silent", "--pack-destination", dir, source], { cwd: dir, encoding: "utf8" });
  return path.join(dir, out.trim().split("\n").pop());
}

/**
 * A Miniflare running `entry` bundled against the packed package (a user's worker), with local KV
 * and the session Durable Object class, and `bindings` (a binding given as undefined is left out).
 * Returns `{ mf, dist }`: `dist` is next to the scratch project's `node_modules`.
 */
export function startPacked(entry, { deps = [], bindings = {} } = {}) {
  const { dist } = packAndBundle(entry, deps);
  const mf = new Miniflare({
    modules: true,
    scriptPath: path.join(dist, "worker.js"),
    modulesRoot: dist,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
    cf: false,
    kvNamespaces: ["SESSION_KV"],
    durableObjects: { SESSION_DO: { className: "SessionObject", useSQLite: true } },
    bindings: Object.fromEntries(Object.entries(bindings).filter(([, v]) => v !== undefined)),
  });
  return { mf, dist };
}

/** Sizes of what the package ships: `{ wasm_raw, wasm_gz, js_raw, js_gz }` (JS = glue + wrapper). */
export function packageSizes() {
  const gz = (f) => Number(execFileSync("sh", ["-c", `gzip -9 -c '${f}' | wc -c`], { encoding: "utf8" }).trim());
  const wasm = path.join(ROOT, "npm/pkg/edge_session_bg.wasm");
  // What a Worker loads: the glue, the entry, its wasm loader and the API.
  const js = ["pkg/edge_session.js", "index.js", "init-worker.js", "core.js"].map((f) => path.join(ROOT, "npm", f));
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
