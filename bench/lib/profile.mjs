// Where a worker's CPU goes: V8 CPU profiles of a bench worker under load, taken through
// workerd's inspector (Miniflare's `inspectorPort`, the DevTools protocol's `Profiler`
// domain, over Node's own WebSocket). Run by bench/profile.sh, which builds the
// workers with their wasm function names kept.
//
//   node bench/lib/profile.mjs [variant[+mode]] [scenario ...]
//
// For each scenario: wrk drives the worker for BENCH_PROFILE_SECONDS (3) while the
// profiler samples every BENCH_PROFILE_INTERVAL µs (50); the profile is written to
// bench/.build/profiles/<variant>-<scenario>.cpuprofile (open it in Chrome DevTools'
// Performance panel, or any .cpuprofile viewer), and a summary is printed: self time per
// request of the busiest functions, and the time per request of each group (the
// worker's JS, the wasm, the wasm-bindgen glue, V8 builtins, garbage collection).
// Sampling has its own overhead, so read the figures as proportions of the request's
// CPU, not as absolute costs; bench/run.sh measures those.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BUILD = path.join(BENCH, ".build");
const SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 3);
const INTERVAL = Number(process.env.BENCH_PROFILE_INTERVAL ?? 50);
const TOP = Number(process.env.BENCH_PROFILE_TOP ?? 25);
process.env.BENCH_DURATION = String(SECONDS);

const { VARIANTS, SCENARIOS, start, seed, wrk, wrkScript } = await import("./measure.mjs");

const [target = "edge-session-npm+stub", ...wanted] = process.argv.slice(2);
const [id, mode = "stub"] = target.split("+");
const variant = VARIANTS.find((v) => v.id === id);
if (!variant) throw new Error(`unknown variant ${id}; one of ${VARIANTS.map((v) => v.id).join(", ")}`);
const scenarios = wanted.length ? wanted.map((w) => SCENARIOS.find((s) => s.id === w) ?? fail(`unknown scenario ${w}`)) : SCENARIOS;

function fail(message) {
  throw new Error(message);
}

// The profiling builds (bench/profile.sh): the same code, with names.
const PROFILE_SCRIPTS = {
  "edge-session-npm": { scriptPath: path.join(BUILD, "prof/edge-session-npm/worker.js"), modulesRoot: path.join(BUILD, "prof/edge-session-npm") },
  "edge-session-rust": { scriptPath: path.join(BENCH, "rust-worker/build-prof/index.js"), modulesRoot: path.join(BENCH, "rust-worker/build-prof") },
};

/** A DevTools-protocol session over the inspector's WebSocket. */
async function inspect(port) {
  // workerd lists one target per worker; Miniflare names the user's (unnamed) worker `core:user:`.
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const worker = targets.find((t) => t.id === "core:user:") ?? fail(`no user worker among ${targets.map((t) => t.id)}`);
  const ws = new WebSocket(worker.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let nextId = 1;
  const waiting = new Map();
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.error) w.reject(new Error(`${msg.error.message} (${JSON.stringify(msg.error)})`));
    else w.resolve(msg.result);
  };
  return {
    title: worker.title,
    send(method, params = {}) {
      const callId = nextId++;
      ws.send(JSON.stringify({ id: callId, method, params }));
      return new Promise((resolve, reject) => waiting.set(callId, { resolve, reject }));
    },
    close: () => ws.close(),
  };
}

/** The group a frame's time counts in. */
function group(frame) {
  const { functionName: name, url } = frame;
  if (name === "(garbage collector)") return "garbage collection";
  if (name === "(program)" || name === "(root)") return "runtime (outside JS)";
  if (name === "(idle)") return "idle";
  if (url.startsWith("wasm://") || /^\$?wasm-function/.test(name)) return "wasm";
  if (url === "") return "V8 builtins and natives";
  if (/edge_session\.js/.test(url) || /__wbg|__wbindgen|wasm\.__/.test(name)) return "wasm-bindgen glue (JS)";
  return "worker JS";
}

function summarize(profile, requests) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const dt = profile.timeDeltas[i + 1] ?? 0;
    self.set(node, (self.get(node) ?? 0) + dt);
  }
  const fns = new Map();
  const groups = new Map();
  let busy = 0;
  for (const [node, us] of self) {
    const f = node.callFrame;
    const g = group(f);
    groups.set(g, (groups.get(g) ?? 0) + us);
    if (g === "idle") continue;
    busy += us;
    const key = `${f.functionName || "(anonymous)"} ${f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : ""}`.trim();
    fns.set(key, { us: (fns.get(key)?.us ?? 0) + us, group: g });
  }
  const per = (us) => (us / requests).toFixed(2).padStart(8);
  const lines = [];
  lines.push(`  busy: ${per(busy)} µs/request (sampled)`);
  for (const [g, us] of [...groups].sort((a, b) => b[1] - a[1])) {
    if (g !== "idle") lines.push(`    ${per(us)}  ${g}`);
  }
  lines.push(`  top ${TOP} functions by self time (µs/request):`);
  for (const [key, { us, group: g }] of [...fns].sort((a, b) => b[1].us - a[1].us).slice(0, TOP)) {
    lines.push(`    ${per(us)}  ${key}  [${g}]`);
  }
  return lines.join("\n");
}

const inspectorPort = Number(process.env.BENCH_INSPECTOR_PORT ?? 9329);
const script = PROFILE_SCRIPTS[variant.id];
const inst = await start(variant, mode, { inspectorPort, ...(script ?? {}) });
mkdirSync(path.join(BUILD, "profiles"), { recursive: true });
const session = await inspect(inspectorPort);
try {
  const cookies = await seed(inst.url, mode === "none");
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: INTERVAL });
  for (const scenario of scenarios) {
    if (mode === "cached_db" && !["read", "modify", "login", "logout"].includes(scenario.id)) continue;
    const cookie = scenario.cookie ? cookies[scenario.cookie] : null;
    const wrkFile = wrkScript(scenario, cookie);
    await wrk(`${inst.url}${scenario.path}`, wrkFile); // warm-up: JIT tiers settle first
    await session.send("Profiler.start");
    const w = await wrk(`${inst.url}${scenario.path}`, wrkFile);
    const { profile } = await session.send("Profiler.stop");
    const file = path.join(BUILD, "profiles", `${variant.id}${mode === "stub" ? "" : `+${mode}`}-${scenario.id}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    console.log(`\n${variant.label} (${mode}), ${scenario.label}: ${w.requests} requests${w.non2xx || w.errors ? " (ERRORS)" : ""}; ${path.relative(process.cwd(), file)}`);
    console.log(summarize(profile, w.requests));
  }
} finally {
  session.close();
  await inst.mf.dispose();
}
