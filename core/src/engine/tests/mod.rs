//! The engine's test suite. [`H`] drives an engine with a fake clock; after every call it
//! drains the events (checking that `seq` strictly increases), checks that a refused call
//! left the engine exactly as it was, and runs [`check_invariants`], which recomputes every
//! index and count from the task records and compares.

mod actions;
mod executor;
mod lifecycle;
mod props;
mod query;
mod restore;
mod threads;

use super::index::{DefIndex, Group, Tally};
use super::timers::TimerKind;
use super::{Engine, EngineConfig};
use crate::api::{
    Action, ActionReply, ExecRef, FailRequest, NotifyReply, NotifyRequest, PollRequest, Requester,
    SuccessRequest,
};
use crate::engine::executor::PollOutcome;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{
    Definition, Event, EventKind, ExecutorKind, LogKind, Status, Task, TaskId, TaskRef, TaskSpec,
};
use crate::time::Millis;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use uuid::Uuid;

/// The test clock's origin: 2023-11-14T22:13:20Z.
pub const T0: Millis = Millis(1_700_000_000_000);

pub fn ext(name: &str) -> Definition {
    Definition::new(name, ExecutorKind::External)
}

pub fn spec(name: &str) -> TaskSpec {
    TaskSpec::new(name)
}

pub fn on(thread: &str, spec: TaskSpec) -> TaskSpec {
    TaskSpec {
        thread: Some(thread.into()),
        ..spec
    }
}

pub fn run(specs: Vec<TaskSpec>) -> Action {
    Action::Run {
        tasks: specs
            .into_iter()
            .map(|s| crate::model::RunItem::New(Box::new(s)))
            .collect(),
        ignore: false,
    }
}

pub fn run_refs(refs: Vec<TaskRef>, ignore: bool) -> Action {
    Action::Run {
        tasks: refs
            .into_iter()
            .map(crate::model::RunItem::Existing)
            .collect(),
        ignore,
    }
}

pub fn ids(ids: &[TaskId]) -> Vec<TaskRef> {
    ids.iter().map(|id| TaskRef::Id(*id)).collect()
}

pub fn cancel(list: &[TaskId]) -> Action {
    Action::Cancel {
        tasks: ids(list),
        ignore: false,
    }
}

pub fn pause(thread: &str, until: Option<Millis>) -> Action {
    Action::Pause {
        threads: vec![thread.into()],
        until,
    }
}

pub fn resume(thread: &str, continue_: bool) -> Action {
    Action::Resume {
        threads: vec![thread.into()],
        continue_,
    }
}

pub fn conclude(task: TaskId, delay: u64, result: Option<Value>) -> Action {
    Action::Conclude {
        task,
        delay,
        result,
    }
}

/// A test harness: an engine, a clock, and every event it produced.
pub struct H {
    pub e: Engine,
    pub now: Millis,
    pub who: Requester,
    pub events: Vec<Event>,
    pub poll_replies: Vec<(u64, Vec<Task>)>,
    next_waiter: u64,
}

impl H {
    pub fn new(defs: Vec<Definition>) -> H {
        H::with_config(EngineConfig::default(), defs)
    }

    pub fn with_config(config: EngineConfig, defs: Vec<Definition>) -> H {
        let mut h = H {
            e: Engine::new(config),
            now: T0,
            who: Requester::new("alice"),
            events: Vec::new(),
            poll_replies: Vec::new(),
            next_waiter: 1,
        };
        for d in defs {
            h.def(d);
        }
        h
    }

    pub fn def(&mut self, d: Definition) {
        let now = self.now;
        self.e.put_definition(d, now).expect("definition accepted");
        self.settle();
    }

    /// Drains the engine's outputs and checks every invariant.
    pub fn settle(&mut self) {
        let changes = self.e.drain();
        let mut last = self.events.last().map_or(0, |e| e.seq);
        for ev in &changes.events {
            assert!(ev.seq > last, "event seq {} after {last}", ev.seq);
            last = ev.seq;
        }
        assert_eq!(changes.next_seq, last.max(changes.next_seq - 1) + 1);
        self.events.extend(changes.events);
        self.poll_replies.extend(changes.poll_replies);
        check_invariants(&self.e, self.now);
    }

    /// Runs a call; a refused one must leave the engine exactly as it was.
    pub fn call<T>(&mut self, f: impl FnOnce(&mut Engine, Millis) -> Result<T>) -> Result<T> {
        let before = self.e.clone();
        let now = self.now;
        let out = f(&mut self.e, now);
        if let Err(err) = &out {
            assert!(
                self.e == before,
                "refused call ({err}) changed the engine state"
            );
            assert!(!err.message.is_empty());
        }
        self.settle();
        out
    }

    pub fn act(&mut self, a: Action) -> Result<ActionReply> {
        let who = self.who.clone();
        self.call(|e, now| e.apply(a, &who, now))
    }

    #[track_caller]
    pub fn ok(&mut self, a: Action) -> ActionReply {
        match self.act(a) {
            Ok(r) => r,
            Err(e) => panic!("action refused: {e}"),
        }
    }

    #[track_caller]
    pub fn err(&mut self, a: Action, code: ErrorCode) -> Error {
        match self.act(a) {
            Ok(r) => panic!("expected {code}, got {r:?}"),
            Err(e) => {
                assert_eq!(e.code, code, "{e}");
                e
            }
        }
    }

    #[track_caller]
    pub fn run(&mut self, specs: Vec<TaskSpec>) -> Vec<TaskId> {
        match self.ok(run(specs)) {
            ActionReply::Run { tasks } => tasks,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    #[track_caller]
    pub fn run1(&mut self, s: TaskSpec) -> TaskId {
        let ids = self.run(vec![s]);
        assert_eq!(ids.len(), 1);
        ids[0]
    }

    pub fn poll_req(&mut self, req: PollRequest) -> Result<PollOutcome> {
        let waiter = self.next_waiter;
        self.next_waiter += 1;
        self.call(|e, now| e.poll(&req, waiter, now))
    }

    /// Polls as worker `w1` without waiting.
    #[track_caller]
    pub fn poll(&mut self, defs: &[&str], max: u32) -> Vec<Task> {
        let req = PollRequest {
            executor: "w1".into(),
            definitions: defs.iter().map(|d| d.to_string()).collect(),
            max,
            wait_ms: 0,
        };
        match self.poll_req(req) {
            Ok(PollOutcome::Claimed(tasks)) => tasks,
            other => panic!("unexpected poll outcome {other:?}"),
        }
    }

    #[track_caller]
    pub fn claim(&mut self, def: &str) -> Task {
        let mut tasks = self.poll(&[def], 1);
        assert_eq!(tasks.len(), 1, "expected one task of {def} to claim");
        tasks.remove(0)
    }

    pub fn start(&mut self, t: &Task) -> Result<Task> {
        let call = xref(t);
        self.call(|e, now| e.start(&call, now))
    }

    pub fn notify(&mut self, t: &Task, progress: Option<f64>, log: &[&str]) -> Result<NotifyReply> {
        let req = NotifyRequest {
            id: t.id,
            exec_id: exec(t),
            progress,
            log: (!log.is_empty()).then(|| log.iter().map(|l| l.to_string()).collect()),
        };
        self.call(|e, now| e.notify(&req, now))
    }

    pub fn succeed(&mut self, t: &Task, result: Option<Value>) -> Result<Task> {
        let req = SuccessRequest {
            id: t.id,
            exec_id: exec(t),
            result,
        };
        self.call(|e, now| e.succeed(req, now))
    }

    pub fn fail(&mut self, t: &Task, error: Option<Value>, message: &str) -> Result<Task> {
        let req = FailRequest {
            id: t.id,
            exec_id: exec(t),
            error,
            message: Some(message.into()),
        };
        self.call(|e, now| e.fail(req, now))
    }

    /// Claims, starts and fails the next task of `def`.
    #[track_caller]
    pub fn claim_and_fail(&mut self, def: &str) -> Task {
        let t = self.claim(def);
        self.start(&t).expect("start");
        self.fail(&t, None, "boom").expect("fail")
    }

    /// Claims, starts and succeeds the next task of `def`.
    #[track_caller]
    pub fn claim_and_succeed(&mut self, def: &str) -> Task {
        let t = self.claim(def);
        self.start(&t).expect("start");
        self.succeed(&t, None).expect("succeed")
    }

    /// Moves the clock and fires due timers.
    pub fn advance(&mut self, ms: u64) {
        self.now = self.now.plus_ms(ms);
        let now = self.now;
        self.e.tick(now);
        self.settle();
    }

    pub fn at(&self, ms: u64) -> Millis {
        T0.plus_ms(ms)
    }

    #[track_caller]
    pub fn task(&self, id: TaskId) -> Task {
        self.e
            .task_view(id, self.now)
            .unwrap_or_else(|| panic!("task {id} exists"))
    }

    pub fn status(&self, id: TaskId) -> Status {
        self.task(id).status
    }

    /// Every log entry message of a task, in order (taken from the events).
    pub fn log(&self, id: TaskId) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e.kind.task_id() == Some(id))
            .filter_map(|e| e.kind.log_entry())
            .map(|e| e.message.clone())
            .collect()
    }

    /// The transitions of a task, as (from, to) pairs (`None` for creation).
    pub fn transitions(&self, id: TaskId) -> Vec<(Option<Status>, Status)> {
        self.events
            .iter()
            .filter(|e| e.kind.task_id() == Some(id))
            .filter_map(|e| e.kind.log_entry())
            .filter(|e| e.kind == LogKind::Transition)
            .map(|e| (e.from, e.to.expect("a transition has a target")))
            .collect()
    }

    pub fn events_since(&self, n: usize) -> &[Event] {
        &self.events[n..]
    }
}

pub fn exec(t: &Task) -> Uuid {
    t.exec_id.expect("a claimed task has an exec_id")
}

pub fn xref(t: &Task) -> ExecRef {
    ExecRef {
        id: t.id,
        exec_id: exec(t),
    }
}

pub fn poll_ids(tasks: &[Task]) -> Vec<TaskId> {
    tasks.iter().map(|t| t.id).collect()
}

pub fn count_events(events: &[Event], pred: impl Fn(&EventKind) -> bool) -> usize {
    events.iter().filter(|e| pred(&e.kind)).count()
}

// --- invariants ----------------------------------------------------------------------

fn nonempty<S>(m: &std::collections::HashMap<Arc<str>, Tally, S>) -> BTreeMap<String, Tally> {
    m.iter()
        .filter(|(_, t)| !t.is_empty())
        .map(|(k, t)| (k.to_string(), *t))
        .collect()
}

/// Recomputes every index and count of the engine from its task records and compares.
pub fn check_invariants(e: &Engine, now: Millis) {
    let mut tally = Tally::default();
    let mut by_def: HashMap<Arc<str>, Tally> = HashMap::new();
    let mut by_thread: HashMap<Arc<str>, Tally> = HashMap::new();
    let mut keys: BTreeMap<(String, String), TaskId> = BTreeMap::new();
    let mut refs: BTreeMap<i64, Vec<TaskId>> = BTreeMap::new();
    let mut children: BTreeMap<TaskId, Vec<TaskId>> = BTreeMap::new();
    let mut last_id = 0;
    for rec in e.tasks.iter() {
        let t = &rec.task;
        assert!(t.id > last_id && t.id < e.next_id, "ids increase");
        last_id = t.id;
        tally.add(t.status, t.outcome);
        by_def
            .entry(t.name.clone())
            .or_default()
            .add(t.status, t.outcome);
        if let Some(th) = &t.thread {
            by_thread
                .entry(th.clone())
                .or_default()
                .add(t.status, t.outcome);
        }
        if let Some(k) = &t.key {
            let old = keys.insert((t.name.to_string(), k.to_string()), t.id);
            assert!(old.is_none(), "key {k} of {} used twice", t.name);
        }
        if let Some(r) = t.ref_id {
            refs.entry(r).or_default().push(t.id);
        }
        if let Some(p) = t.parent
            && e.tasks.contains(p)
        {
            children.entry(p).or_default().push(t.id);
        }
        // Per-task consistency.
        assert_eq!(
            t.outcome.is_some(),
            t.status == Status::Done,
            "task {}",
            t.id
        );
        assert_eq!(t.outcome_reason.is_some(), t.status == Status::Done);
        assert_eq!(t.concluded_at.is_some(), t.status == Status::Done);
        assert!(t.blocked_by.is_none(), "the record never stores blocked_by");
        if t.status == Status::Done {
            assert!(t.conclude_at.is_none() && rec.pending_result.is_none());
            assert!(!t.awaiting_conclude);
            assert!(!rec.front);
        }
        if t.awaiting_conclude {
            assert!(t.open && t.status == Status::InProgress);
        }
        if t.conclude_at.is_none() {
            assert!(rec.pending_result.is_none());
        }
        assert_eq!(rec.start_deadline.is_some(), t.status == Status::Requested);
        let live_attempt = t.status == Status::InProgress && !t.awaiting_conclude;
        assert_eq!(
            rec.heartbeat_deadline.is_some(),
            live_attempt,
            "task {}",
            t.id
        );
        if t.status == Status::Requested || live_attempt {
            assert!(t.exec_id.is_some() && t.executor.is_some());
        }
        if live_attempt {
            let a = rec.attempts.last().expect("a live attempt is recorded");
            assert_eq!(Some(a.exec_id), t.exec_id);
            assert!(a.ended_at.is_none() && a.reason.is_none());
        }
        assert_eq!(rec.attempts.len() as u32, t.attempt);
        for a in rec.attempts.iter().rev().skip(usize::from(live_attempt)) {
            assert!(a.ended_at.is_some() && a.reason.is_some(), "ended attempt");
        }
        assert_eq!(
            rec.group,
            if e.defs.contains_key(&t.name) {
                e.group_of(&t.name, t)
            } else {
                rec.group.clone()
            },
            "group of task {}",
            t.id
        );
        if rec.front {
            assert_eq!(t.status, Status::Ready, "only a ready task is continued");
        }
    }
    assert_eq!(e.tasks.len() as u64, tally.status.iter().sum::<u64>());
    assert_eq!(e.tally, tally, "tally");
    assert_eq!(nonempty(&e.by_def), nonempty(&by_def), "by_def");
    assert_eq!(nonempty(&e.by_thread), nonempty(&by_thread), "by_thread");
    let engine_keys: BTreeMap<(String, String), TaskId> = e
        .keys
        .iter()
        .flat_map(|(n, m)| {
            m.iter()
                .map(move |(k, id)| ((n.to_string(), k.to_string()), *id))
        })
        .collect();
    assert_eq!(engine_keys, keys, "keys");
    let mut engine_refs: BTreeMap<i64, Vec<TaskId>> =
        e.refs.iter().map(|(r, ids)| (*r, ids.clone())).collect();
    for ids in engine_refs.values_mut() {
        ids.sort_unstable();
    }
    assert_eq!(engine_refs, refs, "refs");
    for rec in e.tasks.iter() {
        let want = children.get(&rec.id()).cloned().unwrap_or_default();
        assert_eq!(rec.children(), &want[..], "children of {}", rec.id());
    }

    // Counts by status as the API shows them.
    let counts = e.counts();
    for s in Status::ALL {
        assert_eq!(counts.by_status[s.as_str()], tally.status[s.index()]);
    }

    check_threads(e);
    check_def_indexes(e);
    check_timers(e, now);
}

fn check_threads(e: &Engine) {
    let mut names: BTreeSet<Arc<str>> = e.threads.keys().cloned().collect();
    for rec in e.tasks.iter() {
        if let Some(th) = &rec.task.thread {
            names.insert(th.clone());
        }
    }
    for name in names {
        let tasks: Vec<_> = e
            .tasks
            .iter()
            .filter(|r| r.task.thread.as_ref() == Some(&name))
            .collect();
        let live = tasks
            .iter()
            .filter(|r| r.task.status != Status::Done)
            .count();
        let held: Vec<TaskId> = tasks
            .iter()
            .filter(|r| matches!(r.task.status, Status::Requested | Status::InProgress))
            .map(|r| r.id())
            .collect();
        assert!(held.len() <= 1, "thread {name} runs {held:?} at once");
        let Some(ts) = e.threads.get(&name) else {
            assert_eq!(live, 0, "thread {name} with live tasks has no state");
            continue;
        };
        if live == 0 {
            assert!(!ts.is_idle(), "idle thread {name} is kept");
        }
        if let Some(c) = ts.current {
            let rec = e.tasks.get(c).expect("the current task exists");
            assert_eq!(rec.task.thread.as_ref(), Some(&name));
            assert!(
                matches!(
                    rec.task.status,
                    Status::Waiting | Status::Ready | Status::Requested | Status::InProgress
                ),
                "current task {c} of {name} is {}",
                rec.task.status
            );
        }
        if let Some(h) = held.first() {
            assert_eq!(ts.current, Some(*h), "thread {name} current");
        }
        // A claimed task holds its thread until it concludes (a continued task waits in
        // front instead); restore rebuilds `current` from exactly this.
        for r in &tasks {
            if r.task.status != Status::Done && r.claimed_at.is_some() && !r.front {
                assert_eq!(ts.current, Some(r.id()), "thread {name} held by {}", r.id());
            }
        }
        let ready: BTreeSet<(bool, Reverse<i32>, TaskId)> = tasks
            .iter()
            .filter(|r| r.is_claimable_status())
            .map(|r| (!r.front, Reverse(r.task.priority), r.id()))
            .collect();
        assert_eq!(ts.ready, ready, "ready set of {name}");
        let want = ts.next_offer(|id| {
            e.tasks
                .get(id)
                .is_some_and(super::TaskRecord::is_claimable_status)
        });
        assert_eq!(ts.offered, want, "offer of {name}");
        if let Some((id, _)) = ts.lock {
            let rec = e.tasks.get(id).expect("the locking task exists");
            assert_eq!(rec.task.status, Status::Done);
            assert_eq!(rec.task.outcome, Some(crate::model::Outcome::Failed));
            assert!(ts.pause.is_some(), "a locked thread is paused");
        }
    }
}

fn check_def_indexes(e: &Engine) {
    for (name, d) in &e.defs {
        let mut want = DefIndex::new(d.def.concurrency_limit);
        let mut groups: HashMap<super::GroupKey, Group> = HashMap::new();
        for rec in e.tasks.iter().filter(|r| &r.task.name == name) {
            let g = groups.entry(rec.group.clone()).or_default();
            if rec.holds_slot() {
                g.active += 1;
            }
            let offered = match &rec.task.thread {
                Some(th) => e
                    .threads
                    .get(th)
                    .is_some_and(|t| t.offered == Some(rec.id())),
                None => rec.is_claimable_status(),
            };
            if offered {
                g.ready.insert(rec.rank());
            }
        }
        groups.retain(|_, g| !g.ready.is_empty() || g.active > 0);
        for (k, g) in &groups {
            if let Some(head) = g.ready.first()
                && d.def.concurrency_limit.is_none_or(|l| g.active < l)
            {
                want.offer.insert(*head);
            }
            want.groups.insert(k.clone(), g.clone());
        }
        assert_eq!(d.index.groups, want.groups, "groups of {name}");
        assert_eq!(d.index.offer, want.offer, "offer of {name}");
    }
}

fn check_timers(e: &Engine, now: Millis) {
    let timers: Vec<_> = e.timers.iter().collect();
    let has = |kind: &TimerKind, by: Millis| timers.iter().any(|t| &t.kind == kind && t.at <= by);
    for rec in e.tasks.iter() {
        let (t, id) = (&rec.task, rec.id());
        match t.status {
            Status::Waiting => {
                let at = t.execute_at.expect("a waiting task has execute_at");
                assert!(
                    has(&TimerKind::ExecuteAt(id), at),
                    "execute_at timer of {id}"
                );
            }
            Status::Requested => {
                let at = rec.start_deadline.get().expect("start deadline");
                assert!(
                    has(&TimerKind::StartDeadline(id), at),
                    "start timer of {id}"
                );
            }
            Status::InProgress if !t.awaiting_conclude => {
                let at = rec.attempt_deadline().expect("attempt deadline");
                assert!(
                    has(&TimerKind::AttemptDeadline(id), at),
                    "attempt timer of {id}"
                );
            }
            Status::Done => {
                // Retention lives in per-definition queues in conclusion order.
                let concluded = t.concluded_at.expect("concluded_at");
                assert!(
                    e.retention
                        .get(&t.name)
                        .is_some_and(|q| q.contains(&(concluded, id))),
                    "retention entry of {id}"
                );
            }
            _ => {}
        }
        if let Some(at) = t.conclude_at {
            assert!(has(&TimerKind::Conclude(id), at), "conclude timer of {id}");
        }
    }
    for (name, ts) in &e.threads {
        if ts.lock.is_none()
            && let Some(until) = ts.pause.as_ref().and_then(|p| p.until)
        {
            assert!(
                has(&TimerKind::PauseUntil(name.clone()), until),
                "pause timer"
            );
        }
    }
    for p in &e.parked {
        assert!(has(&TimerKind::PollDeadline(p.waiter), p.deadline));
        assert!(p.deadline > now, "an expired poll is still parked");
    }
}
