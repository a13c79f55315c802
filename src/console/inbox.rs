//! The event intake: a task reads the source's event stream into a bounded [`Intake`],
//! and the console drains it when it has time. However busy the stream, the console only
//! ever takes a bounded amount of work per drain; log lines beyond the bound are counted
//! as dropped (the pane shows how many), counts and flags are never lost.

use crate::source::{Connection, SourceEvent};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use taskyard_core::Millis;
use taskyard_core::model::{Event, EventKind, LogEntry, LogKind, Outcome, Status, TaskId};
use tokio::sync::Notify;

/// Most log lines kept between two drains; older ones are dropped and counted.
pub const MAX_PENDING_LINES: usize = 2_000;
/// Most attempt edges kept between two drains (for the timeline).
const MAX_PENDING_EDGES: usize = 5_000;
/// Most distinct touched tasks remembered; beyond, "everything changed".
const MAX_TOUCHED: usize = 256;
/// Most tasks whose name and thread are remembered, to label their log lines.
const MAX_NAMES: usize = 100_000;

/// Names and threads of the most recent tasks, to label log lines (a `task-log` event
/// carries only the id).
#[derive(Debug, Default)]
struct Names {
    map: HashMap<TaskId, (Arc<str>, Option<Arc<str>>)>,
    order: VecDeque<TaskId>,
}

impl Names {
    fn insert(&mut self, id: TaskId, name: Arc<str>, thread: Option<Arc<str>>) {
        if self.map.insert(id, (name, thread)).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > MAX_NAMES {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    fn get(&self, id: TaskId) -> Option<&(Arc<str>, Option<Arc<str>>)> {
        self.map.get(&id)
    }
}

/// One line of the live log pane.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    /// The entry's seq in its task's log (not the event's).
    pub seq: u64,
    pub at: Millis,
    pub id: TaskId,
    pub name: Arc<str>,
    pub thread: Option<Arc<str>>,
    pub kind: LineKind,
    pub text: String,
}

impl LogLine {
    /// A line from a task's stored log; `outcome` is the task's, for its transition to
    /// done (only one transition reaches done).
    pub fn stored(
        id: TaskId,
        name: &Arc<str>,
        thread: &Option<Arc<str>>,
        outcome: Option<Outcome>,
        e: LogEntry,
    ) -> LogLine {
        let kind = match e.kind {
            LogKind::Log => LineKind::Log,
            // The first entry: the task coming into being.
            LogKind::Transition if e.from.is_none() => LineKind::Created,
            LogKind::Transition => {
                let to = e.to.unwrap_or(Status::Created);
                LineKind::Transition {
                    from: e.from.unwrap_or(to),
                    to,
                    outcome: outcome.filter(|_| to == Status::Done),
                }
            }
        };
        LogLine {
            seq: e.seq,
            at: e.at,
            id,
            name: name.clone(),
            thread: thread.clone(),
            kind,
            text: e.message,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LineKind {
    Created,
    Transition {
        from: Status,
        to: Status,
        outcome: Option<Outcome>,
    },
    Log,
}

/// How an attempt ended, for the timeline's colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptEnd {
    Succeeded,
    Failed,
    Canceled,
    /// Failed, with a retry to come.
    Retried,
    /// Back to ready without an outcome (a claim that expired, an interrupted attempt).
    Released,
}

/// The start or end of an attempt, from a `task-status` event.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub id: TaskId,
    pub name: Arc<str>,
    pub thread: Option<Arc<str>>,
    pub at: Millis,
    /// `None`: the attempt started.
    pub end: Option<AttemptEnd>,
}

/// What the console takes from the stream in one drain.
#[derive(Debug, Default)]
pub struct Intake {
    pub lines: VecDeque<LogLine>,
    pub dropped: u64,
    /// Tasks concluded, by second (`at` / 1000).
    pub completions: BTreeMap<i64, u64>,
    pub edges: VecDeque<Edge>,
    pub touched: HashSet<TaskId>,
    /// More tasks changed than `touched` remembers.
    pub touched_many: bool,
    pub tasks_changed: bool,
    pub threads_changed: bool,
    pub definitions_changed: bool,
    pub reset: bool,
    pub connection: Option<Connection>,
    pub last_seq: u64,
    /// Name and thread of recent tasks (kept across drains), oldest evicted first.
    names: Names,
}

impl Intake {
    pub fn push(&mut self, event: SourceEvent) {
        match event {
            SourceEvent::Events(batch) => {
                for e in batch.iter() {
                    self.push_event(e);
                }
            }
            SourceEvent::Reset => {
                self.reset = true;
                self.tasks_changed = true;
                self.threads_changed = true;
                self.definitions_changed = true;
            }
            SourceEvent::Connection(c) => self.connection = Some(c),
        }
    }

    fn touch(&mut self, id: TaskId) {
        self.tasks_changed = true;
        if self.touched.len() < MAX_TOUCHED {
            self.touched.insert(id);
        } else {
            self.touched_many = true;
        }
    }

    fn line(&mut self, line: LogLine) {
        if self.lines.len() >= MAX_PENDING_LINES {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }

    fn edge(&mut self, edge: Edge) {
        if self.edges.len() >= MAX_PENDING_EDGES {
            self.edges.pop_front();
        }
        self.edges.push_back(edge);
    }

    fn push_event(&mut self, e: &Event) {
        self.last_seq = self.last_seq.max(e.seq);
        match &e.kind {
            EventKind::TaskCreated { task, entry } => {
                self.touch(task.id);
                self.threads_changed |= task.thread.is_some();
                self.names
                    .insert(task.id, task.name.clone(), task.thread.clone());
                self.line(LogLine {
                    seq: entry.seq,
                    at: entry.at,
                    id: task.id,
                    name: task.name.clone(),
                    thread: task.thread.clone(),
                    kind: LineKind::Created,
                    text: entry.message.clone(),
                });
            }
            EventKind::TaskStatus {
                id,
                name,
                thread,
                from,
                to,
                outcome,
                entry,
            } => {
                self.touch(*id);
                self.threads_changed |= thread.is_some();
                if *to == Status::Done {
                    *self.completions.entry(e.at.0.div_euclid(1000)).or_default() += 1;
                }
                if self.names.get(*id).is_none() {
                    self.names.insert(*id, name.clone(), thread.clone());
                }
                if *to == Status::InProgress || *from == Status::InProgress {
                    let how = match (to, outcome) {
                        (Status::Done, Some(Outcome::Succeeded)) => AttemptEnd::Succeeded,
                        (Status::Done, Some(Outcome::Canceled)) => AttemptEnd::Canceled,
                        (Status::Done, _) => AttemptEnd::Failed,
                        (Status::Waiting, _) => AttemptEnd::Retried,
                        _ => AttemptEnd::Released,
                    };
                    let end = (*from == Status::InProgress).then_some(how);
                    self.edge(Edge {
                        id: *id,
                        name: name.clone(),
                        thread: thread.clone(),
                        at: e.at,
                        end,
                    });
                }
                self.line(LogLine {
                    seq: entry.seq,
                    at: entry.at,
                    id: *id,
                    name: name.clone(),
                    thread: thread.clone(),
                    kind: LineKind::Transition {
                        from: *from,
                        to: *to,
                        outcome: *outcome,
                    },
                    text: entry.message.clone(),
                });
            }
            EventKind::TaskLog { id, entry } => {
                self.touch(*id);
                let (name, thread) = self
                    .names
                    .get(*id)
                    .cloned()
                    .unwrap_or_else(|| (Arc::from("?"), None));
                let kind = match entry.kind {
                    LogKind::Log => LineKind::Log,
                    LogKind::Transition => LineKind::Transition {
                        from: entry.from.unwrap_or(Status::Created),
                        to: entry.to.unwrap_or(Status::Created),
                        outcome: None,
                    },
                };
                self.line(LogLine {
                    seq: entry.seq,
                    at: entry.at,
                    id: *id,
                    name,
                    thread,
                    kind,
                    text: entry.message.clone(),
                });
            }
            EventKind::TaskProgress { id, .. } => self.touch(*id),
            EventKind::TaskCleaned { id } => self.touch(*id),
            EventKind::ThreadUpdated { .. } => self.threads_changed = true,
            EventKind::DefinitionUpdated { .. } => self.definitions_changed = true,
            // Schedules are not shown yet; their tasks arrive as task events.
            EventKind::ScheduleUpdated { .. } => {}
        }
    }

    /// Takes what accumulated, leaving the remembered names.
    pub fn take(&mut self) -> Intake {
        let names = std::mem::take(&mut self.names);
        let last_seq = self.last_seq;
        let taken = std::mem::take(self);
        self.names = names;
        self.last_seq = last_seq;
        taken
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
            && self.edges.is_empty()
            && self.completions.is_empty()
            && !self.tasks_changed
            && !self.threads_changed
            && !self.definitions_changed
            && !self.reset
            && self.connection.is_none()
            && self.dropped == 0
    }
}

/// The intake shared between the stream reader and the console loop.
#[derive(Default)]
pub struct Inbox {
    intake: Mutex<Intake>,
    notify: Notify,
}

impl Inbox {
    pub fn push(&self, event: SourceEvent) {
        self.intake.lock().push(event);
        self.notify.notify_one();
    }

    pub fn take(&self) -> Intake {
        self.intake.lock().take()
    }

    /// Completes when something was pushed since the last wait.
    pub async fn wait(&self) {
        self.notify.notified().await
    }
}
