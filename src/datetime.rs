//! Calendar arithmetic without a time-zone database: HTTP dates for cookies and
//! the ISO-8601 datetimes that Django stores under `_session_expiry`.

use std::fmt;

/// An instant with the UTC offset it was written in (Python's aware `datetime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Whole seconds since the Unix epoch (UTC).
    pub unix: i64,
    /// Microseconds past `unix`, `0..1_000_000`.
    pub micros: u32,
    /// The offset from UTC, in minutes, that the datetime is shown in.
    pub offset_minutes: i32,
}

/// Why an ISO-8601 datetime was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateTimeError {
    /// The text is not `YYYY-MM-DDTHH:MM[:SS[.ffffff]]` followed by an offset.
    Malformed,
    /// A naive datetime: Django's sessions need an offset (`Z` or `+HH:MM`).
    MissingOffset,
    /// A field is out of range (month 13, hour 24, offset beyond ±23:59, ...).
    OutOfRange,
}

impl fmt::Display for DateTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "not an ISO-8601 datetime (expected YYYY-MM-DDTHH:MM:SS+HH:MM)",
            Self::MissingOffset => "the datetime has no UTC offset (add Z or +HH:MM)",
            Self::OutOfRange => "a field of the datetime is out of range",
        })
    }
}

impl std::error::Error for DateTimeError {}

/// 0001-01-01T00:00:00Z, the earliest instant Python's `datetime` holds.
pub const MIN_UNIX: i64 = -62_135_596_800;
/// 9999-12-31T23:59:59Z, the latest.
pub const MAX_UNIX: i64 = 253_402_300_799;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// An RFC 7231 date as Django writes cookie `expires`: `Thu, 10 Dec 2026 08:00:00 GMT`.
///
/// ```
/// assert_eq!(edge_session::testing::internals::http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
/// ```
pub fn http_date(unix: i64) -> String {
    let unix = unix.clamp(MIN_UNIX, MAX_UNIX);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Reads a fixed number of ASCII digits.
fn digits(text: &[u8], at: usize, len: usize) -> Result<u32, DateTimeError> {
    let part = text.get(at..at + len).ok_or(DateTimeError::Malformed)?;
    part.iter().try_fold(0u32, |acc, &c| {
        if c.is_ascii_digit() {
            Ok(acc * 10 + u32::from(c - b'0'))
        } else {
            Err(DateTimeError::Malformed)
        }
    })
}

impl DateTime {
    /// The UTC datetime of a Unix timestamp, clamped to years 1 to 9999
    /// (Python's `datetime` range; Django would raise OverflowError).
    pub fn from_unix(unix: i64) -> Self {
        Self { unix: unix.clamp(MIN_UNIX, MAX_UNIX), micros: 0, offset_minutes: 0 }
    }

    /// Parses what Python's `datetime.fromisoformat` reads for an aware
    /// datetime: `YYYY-MM-DD`, `T` or a space, `HH:MM[:SS[.f…]]`, then `Z`,
    /// `±HH:MM` or `±HHMM`.
    ///
    /// ```
    /// use edge_session::DateTime;
    /// let dt = DateTime::parse_iso("2026-12-10T09:00:00+01:00").unwrap();
    /// assert_eq!(dt.unix, 1_796_889_600);
    /// assert_eq!(dt.to_iso(), "2026-12-10T09:00:00+01:00");
    /// ```
    pub fn parse_iso(text: &str) -> Result<Self, DateTimeError> {
        let t = text.as_bytes();
        if t.len() > 40 {
            return Err(DateTimeError::Malformed);
        }
        let year = digits(t, 0, 4)?;
        if t.get(4) != Some(&b'-') || t.get(7) != Some(&b'-') {
            return Err(DateTimeError::Malformed);
        }
        let month = digits(t, 5, 2)?;
        let day = digits(t, 8, 2)?;
        if !matches!(t.get(10), Some(b'T' | b' ')) || t.get(13) != Some(&b':') {
            return Err(DateTimeError::Malformed);
        }
        let hour = digits(t, 11, 2)?;
        let minute = digits(t, 14, 2)?;
        let mut at = 16;
        let mut second = 0;
        let mut micros = 0;
        if t.get(at) == Some(&b':') {
            second = digits(t, at + 1, 2)?;
            at += 3;
            if t.get(at) == Some(&b'.') {
                at += 1;
                let start = at;
                while t.get(at).is_some_and(u8::is_ascii_digit) {
                    at += 1;
                }
                let frac = &t[start..at];
                if frac.is_empty() || frac.len() > 9 {
                    return Err(DateTimeError::Malformed);
                }
                micros = frac
                    .iter()
                    .chain(std::iter::repeat(&b'0'))
                    .take(6)
                    .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
            }
        }
        let offset_minutes: i32 = match t.get(at) {
            None => return Err(DateTimeError::MissingOffset),
            Some(b'Z') if t.len() == at + 1 => 0,
            Some(&sign @ (b'+' | b'-')) => {
                let oh = digits(t, at + 1, 2)?;
                let om = match t.len() - at {
                    6 if t[at + 3] == b':' => digits(t, at + 4, 2)?,
                    5 => digits(t, at + 3, 2)?,
                    3 => 0,
                    _ => return Err(DateTimeError::Malformed),
                };
                if oh > 23 || om > 59 {
                    return Err(DateTimeError::OutOfRange);
                }
                let total = (oh * 60 + om) as i32;
                if sign == b'-' {
                    -total
                } else {
                    total
                }
            }
            Some(_) => return Err(DateTimeError::Malformed),
        };
        let year = i64::from(year);
        if year == 0
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(DateTimeError::OutOfRange);
        }
        let local = days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
        Ok(Self { unix: local - i64::from(offset_minutes) * 60, micros, offset_minutes })
    }

    /// Python's `datetime.isoformat()` of an aware datetime, in its own offset.
    pub fn to_iso(&self) -> String {
        let local = self.unix + i64::from(self.offset_minutes) * 60;
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400);
        let mut out =
            format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
        if self.micros != 0 {
            out.push_str(&format!(".{:06}", self.micros));
        }
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let off = self.offset_minutes.unsigned_abs();
        out.push_str(&format!("{sign}{:02}:{:02}", off / 60, off % 60));
        out
    }

    /// Whole seconds from `modification` to this instant, rounded down as
    /// Python's `delta.days * 86400 + delta.seconds` does.
    pub fn seconds_since(&self, modification: i64) -> i64 {
        self.unix.saturating_sub(modification)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn http_date_matches_django() {
        // Django: http_date(1796889600) == "Thu, 10 Dec 2026 08:00:00 GMT"
        assert_eq!(http_date(1_796_889_600), "Thu, 10 Dec 2026 08:00:00 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn parses_the_forms_python_writes() {
        let utc = DateTime::parse_iso("2026-12-10T08:00:00+00:00").unwrap();
        assert_eq!(utc.unix, 1_796_889_600);
        assert_eq!(DateTime::parse_iso("2026-12-10T08:00:00Z").unwrap().unix, utc.unix);
        assert_eq!(DateTime::parse_iso("2026-12-10 03:00-0500").unwrap().unix, utc.unix);
        let frac = DateTime::parse_iso("2026-12-10T08:00:00.25+00:00").unwrap();
        assert_eq!(frac.micros, 250_000);
        assert_eq!(frac.to_iso(), "2026-12-10T08:00:00.250000+00:00");
    }

    #[test]
    fn refuses_naive_and_malformed_datetimes() {
        assert_eq!(DateTime::parse_iso("2026-12-10T08:00:00"), Err(DateTimeError::MissingOffset));
        assert_eq!(DateTime::parse_iso("2026-02-30T08:00:00Z"), Err(DateTimeError::OutOfRange));
        assert_eq!(DateTime::parse_iso("2026-12-10"), Err(DateTimeError::Malformed));
        assert_eq!(DateTime::parse_iso("2026-12-10T08:00:00+0"), Err(DateTimeError::Malformed));
        assert_eq!(DateTime::parse_iso("２026-12-10T08:00:00Z"), Err(DateTimeError::Malformed));
    }

    proptest! {
        #[test]
        fn iso_round_trips(unix in -62_135_510_400i64..253_402_214_399, off in -1439i32..1440) {
            let dt = DateTime { unix, micros: 0, offset_minutes: off };
            prop_assert_eq!(DateTime::parse_iso(&dt.to_iso()), Ok(dt));
        }
        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = DateTime::parse_iso(&s);
        }
    }
}
