//! Storage in memory: keeps task logs for reading and forgets everything on exit. For
//! tests, benchmarks and a sandbox without `--data`.

use super::{Batch, Loaded, Storage};
use crate::error::Result;
use crate::model::{EventKind, LogEntry, LogKind, LogPage, TaskId};
use parking_lot::Mutex;
use std::collections::VecDeque;

/// Log lines kept per task (transitions are always kept).
pub const MAX_LOG_LINES: usize = 10_000;

#[derive(Default)]
pub struct MemoryStorage {
    logs: Mutex<Logs>,
}

/// Logs by task id. Ids are dense and increasing, so slots beat a hash map; cleaned
/// tasks leave holes that are dropped from the front.
#[derive(Default)]
struct Logs {
    base: TaskId,
    slots: VecDeque<Option<TaskLog>>,
}

#[derive(Default)]
struct TaskLog {
    entries: Vec<LogEntry>,
    lines: usize,
}

impl TaskLog {
    fn push(&mut self, entry: LogEntry) {
        if entry.kind == LogKind::Log {
            self.lines += 1;
        }
        self.entries.push(entry);
        if self.lines > MAX_LOG_LINES
            && let Some(i) = self.entries.iter().position(|e| e.kind == LogKind::Log)
        {
            self.entries.remove(i);
            self.lines -= 1;
        }
    }
}

impl Logs {
    fn slot(&mut self, id: TaskId) -> &mut Option<TaskLog> {
        if self.slots.is_empty() {
            self.base = id;
        }
        if id < self.base {
            // Older than anything kept (its log was cleaned): grow at the front.
            for _ in id..self.base {
                self.slots.push_front(None);
            }
            self.base = id;
        }
        let i = (id - self.base) as usize;
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        &mut self.slots[i]
    }

    fn get(&self, id: TaskId) -> Option<&TaskLog> {
        let i = usize::try_from(id.checked_sub(self.base)?).ok()?;
        self.slots.get(i)?.as_ref()
    }

    fn remove(&mut self, id: TaskId) {
        if let Some(i) = id.checked_sub(self.base).map(|i| i as usize)
            && i < self.slots.len()
        {
            self.slots[i] = None;
        }
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
    }
}

impl MemoryStorage {
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }
}

impl Storage for MemoryStorage {
    fn wants_records(&self) -> bool {
        false
    }

    fn load(&self) -> Result<Loaded> {
        Ok(Loaded::default())
    }

    fn commit(&self, batches: &[Batch]) -> Result<()> {
        let mut logs = self.logs.lock();
        for event in batches.iter().flat_map(|b| b.events.iter()) {
            match &event.kind {
                EventKind::TaskCleaned { id } => logs.remove(*id),
                kind => {
                    if let (Some(id), Some(entry)) = (kind.task_id(), kind.log_entry()) {
                        logs.slot(id)
                            .get_or_insert_with(TaskLog::default)
                            .push(entry.clone());
                    }
                }
            }
        }
        Ok(())
    }

    fn read_log(&self, id: TaskId, after: u64, limit: usize) -> Result<LogPage> {
        let logs = self.logs.lock();
        let Some(log) = logs.get(id) else {
            return Ok(LogPage {
                entries: Vec::new(),
                next: None,
            });
        };
        let start = log.entries.partition_point(|e| e.seq <= after);
        let entries: Vec<LogEntry> = log.entries[start..].iter().take(limit).cloned().collect();
        let next = (start + entries.len() < log.entries.len())
            .then(|| entries.last().map(|e| e.seq))
            .flatten();
        Ok(LogPage { entries, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, LogKind};
    use crate::time::Millis;
    use std::sync::Arc;

    fn log_event(id: TaskId, seq: u64, kind: LogKind) -> Event {
        Event {
            seq,
            at: Millis(0),
            kind: EventKind::TaskLog {
                id,
                entry: LogEntry {
                    seq,
                    at: Millis(0),
                    kind,
                    from: None,
                    to: None,
                    message: format!("line {seq}"),
                },
            },
        }
    }

    #[test]
    fn pages_through_a_log_and_forgets_cleaned_tasks() {
        let store = MemoryStorage::new();
        let events: Vec<Event> = (1..=5).map(|s| log_event(7, s, LogKind::Log)).collect();
        store
            .commit(&[Batch {
                events: Arc::new(events),
                ..Batch::default()
            }])
            .unwrap();
        let page = store.read_log(7, 0, 2).unwrap();
        assert_eq!(page.entries.len(), 2);
        assert_eq!(page.next, Some(2));
        let page = store.read_log(7, 4, 10).unwrap();
        assert_eq!(page.entries.len(), 1);
        assert_eq!(page.next, None);
        let cleaned = Event {
            seq: 6,
            at: Millis(0),
            kind: EventKind::TaskCleaned { id: 7 },
        };
        store
            .commit(&[Batch {
                events: Arc::new(vec![cleaned]),
                ..Batch::default()
            }])
            .unwrap();
        assert!(store.read_log(7, 0, 10).unwrap().entries.is_empty());
    }

    #[test]
    fn keeps_every_transition_and_the_newest_lines() {
        let mut log = TaskLog::default();
        log.push(
            log_event(1, 0, LogKind::Transition)
                .kind
                .log_entry()
                .unwrap()
                .clone(),
        );
        for s in 1..=(MAX_LOG_LINES as u64 + 5) {
            log.push(
                log_event(1, s, LogKind::Log)
                    .kind
                    .log_entry()
                    .unwrap()
                    .clone(),
            );
        }
        assert_eq!(log.lines, MAX_LOG_LINES);
        assert_eq!(log.entries[0].kind, LogKind::Transition);
        assert_eq!(log.entries[1].seq, 6);
    }
}
