//! Events: every state change, numbered by a strictly increasing `seq` (SPEC §7).

use crate::model::{Definition, LogEntry, Outcome, ScheduleRow, Status, Task, TaskId, ThreadRow};
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub at: Millis,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EventKind {
    /// A task was created; `entry` is its first log entry.
    TaskCreated {
        task: Box<Task>,
        entry: LogEntry,
    },
    /// A task changed status; `entry` is the transition's log entry.
    TaskStatus {
        id: TaskId,
        name: Arc<str>,
        thread: Option<Arc<str>>,
        from: Status,
        to: Status,
        outcome: Option<Outcome>,
        entry: LogEntry,
    },
    /// An executor or handler appended a log line.
    TaskLog {
        id: TaskId,
        entry: LogEntry,
    },
    TaskProgress {
        id: TaskId,
        progress: f64,
    },
    /// A task was deleted for good (clean, destroy, retention).
    TaskCleaned {
        id: TaskId,
    },
    ThreadUpdated {
        thread: Box<ThreadRow>,
    },
    /// A schedule was registered, changed or fired; `schedule` is `None` when it was
    /// deleted.
    ScheduleUpdated {
        name: String,
        schedule: Option<Box<ScheduleRow>>,
    },
    /// A definition was registered or changed; `definition` is `None` when it was deleted.
    DefinitionUpdated {
        name: String,
        definition: Option<Box<Definition>>,
    },
}

impl EventKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::TaskCreated { .. } => "task-created",
            EventKind::TaskStatus { .. } => "task-status",
            EventKind::TaskLog { .. } => "task-log",
            EventKind::TaskProgress { .. } => "task-progress",
            EventKind::TaskCleaned { .. } => "task-cleaned",
            EventKind::ThreadUpdated { .. } => "thread-updated",
            EventKind::DefinitionUpdated { .. } => "definition-updated",
            EventKind::ScheduleUpdated { .. } => "schedule-updated",
        }
    }

    /// The task the event is about, if any.
    pub fn task_id(&self) -> Option<TaskId> {
        match self {
            EventKind::TaskCreated { task, .. } => Some(task.id),
            EventKind::TaskStatus { id, .. }
            | EventKind::TaskLog { id, .. }
            | EventKind::TaskProgress { id, .. }
            | EventKind::TaskCleaned { id } => Some(*id),
            EventKind::ThreadUpdated { .. }
            | EventKind::DefinitionUpdated { .. }
            | EventKind::ScheduleUpdated { .. } => None,
        }
    }

    /// The log entry the event adds to its task's log, if any.
    pub fn log_entry(&self) -> Option<&LogEntry> {
        match self {
            EventKind::TaskCreated { entry, .. }
            | EventKind::TaskStatus { entry, .. }
            | EventKind::TaskLog { entry, .. } => Some(entry),
            _ => None,
        }
    }
}
