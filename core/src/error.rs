//! The error every part of taskyard speaks: a stable kebab-case code, a sentence a person
//! can act on, and optionally the tasks concerned (SPEC §7).

use crate::model::TaskId;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    InvalidJson,
    InvalidAction,
    InvalidConf,
    InvalidQuery,
    InvalidName,
    InvalidDefinition,
    InvalidSchedule,
    UnknownDefinition,
    ParentNotFound,
    InvalidDelay,
    LimitExceeded,
    Unauthenticated,
    Forbidden,
    TaskNotFound,
    DefinitionNotFound,
    ScheduleNotFound,
    NotFound,
    TaskConcluded,
    TaskCanceled,
    TaskNotConcluded,
    TaskActive,
    StaleExecution,
    DefinitionInUse,
    MethodNotAllowed,
    BodyTooLarge,
    QueueFull,
    Internal,
}

impl ErrorCode {
    /// The HTTP status that goes with the code.
    pub fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            InvalidJson | InvalidAction | InvalidConf | InvalidQuery | InvalidName
            | InvalidDefinition | InvalidSchedule | UnknownDefinition | ParentNotFound
            | InvalidDelay | LimitExceeded => 400,
            Unauthenticated => 401,
            Forbidden => 403,
            TaskNotFound | DefinitionNotFound | ScheduleNotFound | NotFound => 404,
            MethodNotAllowed => 405,
            TaskConcluded | TaskCanceled | TaskNotConcluded | TaskActive | StaleExecution
            | DefinitionInUse => 409,
            BodyTooLarge => 413,
            QueueFull => 429,
            Internal => 500,
        }
    }

    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidJson => "invalid-json",
            InvalidAction => "invalid-action",
            InvalidConf => "invalid-conf",
            InvalidQuery => "invalid-query",
            InvalidName => "invalid-name",
            InvalidDefinition => "invalid-definition",
            InvalidSchedule => "invalid-schedule",
            UnknownDefinition => "unknown-definition",
            ParentNotFound => "parent-not-found",
            InvalidDelay => "invalid-delay",
            LimitExceeded => "limit-exceeded",
            Unauthenticated => "unauthenticated",
            Forbidden => "forbidden",
            TaskNotFound => "task-not-found",
            DefinitionNotFound => "definition-not-found",
            ScheduleNotFound => "schedule-not-found",
            NotFound => "not-found",
            TaskConcluded => "task-concluded",
            TaskCanceled => "task-canceled",
            TaskNotConcluded => "task-not-concluded",
            TaskActive => "task-active",
            StaleExecution => "stale-execution",
            DefinitionInUse => "definition-in-use",
            MethodNotAllowed => "method-not-allowed",
            BodyTooLarge => "body-too-large",
            QueueFull => "queue-full",
            Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as the API returns it inside `{"error": ...}`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            tasks: Vec::new(),
            details: None,
        }
    }

    pub fn with_tasks(mut self, tasks: Vec<TaskId>) -> Error {
        self.tasks = tasks;
        self
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Error {
        self.details = Some(details);
        self
    }

    pub fn task_not_found(id: TaskId) -> Error {
        Error::new(
            ErrorCode::TaskNotFound,
            format!(
                "task {id} does not exist (it may have been cleaned); list tasks to find its id"
            ),
        )
        .with_tasks(vec![id])
    }

    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Lists ids for a message: `12, 13 and 14`, eliding after a few.
pub(crate) fn id_list(ids: &[TaskId]) -> String {
    const SHOWN: usize = 8;
    let mut parts: Vec<String> = ids.iter().take(SHOWN).map(|id| id.to_string()).collect();
    if ids.len() > SHOWN {
        parts.push(format!("{} more", ids.len() - SHOWN));
    }
    match parts.len() {
        0 => String::new(),
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} and {last}", parts.join(", "))
        }
    }
}
