//! The crate's internals, re-exported for this repository's own tests, fuzz
//! targets and benchmarks (and their doctests). Not part of the API: anything
//! here may change or go in any release.

pub use crate::cookie::{delete_cookie, find, pairs, set_cookie, MAX_HEADER_BYTES, MAX_PAIRS};
pub use crate::datetime::{http_date, MAX_UNIX, MIN_UNIX};
pub use crate::decision::{decide, Facts};
pub use crate::encoding::{b62_decode, b62_encode, b64_decode, b64_encode, constant_time_eq};
pub use crate::expiry::{expire_at_browser_close, expiry_age, expiry_date, EXPIRY_KEY};
pub use crate::key::{CookieSigner, SessionCookie, KEY_LEN};
pub use crate::metrics::{crypto_calls, measure};
pub use crate::session::{SESSION_DATA_SALT, SIGNED_COOKIES_SALT};
pub use crate::signing::{to_python_json, KeyRing, SaltedHmac, SigningError, TimestampSigner, Unsigned};
