//! Task references (SPEC §5): an id, `{"type":"ref","ref":[...]}` or
//! `{"type":"query","filter":"..."}`.

use crate::model::{TaskId, TaskSpec};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

#[derive(Clone, PartialEq, Debug)]
pub enum TaskRef {
    Id(TaskId),
    /// Every task whose `ref_id` is in the list.
    Ref(Vec<i64>),
    /// Every task the filter matches when the action applies.
    Query(String),
}

impl TaskRef {
    fn from_value(value: Value) -> Result<TaskRef, String> {
        match value {
            Value::Number(n) => n
                .as_u64()
                .map(TaskRef::Id)
                .ok_or_else(|| format!("task reference {n} is not a task id (a whole number ≥ 0)")),
            Value::Object(map) => {
                let kind = map.get("type").and_then(Value::as_str).unwrap_or_default();
                match kind {
                    "ref" => {
                        #[derive(Deserialize)]
                        #[serde(deny_unknown_fields)]
                        struct R {
                            #[allow(dead_code)]
                            r#type: String,
                            r#ref: Vec<i64>,
                        }
                        serde_json::from_value::<R>(Value::Object(map))
                            .map(|r| TaskRef::Ref(r.r#ref))
                            .map_err(|e| format!("in a `ref` task reference: {e}"))
                    }
                    "query" => {
                        #[derive(Deserialize)]
                        #[serde(deny_unknown_fields)]
                        struct Q {
                            #[allow(dead_code)]
                            r#type: String,
                            filter: String,
                        }
                        serde_json::from_value::<Q>(Value::Object(map))
                            .map(|q| TaskRef::Query(q.filter))
                            .map_err(|e| format!("in a `query` task reference: {e}"))
                    }
                    other => Err(format!(
                        "task reference type `{other}` is unknown; use an id, {{\"type\":\"ref\",\"ref\":[...]}} or {{\"type\":\"query\",\"filter\":\"...\"}}"
                    )),
                }
            }
            other => Err(format!(
                "`{other}` is not a task reference; use an id, {{\"type\":\"ref\",\"ref\":[...]}} or {{\"type\":\"query\",\"filter\":\"...\"}}"
            )),
        }
    }

    fn to_value(&self) -> Value {
        match self {
            TaskRef::Id(id) => json!(id),
            TaskRef::Ref(refs) => json!({"type": "ref", "ref": refs}),
            TaskRef::Query(filter) => json!({"type": "query", "filter": filter}),
        }
    }
}

impl Serialize for TaskRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for TaskRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        TaskRef::from_value(Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// An element of a `run` action: a new task, or a reference to existing ones.
#[derive(Clone, PartialEq, Debug)]
pub enum RunItem {
    New(Box<TaskSpec>),
    Existing(TaskRef),
}

impl Serialize for RunItem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RunItem::New(spec) => spec.serialize(s),
            RunItem::Existing(r) => r.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for RunItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let is_spec = value.as_object().is_some_and(|m| !m.contains_key("type"));
        if is_spec {
            serde_json::from_value::<TaskSpec>(value)
                .map(|spec| RunItem::New(Box::new(spec)))
                .map_err(|e| D::Error::custom(format!("in a task definition: {e}")))
        } else {
            TaskRef::from_value(value)
                .map(RunItem::Existing)
                .map_err(D::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_shapes() {
        let refs: Vec<TaskRef> = serde_json::from_str(
            r#"[12, {"type":"ref","ref":[1,2]}, {"type":"query","filter":"status:failed"}]"#,
        )
        .unwrap();
        assert_eq!(
            refs,
            vec![
                TaskRef::Id(12),
                TaskRef::Ref(vec![1, 2]),
                TaskRef::Query("status:failed".into())
            ]
        );
        for r in &refs {
            let back: TaskRef = serde_json::from_value(serde_json::to_value(r).unwrap()).unwrap();
            assert_eq!(&back, r);
        }
    }

    #[test]
    fn refuses_unknown_shapes_with_a_hint() {
        let err = serde_json::from_str::<TaskRef>(r#"{"type":"refs","ref":[1]}"#).unwrap_err();
        assert!(err.to_string().contains("unknown"), "{err}");
        let err = serde_json::from_str::<TaskRef>(r#"{"type":"ref","ref":[1],"x":1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        assert!(serde_json::from_str::<TaskRef>("-3").is_err());
    }

    #[test]
    fn run_items_tell_specs_from_references() {
        let items: Vec<RunItem> =
            serde_json::from_str(r#"[{"name":"sum","conf":{"values":[1]}}, 7]"#).unwrap();
        assert!(matches!(&items[0], RunItem::New(s) if s.name == "sum"));
        assert_eq!(items[1], RunItem::Existing(TaskRef::Id(7)));
        let err = serde_json::from_str::<RunItem>(r#"{"name":"sum","prio":3}"#).unwrap_err();
        assert!(err.to_string().contains("prio"), "{err}");
    }
}
