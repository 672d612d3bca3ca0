// The demo site in headless Chromium against the demo worker on workerd: a
// real cookie jar, real forms, real redirects. Screenshots of every page go
// to test-artifacts/browser/.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startSite, launch, shot, sessionCookie, keyOf, shortKey, submit, logIn, addToCart, text, reopen, DESKTOP, PHONE,
} from "./harness.mjs";

const TWO_WEEKS = 1209600;

describe("demo site, cached_db", () => {
  let site, chrome;
  before(async () => {
    site = await startSite("cached_db");
    chrome = await launch();
  });
  after(async () => {
    await chrome?.stop();
    await site?.stop();
  });

  /** A fresh browser context with one page; closed by the test. */
  async function fresh(options) {
    const context = await chrome.newContext(options);
    return { context, page: await context.newPage() };
  }

  it("cookie check: fails with cookies blocked, passes with cookies on", async () => {
    const blocked = await launch({ blockCookies: true });
    try {
      const page = await blocked.context.newPage();
      await page.goto(`${site.url}/login`);
      await page.fill("input[name=username]", "Ada");
      await page.fill("input[name=password]", "pw");
      await submit(page, "form.login button");
      assert.equal(new URL(page.url()).pathname, "/login", "no login without cookies");
      assert.equal(await text(page, "#error"), "Please enable cookies and try again.");
      assert.equal(await text(page, "#user"), null);
      assert.deepEqual(await blocked.context.cookies(), []);
      await shot(page, "02-login-cookies-blocked");
    } finally {
      await blocked.stop();
    }

    const { context, page } = await fresh();
    await page.goto(`${site.url}/login`);
    // Showing the form called set_test_cookie(): the session holds it.
    assert.match(await text(page, "#session-data"), /"testcookie": "worked"/);
    assert.ok(await sessionCookie(context), "the test cookie's session was stored");
    await shot(page, "01-login");
    await logIn(page, "Ada");
    assert.equal(new URL(page.url()).pathname, "/");
    assert.equal(await text(page, "#user"), "Ada");
    assert.equal(await text(page, "#error"), null);
    assert.doesNotMatch(await text(page, "#session-data"), /testcookie/, "delete_test_cookie() after the check");
    await context.close();
  });

  it("login sets an HttpOnly cookie that document.cookie cannot read, under a new key", async () => {
    const { context, page } = await fresh();
    await page.goto(`${site.url}/login`);
    const before = await sessionCookie(context);
    await logIn(page, "Grace");
    const after = await sessionCookie(context);
    assert.equal(after.httpOnly, true);
    assert.equal(after.sameSite, "Lax");
    assert.notEqual(keyOf(after.value), keyOf(before.value), "cycle_key() at login");
    assert.equal(await text(page, "#session-key"), shortKey(keyOf(after.value)));
    assert.equal(await page.evaluate(() => document.cookie), "", "page scripts see no cookie");
    assert.match(await text(page, "#js-cookie"), /HttpOnly/);
    assert.equal(await text(page, "#engine"), "cached_db");

    // The pre-login key is dead: replayed, it is an empty session.
    const stale = await chrome.newContext();
    await stale.addCookies([before]);
    const p2 = await stale.newPage();
    await p2.goto(`${site.url}/`);
    assert.match(await text(p2, "#session-key"), /^none/);
    assert.equal(await sessionCookie(stale), undefined, "the dead cookie is deleted");
    await stale.close();
    await context.close();
  });

  it("the cart survives navigation, and login keeps it", async () => {
    const { context, page } = await fresh();
    await page.goto(`${site.url}/`);
    await addToCart(page, "tea");
    await addToCart(page, "tea");
    await addToCart(page, "scone");
    assert.equal(await text(page, "#cart-count"), "3");
    assert.equal(await text(page, "#messages"), "Added Fruit scone to your cart.", "the last action's message, once");
    assert.match(await text(page, "#session-data"), /"tea": 2/);
    await shot(page, "03-shop-with-cart");

    await page.click("a[href='/cart']");
    await page.waitForURL((u) => u.pathname === "/cart");
    assert.equal(await text(page, "tr[data-item=tea] .n"), "2");
    assert.equal(await text(page, "tr[data-item=scone] .n"), "1");
    assert.equal(await text(page, "#total"), "£12.00");
    await submit(page, "tr[data-item=scone] button[data-action=add]");
    await submit(page, "tr[data-item=tea] button[data-action=sub]");
    assert.equal(new URL(page.url()).pathname, "/cart");
    assert.equal(await text(page, "#total"), "£10.50");
    await shot(page, "04-cart");

    await page.goto(`${site.url}/login`);
    await page.goto(`${site.url}/`);
    assert.equal(await text(page, "#cart-count"), "3");
    await page.goto(`${site.url}/login`);
    await logIn(page, "Ada", { remember: true });
    assert.equal(await text(page, "#cart-count"), "3", "cycle_key() keeps the data");
    await shot(page, "05-shop-logged-in");

    await page.goto(`${site.url}/cart`);
    await submit(page, "button[data-action=clear]");
    assert.ok(await page.$("#cart-empty"));
    assert.equal(await text(page, "#cart-count"), "0");
    assert.equal(await text(page, "#user"), "Ada", "still logged in: only the cart went");
    await shot(page, "06-cart-empty");
    await context.close();
  });

  it("a browser-length session is gone after the browser closes; a remembered one survives", async () => {
    let { context, page } = await fresh();
    await page.goto(`${site.url}/login`);
    await logIn(page, "Ada");
    assert.equal(await text(page, "#browser-close"), "True");
    assert.equal((await sessionCookie(context)).expires, -1, "set_expiry(0): a cookie without Expires");
    context = await reopen(chrome.browser, context);
    page = await context.newPage();
    await page.goto(`${site.url}/`);
    assert.equal(await text(page, "#user"), null, "gone with the browser");
    assert.ok(await page.$("nav a[href='/login']"));
    await context.close();

    ({ context, page } = await fresh());
    await page.goto(`${site.url}/login`);
    await logIn(page, "Ada", { remember: true });
    assert.equal(await text(page, "#browser-close"), "False");
    const cookie = await sessionCookie(context);
    assert.ok(Math.abs(cookie.expires - (Date.now() / 1000 + TWO_WEEKS)) < 120, `expires in 2 weeks: ${cookie.expires}`);
    assert.match(await text(page, "#expiry-age"), /^12096\d\d s/);
    context = await reopen(chrome.browser, context);
    page = await context.newPage();
    await page.goto(`${site.url}/`);
    assert.equal(await text(page, "#user"), "Ada", "remembered across a browser restart");
    await context.close();
  });

  it("logout removes the cookie, and the old cookie, replayed, no longer works", async () => {
    const { context, page } = await fresh();
    await page.goto(`${site.url}/login`);
    await logIn(page, "Ada", { remember: true });
    await addToCart(page, "jam");
    const old = await sessionCookie(context);
    await submit(page, "nav form[action='/logout'] button");
    assert.match(await text(page, "#messages"), /logged out/, "a message (Django's messages framework), shown once");
    // The logout's message lives in a new, anonymous session (as in Django), emptied once shown.
    assert.notEqual((await sessionCookie(context))?.value, old.value, "the logged-in cookie is gone");
    assert.equal(await text(page, "#user"), null);
    assert.equal(await text(page, "#cart-count"), "0");
    await shot(page, "07-logged-out");

    const replay = await chrome.newContext();
    await replay.addCookies([old]);
    const p2 = await replay.newPage();
    await p2.goto(`${site.url}/cart`);
    assert.equal(await text(p2, "#user"), null, "flush() deleted the record: the old cookie is worthless");
    assert.ok(await p2.$("#cart-empty"));
    assert.match(await text(p2, "#session-key"), /^none/);
    await replay.close();
    await context.close();
  });

  it("works without JavaScript, escapes what it shows", async () => {
    const { context, page } = await fresh({ javaScriptEnabled: false });
    const name = `<i>Zoë</i> & "co"`;
    await page.goto(`${site.url}/login`);
    await logIn(page, name);
    assert.equal(await text(page, "#user"), name, "shown as text, not markup");
    assert.equal(await page.$("#user i"), null);
    assert.equal(await text(page, "#js-cookie"), "(needs JavaScript)");
    await addToCart(page, "cream");
    assert.equal(await text(page, "#cart-count"), "1");
    const before = await sessionCookie(context);
    await submit(page, "nav form[action='/logout'] button");
    assert.equal(await text(page, "#user"), null);
    assert.notEqual((await sessionCookie(context))?.value, before.value);
    assert.match(await text(page, "#messages"), /logged out/);
    await context.close();
  });

  it("refuses cross-site form posts, and needs no test endpoint", async () => {
    const post = (path, headers = {}) => fetch(`${site.url}${path}`, {
      method: "POST", redirect: "manual", body: "action=add&item=tea&back=/",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    });
    assert.equal((await post("/cart", { "sec-fetch-site": "cross-site" })).status, 403);
    const ok = await post("/cart", { "sec-fetch-site": "same-origin" });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get("location"), "/");
    assert.equal((await post("/_session/ops")).status, 404, "SESSION_TEST_API is off here");
  });

  it("every page fits a phone's width; screenshots", async () => {
    const { context, page } = await fresh({ viewport: PHONE });
    await page.goto(`${site.url}/login`);
    await logIn(page, "Ada", { remember: true });
    await addToCart(page, "tea");
    await addToCart(page, "jam");
    for (const path of ["/", "/cart", "/nope"]) {
      await page.goto(`${site.url}${path}`);
      const { scroll, client } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      assert.ok(scroll <= client, `${path}: no sideways scrolling at ${PHONE.width}px (${scroll} > ${client})`);
    }
    await shot(page, "08-not-found");
    await page.setViewportSize(DESKTOP);
    await page.goto(`${site.url}/`);
    await shot(page, "09-shop-desktop");
    await context.close();
  });
});

// "Your devices", with two browser contexts (a phone and a laptop) logged in
// as one user: each lists both, signs the other out, signs out everywhere else.
for (const engine of ["cached_db", "signed_cookies"]) {
  describe(`demo site, your devices, ${engine}`, () => {
    let site, chrome;
    before(async () => {
      site = await startSite(engine);
      chrome = await launch();
    });
    after(async () => {
      await chrome?.stop();
      await site?.stop();
    });

    async function device(userAgent) {
      const context = await chrome.newContext({ userAgent });
      const page = await context.newPage();
      await page.goto(`${site.url}/login`);
      await logIn(page, "Ada", { remember: true });
      assert.equal(await text(page, "#user"), "Ada");
      return { context, page };
    }
    const PHONE_UA = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";
    const LAPTOP_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    const devices = (page) => page.$$eval("#devices li", (items) => items.map((li) => ({
      label: li.querySelector("b").textContent, current: li.dataset.current === "true",
    })));

    it("lists this device and the other, signs the other out, and signs out everywhere else", async () => {
      const phone = await device(PHONE_UA);
      const laptop = await device(LAPTOP_UA);
      await phone.page.click("nav a[href='/devices']");
      await phone.page.waitForURL((u) => u.pathname === "/devices");
      assert.deepEqual((await devices(phone.page)).sort((a, b) => a.label.localeCompare(b.label)), [
        { label: "Chrome on Android", current: true },
        { label: "Firefox on Linux", current: false },
      ]);
      assert.equal(await text(phone.page, "#this-device"), "This device");
      await shot(phone.page, `10-devices-${engine}`);

      await submit(phone.page, "#devices li[data-current=false] button[data-action=revoke]");
      assert.match(await text(phone.page, "#messages"), /Signed out 1 device/);
      assert.deepEqual(await devices(phone.page), [{ label: "Chrome on Android", current: true }]);
      await laptop.page.reload();
      assert.equal(await text(laptop.page, "#user"), null, "the laptop is signed out on its next request");
      assert.equal(await sessionCookie(laptop.context), undefined, "and its cookie deleted");

      // The laptop logs in again; the phone signs out everywhere else.
      await laptop.page.goto(`${site.url}/login`);
      await logIn(laptop.page, "Ada", { remember: true });
      await phone.page.goto(`${site.url}/devices`);
      assert.equal((await devices(phone.page)).length, 2);
      await submit(phone.page, "#sign-out-others");
      assert.match(await text(phone.page, "#messages"), /Signed out 1 device/);
      await laptop.page.goto(`${site.url}/cart`);
      assert.equal(await text(laptop.page, "#user"), null);
      await phone.page.goto(`${site.url}/`);
      assert.equal(await text(phone.page, "#user"), "Ada", "this device stays signed in");
      await phone.context.close();
      await laptop.context.close();
    });
  });
}

// The main flow on the other engines: login under a new key, the cart, a
// remembered session across a browser restart, logout.
for (const engine of ["db", "cache", "file", "signed_cookies"]) {
  describe(`demo site, ${engine}`, () => {
    let site, chrome;
    before(async () => {
      site = await startSite(engine);
      chrome = await launch();
    });
    after(async () => {
      await chrome?.stop();
      await site?.stop();
    });

    it("login, cart, browser restart, logout", async () => {
      let context = await chrome.newContext();
      let page = await context.newPage();
      await page.goto(`${site.url}/`);
      await addToCart(page, "scone");
      const anon = await sessionCookie(context);
      await page.goto(`${site.url}/login`);
      await logIn(page, "Ada", { remember: true });
      const cookie = await sessionCookie(context);
      assert.equal(cookie.httpOnly, true);
      assert.notEqual(cookie.value, anon.value);
      assert.equal(await text(page, "#engine"), engine);
      assert.equal(await text(page, "#cart-count"), "1");
      context = await reopen(chrome.browser, context);
      page = await context.newPage();
      await page.goto(`${site.url}/cart`);
      assert.equal(await text(page, "#user"), "Ada");
      assert.equal(await text(page, "tr[data-item=scone] .n"), "1");
      const old = await sessionCookie(context);
      await submit(page, "nav form[action='/logout'] button");
      assert.notEqual((await sessionCookie(context))?.value, old.value);
      assert.equal(await text(page, "#user"), null);
      await context.close();

      const replay = await chrome.newContext();
      await replay.addCookies([old]);
      page = await replay.newPage();
      await page.goto(`${site.url}/`);
      // On signed_cookies too: the logout took the session out of Ada's
      // index (SESSION_USER_INDEX), so the copy of the cookie is refused.
      assert.equal(await text(page, "#user"), null, "the old cookie no longer works");
      await replay.close();
    });
  });
}
