#!/usr/bin/env python3
"""Checks edge-session's tokens against a real Django, and makes Django tokens for the Rust side.

Driven by tests/django_roundtrip.rs:

    python3 tests/django_roundtrip.py --venv target/django-venv INPUT.json OUTPUT.json

Run by any python3, it creates (once) a virtualenv at --venv, installs Django 5.2.x there if it is
not importable, and re-runs itself with the virtualenv's interpreter. Exit status:

    0   the checks ran; OUTPUT.json holds {"status": "ok", "django_version", "results", "django_tokens"}
    77  Django could not be made available (no venv module, offline, ...): OUTPUT.json holds
        {"status": "skipped", "reason": ...}
    other  the script itself failed

INPUT.json (written by the Rust test):

    {"secret_key": ..., "secret_key_fallbacks": [...], "max_age": ..., "now": ...,
     "tokens": [{"name", "salt", "token", "data", "expect": "ok" | "expired" | "bad_signature",
                 "fallback_only": bool, "has_expiry": bool, "expiry_age": int,
                 "expire_at_browser_close": bool}],
     "django_inputs": [{"name", "data"}], "signed_cookies_salt": ..., "session_data_salt": ...}
"""

import json
import os
import shutil
import subprocess
import sys

SKIP = 77
DJANGO_REQUIREMENT = "django>=5.2,<6"
IN_VENV_FLAG = "--in-venv"
# Seconds between the Rust side's "now" and Django's, for expiry ages counted to a datetime.
EXPIRY_TOLERANCE = 120


def log(msg):
    print(f"django_roundtrip.py: {msg}", file=sys.stderr, flush=True)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)


def skip(output, reason):
    log(f"skipping: {reason}")
    write_json(output, {"status": "skipped", "reason": reason})
    sys.exit(SKIP)


# --------------------------------------------------------------------------- bootstrap


def venv_python(venv):
    if os.name == "nt":
        return os.path.join(venv, "Scripts", "python.exe")
    return os.path.join(venv, "bin", "python")


def django_version_in(python):
    """Django's version string in that interpreter, or None if it is not importable there."""
    if not os.path.exists(python):
        return None
    try:
        r = subprocess.run(
            [python, "-c", "import django; print(django.get_version())"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def version_ok(version):
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 2) and major < 6


class Lock:
    """An exclusive lock file, so two concurrent runs do not build the venv at once (best effort)."""

    def __init__(self, path):
        self.path = path
        self.file = None

    def __enter__(self):
        self.file = open(self.path, "a+")
        try:
            import fcntl

            fcntl.flock(self.file, fcntl.LOCK_EX)
        except ImportError:  # not on Unix: no lock
            pass
        return self

    def __exit__(self, *exc):
        self.file.close()


def ensure_venv(venv, output):
    """The venv's interpreter, with Django importable; creates/installs only what is missing."""
    python = venv_python(venv)
    if version_ok(django_version_in(python) or ""):
        return python  # the warm path: one subprocess, no network
    os.makedirs(os.path.dirname(os.path.abspath(venv)), exist_ok=True)
    with Lock(os.path.abspath(venv) + ".lock"):
        if version_ok(django_version_in(python) or ""):
            return python  # another run built it while we waited
        if not pip_works(python):
            if os.path.exists(venv):
                if not os.path.exists(os.path.join(venv, "pyvenv.cfg")):
                    skip(output, f"{venv} exists and is not a virtualenv; not touching it")
                log(f"removing unusable virtualenv {venv}")
                shutil.rmtree(venv)
            log(f"creating virtualenv {venv}")
            r = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
            if r.returncode != 0 or not pip_works(python):
                skip(output, f"`{sys.executable} -m venv` failed: {(r.stderr or r.stdout).strip()[-500:]}")
        log(f"installing {DJANGO_REQUIREMENT!r} into {venv}")
        cmd = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        cmd += ["--retries", "2", "--timeout", "20", DJANGO_REQUIREMENT]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            tail = (r.stderr or r.stdout).strip()[-800:]
            skip(output, f"pip install {DJANGO_REQUIREMENT!r} failed (offline?): {tail}")
        version = django_version_in(python)
        if not version_ok(version or ""):
            skip(output, f"Django not importable in {venv} after pip install (got {version!r})")
        log(f"installed Django {version}")
    return python


def pip_works(python):
    if not os.path.exists(python):
        return False
    try:
        r = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


# --------------------------------------------------------------------------- checks (inside the venv)


def canonical(value):
    """Python's own compact JSON, so 1 vs 1.0 and key order count as differences."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def run_checks(spec):
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY=spec["secret_key"],
        SECRET_KEY_FALLBACKS=spec["secret_key_fallbacks"],
        INSTALLED_APPS=[],
        USE_TZ=True,
        SESSION_SERIALIZER="django.contrib.sessions.serializers.JSONSerializer",
    )
    django.setup()
    from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore
    from django.contrib.sessions.backends.signed_cookies import SessionStore as SignedCookiesStore
    from django.core import signing

    secret = spec["secret_key"]
    max_age = spec["max_age"]
    results = []

    def record(name, ok, detail=""):
        results.append({"name": name, "ok": bool(ok), "detail": detail})

    # The salts the Rust side uses are the ones Django's engines use.
    signed_cookies_salt = spec["signed_cookies_salt"]
    session_data_salt = spec["session_data_salt"]
    django_salt = CacheSessionStore().key_salt
    record("session_data salt", session_data_salt == django_salt, f"Django's is {django_salt!r}")
    django_salt = SignedCookiesStore.__module__
    record("signed_cookies salt", signed_cookies_salt == django_salt, f"Django's is {django_salt!r}")

    for t in spec["tokens"]:
        name, token, salt, expected, expect = t["name"], t["token"], t["salt"], t["data"], t["expect"]
        # 1. django.core.signing.loads, SECRET_KEY_FALLBACKS from settings.
        try:
            got = signing.loads(token, key=secret, salt=salt, max_age=max_age)
            outcome = "ok"
        except signing.SignatureExpired:
            got, outcome = None, "expired"
        except signing.BadSignature as e:
            got, outcome = None, f"bad_signature ({e})"
        except Exception as e:  # noqa: BLE001 - any other failure is a mismatch to report
            got, outcome = None, f"error {type(e).__name__}: {e}"
        if expect == "ok":
            ok = outcome == "ok" and got == expected and canonical(got) == canonical(expected)
            detail = "" if ok else f"outcome={outcome} got={canonical(got)} expected={canonical(expected)}"
        else:
            ok = outcome.split(" ")[0] == expect
            detail = "" if ok else f"expected {expect}, got outcome={outcome}"
        record(f"loads:{name}", ok, detail)

        if expect != "ok":
            continue
        # 2. The fallback-only token must really need the fallback.
        if t.get("fallback_only"):
            try:
                signing.loads(token, key=secret, salt=salt, fallback_keys=[])
                record(f"needs-fallback:{name}", False, "verified without SECRET_KEY_FALLBACKS")
            except signing.BadSignature:
                record(f"needs-fallback:{name}", True)
        # 3. The session engines themselves.
        if salt == signed_cookies_salt:
            store = SignedCookiesStore(session_key=token)
            got = dict(store.load())
            ok = got == expected and canonical(got) == canonical(expected)
            record(f"signed_cookies.SessionStore.load:{name}", ok, "" if ok else f"got={canonical(got)}")
            store = SignedCookiesStore(session_key=token)  # lazily loaded by the getters
            age, at_close = store.get_expiry_age(), store.get_expire_at_browser_close()
        elif salt == session_data_salt:
            store = CacheSessionStore()
            got = store.decode(token)
            ok = got == expected and canonical(got) == canonical(expected)
            record(f"SessionStore.decode:{name}", ok, "" if ok else f"got={canonical(got)}")
            store = CacheSessionStore()  # no key: an empty session, filled without touching the cache
            store.update(got)
            age, at_close = store.get_expiry_age(), store.get_expire_at_browser_close()
        else:
            continue
        # 4. Django reads `_session_expiry` as we do (a datetime expiry counts from Django's own "now").
        if t.get("has_expiry"):
            ok = abs(age - t["expiry_age"]) <= EXPIRY_TOLERANCE
            record(f"get_expiry_age:{name}", ok, f"Django {age}, ours {t['expiry_age']}")
            ours = t["expire_at_browser_close"]
            record(f"get_expire_at_browser_close:{name}", at_close == ours, f"Django {at_close}, ours {ours}")

    # Django's tokens for the Rust side to verify.
    django_tokens = []
    for item in spec["django_inputs"]:
        for salt in (signed_cookies_salt, session_data_salt):
            django_tokens.append(
                {
                    "name": item["name"],
                    "salt": salt,
                    "key": "current",
                    "token": signing.dumps(item["data"], key=secret, salt=salt, compress=True),
                    "data": item["data"],
                }
            )
        # Uncompressed too, so every data set can be compared byte for byte.
        django_tokens.append(
            {
                "name": item["name"],
                "salt": signed_cookies_salt,
                "key": "current",
                "compress": False,
                "token": signing.dumps(item["data"], key=secret, salt=signed_cookies_salt, compress=False),
                "data": item["data"],
            }
        )
        fallback = spec["secret_key_fallbacks"][0]
        django_tokens.append(
            {
                "name": item["name"],
                "salt": signed_cookies_salt,
                "key": "fallback",
                "token": signing.dumps(item["data"], key=fallback, salt=signed_cookies_salt, compress=True),
                "data": item["data"],
            }
        )
    # The engines' own encoders too.
    for item in spec["django_inputs"]:
        store = CacheSessionStore()
        django_tokens.append(
            {
                "name": f"SessionStore.encode:{item['name']}",
                "salt": session_data_salt,
                "key": "current",
                "token": store.encode(item["data"]),
                "data": item["data"],
            }
        )
    # Django's messages framework on a signed_cookies session: the edge's
    # messages listed by SessionStorage, and Django's for the edge to read.
    from django.contrib.messages.storage.session import SessionStorage
    from django.http import HttpResponse

    class Request:
        def __init__(self, session):
            self.session = session

    def shown(message):
        return {"level": message.level, "message": message.message, "extra_tags": message.extra_tags or ""}

    edge = spec["edge_messages"]
    storage = SessionStorage(Request(SignedCookiesStore(session_key=edge["token"])))
    got = [shown(m) for m in storage]
    record("SessionStorage lists the edge's messages", got == edge["expected"], f"got={got}")
    session = SignedCookiesStore()
    storage = SessionStorage(Request(session))
    for m in edge["expected"]:
        storage.add(m["level"], m["message"], extra_tags=m["extra_tags"])
    storage.add(10, "below MESSAGE_LEVEL: dropped")
    storage.update(HttpResponse())
    session.save()
    django_messages = {"token": session.session_key, "stored": session["_messages"], "expected": edge["expected"]}
    return {
        "status": "ok",
        "django_version": django.get_version(),
        "results": results,
        "django_tokens": django_tokens,
        "django_messages": django_messages,
    }


def main():
    args = sys.argv[1:]
    in_venv = IN_VENV_FLAG in args
    args = [a for a in args if a != IN_VENV_FLAG]
    venv = None
    if len(args) >= 2 and args[0] == "--venv":
        venv, args = args[1], args[2:]
    if len(args) != 2:
        sys.exit(f"usage: {sys.argv[0]} [--venv DIR] INPUT.json OUTPUT.json")
    input_path, output = args
    if venv is None:
        crate = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(crate, "target")
        venv = os.path.join(target, "django-venv")

    if not in_venv:
        python = ensure_venv(venv, output)
        r = subprocess.run([python, os.path.abspath(__file__), IN_VENV_FLAG, input_path, output])
        sys.exit(r.returncode)

    with open(input_path, encoding="utf-8") as f:
        spec = json.load(f)
    write_json(output, run_checks(spec))


if __name__ == "__main__":
    main()
