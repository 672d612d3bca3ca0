// The demo site on workerd (Miniflare: the built worker in build/, the static
// files of www/ served in front of it as Workers assets, real local KV and
// SQLite-backed Durable Objects in memory), and headless Chromium driven by
// playwright-core. Every process started here is stopped by `stop()`.
import { Miniflare } from "miniflare";
import { chromium } from "playwright-core";
import { fileURLToPath } from "node:url";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const ARTIFACTS = path.join(ROOT, "test-artifacts/browser");
mkdirSync(ARTIFACTS, { recursive: true });

// TOOLCHAIN.md: Debian's chromium, never a downloaded one.
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
];
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 720 };

/** The demo worker serving the site over HTTP on 127.0.0.1 (a free port). */
export async function startSite(engine) {
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    modules: true,
    scriptPath: path.join(ROOT, "demo/build/worker/shim.mjs"),
    modulesRoot: path.join(ROOT, "demo/build"),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
    cf: false,
    assets: { directory: path.join(ROOT, "www"), routerConfig: { has_user_worker: true } },
    kvNamespaces: ["SESSION_KV"],
    r2Buckets: ["SESSION_R2"],
    durableObjects: { SESSION_DO: { className: "SessionObject", useSQLite: true } },
    // What wrangler.toml + .dev.vars give `scripts/dev.sh`, minus the ops
    // endpoint: the site must not need SESSION_TEST_API.
    bindings: {
      SESSION_ENGINE: engine, SESSION_COOKIE_SECURE: "false", SESSION_USER_INDEX: "true", SECRET_KEY: "browser-test-secret",
    },
  });
  const url = await mf.ready;
  return { url: url.href.replace(/\/$/, ""), stop: () => mf.dispose() };
}

/** Headless Chromium; `blockCookies` starts it with a profile whose settings block all cookies. */
export async function launch({ blockCookies = false } = {}) {
  if (!blockCookies) {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    return { browser, newContext: (o = {}) => browser.newContext({ viewport: PHONE, ...o }), stop: () => browser.close() };
  }
  // The user's "Block all cookies" setting, as Chrome stores it in the profile.
  const dir = mkdtempSync(path.join(tmpdir(), "edge-session-chromium-"));
  mkdirSync(path.join(dir, "Default"));
  writeFileSync(path.join(dir, "Default/Preferences"),
    JSON.stringify({ profile: { default_content_setting_values: { cookies: 2 } } }));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: PHONE,
  });
  return {
    context,
    stop: async () => {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as test-artifacts/browser/NAME.png. */
export async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The session cookie of a context, or undefined. */
export async function sessionCookie(context) {
  return (await context.cookies()).find((c) => c.name === "sessionid");
}

/** The session key in a server-side cookie value (`KEY.VERSION.MAC`). */
export const keyOf = (value) => value.split(".")[0];

/** How the panel shows a key: its first 6 and last 4 characters. */
export const shortKey = (key) => `${key.slice(0, 6)}…${key.slice(-4)}`;

/** Clicks a form's button and waits for the POST/redirect/GET to load. */
export async function submit(page, selector) {
  await Promise.all([page.waitForEvent("load"), page.click(selector)]);
}

/** Logs in through the form (the page must be on /login). */
export async function logIn(page, name, { remember = false } = {}) {
  await page.fill("input[name=username]", name);
  await page.fill("input[name=password]", "hunter2");
  if (remember) await page.check("input[name=remember]");
  await submit(page, "form.login button");
}

/** Adds a product from the shop page (the page must be on /). */
export const addToCart = (page, item) => submit(page, `button[data-action=add][data-item=${item}]`);

/** The text of an element, or null when the page has none. */
export async function text(page, selector) {
  const el = await page.$(selector);
  return el ? (await el.textContent()).trim() : null;
}

/**
 * "Closes the browser": a new context holding only the cookies that outlive
 * the browser session (expires > 0); session cookies are dropped as Chrome does.
 */
export async function reopen(browser, context) {
  const persistent = (await context.cookies()).filter((c) => c.expires > 0);
  await context.close();
  const next = await browser.newContext({ viewport: PHONE });
  if (persistent.length) await next.addCookies(persistent);
  return next;
}
