// Runs every bench worker on the pinned workerd (the root's miniflare
// 4.20260730.0 and its workerd 1.20260730.1) and measures each scenario:
//   * CPU µs per request of the workerd process: utime+stime from
//     /proc/<pid>/stat (clock ticks) before and after a wrk run, divided by
//     the requests wrk completed in that run;
//   * throughput and p50/p99 latency from wrk (closed loop, fixed number of
//     connections), wrk pinned to CPU 0 and workerd to CPU 1 with taskset;
//   * storage operations and crypto calls per request, from the counting
//     wrappers (bench/rust-worker/js/bench_env.js) and, for edge-session, its
//     own counters: read around single requests sent one at a time (probes),
//     and averaged over each load run as a cross-check.
// Writes <out>/raw.json (compact) for report.mjs.
import { createRequire } from "node:module";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = path.resolve(BENCH, "..");
const BUILD = path.join(BENCH, ".build");
const { Miniflare } = createRequire(path.join(ROOT, "package.json"))("miniflare");

const DURATION = Number(process.env.BENCH_DURATION ?? 1); // seconds per wrk run (integer)
const REPS = Number(process.env.BENCH_REPS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200); // requests before each cell
const BASE_PORT = Number(process.env.BENCH_PORT ?? 43170);
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",")) : null;
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

export const SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ";

export const SCENARIOS = [
  { id: "no_cookie_untouched", label: "no cookie, untouched", method: "GET", path: "/untouched", cookie: null },
  { id: "read", label: "valid cookie, read one key", method: "GET", path: "/read", cookie: "read" },
  { id: "untouched", label: "valid cookie, untouched", method: "GET", path: "/untouched", cookie: "read" },
  { id: "modify", label: "valid cookie, modify one key", method: "POST", path: "/modify", cookie: "modify" },
  { id: "login", label: "new session (login, key cycled)", method: "POST", path: "/login", cookie: null },
  { id: "logout", label: "flush (logout)", method: "POST", path: "/logout", cookie: "logout" },
  { id: "forged", label: "forged cookie (read handler)", method: "GET", path: "/read", cookie: "forged" },
];
const WRITE_SCENARIOS = ["read", "modify", "login", "logout"]; // cached_db runs these

// A cookie of the same shape as edge-session's, for the floors (which ignore it).
const DUMMY_COOKIE = "sessionid=abcdefghijklmnopqrstuvwxyz012345.1.AAAAAAAAAAAAAAAAAAAAAA";

const rust = (dir) => ({ scriptPath: path.join(BENCH, dir, "build/index.js"), modulesRoot: path.join(BENCH, dir, "build") });
const js = (name) => ({ scriptPath: path.join(BUILD, "run", name, "worker.js"), modulesRoot: path.join(BUILD, "run", name) });

/** Variants: `floor` names the floor the added CPU is measured against. */
export const VARIANTS = [
  { id: "js-empty", label: "empty JS worker", script: js("empty"), modes: ["none"] },
  { id: "hono-empty", label: "empty Hono app", script: js("hono-empty"), modes: ["none"] },
  { id: "rust-empty", label: "empty Rust worker", script: rust("rust-hello"), modes: ["none"] },
  { id: "edge-session-rust", label: "edge-session (Rust)", script: rust("rust-worker"), floor: "rust-empty", modes: ["kv", "stub", "cached_db"], durable: true },
  // Not a library: bench/size-floor's code in a `worker`-crate worker (bench/rust-floor), the floor
  // under the Rust integration's design.
  { id: "rust-floor", label: "Rust wasm floor (wire format only)", script: rust("rust-floor"), floor: "rust-empty", modes: ["stub"] },
  { id: "edge-session-npm", label: "edge-session (npm)", script: js("edge-session-npm"), floor: "js-empty", modes: ["kv", "stub", "cached_db"], durable: true },
  // Not a library: Django's wire-format work in wasm (bench/size-floor) with the I/O in JS, the
  // floor under the npm package's design (bench/workers/wasm-floor.js).
  { id: "wasm-floor", label: "wasm floor (wire format only)", script: js("wasm-floor"), floor: "js-empty", modes: ["stub"] },
  { id: "react-router", label: "React Router KV storage", script: js("react-router"), floor: "js-empty", modes: ["kv", "stub"] },
  { id: "hono-session", label: "@hono/session", script: js("hono-session"), floor: "hono-empty", modes: ["kv", "stub"] },
  { id: "hono-sessions", label: "hono-sessions", script: js("hono-sessions"), floor: "hono-empty", modes: ["kv", "stub"] },
];

/** The key of a variant in a mode, as in latest.json. */
export const cellVariant = (v, mode) => (mode === "none" || mode === "kv" ? v.id : `${v.id}+${mode}`);

function log(...a) {
  process.stderr.write(`${a.join(" ")}\n`);
}

const runtimeLog = [];

function children(ppid, comm) {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const name = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      if (Number(fields[1]) === ppid && name === comm) out.push(Number(d));
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
}

/** utime + stime of a process (all its threads), in clock ticks. */
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // fields 14 and 15 of proc(5)
}

let nextPort = BASE_PORT;

/** Starts a variant on the next free pair of ports (a port still in TIME_WAIT from an earlier run is skipped). */
export async function start(variant, mode, extra = {}) {
  for (let attempt = 0; ; attempt++) {
    const port = nextPort++;
    try {
      return await startOn(variant, mode, port, extra);
    } catch (e) {
      // workerd reports a port it cannot bind (one still in TIME_WAIT after the many restarts of
      // the cold-start runs) as a runtime failure at start: try the next ports.
      const retry = e?.code === "ERR_ADDRESS_IN_USE" || e?.code === "ERR_RUNTIME_FAILURE";
      if (!retry || attempt >= 20) {
        if (e?.code === "ERR_RUNTIME_FAILURE") e.message += `\n${runtimeLog.join("")}`;
        throw e;
      }
    }
  }
}

// `extra`: more Miniflare options (bench/lib/profile.mjs adds its inspector port and script).
async function startOn(variant, mode, port, extra) {
  const bindings = { SECRET_KEY: SECRET, AUTH_SECRET: SECRET, BENCH_KV: mode === "stub" ? "stub" : "kv" };
  if (mode !== "none") bindings.SESSION_ENGINE = mode === "cached_db" ? "cached_db" : "cache";
  const before = new Set(children(process.pid, "workerd"));
  const mf = new Miniflare({
    modules: true,
    ...variant.script,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
    cf: false,
    host: "127.0.0.1",
    port,
    // wrk talks to the worker's own socket, not through Miniflare's entry
    // worker (which adds its own routing work to every request).
    unsafeDirectSockets: [{ host: "127.0.0.1", port: port + 1000 }],
    kvNamespaces: mode === "none" ? [] : ["SESSION_KV"],
    kvPersist: false,
    durableObjects: variant.durable && mode !== "none" ? { SESSION_DO: { className: "SessionObject", useSQLite: true } } : {},
    durableObjectsPersist: false,
    bindings,
    // Worker logs (e.g. @hono/session logs every cookie it cannot decrypt)
    // are drained, keeping the last lines for error messages.
    handleRuntimeStdio(stdout, stderr) {
      for (const stream of [stdout, stderr]) {
        stream.on("data", (d) => {
          runtimeLog.push(String(d));
          if (runtimeLog.length > 20) runtimeLog.shift();
        });
      }
    },
    ...extra,
  });
  try {
    await mf.ready;
  } catch (e) {
    await mf.dispose().catch(() => {});
    throw e;
  }
  const url = await mf.unsafeGetDirectURL();
  const pids = children(process.pid, "workerd").filter((p) => !before.has(p));
  if (pids.length !== 1) throw new Error(`expected one new workerd process, found ${pids.length}`);
  const pid = pids[0];
  execFileSync("taskset", ["-a", "-p", "-c", "1", String(pid)], { stdio: "ignore" });
  return { mf, pid, url: new URL(url).origin };
}

async function request(base, method, p, cookie) {
  const headers = {};
  if (cookie) headers.cookie = cookie;
  const res = await fetch(`${base}${p}`, { method, headers, body: method === "POST" ? "" : undefined });
  const body = await res.text();
  const setCookies = res.headers.getSetCookie();
  return { status: res.status, body, setCookies };
}

/** The `name=value` of the last non-empty Set-Cookie (a library may set one twice). */
function sessionCookie(setCookies) {
  const pairs = setCookies.map((c) => c.split(";")[0]).filter((p) => p.split("=")[1]);
  if (pairs.length === 0) throw new Error(`no session cookie in ${JSON.stringify(setCookies)}`);
  return pairs[pairs.length - 1];
}

/** Changes one character well inside the signature/tag part of a cookie value. */
export function forge(pair) {
  const eq = pair.indexOf("=");
  const value = pair.slice(eq + 1);
  for (let i = value.length - 10; i > eq; i--) {
    const c = value[i];
    if (/[A-Za-z0-9]/.test(c)) {
      const swap = c === "A" ? "B" : c === "0" ? "1" : /[0-9]/.test(c) ? "0" : "A";
      return `${pair.slice(0, eq + 1)}${value.slice(0, i)}${swap}${value.slice(i + 1)}`;
    }
  }
  throw new Error(`cannot forge ${pair}`);
}

async function counters(base) {
  const res = await fetch(`${base}/__counters`);
  return res.json();
}

/** Per-request deltas of the binding and edge-session counters. */
function delta(after, before, n = 1) {
  const d = {};
  for (const group of ["bindings", "edge_session"]) {
    if (!after[group]) continue;
    d[group] = {};
    for (const [k, v] of Object.entries(after[group])) d[group][k] = (v - (before[group]?.[k] ?? 0)) / n;
  }
  return d;
}

async function login(base) {
  const r = await request(base, "POST", "/login", null);
  if (r.status !== 200) throw new Error(`login: ${r.status} ${r.body}\n${runtimeLog.join("")}`);
  return sessionCookie(r.setCookies);
}

/** Cookies per scenario role: read / modify / logout sessions, and a forged read cookie. */
export async function seed(base, floor) {
  if (floor) return { read: DUMMY_COOKIE, modify: DUMMY_COOKIE, logout: DUMMY_COOKIE, forged: DUMMY_COOKIE };
  const read = await login(base);
  return { read, modify: await login(base), logout: await login(base), forged: forge(read) };
}

/** Counts for one request of `scenario` on fresh state, and what it answered. */
async function probe(base, scenario, cookies) {
  let out;
  for (let i = 0; i < 2; i++) {
    // The second probe is reported: the first may pay once-per-isolate set-up.
    // logout and modify on a session fresh from login, as a browser holding the latest cookie would.
    const fresh = scenario.cookie === "logout" || scenario.cookie === "modify";
    const cookie = fresh ? await login(base) : scenario.cookie ? cookies[scenario.cookie] : null;
    const before = await counters(base);
    const r = await request(base, scenario.method, scenario.path, cookie);
    const after = await counters(base);
    out = { status: r.status, body: r.body.slice(0, 40), set_cookie: r.setCookies.length, ...delta(after, before) };
  }
  return out;
}

/** Warm-up: WARMUP requests, or 300 ms, whichever ends first. */
async function warm(base, scenario, cookie) {
  const until = Date.now() + 300;
  let sent = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (sent < WARMUP && Date.now() < until) {
        sent++;
        await request(base, scenario.method, scenario.path, cookie);
      }
    }),
  );
}

const luaDir = mkdtempSync(path.join(tmpdir(), "edge-session-bench-"));

export function wrkScript(scenario, cookie) {
  const file = path.join(luaDir, `${scenario.id}.lua`);
  const lines = [`wrk.method = "${scenario.method}"`];
  if (cookie) lines.push(`wrk.headers["Cookie"] = ${JSON.stringify(cookie)}`);
  if (scenario.method === "POST") lines.push(`wrk.headers["Content-Length"] = "0"`);
  if (scenario.cookie === "modify") {
    // Like a browser: send the cookie of the last response that set one (edge-session's
    // cookie carries the record version, which cached_db uses to detect stale copies).
    lines.push(
      "request = function() return wrk.format() end",
      "response = function(status, headers, body)",
      '  local sc = headers["Set-Cookie"] or headers["set-cookie"]',
      '  if sc then local pair = sc:match("^([^;]+)"); if pair and pair:find("=[^=]") then wrk.headers["Cookie"] = pair end end',
      "end",
    );
  }
  lines.push(
    "done = function(summary, latency, requests)",
    '  io.write(string.format("BENCHJSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"p50_us\\":%d,\\"p99_us\\":%d,\\"non2xx\\":%d,\\"errors\\":%d}\\n",',
    "    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status,",
    "    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))",
    "end",
  );
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

export function wrk(url, script) {
  return new Promise((resolve, reject) => {
    const args = ["-c", "0", "wrk", "-t1", `-c${CONNECTIONS}`, `-d${DURATION}s`, "--timeout", "5s", "-s", script, url];
    const p = spawn("taskset", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("BENCHJSON "));
      if (code !== 0 || !line) reject(new Error(`wrk exited ${code}: ${out.slice(-500)}`));
      else resolve(JSON.parse(line.slice(10)));
    });
  });
}

async function loadRun(inst, scenario, cookie, script) {
  const c0 = inst.counted ? await counters(inst.url) : null;
  const t0 = cpuTicks(inst.pid);
  const w = await wrk(`${inst.url}${scenario.path}`, script);
  const t1 = cpuTicks(inst.pid);
  const c1 = inst.counted ? await counters(inst.url) : null;
  // The counters requests ran outside [t0, t1]; they cost nothing counted here.
  const cpuUs = ((t1 - t0) * 1e6) / CLK_TCK;
  return {
    requests: w.requests,
    cpu_us_per_req: cpuUs / w.requests,
    rps: w.requests / (w.duration_us / 1e6),
    p50_ms: w.p50_us / 1000,
    p99_ms: w.p99_us / 1000,
    non2xx: w.non2xx,
    errors: w.errors,
    ...(c0 ? { per_req_under_load: delta(c1, c0, w.requests) } : {}),
  };
}

function loadavg() {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
}

// Steps of the read path, each run PROF_N times per request (GET /__prof/<step>),
// on the KV stub; cost per step = (CPU/request at n=N − at n=0) / N.
const PROF_N = Number(process.env.BENCH_PROF_N ?? 50);
const PROF = [
  { variant: "edge-session-rust", steps: ["bench_env", "await", "kv_get", "response", "from_env", "cookie_header", "load", "get", "finish"] },
  { variant: "edge-session-npm", steps: ["await", "kv_get", "response", "sessions", "session", "get", "commit"] },
];

async function profileSteps() {
  const out = {};
  for (const p of PROF) {
    const variant = VARIANTS.find((v) => v.id === p.variant);
    if (ONLY && !ONLY.has(p.variant) && !ONLY.has(`${p.variant}+stub`)) continue;
    const inst = await start(variant, "stub");
    try {
      const cookie = await login(inst.url);
      const cpuAt = async (step, n) => {
        const scenario = { id: `prof-${step}-${n}`, method: "GET", path: `/__prof/${step}?n=${n}` };
        await warm(inst.url, scenario, cookie);
        const runs = [];
        for (let i = 0; i < 2; i++) runs.push(await loadRun(inst, scenario, cookie, wrkScript(scenario, cookie)));
        return median(runs.map((r) => r.cpu_us_per_req));
      };
      const base = await cpuAt(p.steps[0], 0);
      out[p.variant] = { n: PROF_N, base_cpu_us_per_req: base, steps: {} };
      for (const step of p.steps) {
        const at = await cpuAt(step, PROF_N);
        out[p.variant].steps[step] = (at - base) / PROF_N;
        log(`  profile ${p.variant.padEnd(20)} ${step.padEnd(14)} ${((at - base) / PROF_N).toFixed(2)} µs/step`);
      }
    } finally {
      await inst.mf.dispose();
    }
  }
  return out;
}

// Cold start: a fresh workerd per run, each variant's script loaded (module evaluation,
// wasm compilation and instantiation), then its first request. Wall times, and the workerd
// process's CPU (utime+stime since it started: clock ticks of 10 ms, so read the medians).
const START_REPS = Number(process.env.BENCH_START_REPS ?? 5);
const START_VARIANTS = [
  ["js-empty", "none"],
  ["rust-empty", "none"],
  ["edge-session-rust", "stub"],
  ["edge-session-npm", "stub"],
  ["react-router", "stub"],
  ["hono-empty", "none"],
  ["hono-session", "stub"],
  ["hono-sessions", "stub"],
];

async function startupAll() {
  const out = {};
  for (const [id, mode] of START_VARIANTS) {
    const variant = VARIANTS.find((v) => v.id === id);
    if (ONLY && !ONLY.has(id) && !ONLY.has(cellVariant(variant, mode))) continue;
    const runs = [];
    for (let i = 0; i < START_REPS; i++) {
      const t0 = performance.now();
      const inst = await start(variant, mode);
      try {
        const t1 = performance.now();
        const cpuReady = cpuTicks(inst.pid);
        const first = await request(inst.url, "POST", "/login", null);
        const t2 = performance.now();
        const cpuFirst = cpuTicks(inst.pid);
        await request(inst.url, "POST", "/login", null);
        const t3 = performance.now();
        if (first.status !== 200) throw new Error(`${id}: first request ${first.status}`);
        const ms = (ticks) => (ticks * 1000) / CLK_TCK;
        runs.push({ ready_ms: t1 - t0, first_request_ms: t2 - t1, second_request_ms: t3 - t2, cpu_ready_ms: ms(cpuReady), cpu_first_request_ms: ms(cpuFirst - cpuReady) });
      } finally {
        await inst.mf.dispose();
      }
    }
    const med = (k) => median(runs.map((r) => r[k]));
    const key = cellVariant(variant, mode);
    const o = { base: id, runs, ready_ms: med("ready_ms"), first_request_ms: med("first_request_ms"), second_request_ms: med("second_request_ms"), cpu_ready_ms: med("cpu_ready_ms"), cpu_first_request_ms: med("cpu_first_request_ms") };
    out[key] = o;
    log(`  startup ${key.padEnd(24)} ready ${o.ready_ms.toFixed(0)} ms (cpu ${o.cpu_ready_ms.toFixed(0)} ms)  first request ${o.first_request_ms.toFixed(1)} ms (cpu ${o.cpu_first_request_ms.toFixed(0)} ms)  second ${o.second_request_ms.toFixed(1)} ms`);
  }
  return out;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function measureAll() {
  const cells = [];
  const loadavgStart = loadavg();
  const started = Date.now();
  for (const variant of VARIANTS) {
    for (const mode of variant.modes) {
      const key = cellVariant(variant, mode);
      if (ONLY && !ONLY.has(key) && !ONLY.has(variant.id)) continue;
      const floor = mode === "none";
      const inst = await start(variant, mode);
      inst.counted = !floor;
      try {
        const cookies = await seed(inst.url, floor);
        const scenarios = SCENARIOS.filter((s) => mode !== "cached_db" || WRITE_SCENARIOS.includes(s.id));
        for (const scenario of scenarios) {
          const cookie = scenario.cookie ? cookies[scenario.cookie] : null;
          const probeResult = floor ? null : await probe(inst.url, scenario, cookies);
          await warm(inst.url, scenario, cookie);
          const script = wrkScript(scenario, cookie);
          const runs = [];
          const load = loadavg();
          for (let i = 0; i < REPS; i++) runs.push(await loadRun(inst, scenario, cookie, script));
          cells.push({ scenario: scenario.id, variant: key, base: variant.id, mode, probe: probeResult, runs, loadavg: load });
          const cpu = runs.map((r) => r.cpu_us_per_req.toFixed(1)).join("/");
          const rps = runs.map((r) => Math.round(r.rps)).join("/");
          log(`  ${key.padEnd(28)} ${scenario.id.padEnd(20)} cpu µs/req ${cpu}  rps ${rps}${runs.some((r) => r.non2xx || r.errors) ? "  (ERRORS)" : ""}`);
        }
      } finally {
        await inst.mf.dispose();
      }
    }
  }
  const profile = await profileSteps();
  const startup = await startupAll();
  rmSync(luaDir, { recursive: true, force: true });
  return { cells, profile, startup, loadavg_start: loadavgStart, loadavg_end: loadavg(), seconds: (Date.now() - started) / 1000, config: { duration_s: DURATION, reps: REPS, connections: CONNECTIONS, warmup_requests: WARMUP, clk_tck: CLK_TCK } };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? path.join(BUILD, "raw.json");
  const result = await measureAll();
  writeFileSync(out, JSON.stringify(result));
  log(`measured ${result.cells.length} cells in ${result.seconds.toFixed(0)} s -> ${out}`);
}
