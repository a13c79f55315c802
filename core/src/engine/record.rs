//! The engine's record of one task: the task as the API shows it, its attempts, and the
//! bookkeeping the state machine needs (deadlines, index keys). Storage persists it whole.

use crate::model::{Attempt, Json, Status, Task, TaskId};
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::sync::Arc;
use uuid::Uuid;

/// Concurrency group of a task within its definition: the JSON text of the value found
/// at `concurrency_path` (`None` without a path).
pub type GroupKey = Option<Arc<str>>;

/// Claim order: higher priority first, then lower id.
pub type Rank = (Reverse<i32>, TaskId);

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct TaskRecord {
    pub task: Task,
    /// Exactly as long as it is (most tasks have one attempt or none); see `push_attempt`.
    #[serde(default)]
    pub attempts: Box<[Attempt]>,
    /// `None` for the many tasks without children.
    #[serde(default)]
    pub children: Option<Box<Vec<TaskId>>>,
    #[serde(default)]
    pub group: GroupKey,
    /// Continued after a lock: runs before the rest of its thread.
    #[serde(default)]
    pub front: bool,
    #[serde(default)]
    pub claimed_at: When,
    /// `requested` must start before this.
    #[serde(default)]
    pub start_deadline: When,
    /// `in-progress` must heartbeat before this.
    #[serde(default)]
    pub heartbeat_deadline: When,
    /// End of the task's own `timeout` for the current attempt.
    #[serde(default)]
    pub timeout_deadline: When,
    /// When it last became `ready`, for queue latency.
    #[serde(default)]
    pub ready_at: When,
    /// The result a pending delayed `conclude` will set.
    #[serde(default)]
    pub pending_result: Option<Box<Json>>,
    /// Sequence of the task's last log entry.
    #[serde(default)]
    pub log_seq: u64,
    /// When the timer of the current status is scheduled (set by `attach`).
    #[serde(skip)]
    pub status_timer: When,
}

impl TaskRecord {
    pub fn id(&self) -> TaskId {
        self.task.id
    }

    pub fn children(&self) -> &[TaskId] {
        self.children.as_deref().map_or(&[], Vec::as_slice)
    }

    pub fn add_child(&mut self, id: TaskId) {
        self.children.get_or_insert_default().push(id);
    }

    pub fn remove_child(&mut self, id: TaskId) {
        if let Some(c) = &mut self.children {
            c.retain(|c| *c != id);
            if c.is_empty() {
                self.children = None;
            }
        }
    }

    /// Appends an attempt. Copies the others, but tasks have few attempts, and no spare
    /// room is kept for the ones they never make.
    pub fn push_attempt(&mut self, attempt: Attempt) {
        let mut all = std::mem::take(&mut self.attempts).into_vec();
        all.reserve_exact(1);
        all.push(attempt);
        self.attempts = all.into_boxed_slice();
    }

    pub fn rank(&self) -> Rank {
        (Reverse(self.task.priority), self.task.id)
    }

    /// The exec id of the attempt that may still report, if any.
    pub fn live_exec(&self) -> Option<Uuid> {
        match self.task.status {
            Status::Requested => self.task.exec_id,
            Status::InProgress if !self.task.awaiting_conclude => self.task.exec_id,
            _ => None,
        }
    }

    /// Counts toward its definition's concurrency limit.
    pub fn holds_slot(&self) -> bool {
        self.live_exec().is_some()
    }

    /// Ready and free of a pending conclusion: a candidate for claiming.
    pub fn is_claimable_status(&self) -> bool {
        self.task.status == Status::Ready && self.task.conclude_at.is_none()
    }

    /// The timer the current status needs, if any: when, and which.
    pub fn wanted_status_timer(&self) -> Option<(Millis, super::timers::TimerKind)> {
        use super::timers::TimerKind;
        let id = self.task.id;
        match self.task.status {
            Status::Waiting => Some((self.task.execute_at?, TimerKind::ExecuteAt(id))),
            Status::Requested => Some((self.start_deadline.get()?, TimerKind::StartDeadline(id))),
            Status::InProgress if !self.task.awaiting_conclude => {
                Some((self.attempt_deadline()?, TimerKind::AttemptDeadline(id)))
            }
            _ => None,
        }
    }

    /// The status-timer kind for the current status.
    pub fn status_timer_kind(&self) -> Option<super::timers::TimerKind> {
        use super::timers::TimerKind;
        let id = self.task.id;
        match self.task.status {
            Status::Waiting => Some(TimerKind::ExecuteAt(id)),
            Status::Requested => Some(TimerKind::StartDeadline(id)),
            Status::InProgress => Some(TimerKind::AttemptDeadline(id)),
            _ => None,
        }
    }

    /// The earliest moment the current attempt times out.
    pub fn attempt_deadline(&self) -> Option<Millis> {
        match (self.heartbeat_deadline.get(), self.timeout_deadline.get()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// An optional moment in 8 bytes where `Option<Millis>` takes 16: the engine keeps six per
/// task. `i64::MIN`, which no clock reading or deadline reaches, stands for none.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Option<Millis>", into = "Option<Millis>")]
pub struct When(i64);

impl When {
    pub const NONE: When = When(i64::MIN);

    pub fn get(self) -> Option<Millis> {
        (self != When::NONE).then_some(Millis(self.0))
    }

    pub fn is_some(self) -> bool {
        self != When::NONE
    }
}

impl Default for When {
    fn default() -> Self {
        When::NONE
    }
}

impl From<Option<Millis>> for When {
    fn from(at: Option<Millis>) -> When {
        at.map_or(When::NONE, |m| When(m.0))
    }
}

impl From<Millis> for When {
    fn from(at: Millis) -> When {
        When(at.0)
    }
}

impl From<When> for Option<Millis> {
    fn from(w: When) -> Option<Millis> {
        w.get()
    }
}

impl std::fmt::Debug for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}
