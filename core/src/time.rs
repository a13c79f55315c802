//! Wall-clock instants as the engine sees them: milliseconds since the Unix epoch.
//!
//! The engine never reads a clock itself; every call takes `now: Millis`, so tests move
//! time by passing a later value.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Milliseconds since the Unix epoch. Serialized as RFC 3339 (UTC, millisecond precision).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub i64);

impl Millis {
    pub const ZERO: Millis = Millis(0);

    pub fn from_datetime(dt: DateTime<Utc>) -> Millis {
        Millis(dt.timestamp_millis())
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Parses an RFC 3339 timestamp (any offset), e.g. `2026-01-02T03:04:05Z`.
    pub fn parse(text: &str) -> Result<Millis, String> {
        DateTime::parse_from_rfc3339(text)
            .map(|dt| Millis(dt.timestamp_millis()))
            .map_err(|e| {
                format!("`{text}` is not an RFC 3339 time ({e}); write e.g. 2026-01-02T03:04:05Z")
            })
    }

    pub fn plus_ms(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX)))
    }

    /// Milliseconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Millis) -> u64 {
        u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0)
    }

    pub fn rfc3339(self) -> String {
        match self.rfc3339_bytes() {
            Some(buf) => String::from_utf8_lossy(&buf).into_owned(),
            None => self.chrono_rfc3339(),
        }
    }

    fn chrono_rfc3339(self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` for years 0 to 9999 (every other instant: `None`, and
    /// chrono writes it). Written by hand because every task in every API answer carries
    /// a few of these, and chrono's general formatter cost several times as much.
    fn rfc3339_bytes(self) -> Option<[u8; 24]> {
        // 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
        const FIRST: i64 = -62_167_219_200_000;
        const LAST: i64 = 253_402_300_799_999;
        if !(FIRST..=LAST).contains(&self.0) {
            return None;
        }
        let days = self.0.div_euclid(86_400_000);
        let ms_of_day = self.0.rem_euclid(86_400_000);
        // Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let mut buf = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut value: i64| {
            for i in (at..at + width).rev() {
                buf[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, ms_of_day / 3_600_000);
        put(14, 2, ms_of_day / 60_000 % 60);
        put(17, 2, ms_of_day / 1000 % 60);
        put(20, 3, ms_of_day % 1000);
        Some(buf)
    }
}

impl fmt::Debug for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.rfc3339())
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl Serialize for Millis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // No String per time: tasks in answers carry several.
        match self.rfc3339_bytes() {
            Some(buf) => {
                s.serialize_str(std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?)
            }
            None => s.serialize_str(&self.chrono_rfc3339()),
        }
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Millis::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc3339() {
        let m = Millis::parse("2026-11-23T10:00:00.250Z").unwrap();
        assert_eq!(m.rfc3339(), "2026-11-23T10:00:00.250Z");
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Millis>(&json).unwrap(), m);
    }

    proptest::proptest! {
        /// The hand-written format is chrono's, for every instant it covers and around
        /// the ends of its range.
        #[test]
        fn formats_like_chrono(ms in -62_167_219_300_000i64..253_402_300_900_000i64) {
            let m = Millis(ms);
            proptest::prop_assert_eq!(m.rfc3339(), m.chrono_rfc3339());
            let json = serde_json::to_string(&m).unwrap();
            proptest::prop_assert_eq!(json, format!("\"{}\"", m.chrono_rfc3339()));
        }
    }

    #[test]
    fn formats_the_edges_like_chrono() {
        for ms in [
            0,
            -1,
            1,
            951_782_400_000, // 2000-02-29
            -62_167_219_200_000,
            -62_167_219_200_001,
            253_402_300_799_999,
            253_402_300_800_000,
            i64::MIN,
            i64::MAX,
        ] {
            assert_eq!(Millis(ms).rfc3339(), Millis(ms).chrono_rfc3339(), "{ms}");
        }
    }

    #[test]
    fn rejects_garbage_with_a_hint() {
        let err = Millis::parse("tomorrow").unwrap_err();
        assert!(err.contains("RFC 3339"), "{err}");
    }
}
