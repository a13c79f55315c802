//! Storage in memory: keeps task logs for reading and forgets everything on exit. For
//! tests, benchmarks and a sandbox without `--data`.

use super::{Batch, Loaded, Storage, codec};
use crate::error::{Error, Result};
use crate::model::{EventKind, LogEntry, LogKind, LogPage, Status, TaskId};
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

/// One task's log in the compact binary form of a log tail ([`codec::encode_tail_entry`]):
/// about 40 bytes an entry instead of a `LogEntry` and its message allocation, and a
/// benchmark keeps hundreds of thousands of tasks' logs.
#[derive(Default)]
struct TaskLog {
    bytes: Vec<u8>,
    lines: usize,
}

impl TaskLog {
    fn push(&mut self, entry: &LogEntry) {
        if entry.kind == LogKind::Log {
            self.lines += 1;
        }
        codec::encode_tail_entry(entry, &mut self.bytes);
        if self.lines > MAX_LOG_LINES
            && let Ok(Some(oldest)) = codec::tail_find(&self.bytes, LogKind::Log)
        {
            self.bytes.drain(oldest);
            self.lines -= 1;
        }
    }

    /// A concluded task's log rarely grows again: give back the spare room.
    fn settle(&mut self) {
        self.bytes.shrink_to_fit();
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
                        let log = logs.slot(id).get_or_insert_with(TaskLog::default);
                        log.push(entry);
                        if entry.to == Some(Status::Done) {
                            log.settle();
                        }
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
        // Only this process wrote these bytes; failing to read them back is a bug.
        let (entries, more) = codec::decode_tail_page(&log.bytes, after, limit).map_err(|e| {
            Error::internal(format!(
                "the in-memory log of task {id} cannot be read: {e}"
            ))
        })?;
        let next = more.then(|| entries.last().map(|e| e.seq)).flatten();
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
                .unwrap(),
        );
        for s in 1..=(MAX_LOG_LINES as u64 + 5) {
            log.push(log_event(1, s, LogKind::Log).kind.log_entry().unwrap());
        }
        assert_eq!(log.lines, MAX_LOG_LINES);
        let entries = codec::decode_tail(&log.bytes).unwrap();
        assert_eq!(entries.len(), MAX_LOG_LINES + 1);
        assert_eq!(entries[0].kind, LogKind::Transition);
        assert_eq!(entries[1].seq, 6);
        assert_eq!(entries[1].message, "line 6");
    }
}
