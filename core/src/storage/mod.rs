//! Storage: what the runtime writes through so that nothing acknowledged is lost
//! (SPEC §8). The runtime commits every batch of engine changes before it replies to the
//! requests that made them. Nothing above this trait may assume a particular database.
//!
//! - [`MemoryStorage`]: keeps logs in memory, forgets everything on exit;
//! - [`SqliteStorage`]: the embedded default, one `taskyard.db` under the data dir;
//! - [`coalesce`]: merges several batches into the writes they amount to, for any
//!   backend that commits more than one batch per transaction (group commit).

mod coalesce;
mod codec;
mod memory;
mod sqlite;

pub use coalesce::{Coalesced, coalesce};
pub use memory::{MAX_LOG_LINES, MemoryStorage};
pub use sqlite::{SCHEMA_VERSION, SqliteOptions, SqliteStorage, Synchronous};

use crate::engine::TaskRecord;
use crate::error::Result;
use crate::model::{Definition, Event, LogPage, ScheduleRow, TaskId, ThreadRow};
use std::path::{Path, PathBuf};

/// One batch of engine changes, in order.
#[derive(Debug, Default)]
pub struct Batch {
    /// Every event of the batch, in `seq` order (log entries, cleanings, definition and
    /// thread changes are all in here).
    pub events: std::sync::Arc<Vec<Event>>,
    /// The final state of every task that changed (empty unless `wants_records`).
    pub records: Vec<TaskRecord>,
    pub next_id: TaskId,
    pub next_seq: u64,
}

impl Batch {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.records.is_empty()
    }
}

/// Stored task records, in id order, read as the engine restores them so that a large
/// store is never held in memory twice.
pub type RecordStream = Box<dyn Iterator<Item = Result<TaskRecord>> + Send>;

/// Everything storage had, to rebuild the engine at start.
pub struct Loaded {
    pub definitions: Vec<Definition>,
    /// Every stored task, in increasing id order.
    pub records: RecordStream,
    /// Paused or locked threads.
    pub threads: Vec<ThreadRow>,
    /// Schedules with their last firing (from `ScheduleUpdated` events).
    pub schedules: Vec<ScheduleRow>,
    pub next_id: TaskId,
    pub next_seq: u64,
}

impl Default for Loaded {
    fn default() -> Self {
        Loaded {
            definitions: Vec::new(),
            records: Box::new(std::iter::empty()),
            threads: Vec::new(),
            schedules: Vec::new(),
            next_id: 1,
            next_seq: 1,
        }
    }
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("definitions", &self.definitions.len())
            .field("threads", &self.threads)
            .field("schedules", &self.schedules.len())
            .field("next_id", &self.next_id)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl Loaded {
    /// A `Loaded` over records already in memory (tests, other backends).
    pub fn with_records(mut self, records: Vec<TaskRecord>) -> Loaded {
        self.records = Box::new(records.into_iter().map(Ok));
        self
    }
}

pub trait Storage: Send + Sync + 'static {
    /// Whether batches must carry task records (a memory store only needs the events).
    fn wants_records(&self) -> bool;
    /// Whether a commit waits for the disk or the network. The runtime then commits on a
    /// writer thread, merging every batch that arrives while the previous commit runs
    /// (group commit); otherwise it commits inline.
    fn group_commit(&self) -> bool {
        false
    }
    /// What was stored, to restore the engine from.
    fn load(&self) -> Result<Loaded>;
    /// Commits batches, in order, durably and atomically (all or none); returns only once
    /// they are. Several batches are merged: a task changed in more than one is written
    /// once, in its final state.
    fn commit(&self, batches: &[Batch]) -> Result<()>;
    /// A page of a task's log, entries with `seq > after`.
    fn read_log(&self, id: TaskId, after: u64, limit: usize) -> Result<LogPage>;
    /// Releases the store (files, locks) once the runtime has stopped; later calls fail.
    fn close(&self) {}
}

/// Where the task workspaces of a data dir live: `DIR/workspaces/` (SPEC §8).
pub fn workspaces_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("workspaces")
}
