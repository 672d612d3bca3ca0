// Bundles the JS bench workers with esbuild (the root's, 0.28, the version
// wrangler and worker-build use), as wrangler would: ESM, `.wasm` imports left
// as WebAssembly modules, `cloudflare:*` external. Two builds per worker:
//   run/<name>/worker.js   with the bench instrumentation (counters, KV stub);
//   size/<name>/worker.js  with the instrumentation replaced by a no-op, for sizes.
// Both minified. "edge-session" resolves to the package assembled in
// .build/node_modules/edge-session (npm/*.js + the wasm-pack output).
import { createRequire } from "node:module";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = path.resolve(BENCH, "..");
const BUILD = path.join(BENCH, ".build");
const esbuild = createRequire(path.join(ROOT, "package.json"))("esbuild");

export const JS_WORKERS = ["empty", "hono-empty", "edge-session-npm", "wasm-floor", "react-router", "hono-session", "hono-sessions"];

const INSTRUMENTATION = path.join(BENCH, "rust-worker/js/bench_env.js");
const NOOP = `export const counts = {}; export const benchEnv = (env) => env; export const countsJson = () => "{}";`;

/**
 * npm/ (index.js, package.json, types) + the wasm-pack output `pkg`, as a user's node_modules
 * (`modules`) would hold it. bench/lib/profile.mjs assembles its own, from the profiling build.
 */
export function assemblePackage(pkg = path.join(BUILD, "npm/pkg"), modules = path.join(BUILD, "node_modules")) {
  const dest = path.join(modules, "edge-session");
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(path.join(dest, "pkg"), { recursive: true });
  for (const f of readdirSync(path.join(ROOT, "npm"))) {
    const p = path.join(ROOT, "npm", f);
    if (statSync(p).isFile()) copyFileSync(p, path.join(dest, f));
  }
  for (const f of ["edge_session.js", "edge_session.d.ts", "edge_session_bg.wasm"]) {
    copyFileSync(path.join(pkg, f), path.join(dest, "pkg", f));
  }
  return dest;
}

export async function bundle(name, kind, modules = path.join(BUILD, "node_modules")) {
  const outdir = path.join(BUILD, kind, name);
  rmSync(outdir, { recursive: true, force: true });
  const plugins = [];
  if (kind === "size") {
    plugins.push({
      name: "no-instrumentation",
      setup(b) {
        b.onResolve({ filter: /bench_env\.js$/ }, () => ({ path: "noop", namespace: "noop" }));
        b.onLoad({ filter: /.*/, namespace: "noop" }, () => ({ contents: NOOP, loader: "js" }));
      },
    });
  }
  await esbuild.build({
    entryPoints: { worker: path.join(BENCH, "workers", `${name}.js`) },
    outdir,
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*"],
    loader: { ".wasm": "copy" },
    define: { "process.env.NODE_ENV": '"production"' },
    nodePaths: [modules],
    // The profiling bundle (bench/profile.sh) is not minified, so that profiles show names and lines.
    minify: kind !== "prof",
    logLevel: "warning",
    plugins,
  });
  return outdir;
}

export async function bundleAll() {
  if (!existsSync(INSTRUMENTATION)) throw new Error(`missing ${INSTRUMENTATION}`);
  assemblePackage();
  const out = {};
  for (const name of JS_WORKERS) {
    out[name] = { run: await bundle(name, "run"), size: await bundle(name, "size") };
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await bundleAll(), null, 1));
}
