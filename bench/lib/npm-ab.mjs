// CPU per request of the npm package's request path in Node, for comparing builds of it:
//   node bench/lib/npm-ab.mjs <package dir> [<package dir> ...]
// (bench/npm-ab.sh makes the package dirs: npm/*.js with the wasm-pack output in pkg/). A dir
// holding bench/size-floor's wasm-pack output (floor.js) runs the wasm floor's routes
// (bench/workers/floor-routes.js) instead: the floor under the package, measured the same way.
// Each dir runs the bench worker's routes (bench/workers/npm-routes.js, through
// `withSessions`) over an in-memory KV, in its own process, alternating between the dirs for
// BENCH_AB_ROUNDS rounds: N requests per scenario per round, after a warm-up, timed with
// process.cpuUsage. Prints the best round per scenario, in CPU µs per request. In-process and
// without workerd, wrk or sockets, it moves by a few percent between runs where bench/run.sh's
// cells move by ±15 µs: use it to tell whether a change to the npm path pays, and bench/run.sh
// for the figures that count.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { floorHandler } from "../workers/floor-routes.js";
import { routes } from "../workers/npm-routes.js";

const SCENARIOS = [
  ["no cookie", "GET", "/untouched", null],
  ["read", "GET", "/read", "read"],
  ["untouched", "GET", "/untouched", "read"],
  ["modify", "POST", "/modify", "fresh"],
  ["login", "POST", "/login", null],
  ["logout", "POST", "/logout", "fresh"],
];

async function handlerOf(dir) {
  if (existsSync(path.join(dir, "floor.js"))) {
    const floor = await import(pathToFileURL(path.resolve(dir, "floor.js")).href);
    floor.initSync({ module: new WebAssembly.Module(readFileSync(path.join(dir, "floor_bg.wasm"))) });
    return floorHandler(floor.step);
  }
  const { withSessions } = await import(pathToFileURL(path.resolve(dir, "node.js")).href);
  return withSessions(routes);
}

async function measure(dir) {
  const handler = await handlerOf(dir);
  const memory = new Map();
  const kv = {
    async get(key) {
      return memory.get(key) ?? null;
    },
    async put(key, value) {
      memory.set(key, String(value));
    },
    async delete(key) {
      memory.delete(key);
    },
  };
  // The bench's configuration: the cache engine over KV.
  const env = { SECRET_KEY: "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ", SESSION_ENGINE: "cache", SESSION_KV: kv };
  const send = (method, path, cookie) => handler(new Request(`http://bench${path}`, { method, headers: cookie ? { cookie } : {} }), env, {});
  const pair = (response) => response.headers.getSetCookie()[0]?.split(";")[0];
  const login = async () => {
    const response = await send("POST", "/login", null);
    const cookie = pair(response);
    if (response.status !== 200 || !cookie) throw new Error(`${dir}: login answered ${response.status} ${await response.text()}`);
    return cookie;
  };
  const read = await login();
  const n = Number(process.env.BENCH_AB_N ?? 20000);
  const out = {};
  for (const [name, method, path, role] of SCENARIOS) {
    // modify follows the cookie it is given back, as a browser does; logout repeats on a
    // session its first request flushed, as the bench's load runs do.
    let cookie = role === "read" ? read : role === "fresh" ? await login() : null;
    const run = async (count) => {
      for (let i = 0; i < count; i++) {
        const r = await send(method, path, cookie);
        if (role === "fresh" && path === "/modify") cookie = pair(r) ?? cookie;
      }
    };
    await run(2000);
    const t0 = process.cpuUsage();
    await run(n);
    const t = process.cpuUsage(t0);
    out[name] = (t.user + t.system) / n;
  }
  return out;
}

const self = fileURLToPath(import.meta.url);
if (process.argv[2] === "--one") {
  process.stdout.write(JSON.stringify(await measure(process.argv[3])));
} else {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0) throw new Error("usage: node bench/lib/npm-ab.mjs <package dir> [<package dir> ...]");
  const rounds = Number(process.env.BENCH_AB_ROUNDS ?? 3);
  const best = dirs.map(() => ({}));
  for (let r = 0; r < rounds; r++) {
    dirs.forEach((dir, i) => {
      const got = JSON.parse(execFileSync(process.execPath, [self, "--one", dir], { encoding: "utf8" }));
      for (const [k, v] of Object.entries(got)) best[i][k] = Math.min(best[i][k] ?? Infinity, v);
    });
  }
  const names = SCENARIOS.map((s) => s[0]);
  console.log(`| package | ${names.join(" | ")} |`);
  console.log(`|---|${names.map(() => "---:").join("|")}|`);
  dirs.forEach((dir, i) => console.log(`| ${dir} | ${names.map((k) => best[i][k].toFixed(2)).join(" | ")} |`));
  console.log("\nCPU µs per request in Node, best of", rounds, "rounds; bench/lib/npm-ab.mjs says how.");
}
