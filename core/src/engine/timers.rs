//! Timers as data: the engine pushes a timer when something may happen later, and
//! `tick(now)` fires the due ones. Timers are never removed; a fired timer checks that
//! what it was set for still holds (lazy deletion), so moving a deadline is free.

use crate::model::TaskId;
use crate::time::Millis;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
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
    /// A concluded task's retention ends.
    Retention(TaskId),
    /// A parked long poll gives up.
    PollDeadline(u64),
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Timer {
    pub at: Millis,
    pub kind: TimerKind,
}

#[derive(Clone, Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<Timer>>,
}

impl PartialEq for Timers {
    fn eq(&self, other: &Self) -> bool {
        self.heap.len() == other.heap.len()
            && self.heap.clone().into_sorted_vec() == other.heap.clone().into_sorted_vec()
    }
}

impl Timers {
    pub fn push(&mut self, at: Millis, kind: TimerKind) {
        self.heap.push(Reverse(Timer { at, kind }));
    }

    pub fn next_at(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse(t)| t.at)
    }

    /// Pops the earliest timer if it is due at `now`.
    pub fn pop_due(&mut self, now: Millis) -> Option<Timer> {
        if self.next_at()? <= now {
            self.heap.pop().map(|Reverse(t)| t)
        } else {
            None
        }
    }
}

#[cfg(test)]
impl Timers {
    /// Every pending timer, in no particular order (for invariant checks).
    pub fn iter(&self) -> impl Iterator<Item = &Timer> {
        self.heap.iter().map(|Reverse(t)| t)
    }
}
