//! Group commit merges batches: this turns a run of batches into the writes they amount
//! to, so that a task claimed, started and finished across the merged batches is written
//! once, in its final state. Backend-neutral; every database backend uses it.

use super::Batch;
use crate::engine::TaskRecord;
use crate::model::{Definition, EventKind, LogEntry, ScheduleRow, TaskId, ThreadRow};
use std::collections::HashMap;

/// The net effect of a run of batches.
#[derive(Debug, Default)]
pub struct Coalesced<'a> {
    /// Every task that changed, in id order: its final record, or `None` when it was
    /// cleaned (delete its record and its log).
    pub tasks: Vec<(TaskId, Option<&'a TaskRecord>)>,
    /// New log entries of tasks that still exist, by task in id order, entries in `seq`
    /// order.
    pub logs: Vec<(TaskId, Vec<&'a LogEntry>)>,
    /// The final row of every thread that changed, by name.
    pub threads: Vec<&'a ThreadRow>,
    /// The final state of every definition that changed: `None` when deleted.
    pub definitions: Vec<(&'a str, Option<&'a Definition>)>,
    /// The final state of every schedule that changed or fired: `None` when deleted.
    pub schedules: Vec<(&'a str, Option<&'a ScheduleRow>)>,
    pub next_id: TaskId,
    pub next_seq: u64,
}

/// Merges `batches` (in commit order) into their net writes.
pub fn coalesce(batches: &[Batch]) -> Coalesced<'_> {
    let mut tasks: HashMap<TaskId, Option<&TaskRecord>> = HashMap::new();
    let mut logs: HashMap<TaskId, Vec<&LogEntry>> = HashMap::new();
    let mut threads: HashMap<&str, &ThreadRow> = HashMap::new();
    let mut definitions: HashMap<&str, Option<&Definition>> = HashMap::new();
    let mut schedules: HashMap<&str, Option<&ScheduleRow>> = HashMap::new();
    let (mut next_id, mut next_seq) = (0, 0);
    for batch in batches {
        next_id = next_id.max(batch.next_id);
        next_seq = next_seq.max(batch.next_seq);
        // A batch's records are the state after all of its events, and a cleaned task is
        // never among them (ids are never reused), so records first, cleanings after.
        for rec in &batch.records {
            tasks.insert(rec.id(), Some(rec));
        }
        for event in batch.events.iter() {
            match &event.kind {
                EventKind::TaskCleaned { id } => {
                    tasks.insert(*id, None);
                    logs.remove(id);
                }
                EventKind::ThreadUpdated { thread } => {
                    threads.insert(thread.name.as_str(), &**thread);
                }
                EventKind::DefinitionUpdated { name, definition } => {
                    definitions.insert(name.as_str(), definition.as_deref());
                }
                EventKind::ScheduleUpdated { name, schedule } => {
                    schedules.insert(name.as_str(), schedule.as_deref());
                }
                kind => {
                    if let (Some(id), Some(entry)) = (kind.task_id(), kind.log_entry()) {
                        logs.entry(id).or_default().push(entry);
                    }
                }
            }
        }
    }
    let mut tasks: Vec<_> = tasks.into_iter().collect();
    tasks.sort_unstable_by_key(|(id, _)| *id);
    let mut logs: Vec<_> = logs.into_iter().collect();
    logs.sort_unstable_by_key(|(id, _)| *id);
    let mut threads: Vec<_> = threads.into_values().collect();
    threads.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    let mut definitions: Vec<_> = definitions.into_iter().collect();
    definitions.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut schedules: Vec<_> = schedules.into_iter().collect();
    schedules.sort_unstable_by(|a, b| a.0.cmp(b.0));
    Coalesced {
        tasks,
        logs,
        threads,
        definitions,
        schedules,
        next_id,
        next_seq,
    }
}
