//! The engine: a pure state machine.
//!
//! Inputs are actions, executor calls, definition changes and the current time (`now`,
//! passed to every call); outputs are the new state, the events that describe each
//! change, and the records storage must write ([`Engine::drain`]). No I/O, no clock, no
//! tokio: the runtime drives it, and tests drive it directly by passing later times.
//!
//! Every change of a task goes through one path: [`Engine::detach`] takes the task out of
//! every index and count, the change is made, and [`Engine::attach`] puts it back where its
//! new state belongs, so the indexes cannot disagree with the tasks.

mod actions;
mod definitions;
mod executor;
mod index;
mod lifecycle;
mod query;
mod record;
mod restore;
mod schedules;
mod table;
mod timers;

#[cfg(test)]
mod tests;

pub use executor::{Dispatched, PollOutcome};
pub use record::{GroupKey, TaskRecord, When};
pub use table::TaskTable;

use crate::api::WorkerRow;
use crate::model::{Definition, Event, EventKind, LogEntry, LogKind, Status, TaskId, ThreadRow};
use crate::schema::Schema;
use crate::time::Millis;
use index::{DefIndex, Tally, ThreadState};
use rand::{RngCore, SeedableRng, rngs::SmallRng};
use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;
use std::sync::Arc;
use timers::{TimerKind, Timers};

/// Limits on what one request may carry (SPEC §7), and tuning.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineConfig {
    /// Seeds the exec-id generator; the runtime passes entropy, tests a constant.
    pub seed: u64,
    pub max_tasks_per_run: usize,
    pub max_conf_bytes: usize,
    pub max_log_line_bytes: usize,
    /// Most tasks the retention sweeper cleans per tick, so it never stalls the engine.
    pub retention_batch: usize,
    /// An external definition no worker polled for within this is `no-executor`.
    pub worker_absent_after_ms: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            seed: 0x7a5c_9a4d,
            max_tasks_per_run: 10_000,
            max_conf_bytes: 256 * 1024,
            max_log_line_bytes: 8 * 1024,
            retention_batch: 1_000,
            worker_absent_after_ms: 60_000,
        }
    }
}

/// A definition with its compiled schemas and its claim index.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DefState {
    pub def: Definition,
    pub name: Arc<str>,
    pub params: Option<Schema>,
    pub result: Option<Schema>,
    pub error: Option<Schema>,
    pub index: DefIndex,
    /// Last time an external worker polled for this definition.
    pub last_polled: Option<Millis>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Worker {
    pub definitions: Vec<String>,
    pub last_seen: Millis,
}

/// A long poll waiting for a task (SPEC §6 `wait_ms`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ParkedPoll {
    pub waiter: u64,
    pub executor: Arc<str>,
    pub definitions: Vec<String>,
    pub max: u32,
    pub deadline: Millis,
}

/// What happened since the last [`Engine::drain`]: the events in `seq` order, and (when
/// record tracking is on) the final state of every task that changed.
#[derive(Debug, Default)]
pub struct Changes {
    pub events: Vec<Event>,
    pub records: Vec<TaskRecord>,
    /// Answers to parked long polls: the waiter and the tasks it claimed (maybe none).
    pub poll_replies: Vec<(u64, Vec<crate::model::Task>)>,
    pub next_id: TaskId,
    pub next_seq: u64,
}

#[derive(Clone, Debug)]
pub struct Engine {
    config: EngineConfig,
    rng: SmallRng,
    tasks: TaskTable,
    defs: HashMap<Arc<str>, DefState>,
    threads: HashMap<Arc<str>, ThreadState>,
    timers: Timers,
    next_id: TaskId,
    next_seq: u64,
    /// `(name, key)` of tasks not yet cleaned.
    keys: HashMap<Arc<str>, HashMap<Box<str>, TaskId>>,
    refs: HashMap<i64, Vec<TaskId>>,
    /// Concluded tasks by definition, in conclusion order, for the retention sweeper.
    retention: HashMap<Arc<str>, VecDeque<(Millis, TaskId)>>,
    schedules: std::collections::BTreeMap<String, schedules::ScheduleState>,
    /// The executor name in-process handlers claim under, and requesters seen, interned.
    builtin_executor: Arc<str>,
    requesters: HashMap<String, Arc<str>>,
    tally: Tally,
    by_def: HashMap<Arc<str>, Tally>,
    by_thread: HashMap<Arc<str>, Tally>,
    workers: HashMap<String, Worker>,
    parked: Vec<ParkedPoll>,
    /// Set when something was offered, so parked polls are worth retrying.
    offers_changed: bool,
    // outputs
    events: Vec<Event>,
    dirty: Vec<TaskId>,
    track_records: bool,
    poll_replies: Vec<(u64, Vec<crate::model::Task>)>,
    // recent history for stats
    completions: VecDeque<Millis>,
    latencies: VecDeque<(Millis, u64)>,
}

/// Two engines are equal when their observable state is: tasks, definitions, threads,
/// counters, pending timers and retention, workers, parked polls, schedules, and the
/// outputs not yet drained. The exec-id generator and the stats history are not compared.
impl PartialEq for Engine {
    fn eq(&self, o: &Self) -> bool {
        self.tasks == o.tasks
            && self.defs == o.defs
            && self.threads == o.threads
            && self.timers == o.timers
            && self.next_id == o.next_id
            && self.next_seq == o.next_seq
            && self.keys == o.keys
            && self.refs == o.refs
            && self.tally == o.tally
            && self.by_def == o.by_def
            && self.by_thread == o.by_thread
            && self.retention == o.retention
            && self.workers == o.workers
            && self.parked == o.parked
            && self.schedules == o.schedules
            && self.events == o.events
            && self.poll_replies == o.poll_replies
    }
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        Engine {
            rng: SmallRng::seed_from_u64(config.seed),
            config,
            tasks: TaskTable::default(),
            defs: HashMap::default(),
            threads: HashMap::default(),
            timers: Timers::default(),
            next_id: 1,
            next_seq: 1,
            keys: HashMap::default(),
            refs: HashMap::default(),
            retention: HashMap::default(),
            schedules: Default::default(),
            builtin_executor: Arc::from("builtin"),
            requesters: HashMap::default(),
            tally: Tally::default(),
            by_def: HashMap::default(),
            by_thread: HashMap::default(),
            workers: HashMap::default(),
            parked: Vec::new(),
            offers_changed: false,
            events: Vec::new(),
            dirty: Vec::new(),
            track_records: false,
            poll_replies: Vec::new(),
            completions: VecDeque::new(),
            latencies: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// When on, [`Engine::drain`] also returns the final record of every changed task,
    /// for storage to write. Off (the default) for memory-only engines.
    pub fn set_track_records(&mut self, on: bool) {
        self.track_records = on;
    }

    /// Takes what happened since the last call.
    pub fn drain(&mut self) -> Changes {
        // A task changed several times in a batch was marked each time: one copy will do.
        self.dirty.sort_unstable();
        self.dirty.dedup();
        let mut records = Vec::with_capacity(self.dirty.len());
        for id in self.dirty.drain(..) {
            if let Some(rec) = self.tasks.get(id)
                && self.track_records
            {
                records.push(rec.clone());
            }
        }
        Changes {
            events: std::mem::take(&mut self.events),
            records,
            poll_replies: std::mem::take(&mut self.poll_replies),
            next_id: self.next_id,
            next_seq: self.next_seq,
        }
    }

    /// The next moment `tick` has something to do, if any.
    pub fn next_deadline(&self) -> Option<Millis> {
        match (self.timers.next_at(), self.next_retention()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The sequence number the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    // --- the one path for changing a task ------------------------------------------------

    /// Takes a task out of every index and count before it changes.
    fn detach(&mut self, id: TaskId) {
        let Some(rec) = self.tasks.get(id) else {
            return;
        };
        let (status, outcome, name, thread) = (
            rec.task.status,
            rec.task.outcome,
            rec.task.name.clone(),
            rec.task.thread.clone(),
        );
        let (group, rank, claimable, holds_slot) = (
            rec.group.clone(),
            rec.rank(),
            rec.is_claimable_status(),
            rec.holds_slot(),
        );
        let front = rec.front;
        if let (Some(at), Some(kind)) = (rec.status_timer.get(), rec.status_timer_kind()) {
            self.timers.remove(at, kind);
        }
        if let Some(at) = rec.task.conclude_at.filter(|_| status != Status::Done) {
            self.timers.remove(at, TimerKind::Conclude(id));
        }
        if let Some(rec) = self.tasks.get_mut(id) {
            rec.status_timer = When::NONE;
        }

        if holds_slot {
            // The slot it gives back may let its group offer a task.
            self.offers_changed = true;
        }
        self.tally.sub(status, outcome);
        if let Some(t) = self.by_def.get_mut(&name) {
            t.sub(status, outcome);
        }
        if let Some(th) = &thread
            && let Some(t) = self.by_thread.get_mut(th)
        {
            t.sub(status, outcome);
        }
        let def = self.defs.get_mut(&name);
        match (&thread, def) {
            (Some(th), def) => {
                let offered_here = self
                    .threads
                    .get(th)
                    .is_some_and(|ts| ts.offered == Some(id));
                if let Some(ts) = self.threads.get_mut(th) {
                    if claimable {
                        ts.ready.remove(&(!front, rank.0, id));
                    }
                    if offered_here {
                        ts.offered = None;
                    }
                }
                if let Some(d) = def {
                    if offered_here {
                        d.index.remove(&group, rank);
                    }
                    if holds_slot {
                        d.index.slot_delta(&group, false);
                    }
                }
            }
            (None, Some(d)) => {
                if claimable {
                    d.index.remove(&group, rank);
                }
                if holds_slot {
                    d.index.slot_delta(&group, false);
                }
            }
            (None, None) => {}
        }
    }

    /// Puts a task back into the indexes and counts its new state belongs to.
    fn attach(&mut self, id: TaskId, now: Millis) {
        let Some(rec) = self.tasks.get_mut(id) else {
            return;
        };
        rec.task.updated_at = now;
        let (status, outcome, name, thread) = (
            rec.task.status,
            rec.task.outcome,
            rec.task.name.clone(),
            rec.task.thread.clone(),
        );
        let (group, rank, claimable, holds_slot) = (
            rec.group.clone(),
            rec.rank(),
            rec.is_claimable_status(),
            rec.holds_slot(),
        );
        let front = rec.front;
        let status_timer = rec.wanted_status_timer();
        rec.status_timer = status_timer.as_ref().map(|t| t.0).into();
        let conclude_at = rec.task.conclude_at.filter(|_| status != Status::Done);
        if let Some((at, kind)) = status_timer {
            self.timers.push(at, kind);
        }
        if let Some(at) = conclude_at {
            self.timers.push(at, TimerKind::Conclude(id));
        }
        self.mark_dirty(id);

        self.tally.add(status, outcome);
        self.by_def
            .entry(name.clone())
            .or_default()
            .add(status, outcome);
        if let Some(th) = &thread {
            self.by_thread
                .entry(th.clone())
                .or_default()
                .add(status, outcome);
        }
        match &thread {
            Some(th) => {
                let ts = self.threads.entry(th.clone()).or_default();
                if claimable {
                    ts.ready.insert((!front, rank.0, id));
                }
                if holds_slot && let Some(d) = self.defs.get_mut(&name) {
                    d.index.slot_delta(&group, true);
                }
                self.refresh_thread(th);
            }
            None => {
                if let Some(d) = self.defs.get_mut(&name) {
                    if claimable {
                        d.index.add(&group, rank);
                        self.offers_changed = true;
                    }
                    if holds_slot {
                        d.index.slot_delta(&group, true);
                    }
                }
            }
        }
    }

    /// Re-decides which task a thread offers for claiming, and forgets idle threads.
    fn refresh_thread(&mut self, name: &Arc<str>) {
        let Some(ts) = self.threads.get(name) else {
            return;
        };
        let tasks = &self.tasks;
        let want = ts.next_offer(|id| tasks.get(id).is_some_and(TaskRecord::is_claimable_status));
        let had = ts.offered;
        if want != had {
            if let Some(old) = had
                && let Some(rec) = self.tasks.get(old)
                && let Some(d) = self.defs.get_mut(&rec.task.name)
            {
                d.index.remove(&rec.group, rec.rank());
            }
            if let Some(new) = want
                && let Some(rec) = self.tasks.get(new)
                && let Some(d) = self.defs.get_mut(&rec.task.name)
            {
                d.index.add(&rec.group, rec.rank());
                self.offers_changed = true;
            }
            if let Some(ts) = self.threads.get_mut(name) {
                ts.offered = want;
            }
        }
        let live = self.by_thread.get(name).map_or(0, Tally::live);
        if live == 0 && self.threads.get(name).is_some_and(ThreadState::is_idle) {
            self.threads.remove(name);
        }
        if self.by_thread.get(name).is_some_and(Tally::is_empty) {
            self.by_thread.remove(name);
        }
    }

    fn mark_dirty(&mut self, id: TaskId) {
        if self.track_records && self.dirty.last() != Some(&id) {
            self.dirty.push(id);
        }
    }

    fn emit(&mut self, now: Millis, kind: EventKind) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.events.push(crate::model::Event { seq, at: now, kind });
    }

    fn next_log_entry(
        &mut self,
        id: TaskId,
        now: Millis,
        kind: LogKind,
        from: Option<Status>,
        to: Option<Status>,
        message: String,
    ) -> Option<LogEntry> {
        let rec = self.tasks.get_mut(id)?;
        rec.log_seq += 1;
        Some(LogEntry {
            seq: rec.log_seq,
            at: now,
            kind,
            from,
            to,
            message,
        })
    }

    /// Appends a transition to the task's log and announces it.
    fn transition_event(&mut self, id: TaskId, from: Status, now: Millis, message: String) {
        let Some(rec) = self.tasks.get(id) else {
            return;
        };
        let (to, outcome, name, thread) = (
            rec.task.status,
            rec.task.outcome,
            rec.task.name.clone(),
            rec.task.thread.clone(),
        );
        if let Some(entry) =
            self.next_log_entry(id, now, LogKind::Transition, Some(from), Some(to), message)
        {
            self.emit(
                now,
                EventKind::TaskStatus {
                    id,
                    name,
                    thread,
                    from,
                    to,
                    outcome,
                    entry,
                },
            );
        }
    }

    /// Appends a log line (no status change) and announces it.
    fn log_line(&mut self, id: TaskId, now: Millis, message: String) {
        if let Some(entry) = self.next_log_entry(id, now, LogKind::Log, None, None, message) {
            self.emit(now, EventKind::TaskLog { id, entry });
        }
    }

    /// Announces a change of a thread's pause or lock. Which task holds a thread is not
    /// announced here: the `task-status` events already say it, and a thread event per
    /// claim would double the event stream of a busy thread.
    fn thread_changed(&mut self, name: &Arc<str>, now: Millis) {
        let row = self.thread_row(name);
        self.emit(
            now,
            EventKind::ThreadUpdated {
                thread: Box::new(row),
            },
        );
    }

    fn new_exec_id(&mut self) -> uuid::Uuid {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    fn thread_row(&self, name: &str) -> ThreadRow {
        let ts = self.threads.get(name);
        let counts = self
            .by_thread
            .get(name)
            .map(|t| {
                Status::ALL[..Status::Done.index()]
                    .iter()
                    .filter(|s| t.status[s.index()] > 0)
                    .map(|s| (s.as_str().to_string(), t.status[s.index()]))
                    .collect()
            })
            .unwrap_or_default();
        let pause = ts.and_then(|t| t.pause.as_ref());
        let lock = ts.and_then(|t| t.lock);
        ThreadRow {
            name: name.to_string(),
            paused: pause.is_some(),
            paused_at: pause.map(|p| p.at),
            paused_until: pause.and_then(|p| p.until),
            paused_by: pause.map(|p| p.by.clone()),
            locked_by: lock.map(|l| l.0),
            locked_at: lock.map(|l| l.1),
            current: ts.and_then(|t| t.current),
            counts,
        }
    }

    fn worker_rows(&self) -> Vec<WorkerRow> {
        let mut rows: Vec<WorkerRow> = self
            .workers
            .iter()
            .map(|(id, w)| WorkerRow {
                executor: id.clone(),
                definitions: w.definitions.clone(),
                last_seen: w.last_seen,
            })
            .collect();
        rows.sort_by(|a, b| a.executor.cmp(&b.executor));
        rows
    }

    /// The interned `Arc` for a thread name, so every task of a thread shares one string.
    fn intern_thread(&self, name: &str) -> Arc<str> {
        self.threads
            .get_key_value(name)
            .map(|(k, _)| k.clone())
            .or_else(|| self.by_thread.get_key_value(name).map(|(k, _)| k.clone()))
            .unwrap_or_else(|| Arc::from(name))
    }

    /// The registered definition's shared name (a new `Arc` if it is not registered).
    fn def_name(&self, name: &str) -> Arc<str> {
        self.defs
            .get_key_value(name)
            .map_or_else(|| Arc::from(name), |(k, _)| k.clone())
    }

    /// One shared string per requester name, so tasks don't each carry a copy.
    fn intern_requester(&mut self, who: &str) -> Arc<str> {
        if let Some(a) = self.requesters.get(who) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(who);
        if self.requesters.len() < 10_000 {
            self.requesters.insert(who.to_string(), a.clone());
        }
        a
    }

    fn timer(&mut self, at: Millis, kind: TimerKind) {
        self.timers.push(at, kind);
    }
}
