//! Timers as data: the engine schedules a timer when something may happen later, and
//! `tick(now)` fires the due ones. A task's status timer (execute_at, start deadline,
//! attempt deadline) and its pending-conclusion timer are scheduled by `attach` and
//! removed by `detach`, so only live deadlines are kept. A fired timer still re-checks
//! that what it was set for holds (a heartbeat moves a deadline without rescheduling).

use crate::model::TaskId;
use crate::time::Millis;
use std::collections::BTreeSet;
use std::sync::Arc;

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum TimerKind {
    /// A waiting task's `execute_at` (first run or retry).
    ExecuteAt(TaskId),
    /// A requested task must have started.
    StartDeadline(TaskId),
    /// An in-progress attempt's heartbeat or `timeout` deadline.
    AttemptDeadline(TaskId),
    /// A delayed `conclude`.
    Conclude(TaskId),
    /// A `pause ... until` ends.
    PauseUntil(Arc<str>),
    /// A schedule's next firing.
    ScheduleFire(Arc<str>),
    /// A parked long poll gives up.
    PollDeadline(u64),
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Timer {
    pub at: Millis,
    pub kind: TimerKind,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timers {
    set: BTreeSet<Timer>,
}

impl Timers {
    pub fn push(&mut self, at: Millis, kind: TimerKind) {
        self.set.insert(Timer { at, kind });
    }

    pub fn remove(&mut self, at: Millis, kind: TimerKind) {
        self.set.remove(&Timer { at, kind });
    }

    pub fn next_at(&self) -> Option<Millis> {
        self.set.first().map(|t| t.at)
    }

    /// Pops the earliest timer if it is due at `now`.
    pub fn pop_due(&mut self, now: Millis) -> Option<Timer> {
        if self.next_at()? <= now {
            self.set.pop_first()
        } else {
            None
        }
    }

    /// Every pending timer, in time order (for invariant checks).
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &Timer> {
        self.set.iter()
    }
}
