//! Storage: what the runtime writes through so that nothing acknowledged is lost
//! (SPEC §8). The runtime commits every batch of engine changes before it replies to the
//! requests that made them. Nothing above this trait may assume a particular database.

mod memory;

pub use memory::MemoryStorage;

use crate::engine::TaskRecord;
use crate::error::Result;
use crate::model::{Definition, Event, LogPage, ScheduleRow, TaskId, ThreadRow};

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

/// Everything storage had, to rebuild the engine at start.
#[derive(Debug, Default)]
pub struct Loaded {
    pub definitions: Vec<Definition>,
    pub records: Vec<TaskRecord>,
    /// Paused or locked threads.
    pub threads: Vec<ThreadRow>,
    /// Schedules with their last firing (from `ScheduleUpdated` events).
    pub schedules: Vec<ScheduleRow>,
    pub next_id: TaskId,
    pub next_seq: u64,
}

pub trait Storage: Send + Sync + 'static {
    /// Whether batches must carry task records (a memory store only needs the events).
    fn wants_records(&self) -> bool;
    /// What was stored, to restore the engine from.
    fn load(&self) -> Result<Loaded>;
    /// Commits one batch durably; returns only once it is.
    fn commit(&self, batch: &Batch) -> Result<()>;
    /// A page of a task's log, entries with `seq > after`.
    fn read_log(&self, id: TaskId, after: u64, limit: usize) -> Result<LogPage>;
}
