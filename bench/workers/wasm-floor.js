// The CPU floor of a session layer built as the npm package is: Django's
// wire-format work (the cookie's MAC, the record's signature, its payload codec
// and JSON, a random key) in wasm, one call per step, and the I/O in JS. The
// wasm is bench/size-floor's (built by bench/run.sh into .build/floor/pkg).
// It has none of edge-session's code: no settings, no expiry, no engines, no
// merging, no error handling beyond "does not check". Whatever the npm package
// adds over this worker is its own code and its design; what this worker adds
// over the empty JS worker is the floor under any such package.
import { initSync, step } from "../.build/floor/pkg/floor.js";
import wasm from "../.build/floor/pkg/floor_bg.wasm";
import { benchEnv, counts } from "../rust-worker/js/bench_env.js";
import { floorHandler } from "./floor-routes.js";

initSync({ module: wasm });

const handle = floorHandler(step);

export default {
  fetch(request, env) {
    if (request.url.endsWith("/__counters")) return Response.json({ bindings: counts });
    return handle(request, benchEnv(env));
  },
};
