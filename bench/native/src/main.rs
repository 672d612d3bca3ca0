//! Native micro-benchmarks of the request-path pieces of edge-session's core:
//! cookie header parse, cookie signature verify, session-data unsign
//! (Django's `signing.loads`), record decode/encode, session-data encode, and
//! the response decision. Each case runs in batches timed with `Instant`;
//! the median ns/op over `REPS` batches is reported with the min and max.
//! The last line is `NATIVEJSON {...}` for bench/lib/report.mjs.
use std::hint::black_box;
use std::time::Instant;

use edge_session::testing::internals as cookie;
use edge_session::testing::internals::{decide, Facts};
use edge_session::{testing::internals::CookieSigner, SessionKey};
use edge_session::Record;
use edge_session::testing::internals::TimestampSigner;

const REPS: usize = 7;
const TARGET_NS: u128 = 30_000_000; // ~30 ms per batch

fn bench(name: &str, mut f: impl FnMut()) -> (String, f64, f64, f64) {
    // Calibrate the batch size to about TARGET_NS.
    let mut n: u64 = 1;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        if t.elapsed().as_nanos() >= TARGET_NS / 4 || n >= 1 << 30 {
            break;
        }
        n *= 2;
    }
    let n = n * 4;
    let mut per_op: Vec<f64> = (0..REPS)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    per_op.sort_by(|a, b| a.total_cmp(b));
    let (min, median, max) = (per_op[0], per_op[REPS / 2], per_op[REPS - 1]);
    println!("{name:<44} {median:>10.1} ns/op   (min {min:.1}, max {max:.1}; {REPS} x {n})");
    (name.to_owned(), median, min, max)
}

fn main() {
    let secret = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ";
    let now = 1_765_000_000;
    let key = SessionKey::parse("abcdefghijklmnopqrstuvwxyz012345").expect("a valid key");

    let signer = CookieSigner::new("sessionid", secret, &[]);
    let cookie_value = signer.sign(&key, 3);
    let header = format!("_ga=GA1.1.1234567890.1765000000; csrftoken=Xk2mZ9pQ4rT7vW1yB3nD5fH8jL0sA6cE; sessionid={cookie_value}; theme=dark");
    let mut forged = cookie_value.clone().into_bytes();
    let i = forged.len() - 5;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };

    let data_signer = TimestampSigner::new(secret, &[], "django.contrib.sessions.SessionStore");
    let data = serde_json::json!({ "user": "alice", "n": 41, "_auth_user_backend": "django.contrib.auth.backends.ModelBackend" });
    let session_data = data_signer.sign_object(&data, true, now);
    let small = serde_json::json!({ "user": "alice" });
    let small_data = data_signer.sign_object(&small, true, now);
    let record = Record::new(session_data.clone(), now + 1_209_600, 3);
    let record_json = record.to_json();

    let facts = Facts {
        had_cookie: true,
        accessed: true,
        modified: true,
        empty: false,
        save_every_request: false,
        status: 200,
        expire_at_browser_close: false,
        expiry_age: 1_209_600,
        now,
    };

    assert!(!small_data.starts_with('.') && session_data.starts_with('.'), "one plain and one compressed payload");
    println!("edge-session core, native ({}), profile: opt-level=z, lto", std::env::consts::ARCH);
    let results = vec![
        bench("cookie::find (4-cookie header)", || {
            black_box(cookie::find(black_box(header.as_bytes()), "sessionid"));
        }),
        bench("CookieSigner::verify (valid)", || {
            black_box(signer.verify(black_box(cookie_value.as_bytes())));
        }),
        bench("CookieSigner::verify (forged MAC)", || {
            black_box(signer.verify(black_box(&forged)));
        }),
        bench("CookieSigner::sign", || {
            black_box(signer.sign(black_box(&key), 4));
        }),
        bench("TimestampSigner::unsign_object (1 key, plain)", || {
            black_box(data_signer.unsign_object(black_box(&small_data), Some(1_209_600), now).ok());
        }),
        bench("TimestampSigner::unsign_object (3 keys, zlib)", || {
            black_box(data_signer.unsign_object(black_box(&session_data), Some(1_209_600), now).ok());
        }),
        bench("TimestampSigner::sign_object (1 key)", || {
            black_box(data_signer.sign_object(black_box(&small), true, now));
        }),
        bench("  of which: zlib level 6 of the same JSON (miniz_oxide)", || {
            black_box(miniz_oxide::deflate::compress_to_vec_zlib(black_box(br#"{"user":"alice"}"#), 6));
        }),
        bench("TimestampSigner::sign_object (3 keys, zlib)", || {
            black_box(data_signer.sign_object(black_box(&data), true, now));
        }),
        bench("Record::from_json", || {
            black_box(Record::from_json(black_box(&record_json)).ok());
        }),
        bench("Record::to_json", || {
            black_box(black_box(&record).to_json());
        }),
        bench("decision::decide", || {
            black_box(decide(black_box(&facts)));
        }),
    ];
    let json: Vec<String> = results
        .iter()
        .map(|(n, med, min, max)| format!(r#"{{"name":{n:?},"ns_per_op":{med:.1},"min":{min:.1},"max":{max:.1}}}"#))
        .collect();
    println!("NATIVEJSON [{}]", json.join(","));
}
