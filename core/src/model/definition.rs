//! Definitions (task types, SPEC §4): how tasks of one `name` behave.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Who runs tasks of a definition.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum ExecutorKind {
    /// An in-process handler, `builtin:<handler>`.
    Builtin(String),
    /// External workers speaking the executor protocol.
    External,
}

impl ExecutorKind {
    pub fn parse(text: &str) -> Result<ExecutorKind, String> {
        match text.strip_prefix("builtin:") {
            Some(h) if !h.is_empty() => Ok(ExecutorKind::Builtin(h.to_string())),
            _ if text == "external" => Ok(ExecutorKind::External),
            _ => Err(format!(
                "executor `{text}` is neither `external` nor `builtin:<handler>` (e.g. builtin:sum)"
            )),
        }
    }
}

impl std::fmt::Display for ExecutorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecutorKind::Builtin(h) => write!(f, "builtin:{h}"),
            ExecutorKind::External => f.write_str("external"),
        }
    }
}

impl Serialize for ExecutorKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ExecutorKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ExecutorKind::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A definition with every field of SPEC §4; absent fields take Aidbox's defaults.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub name: String,
    pub executor: ExecutorKind,
    #[serde(default = "defaults::requested_to_start_timeout_ms")]
    pub requested_to_start_timeout_ms: u64,
    #[serde(default = "defaults::in_progress_timeout_ms")]
    pub in_progress_timeout_ms: u64,
    #[serde(default = "defaults::allowed_retry_count")]
    pub allowed_retry_count: u32,
    #[serde(default = "defaults::retry_delay_ms")]
    pub retry_delay_ms: u64,
    #[serde(default = "defaults::retry_backoff")]
    pub retry_backoff: f64,
    #[serde(default = "defaults::max_retry_delay_ms")]
    pub max_retry_delay_ms: u64,
    #[serde(default)]
    pub concurrency_limit: Option<u32>,
    #[serde(default)]
    pub concurrency_path: Option<Vec<String>>,
    #[serde(default)]
    pub queue_capacity: Option<u64>,
    #[serde(default = "defaults::retention_ms")]
    pub retention_ms: u64,
    #[serde(default)]
    pub params_schema: Option<Value>,
    #[serde(default)]
    pub result_schema: Option<Value>,
    #[serde(default)]
    pub error_schema: Option<Value>,
    #[serde(default)]
    pub desc: Option<String>,
}

mod defaults {
    pub fn requested_to_start_timeout_ms() -> u64 {
        10_000
    }
    pub fn in_progress_timeout_ms() -> u64 {
        120_000
    }
    pub fn allowed_retry_count() -> u32 {
        2
    }
    pub fn retry_delay_ms() -> u64 {
        10_000
    }
    pub fn retry_backoff() -> f64 {
        1.0
    }
    pub fn max_retry_delay_ms() -> u64 {
        3_600_000
    }
    pub fn retention_ms() -> u64 {
        604_800_000
    }
}

impl Definition {
    /// A definition with every default, for the given name and executor.
    pub fn new(name: impl Into<String>, executor: ExecutorKind) -> Definition {
        Definition {
            name: name.into(),
            executor,
            requested_to_start_timeout_ms: defaults::requested_to_start_timeout_ms(),
            in_progress_timeout_ms: defaults::in_progress_timeout_ms(),
            allowed_retry_count: defaults::allowed_retry_count(),
            retry_delay_ms: defaults::retry_delay_ms(),
            retry_backoff: defaults::retry_backoff(),
            max_retry_delay_ms: defaults::max_retry_delay_ms(),
            concurrency_limit: None,
            concurrency_path: None,
            queue_capacity: None,
            retention_ms: defaults::retention_ms(),
            params_schema: None,
            result_schema: None,
            error_schema: None,
            desc: None,
        }
    }

    /// Delay before retry number `retry_count + 1`:
    /// `retry_delay_ms × retry_backoff^retry_count`, capped at `max_retry_delay_ms`.
    pub fn retry_delay(&self, retry_count: u32) -> u64 {
        let factor = self
            .retry_backoff
            .powi(i32::try_from(retry_count).unwrap_or(i32::MAX));
        let delay = self.retry_delay_ms as f64 * factor;
        if !delay.is_finite() || delay >= self.max_retry_delay_ms as f64 {
            self.max_retry_delay_ms
        } else {
            delay.max(0.0) as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_aidbox_s() {
        let def: Definition =
            serde_json::from_str(r#"{"name":"sum","executor":"builtin:sum"}"#).unwrap();
        assert_eq!(
            def,
            Definition::new("sum", ExecutorKind::Builtin("sum".into()))
        );
        assert_eq!(def.allowed_retry_count, 2);
        assert_eq!(def.retention_ms, 604_800_000);
    }

    #[test]
    fn unknown_fields_and_bad_executors_are_refused() {
        let err =
            serde_json::from_str::<Definition>(r#"{"name":"a","executor":"external","retries":3}"#)
                .unwrap_err();
        assert!(err.to_string().contains("retries"), "{err}");
        let err =
            serde_json::from_str::<Definition>(r#"{"name":"a","executor":"lambda"}"#).unwrap_err();
        assert!(err.to_string().contains("builtin:<handler>"), "{err}");
    }

    #[test]
    fn retry_delay_grows_and_is_capped() {
        let mut def = Definition::new("a", ExecutorKind::External);
        def.retry_delay_ms = 1_000;
        def.retry_backoff = 2.0;
        def.max_retry_delay_ms = 5_000;
        assert_eq!(def.retry_delay(0), 1_000);
        assert_eq!(def.retry_delay(1), 2_000);
        assert_eq!(def.retry_delay(2), 4_000);
        assert_eq!(def.retry_delay(3), 5_000);
        assert_eq!(def.retry_delay(400), 5_000);
    }
}
