//! Storage in memory: keeps task logs for reading and forgets everything on exit. For
//! tests, benchmarks and a sandbox without `--data`.

use super::{Batch, Loaded, Storage};
use crate::error::Result;
use crate::model::{EventKind, LogEntry, LogKind, LogPage, TaskId};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};

/// Log lines kept per task (transitions are always kept).
pub const MAX_LOG_LINES: usize = 10_000;

#[derive(Default)]
pub struct MemoryStorage {
    logs: Mutex<HashMap<TaskId, TaskLog>>,
}

#[derive(Default)]
struct TaskLog {
    entries: VecDeque<LogEntry>,
    lines: usize,
}

impl TaskLog {
    fn push(&mut self, entry: LogEntry) {
        if entry.kind == LogKind::Log {
            self.lines += 1;
        }
        self.entries.push_back(entry);
        if self.lines > MAX_LOG_LINES
            && let Some(i) = self.entries.iter().position(|e| e.kind == LogKind::Log)
        {
            self.entries.remove(i);
            self.lines -= 1;
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
        Ok(Loaded {
            next_id: 1,
            next_seq: 1,
            ..Loaded::default()
        })
    }

    fn commit(&self, batch: &Batch) -> Result<()> {
        let mut logs = self.logs.lock();
        for event in batch.events.iter() {
            match &event.kind {
                EventKind::TaskCleaned { id } => {
                    logs.remove(id);
                }
                kind => {
                    if let (Some(id), Some(entry)) = (kind.task_id(), kind.log_entry()) {
                        logs.entry(id).or_default().push(entry.clone());
                    }
                }
            }
        }
        Ok(())
    }

    fn read_log(&self, id: TaskId, after: u64, limit: usize) -> Result<LogPage> {
        let logs = self.logs.lock();
        let Some(log) = logs.get(&id) else {
            return Ok(LogPage {
                entries: Vec::new(),
                next: None,
            });
        };
        let start = log.entries.partition_point(|e| e.seq <= after);
        let entries: Vec<LogEntry> = log.entries.range(start..).take(limit).cloned().collect();
        let next = (start + entries.len() < log.entries.len())
            .then(|| entries.last().map(|e| e.seq))
            .flatten();
        Ok(LogPage { entries, next })
    }
}
