//! The request and reply shapes of the actions (SPEC §5), the executor protocol (§6) and
//! the read API (§7). The server, the client and the console all use these types.

use crate::model::{RunItem, Task, TaskId, TaskRef, ThreadRow};
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

/// An action, in exactly the XINA shapes. Unknown fields are refused.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
pub enum Action {
    Run {
        tasks: Vec<RunItem>,
        #[serde(default)]
        ignore: bool,
    },
    Conclude {
        task: TaskId,
        #[serde(default)]
        delay: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
    },
    Cancel {
        tasks: Vec<TaskRef>,
        #[serde(default)]
        ignore: bool,
    },
    Clean {
        tasks: Vec<TaskRef>,
        #[serde(default)]
        ignore: bool,
    },
    Destroy {
        tasks: Vec<TaskRef>,
    },
    Pause {
        threads: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<Millis>,
    },
    Resume {
        threads: Vec<String>,
        #[serde(default, rename = "continue")]
        continue_: bool,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Run { .. } => "run",
            Action::Conclude { .. } => "conclude",
            Action::Cancel { .. } => "cancel",
            Action::Clean { .. } => "clean",
            Action::Destroy { .. } => "destroy",
            Action::Pause { .. } => "pause",
            Action::Resume { .. } => "resume",
        }
    }
}

/// The reply to an action; its shape depends on the action.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ActionReply {
    Run {
        tasks: Vec<TaskId>,
    },
    Conclude {
        task: TaskId,
        conclude_at: Millis,
    },
    Cancel {
        canceled: Vec<TaskId>,
        cascaded: Vec<TaskId>,
        ignored: Vec<TaskId>,
    },
    Clean {
        cleaned: Vec<TaskId>,
        ignored: Vec<TaskId>,
    },
    Destroy {
        destroyed: Vec<TaskId>,
    },
    Resume {
        threads: Vec<ThreadRow>,
        continued: Vec<TaskId>,
    },
    Pause {
        threads: Vec<ThreadRow>,
    },
}

/// Who is asking: shown as a task's `requester` and in `data.by` of a cancel.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Requester(pub String);

impl Requester {
    pub fn new(name: impl Into<String>) -> Requester {
        Requester(name.into())
    }
}

// --- executor protocol (SPEC §6) ---------------------------------------------------------

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollRequest {
    pub executor: String,
    pub definitions: Vec<String>,
    #[serde(default = "one")]
    pub max: u32,
    #[serde(default)]
    pub wait_ms: u64,
}

fn one() -> u32 {
    1
}

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct PollReply {
    pub tasks: Vec<Task>,
}

/// `start`: `{"id","exec_id"}`.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecRef {
    pub id: TaskId,
    pub exec_id: Uuid,
}

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyRequest {
    pub id: TaskId,
    pub exec_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<Vec<String>>,
}

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct NotifyReply {
    pub deadline: Millis,
}

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuccessRequest {
    pub id: TaskId,
    pub exec_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailRequest {
    pub id: TaskId,
    pub exec_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

// --- read API (SPEC §7) ------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    #[default]
    Id,
    Priority,
    CreatedAt,
    UpdatedAt,
    Name,
    Thread,
    Status,
}

impl SortKey {
    pub const ALL: [SortKey; 7] = [
        SortKey::Id,
        SortKey::Priority,
        SortKey::CreatedAt,
        SortKey::UpdatedAt,
        SortKey::Name,
        SortKey::Thread,
        SortKey::Status,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Id => "id",
            SortKey::Priority => "priority",
            SortKey::CreatedAt => "created_at",
            SortKey::UpdatedAt => "updated_at",
            SortKey::Name => "name",
            SortKey::Thread => "thread",
            SortKey::Status => "status",
        }
    }

    pub fn parse(text: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

/// A windowed task query: `GET /api/v1/tasks` and the console's table.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct TaskQuery {
    /// The filter language of SPEC §5; empty matches every task.
    #[serde(default)]
    pub filter: String,
    #[serde(default)]
    pub sort: SortKey,
    #[serde(default)]
    pub order: SortOrder,
    /// Rows to skip (the console's scroll position); 0 with keyset paging.
    #[serde(default)]
    pub offset: usize,
    pub limit: usize,
    /// Keyset cursor: the `next` of the previous page.
    #[serde(default)]
    pub after: Option<String>,
}

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    /// How many tasks match the filter in all.
    pub total: u64,
    pub next: Option<String>,
}

/// Counts by status and outcome. Either may be absent in JSON: `by_thread` of the stats
/// (SPEC §7) has no outcomes.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Counts {
    #[serde(default)]
    pub by_status: BTreeMap<String, u64>,
    #[serde(default)]
    pub by_outcome: BTreeMap<String, u64>,
}

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct WorkerRow {
    pub executor: String,
    pub definitions: Vec<String>,
    pub last_seen: Millis,
}

#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
}

#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Stats {
    pub by_status: BTreeMap<String, u64>,
    pub by_outcome: BTreeMap<String, u64>,
    pub by_definition: BTreeMap<String, Counts>,
    pub by_thread: BTreeMap<String, Counts>,
    pub completions_per_s: f64,
    pub queue_latency_ms: Latency,
    pub workers: Vec<WorkerRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_in_xina_shapes() {
        let a: Action =
            serde_json::from_str(r#"{"action":"resume","threads":["t"],"continue":true}"#).unwrap();
        assert_eq!(
            a,
            Action::Resume {
                threads: vec!["t".into()],
                continue_: true
            }
        );
        let a: Action = serde_json::from_str(r#"{"action":"cancel","tasks":[1]}"#).unwrap();
        assert_eq!(
            a,
            Action::Cancel {
                tasks: vec![TaskRef::Id(1)],
                ignore: false
            }
        );
    }

    #[test]
    fn unknown_fields_and_actions_are_refused() {
        let err =
            serde_json::from_str::<Action>(r#"{"action":"cancel","tasks":[1],"ignroe":true}"#)
                .unwrap_err();
        assert!(err.to_string().contains("ignroe"), "{err}");
        let err = serde_json::from_str::<Action>(r#"{"action":"explode"}"#).unwrap_err();
        assert!(err.to_string().contains("explode"), "{err}");
        let err = serde_json::from_str::<Action>(
            r#"{"action":"run","tasks":[{"name":"sum","colour":1}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn stats_read_back_as_the_api_shows_them() {
        // `by_thread` rows carry statuses only (SPEC §7).
        let stats: Stats = serde_json::from_value(serde_json::json!({
            "by_status": {"ready": 1},
            "by_outcome": {},
            "by_definition": {"sum": {"by_status": {}, "by_outcome": {}}},
            "by_thread": {"imports": {"by_status": {"ready": 1}}},
            "completions_per_s": 0.0,
            "queue_latency_ms": {"p50": 0.0, "p99": 0.0},
            "workers": []
        }))
        .unwrap();
        assert_eq!(stats.by_thread["imports"].by_status["ready"], 1);
        assert!(stats.by_thread["imports"].by_outcome.is_empty());
    }
}
