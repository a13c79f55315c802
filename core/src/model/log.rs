//! Per-task log entries (SPEC §1): transitions and executor log lines.

use crate::model::Status;
use crate::time::Millis;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogKind {
    Transition,
    Log,
}

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct LogEntry {
    pub seq: u64,
    pub at: Millis,
    pub kind: LogKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Status>,
    pub message: String,
}

/// A page of a task's log: `next` is the `after` for the following page, `None` at the end.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    pub next: Option<u64>,
}
