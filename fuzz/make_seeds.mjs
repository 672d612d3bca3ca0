// Writes the committed seed corpus of the fuzz targets (fuzz/seeds/<target>/):
// Django's signing vectors from tests/fixtures/django-signing.json and the
// hostile inputs of SECURITY.md. Deterministic; re-run after changing it:
//   node fuzz/make_seeds.mjs
import { createHash, createHmac } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";

const FUZZ = path.dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(readFileSync(path.join(FUZZ, "../tests/fixtures/django-signing.json"), "utf8"));
const SECRET = fixture.secret_key;
const NOW = 1_765_019_800; // the targets' clock
const KNOWN_KEY = "fuzzfuzzfuzzfuzzfuzzfuzzfuzz0001"; // the session cookie_header's store holds

const b64url = (buf) => Buffer.from(buf).toString("base64url");
/** Django's salted_hmac(key_salt, value, secret, algorithm="sha256"). */
const saltedHmac = (keySalt, secret, message) =>
  createHmac("sha256", createHash("sha256").update(keySalt + secret).digest()).update(message).digest();
/** The server-side cookie value `KEY.VERSION.MAC` (src/key.rs). */
const cookieValue = (key, version, secret = SECRET) =>
  `${key}.${version}.${b64url(saltedHmac("edge_session.cookie:sessionid", secret, `${key}.${version}`).subarray(0, 16))}`;

const VALID = cookieValue(KNOWN_KEY, 1);
const FORGED = `${KNOWN_KEY}.1.AAAAAAAAAAAAAAAAAAAAAA`;
const tokens = fixture.cases.flatMap((c) => [c.signed_cookie, c.signed_cookie_with_fallback_key, c.session_data]);
const badTokens = fixture.bad_signed_cookies.map((b) => b.token);

const seeds = { cookie_header: [], signed_value: [], stored_record: [] };
const add = (target, name, content) => seeds[target].push([name, Buffer.isBuffer(content) ? content : Buffer.from(content)]);

// --- cookie_header ---
const h = (name, text) => add("cookie_header", name, text);
h("valid", `sessionid=${VALID}`);
h("valid-among-others", `csrftoken=abc123; sessionid=${VALID}; theme=dark`);
h("comma-is-not-a-separator", `a=1, sessionid=${VALID}`);
h("space-tab-trimmed", ` \tsessionid=${VALID}\t ;`);
h("quoted", `sessionid="${VALID}"`);
for (const [tag, ws] of [["nbsp", "\u00a0"], ["em-space", "\u2003"], ["bom", "\ufeff"], ["ideographic-space", "\u3000"], ["line-sep", "\u2028"]]) {
  h(`unicode-ws-${tag}`, `${ws}sessionid=${VALID}`);
}
h("nul-after-value", `sessionid=${VALID}\u0000`);
h("control-before-name", `\u0001sessionid=${VALID}`);
h("crlf", `sessionid=${VALID}\r\nx=1`);
h("del-in-value", `sessionid=${VALID.slice(0, 10)}\u007f${VALID.slice(10)}`);
add("cookie_header", "invalid-utf8-other-pair", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`; sessionid=${VALID}`)]));
add("cookie_header", "invalid-utf8-in-value", Buffer.concat([Buffer.from("sessionid="), Buffer.from([0xc3, 0x28]), Buffer.from(VALID)]));
h("duplicates-50-valid-first", [VALID, ...Array(49).fill(FORGED)].map((v) => `sessionid=${v}`).join("; "));
h("duplicates-50-forged-first", [...Array(49).fill(FORGED), VALID].map((v) => `sessionid=${v}`).join("; "));
h("forged", `sessionid=${FORGED}`);
h("version-0", `sessionid=${cookieValue(KNOWN_KEY, 0)}`);
h("version-2", `sessionid=${cookieValue(KNOWN_KEY, 2)}`);
h("version-leading-zero", `sessionid=${VALID.replace(".1.", ".01.")}`);
h("other-secret", `sessionid=${cookieValue(KNOWN_KEY, 1, "another secret")}`);
h("fallback-secret", `sessionid=${cookieValue(KNOWN_KEY, 1, fixture.secret_key_fallbacks[0])}`);
h("dotdot-slash", "sessionid=../../../../etc/passwd");
h("uppercase-key", `sessionid=${KNOWN_KEY.toUpperCase()}.1.AAAAAAAAAAAAAAAAAAAAAA`);
h("key-31", `sessionid=${KNOWN_KEY.slice(1)}.1.AAAAAAAAAAAAAAAAAAAAAA`);
h("key-33", `sessionid=${KNOWN_KEY}x.1.AAAAAAAAAAAAAAAAAAAAAA`);
h("empty-value", "sessionid=");
h("no-equals", "sessionid");
h("only-separators", " ; ;\t;; ");
h("257-pairs", Array.from({ length: 257 }, (_, i) => `c${i}=v`).join("; ") + `; sessionid=${VALID}`);
const pad = (text, len) => text + "a".repeat(len - text.length);
h("32KiB-exactly", pad(`sessionid=${VALID}; x=`, 32 * 1024));
h("32KiB-plus-one", pad(`sessionid=${VALID}; x=`, 32 * 1024 + 1));
fixture.cases.forEach((c, i) => h(`django-signed-cookie-${i}`, `sessionid=${c.signed_cookie}`));
fixture.cases.forEach((c, i) => h(`django-signed-cookie-fallback-${i}`, `sessionid=${c.signed_cookie_with_fallback_key}`));
badTokens.forEach((t, i) => h(`django-bad-${i}`, `sessionid=${t}`));

// --- signed_value ---
const s = (name, text) => add("signed_value", name, text);
tokens.forEach((t, i) => s(`django-${i}`, t));
badTokens.forEach((t, i) => s(`django-bad-${i}`, t));
s("cookie-valid", VALID);
s("cookie-forged", FORGED);
s("cookie-version-max", cookieValue(KNOWN_KEY, "18446744073709551615"));
s("cookie-version-overflow", cookieValue(KNOWN_KEY, "18446744073709551616"));
s("json-object", '{"a":[1,2.5,"\u017e\ud83c\udf6a"],"b":null,"c":true}');
s("json-floats", "[0.1,-0.0,1e-7,1e16,1e+300,123456789012345678]");
s("json-big-int", "18446744073709551616");
s("json-out-of-range", "1e400");
s("json-lone-surrogate", '"\\ud800"');
s("json-escaped-pair", '"\\ud83c\\udf6a"');
s("json-deep-120", "[".repeat(120) + "]".repeat(120));
s("json-deep-200", "[".repeat(200) + "]".repeat(200));
s("json-duplicate-keys", '{"a":1,"a":2}');
// A zlib bomb: 2 MiB of zeros, compressed; the target signs the payload, so
// the inflate limit is reached behind a valid signature.
s("zlib-bomb", `.${b64url(deflateSync(Buffer.alloc(2 << 20)))}:1vRqGo:x`);
s("zlib-truncated", `.${b64url(deflateSync(Buffer.from('{"a":1}')).subarray(0, 6))}:1vRqGo:x`);
s("zlib-not-json", `.${b64url(deflateSync(Buffer.from("not json at all, not json at all")))}:1vRqGo:x`);
s("b64-padding", "e30=:1vRqGo:x");
s("b64-standard-alphabet", "e3+/:1vRqGo:x");
s("timestamp-overflow", "e30:zzzzzzzzzzzzzzz:aFA0QYhobuFNWO08enO07aUrF3rumyqLljFCDsvBGqw");

// --- stored_record ---
const r = (name, text) => add("stored_record", name, text);
const record = (data, expires, version) => JSON.stringify({ data, expires, version });
const live = record(fixture.cases[1].session_data, NOW + 3600, 3);
r("record-live", live);
r("record-expired", record("e30:1vRqGo:x", NOW, 1));
r("record-version-0", record("x", NOW + 60, 0));
r("record-version-max", '{"data":"x","expires":1765020000,"version":18446744073709551615}');
r("record-version-negative", '{"data":"x","expires":1765020000,"version":-1}');
r("record-expires-max", '{"data":"x","expires":9223372036854775807,"version":1}');
r("record-expires-min", '{"data":"x","expires":-9223372036854775808,"version":1}');
r("record-expires-float", '{"data":"x","expires":1.7e9,"version":1}');
r("record-extra-fields", '{"data":"x","expires":1765020000,"version":1,"evil":{"__proto__":1}}');
r("record-duplicate-keys", '{"data":"x","data":"y","expires":1765020000,"version":1}');
r("record-data-not-string", '{"data":{"user":"ada"},"expires":1765020000,"version":1}');
r("record-deep", "[".repeat(200) + "]".repeat(200));
r("not-json", "{not json");
const bodies = {
  load: JSON.stringify({ op: "load" }),
  create: JSON.stringify({ op: "create", record: record("new", NOW + 60, 1) }),
  save: JSON.stringify({ op: "save", record: record("newer", NOW + 60, 2) }),
  delete: JSON.stringify({ op: "delete" }),
};
for (const [op, body] of Object.entries(bodies)) {
  r(`body-${op}`, body);
  r(`body-${op}-over-live`, `${body}\0${live}`);
  r(`body-${op}-over-expired`, `${body}\0${record("old", NOW - 1, 5)}`);
}
r("body-unknown-op", '{"op":"drop"}');
r("body-bad-record", '{"op":"save","record":"nope"}');
r("body-record-not-string", '{"op":"create","record":{"data":"x","expires":1,"version":1}}');
r("reply-record", JSON.stringify({ record: live }));
r("reply-error", '{"error":"missing"}');

for (const [target, list] of Object.entries(seeds)) {
  const dir = path.join(FUZZ, "seeds", target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of list) writeFileSync(path.join(dir, name), content);
  console.log(`${target}: ${list.length} seeds`);
}
