//! [`Json`]: a JSON value kept as its compact text, for the JSON a task carries (`conf`,
//! `result`, `error`). A parsed `serde_json::Value` object costs about 640 bytes in
//! allocations even for one key; the text of a small object costs a few dozen. The engine
//! holds every task in memory, so task JSON is kept as text, serialized verbatim, and
//! parsed only where a value is looked into (handlers, filters on `conf`, the console).
//!
//! The text is always the canonical form `serde_json` writes for the value (keys sorted,
//! no whitespace), so two `Json`s are equal exactly when their values are, and the API
//! shows the same bytes it did when tasks held parsed values.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::{Arc, OnceLock};

#[derive(Clone)]
pub struct Json(Arc<RawValue>);

impl Json {
    /// The canonical text of `value`.
    pub fn new(value: &Value) -> Json {
        // Writing a `Value` cannot fail: its map keys are strings.
        match serde_json::value::to_raw_value(value) {
            Ok(raw) => Json(Arc::from(raw)),
            Err(_) => Json::null(),
        }
    }

    /// `{}`, shared: most tasks are created without `conf`.
    pub fn empty_object() -> Json {
        static EMPTY: OnceLock<Json> = OnceLock::new();
        EMPTY
            .get_or_init(|| Json::new(&Value::Object(Default::default())))
            .clone()
    }

    /// `null`, shared.
    pub fn null() -> Json {
        static NULL: OnceLock<Json> = OnceLock::new();
        NULL.get_or_init(|| Json::new(&Value::Null)).clone()
    }

    /// Text this program wrote with [`Json::as_str`] (a stored record): checked to be JSON,
    /// not re-canonicalized.
    pub fn from_stored(text: &str) -> Result<Json, serde_json::Error> {
        match text {
            "{}" => Ok(Json::empty_object()),
            "null" => Ok(Json::null()),
            _ => RawValue::from_string(text.to_owned()).map(|raw| Json(Arc::from(raw))),
        }
    }

    /// The compact text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The parsed value. The text is valid JSON by construction, so this cannot fail; a
    /// value nested deeper than the parser's limit (impossible from our own writer) would
    /// read as `null`.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.as_str()).unwrap_or(Value::Null)
    }

    pub fn is_null(&self) -> bool {
        self.as_str() == "null"
    }

    /// Bytes of text.
    pub fn len(&self) -> usize {
        self.as_str().len()
    }

    pub fn is_empty(&self) -> bool {
        self.as_str().is_empty()
    }
}

impl Default for Json {
    /// `{}`: the default `conf` (SPEC §1).
    fn default() -> Self {
        Json::empty_object()
    }
}

impl From<Value> for Json {
    fn from(value: Value) -> Json {
        Json::new(&value)
    }
}

impl From<&Value> for Json {
    fn from(value: &Value) -> Json {
        Json::new(value)
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Json) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Value> for Json {
    fn eq(&self, other: &Value) -> bool {
        self.value() == *other
    }
}

impl std::fmt::Debug for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Json {
    /// Through a `Value`, so the text is canonical, and so it also works where serde
    /// buffers input (flattened and internally tagged types), which a raw value does not.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        Value::deserialize(deserializer).map(|v| Json::new(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_is_canonical_and_serializes_verbatim() {
        let j: Json = serde_json::from_str(r#"{ "b": [1, 2.5], "a": {"x": null} }"#).unwrap();
        assert_eq!(j.as_str(), r#"{"a":{"x":null},"b":[1,2.5]}"#);
        assert_eq!(j, json!({"a": {"x": null}, "b": [1, 2.5]}));
        let wrapped = serde_json::to_string(&json!({"conf": j.value()})).unwrap();
        #[derive(Serialize)]
        struct W {
            conf: Json,
        }
        assert_eq!(
            serde_json::to_string(&W { conf: j.clone() }).unwrap(),
            wrapped
        );
        assert_eq!(serde_json::to_value(&j).unwrap(), j.value());
    }

    #[test]
    fn equal_values_make_equal_json() {
        let a = Json::new(&json!({"k": 1, "j": "x"}));
        let b: Json = serde_json::from_str(r#"{"j":"x","k":1}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(Json::default().as_str(), "{}");
        assert_eq!(Json::null().value(), Value::Null);
    }

    #[test]
    fn stored_text_is_checked() {
        assert!(Json::from_stored("{\"a\":1}").is_ok());
        assert!(Json::from_stored("{\"a\":").is_err());
        assert!(Json::from_stored("").is_err());
    }
}
