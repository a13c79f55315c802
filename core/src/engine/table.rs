//! Tasks by id. Ids are dense and strictly increasing, so a deque of slots gives O(1)
//! lookup and id-ordered iteration without a tree; cleaned tasks leave a hole, and holes
//! at the front (the oldest tasks, which retention cleans first) are dropped.

use super::record::TaskRecord;
use crate::model::TaskId;
use std::collections::VecDeque;

#[derive(Default, Debug, Clone, PartialEq)]
pub struct TaskTable {
    /// The id of `slots[0]`.
    base: TaskId,
    slots: VecDeque<Option<Box<TaskRecord>>>,
    len: usize,
}

impl TaskTable {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn slot(&self, id: TaskId) -> Option<usize> {
        id.checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
            .filter(|i| *i < self.slots.len())
    }

    pub fn get(&self, id: TaskId) -> Option<&TaskRecord> {
        self.slot(id).and_then(|i| self.slots[i].as_deref())
    }

    pub fn get_mut(&mut self, id: TaskId) -> Option<&mut TaskRecord> {
        self.slot(id).and_then(|i| self.slots[i].as_deref_mut())
    }

    pub fn contains(&self, id: TaskId) -> bool {
        self.get(id).is_some()
    }

    /// Inserts a record. Ids usually arrive in increasing order (new tasks); a restore
    /// may hand them over in any order, so lower ids grow the table at the front.
    pub fn insert(&mut self, record: TaskRecord) {
        let id = record.task.id;
        if self.slots.is_empty() {
            self.base = id;
        }
        if id < self.base {
            for _ in id..self.base {
                self.slots.push_front(None);
            }
            self.base = id;
        }
        let i = (id - self.base) as usize;
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        if self.slots[i].is_none() {
            self.len += 1;
        }
        self.slots[i] = Some(Box::new(record));
    }

    pub fn remove(&mut self, id: TaskId) -> Option<TaskRecord> {
        let i = self.slot(id)?;
        let record = self.slots[i].take()?;
        self.len -= 1;
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
        if self.slots.is_empty() {
            self.base = 0;
        }
        Some(*record)
    }

    /// Records in id order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &TaskRecord> {
        self.slots.iter().filter_map(|s| s.as_deref())
    }

    /// Records with id above `after`, in id order.
    pub fn iter_after(&self, after: TaskId) -> impl Iterator<Item = &TaskRecord> {
        let skip = after
            .saturating_add(1)
            .saturating_sub(self.base)
            .min(self.slots.len() as u64) as usize;
        self.slots.range(skip..).filter_map(|s| s.as_deref())
    }

    /// Records with id below `before`, in descending id order.
    pub fn iter_before_rev(&self, before: TaskId) -> impl Iterator<Item = &TaskRecord> {
        let end = before
            .saturating_sub(self.base)
            .min(self.slots.len() as u64) as usize;
        self.slots.range(..end).rev().filter_map(|s| s.as_deref())
    }
}
