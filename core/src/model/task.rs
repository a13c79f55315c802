//! The task as the API shows it (SPEC §1), and the inputs it is created from.

use super::Json;
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

pub type TaskId = u64;

/// Lifecycle status, in lifecycle order (the order `sort=status` uses).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Created,
    Waiting,
    Ready,
    Requested,
    InProgress,
    Done,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Created,
        Status::Waiting,
        Status::Ready,
        Status::Requested,
        Status::InProgress,
        Status::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Waiting => "waiting",
            Status::Ready => "ready",
            Status::Requested => "requested",
            Status::InProgress => "in-progress",
            Status::Done => "done",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Succeeded,
    Failed,
    Canceled,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Succeeded, Outcome::Failed, Outcome::Canceled];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Canceled => "canceled",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an attempt or a task ended (SPEC §2, `outcome_reason.type`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReasonType {
    Succeeded,
    Concluded,
    FailedByExecutor,
    HandlerPanicked,
    InProgressTimeout,
    Timeout,
    InvalidResult,
    Interrupted,
    Canceled,
    ParentCanceled,
}

impl ReasonType {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonType::Succeeded => "succeeded",
            ReasonType::Concluded => "concluded",
            ReasonType::FailedByExecutor => "failed-by-executor",
            ReasonType::HandlerPanicked => "handler-panicked",
            ReasonType::InProgressTimeout => "in-progress-timeout",
            ReasonType::Timeout => "timeout",
            ReasonType::InvalidResult => "invalid-result",
            ReasonType::Interrupted => "interrupted",
            ReasonType::Canceled => "canceled",
            ReasonType::ParentCanceled => "parent-canceled",
        }
    }
}

/// `outcome_reason`: `{ "type", "message", "data" }`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Reason {
    #[serde(rename = "type")]
    pub kind: ReasonType,
    /// Shared: most tasks end with one of a few messages, and an attempt's reason repeats
    /// its task's.
    pub message: Arc<str>,
    #[serde(default = "Json::null")]
    pub data: Json,
}

impl Reason {
    pub fn new(kind: ReasonType, message: impl Into<Arc<str>>) -> Reason {
        Reason {
            kind,
            message: message.into(),
            data: Json::null(),
        }
    }
}

/// Why a ready task is not being claimed (SPEC §1 `blocked_by`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockedBy {
    ThreadLocked,
    ThreadPaused,
    ThreadBusy,
    Concluding,
    ConcurrencyLimit,
    NoExecutor,
}

impl BlockedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockedBy::ThreadLocked => "thread-locked",
            BlockedBy::ThreadPaused => "thread-paused",
            BlockedBy::ThreadBusy => "thread-busy",
            BlockedBy::Concluding => "concluding",
            BlockedBy::ConcurrencyLimit => "concurrency-limit",
            BlockedBy::NoExecutor => "no-executor",
        }
    }
}

/// The inputs of a new task: a task definition inside a `run` action (SPEC §1, *in*).
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conf: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub archive: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub open: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execute_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub hold: bool,
}

impl TaskSpec {
    pub fn new(name: impl Into<String>) -> TaskSpec {
        TaskSpec {
            name: name.into(),
            ..TaskSpec::default()
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// A task as the API returns it (SPEC §1). `blocked_by` is filled in when the engine
/// hands out a view; the engine's own record keeps it `None`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub name: Arc<str>,
    pub conf: Json,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Box<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Arc<str>>,
    pub auto: bool,
    pub archive: bool,
    pub open: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<Box<str>>,
    pub priority: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execute_at: Option<Millis>,
    pub hold: bool,
    pub requester: Arc<str>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_reason: Option<Reason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<BlockedBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Json>,
    pub retry_count: u32,
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<Arc<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    pub awaiting_conclude: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_of: Option<TaskId>,
    pub created_at: Millis,
    pub updated_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concluded_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclude_at: Option<Millis>,
}

impl Task {
    pub fn is_done(&self) -> bool {
        self.status == Status::Done
    }

    /// The inputs this task was created from, as a re-run copies them: everything but
    /// `key`, `hold` and `execute_at` (a re-run is immediate).
    pub fn rerun_spec(&self) -> TaskSpec {
        TaskSpec {
            name: self.name.to_string(),
            conf: Some(self.conf.value()),
            key: None,
            parent: self.parent,
            thread: self.thread.as_deref().map(str::to_string),
            auto: self.auto,
            archive: self.archive,
            open: self.open,
            desc: self.desc.as_deref().map(str::to_string),
            priority: self.priority,
            timeout: self.timeout,
            ref_id: self.ref_id,
            execute_at: None,
            hold: false,
        }
    }
}

/// One started attempt, kept so retried failures stay visible (SPEC §1 `attempts`).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Attempt {
    pub attempt: u32,
    pub exec_id: Uuid,
    pub executor: Arc<str>,
    pub claimed_at: Millis,
    pub started_at: Millis,
    #[serde(default)]
    pub ended_at: Option<Millis>,
    #[serde(default)]
    pub reason: Option<AttemptReason>,
}

/// How an attempt ended: `{ "type", "message" }`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct AttemptReason {
    #[serde(rename = "type")]
    pub kind: ReasonType,
    #[serde(default, skip_serializing_if = "str_is_empty")]
    pub message: Arc<str>,
}

fn str_is_empty(s: &Arc<str>) -> bool {
    s.is_empty()
}

/// The single-task view: the task plus its attempts, children and workspace files.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct TaskDetail {
    #[serde(flatten)]
    pub task: Task,
    pub attempts: Vec<Attempt>,
    pub children: Vec<TaskId>,
    pub workspace_files: Vec<String>,
}
