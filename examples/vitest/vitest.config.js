// The tests run inside workerd, with the worker's real (local) bindings.
import { defineConfig } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";

export default defineConfig({
  plugins: [
    cloudflareTest({
      main: "./src/worker.js",
      miniflare: {
        compatibilityDate: "2025-09-01",
        // As wrangler does: a `.wasm` import is a WebAssembly.Module (the package's wasm).
        modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
        kvNamespaces: ["SESSION_KV"],
        durableObjects: { SESSION_DO: { className: "SessionObject", useSQLite: true } },
        bindings: { SECRET_KEY: "test secret", SESSION_ENGINE: "cached_db" },
      },
    }),
  ],
  test: { reporters: ["default"] },
});
