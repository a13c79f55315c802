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
        self.to_datetime()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
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
        s.serialize_str(&self.rfc3339())
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

    #[test]
    fn rejects_garbage_with_a_hint() {
        let err = Millis::parse("tomorrow").unwrap_err();
        assert!(err.contains("RFC 3339"), "{err}");
    }
}
