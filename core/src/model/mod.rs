//! The data model shared by the engine, the server, the client and the console.

mod definition;
mod event;
mod json;
mod log;
mod reference;
mod schedule;
mod task;
mod thread;

pub use definition::{Definition, ExecutorKind};
pub use event::{Event, EventKind};
pub use json::Json;
pub use log::{LogEntry, LogKind, LogPage};
pub use reference::{RunItem, TaskRef};
pub use schedule::{Overlap, Schedule, ScheduleRow};
pub use task::{
    Attempt, AttemptReason, BlockedBy, Outcome, Reason, ReasonType, Status, Task, TaskDetail,
    TaskId, TaskSpec,
};
pub use thread::{ThreadRow, validate_thread_name};
