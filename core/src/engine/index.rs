//! The claim index: which ready tasks can be claimed next, without scanning.
//!
//! A task is *offered* when it is ready, has no pending conclusion, and (if it has a
//! thread) is the thread's next task while the thread is open. Offered tasks sit in their
//! concurrency group's `ready` set; the head of every group with a free slot sits in the
//! definition's `offer` set, so the next claim is `offer.first()`.

use super::record::{GroupKey, Rank};
use crate::model::{Outcome, Status, TaskId};
use crate::time::Millis;
use rustc_hash::FxHashMap as HashMap;
use std::cmp::Reverse;
use std::collections::BTreeSet;

#[derive(Clone, PartialEq, Debug, Default)]
pub struct Group {
    pub ready: BTreeSet<Rank>,
    /// Tasks of the group holding a slot (requested, or in progress with a live attempt).
    pub active: u32,
}

impl Group {
    fn has_slot(&self, limit: Option<u32>) -> bool {
        limit.is_none_or(|l| self.active < l)
    }
}

#[derive(Clone, PartialEq, Debug, Default)]
pub struct DefIndex {
    pub limit: Option<u32>,
    pub groups: HashMap<GroupKey, Group>,
    pub offer: BTreeSet<Rank>,
}

impl DefIndex {
    pub fn new(limit: Option<u32>) -> DefIndex {
        DefIndex {
            limit,
            ..DefIndex::default()
        }
    }

    pub fn add(&mut self, group: &GroupKey, rank: Rank) {
        let limit = self.limit;
        let g = self.groups.entry(group.clone()).or_default();
        let old_head = g.ready.first().copied();
        g.ready.insert(rank);
        if g.has_slot(limit) && old_head.is_none_or(|h| rank < h) {
            if let Some(h) = old_head {
                self.offer.remove(&h);
            }
            self.offer.insert(rank);
        }
    }

    pub fn remove(&mut self, group: &GroupKey, rank: Rank) {
        let limit = self.limit;
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        let was_head = g.ready.first() == Some(&rank);
        if !g.ready.remove(&rank) {
            return;
        }
        if was_head && g.has_slot(limit) {
            self.offer.remove(&rank);
            if let Some(h) = g.ready.first() {
                self.offer.insert(*h);
            }
        }
        if g.ready.is_empty() && g.active == 0 {
            self.groups.remove(group);
        }
    }

    /// A task of the group took (+1) or gave back (-1) a slot.
    pub fn slot_delta(&mut self, group: &GroupKey, taken: bool) {
        let limit = self.limit;
        let g = self.groups.entry(group.clone()).or_default();
        let before = g.has_slot(limit);
        if taken {
            g.active += 1;
        } else {
            g.active = g.active.saturating_sub(1);
        }
        let after = g.has_slot(limit);
        if before != after
            && let Some(h) = g.ready.first().copied()
        {
            if after {
                self.offer.insert(h);
            } else {
                self.offer.remove(&h);
            }
        }
        if g.ready.is_empty() && g.active == 0 {
            self.groups.remove(group);
        }
    }

    pub fn group_has_slot(&self, group: &GroupKey) -> bool {
        self.groups
            .get(group)
            .is_none_or(|g| g.has_slot(self.limit))
    }
}

/// Per-thread state: its ready tasks in thread order and who holds it.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct ThreadState {
    /// Ready tasks: continued first, then higher priority, then lower id.
    pub ready: BTreeSet<(bool, Reverse<i32>, TaskId)>,
    /// The task holding the thread: claimed and not yet concluded.
    pub current: Option<TaskId>,
    /// The task this thread currently offers for claiming.
    pub offered: Option<TaskId>,
    pub pause: Option<Pause>,
    pub lock: Option<(TaskId, Millis)>,
}

#[derive(Clone, PartialEq, Debug)]
pub struct Pause {
    pub at: Millis,
    pub until: Option<Millis>,
    pub by: String,
}

impl ThreadState {
    /// The task the thread should offer now, given which tasks are ready.
    pub fn next_offer(&self, is_ready: impl Fn(TaskId) -> bool) -> Option<TaskId> {
        if self.pause.is_some() {
            return None;
        }
        match self.current {
            Some(c) => is_ready(c).then_some(c),
            None => self.ready.first().map(|(_, _, id)| *id),
        }
    }

    pub fn is_idle(&self) -> bool {
        self.ready.is_empty()
            && self.current.is_none()
            && self.offered.is_none()
            && self.pause.is_none()
            && self.lock.is_none()
    }
}

/// Counts by status and outcome.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Tally {
    pub status: [u64; 6],
    pub outcome: [u64; 3],
}

impl Tally {
    pub fn add(&mut self, status: Status, outcome: Option<Outcome>) {
        self.status[status.index()] += 1;
        if let Some(o) = outcome {
            self.outcome[o.index()] += 1;
        }
    }

    pub fn sub(&mut self, status: Status, outcome: Option<Outcome>) {
        let s = &mut self.status[status.index()];
        *s = s.saturating_sub(1);
        if let Some(o) = outcome {
            let c = &mut self.outcome[o.index()];
            *c = c.saturating_sub(1);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.status.iter().all(|n| *n == 0)
    }

    /// Tasks not yet concluded.
    pub fn live(&self) -> u64 {
        self.status[..Status::Done.index()].iter().sum()
    }
}
