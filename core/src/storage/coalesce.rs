//! Group commit merges batches: this turns a run of batches into the writes they amount
//! to, so that a task claimed, started and finished across the merged batches is written
//! once, in its final state. Backend-neutral; every database backend uses it.
//!
//! Sorting rather than hashing: records arrive mostly in id order, so a stable sort is
//! nearly free, keeps each task's log entries in order, and hands the backend its writes
//! in key order.

use super::Batch;
use crate::engine::TaskRecord;
use crate::model::{Definition, EventKind, LogEntry, ScheduleRow, TaskId, ThreadRow};

/// The net effect of a run of batches.
#[derive(Debug, Default)]
pub struct Coalesced<'a> {
    /// Every task that changed, in id order: its final record, or `None` when it was
    /// cleaned (delete its record and its log).
    pub tasks: Vec<(TaskId, Option<&'a TaskRecord>)>,
    /// New log entries of tasks that still exist, by task id, each task's in `seq`
    /// order; see [`Coalesced::logs`].
    entries: Vec<(TaskId, &'a LogEntry)>,
    /// The final row of every thread that changed, by name.
    pub threads: Vec<&'a ThreadRow>,
    /// The final state of every definition that changed: `None` when deleted.
    pub definitions: Vec<(&'a str, Option<&'a Definition>)>,
    /// The final state of every schedule that changed or fired: `None` when deleted.
    pub schedules: Vec<(&'a str, Option<&'a ScheduleRow>)>,
    pub next_id: TaskId,
    pub next_seq: u64,
}

impl<'a> Coalesced<'a> {
    /// New log entries by task, in id order: `(id, entries in seq order)`.
    pub fn logs(&self) -> impl Iterator<Item = (TaskId, Vec<&'a LogEntry>)> + '_ {
        self.entries
            .chunk_by(|a, b| a.0 == b.0)
            .map(|run| (run[0].0, run.iter().map(|(_, e)| *e).collect()))
    }
}

/// Keeps the last of each run of equal keys in a stably sorted list.
fn last_of_each<K: PartialEq + Copy, V>(sorted: Vec<(K, V)>) -> Vec<(K, V)> {
    let mut out: Vec<(K, V)> = Vec::with_capacity(sorted.len());
    for (k, v) in sorted {
        match out.last_mut() {
            Some(last) if last.0 == k => *last = (k, v),
            _ => out.push((k, v)),
        }
    }
    out
}

/// Merges `batches` (in commit order) into their net writes.
pub fn coalesce(batches: &[Batch]) -> Coalesced<'_> {
    let records: usize = batches.iter().map(|b| b.records.len()).sum();
    let events: usize = batches.iter().map(|b| b.events.len()).sum();
    let mut tasks: Vec<(TaskId, Option<&TaskRecord>)> = Vec::with_capacity(records);
    let mut entries: Vec<(TaskId, &LogEntry)> = Vec::with_capacity(events);
    let mut threads: Vec<(&str, &ThreadRow)> = Vec::new();
    let mut definitions: Vec<(&str, Option<&Definition>)> = Vec::new();
    let mut schedules: Vec<(&str, Option<&ScheduleRow>)> = Vec::new();
    let mut cleaned = false;
    let (mut next_id, mut next_seq) = (0, 0);
    for batch in batches {
        next_id = next_id.max(batch.next_id);
        next_seq = next_seq.max(batch.next_seq);
        // A batch's records are the state after all of its events, and a cleaned task is
        // never among them (ids are never reused), so records first, cleanings after.
        tasks.extend(batch.records.iter().map(|r| (r.id(), Some(r))));
        for event in batch.events.iter() {
            match &event.kind {
                EventKind::TaskCleaned { id } => {
                    tasks.push((*id, None));
                    cleaned = true;
                }
                EventKind::ThreadUpdated { thread } => {
                    threads.push((thread.name.as_str(), &**thread));
                }
                EventKind::DefinitionUpdated { name, definition } => {
                    definitions.push((name, definition.as_deref()));
                }
                EventKind::ScheduleUpdated { name, schedule } => {
                    schedules.push((name, schedule.as_deref()));
                }
                kind => {
                    if let (Some(id), Some(entry)) = (kind.task_id(), kind.log_entry()) {
                        entries.push((id, entry));
                    }
                }
            }
        }
    }
    // Stable sorts: for each key, the last pushed is the latest state.
    tasks.sort_by_key(|(id, _)| *id);
    let tasks = last_of_each(tasks);
    entries.sort_by_key(|(id, _)| *id);
    if cleaned {
        // A cleaned task's log goes with it, entries of the same group included.
        let gone: Vec<TaskId> = tasks
            .iter()
            .filter(|(_, r)| r.is_none())
            .map(|(id, _)| *id)
            .collect();
        entries.retain(|(id, _)| gone.binary_search(id).is_err());
    }
    threads.sort_by_key(|(name, _)| *name);
    definitions.sort_by_key(|(name, _)| *name);
    schedules.sort_by_key(|(name, _)| *name);
    Coalesced {
        tasks,
        entries,
        threads: last_of_each(threads).into_iter().map(|(_, t)| t).collect(),
        definitions: last_of_each(definitions),
        schedules: last_of_each(schedules),
        next_id,
        next_seq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, LogKind};
    use crate::time::Millis;
    use std::sync::Arc;

    fn entry(id: TaskId, seq: u64, log_seq: u64) -> Event {
        Event {
            seq,
            at: Millis(0),
            kind: EventKind::TaskLog {
                id,
                entry: LogEntry {
                    seq: log_seq,
                    at: Millis(0),
                    kind: LogKind::Log,
                    from: None,
                    to: None,
                    message: format!("{id}/{log_seq}"),
                },
            },
        }
    }

    #[test]
    fn entries_group_by_task_in_order_and_cleaned_tasks_lose_theirs() {
        let b1 = Batch {
            events: Arc::new(vec![entry(5, 1, 1), entry(3, 2, 1), entry(5, 3, 2)]),
            ..Batch::default()
        };
        let b2 = Batch {
            events: Arc::new(vec![
                entry(3, 4, 2),
                entry(7, 5, 1),
                Event {
                    seq: 6,
                    at: Millis(0),
                    kind: EventKind::TaskCleaned { id: 7 },
                },
                entry(5, 7, 3),
            ]),
            next_id: 8,
            next_seq: 8,
            ..Batch::default()
        };
        let batches = [b1, b2];
        let c = coalesce(&batches);
        let logs: Vec<(TaskId, Vec<u64>)> = c
            .logs()
            .map(|(id, es)| (id, es.iter().map(|e| e.seq).collect()))
            .collect();
        assert_eq!(logs, vec![(3, vec![1, 2]), (5, vec![1, 2, 3])]);
        assert_eq!(c.tasks, vec![(7, None)]);
        assert_eq!((c.next_id, c.next_seq), (8, 8));
    }
}
