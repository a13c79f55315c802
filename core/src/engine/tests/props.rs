//! Property test: random sequences of actions, executor calls (with current and stale
//! exec ids) and clock advances over a few threads and definitions. After every step the
//! harness checks that event `seq` strictly increases, that a refused call left the engine
//! `==` to its clone from before, and every index and count ([`check_invariants`]); on top
//! of that this test checks concurrency limits, queue capacity, that `done` is final but for
//! a `resume continue`, and that an attempt's exec_id is never accepted after it ended.

use super::*;
use proptest::prelude::*;
use std::collections::HashSet;

const DEFS: [&str; 3] = ["a", "b", "c"];
const THREADS: [Option<&str>; 3] = [None, Some("t1"), Some("t2")];
const FILTERS: [&str; 5] = [
    "status:failed",
    "name:a",
    "thread:t1",
    "status:waiting",
    "!status:done",
];

fn definitions() -> Vec<Definition> {
    vec![
        Definition {
            requested_to_start_timeout_ms: 300,
            in_progress_timeout_ms: 800,
            allowed_retry_count: 2,
            retry_delay_ms: 100,
            retry_backoff: 2.0,
            max_retry_delay_ms: 250,
            concurrency_limit: Some(2),
            queue_capacity: Some(6),
            retention_ms: 3_000,
            ..ext("a")
        },
        Definition {
            requested_to_start_timeout_ms: 200,
            in_progress_timeout_ms: 500,
            allowed_retry_count: 0,
            concurrency_limit: Some(1),
            concurrency_path: Some(vec!["conf".into(), "g".into()]),
            retention_ms: 2_000,
            result_schema: Some(serde_json::json!({"type": "object"})),
            ..ext("b")
        },
        Definition {
            requested_to_start_timeout_ms: 400,
            in_progress_timeout_ms: 1_000,
            allowed_retry_count: 1,
            retry_delay_ms: 50,
            retention_ms: 10_000,
            error_schema: Some(serde_json::json!({"type": "object", "required": ["code"]})),
            ..ext("c")
        },
    ]
}

#[derive(Clone, Debug)]
struct NewTask {
    def: usize,
    thread: usize,
    priority: i32,
    key: Option<u8>,
    hold: bool,
    delay: Option<u64>,
    open: bool,
    auto: bool,
    timeout: Option<u64>,
    parent: Option<usize>,
    group: u8,
}

#[derive(Clone, Debug)]
enum Op {
    Run(Vec<NewTask>),
    RunRef {
        pick: usize,
        ignore: bool,
    },
    RunQuery {
        filter: usize,
        ignore: bool,
    },
    Conclude {
        pick: usize,
        delay: u64,
        result: bool,
    },
    Cancel {
        picks: Vec<usize>,
        ignore: bool,
        missing: bool,
    },
    CancelQuery {
        filter: usize,
    },
    Clean {
        picks: Vec<usize>,
        ignore: bool,
    },
    Destroy {
        pick: usize,
    },
    Pause {
        thread: usize,
        until: Option<u64>,
    },
    Resume {
        thread: usize,
        cont: bool,
    },
    Poll {
        defs: u8,
        max: u32,
        wait: bool,
    },
    Start {
        pick: usize,
        which: usize,
    },
    Notify {
        pick: usize,
        which: usize,
        bad: bool,
    },
    Succeed {
        pick: usize,
        which: usize,
        valid: bool,
    },
    Fail {
        pick: usize,
        which: usize,
        coded: bool,
    },
    Advance(u64),
    /// Changes (or deletes, or registers again) a definition.
    Redefine(u8),
    /// The runtime's in-process executor claims and starts at once.
    Dispatch {
        defs: u8,
        max: u32,
    },
    /// The server restarts: a fresh engine restored from what storage kept.
    Restart,
}

fn new_task() -> impl Strategy<Value = NewTask> {
    (
        (
            0..3usize,
            0..3usize,
            -1..3i32,
            proptest::option::weighted(0.3, 0..3u8),
        ),
        (
            proptest::bool::weighted(0.1),
            proptest::option::weighted(0.2, 1..600u64),
            proptest::bool::weighted(0.2),
            proptest::bool::weighted(0.3),
        ),
        (
            proptest::option::weighted(0.2, 100..900u64),
            proptest::option::weighted(0.2, any::<usize>()),
            0..3u8,
        ),
    )
        .prop_map(
            |(
                (def, thread, priority, key),
                (hold, delay, open, auto),
                (timeout, parent, group),
            )| NewTask {
                def,
                thread,
                priority,
                key,
                hold,
                delay,
                open,
                auto,
                timeout,
                parent,
                group,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    let pick = any::<usize>;
    prop_oneof![
        6 => proptest::collection::vec(new_task(), 1..4).prop_map(Op::Run),
        1 => (pick(), any::<bool>()).prop_map(|(pick, ignore)| Op::RunRef { pick, ignore }),
        1 => (0..FILTERS.len(), any::<bool>())
            .prop_map(|(filter, ignore)| Op::RunQuery { filter, ignore }),
        2 => (pick(), prop_oneof![Just(0u64), 1..700u64, Just(5_001u64)], any::<bool>())
            .prop_map(|(pick, delay, result)| Op::Conclude { pick, delay, result }),
        1 => (proptest::collection::vec(pick(), 1..3), any::<bool>(), proptest::bool::weighted(0.1))
            .prop_map(|(picks, ignore, missing)| Op::Cancel { picks, ignore, missing }),
        1 => (0..FILTERS.len() - 1).prop_map(|filter| Op::CancelQuery { filter }),
        1 => (proptest::collection::vec(pick(), 1..3), any::<bool>())
            .prop_map(|(picks, ignore)| Op::Clean { picks, ignore }),
        1 => pick().prop_map(|pick| Op::Destroy { pick }),
        1 => (1..3usize, proptest::option::of(0..1_500u64))
            .prop_map(|(thread, until)| Op::Pause { thread, until }),
        3 => (1..3usize, proptest::bool::weighted(0.7))
            .prop_map(|(thread, cont)| Op::Resume { thread, cont }),
        6 => (1..8u8, 1..4u32, proptest::bool::weighted(0.2))
            .prop_map(|(defs, max, wait)| Op::Poll { defs, max, wait }),
        4 => (pick(), pick()).prop_map(|(pick, which)| Op::Start { pick, which }),
        2 => (pick(), pick(), proptest::bool::weighted(0.1))
            .prop_map(|(pick, which, bad)| Op::Notify { pick, which, bad }),
        4 => (pick(), pick(), proptest::bool::weighted(0.85))
            .prop_map(|(pick, which, valid)| Op::Succeed { pick, which, valid }),
        4 => (pick(), pick(), any::<bool>())
            .prop_map(|(pick, which, coded)| Op::Fail { pick, which, coded }),
        5 => prop_oneof![0..50u64, 50..400u64, 400..1_500u64].prop_map(Op::Advance),
        1 => any::<u8>().prop_map(Op::Redefine),
        2 => (1..8u8, 1..4u32).prop_map(|(defs, max)| Op::Dispatch { defs, max }),
        1 => Just(Op::Restart),
    ]
}

/// What the test remembers across steps.
#[derive(Default)]
struct Model {
    /// Every task id ever created, in order.
    known: Vec<TaskId>,
    /// Every exec id handed out, per task.
    execs: HashMap<TaskId, Vec<Uuid>>,
    /// Exec ids whose attempt has ended.
    ended: HashSet<Uuid>,
    /// Tasks seen `done`.
    done: HashSet<TaskId>,
    /// Per task, from the events: the last log entry's seq and the last status.
    replay: HashMap<TaskId, (u64, Status)>,
    /// A concurrency limit was lowered at some point.
    limits_changed: bool,
    restarts: u64,
}

impl Model {
    fn pick(&self, i: usize) -> Option<TaskId> {
        (!self.known.is_empty()).then(|| self.known[i % self.known.len()])
    }

    /// The exec id to call with: one handed out for the task, or the task's current one.
    fn exec_for(&self, h: &H, id: TaskId, which: usize) -> Uuid {
        let handed = self.execs.get(&id).map_or(&[][..], Vec::as_slice);
        let current = h.e.record(id).and_then(|r| r.task.exec_id);
        let n = handed.len() + 1;
        match which % n {
            i if i < handed.len() => handed[i],
            _ => current.unwrap_or(Uuid::from_u128(which as u128)),
        }
    }

    fn saw_claims(&mut self, tasks: &[Task]) {
        for t in tasks {
            assert_eq!(t.status, Status::Requested);
            let exec = t.exec_id.expect("a claimed task has an exec_id");
            assert!(!self.ended.contains(&exec), "a fresh exec id");
            self.execs.entry(t.id).or_default().push(exec);
        }
    }
}

fn thread_of(i: usize) -> &'static str {
    THREADS[i].unwrap_or("t1")
}

/// One step; returns the tasks a `resume continue` continued.
fn step(h: &mut H, m: &mut Model, op: &Op) -> Vec<TaskId> {
    let mut continued = Vec::new();
    // Three calls in four go to a live attempt, the rest anywhere (mostly stale). An
    // executor call with an ended exec id must be refused.
    let exec_call = |h: &mut H, m: &Model, pick: usize, which: usize| {
        let live: Vec<(TaskId, Uuid)> =
            h.e.records()
                .filter_map(|r| Some((r.id(), r.live_exec()?)))
                .collect();
        if !which.is_multiple_of(4) && !live.is_empty() {
            let (id, exec) = live[pick % live.len()];
            return Some((id, exec, m.ended.contains(&exec)));
        }
        let id = m.pick(pick)?;
        let exec = m.exec_for(h, id, which / 4);
        Some((id, exec, m.ended.contains(&exec)))
    };
    let check_fenced = |res: bool, was_ended: bool| {
        assert!(
            !(res && was_ended),
            "an ended attempt's exec id was accepted"
        );
    };
    match op {
        Op::Run(tasks) => {
            let specs = tasks
                .iter()
                .map(|t| TaskSpec {
                    name: DEFS[t.def].into(),
                    conf: Some(serde_json::json!({ "g": t.group })),
                    key: t.key.map(|k| format!("k{k}")),
                    parent: t.parent.and_then(|p| m.pick(p)),
                    thread: THREADS[t.thread].map(str::to_string),
                    auto: t.auto,
                    open: t.open,
                    priority: t.priority,
                    timeout: t.timeout,
                    execute_at: t.delay.map(|d| h.now.plus_ms(d)),
                    hold: t.hold,
                    ..TaskSpec::default()
                })
                .collect();
            let _ = h.act(run(specs));
        }
        Op::RunRef { pick, ignore } => {
            if let Some(id) = m.pick(*pick) {
                let _ = h.act(run_refs(ids(&[id]), *ignore));
            }
        }
        Op::RunQuery { filter, ignore } => {
            let refs = vec![TaskRef::Query(FILTERS[*filter].into())];
            let _ = h.act(run_refs(refs, *ignore));
        }
        Op::Conclude {
            pick,
            delay,
            result,
        } => {
            if let Some(id) = m.pick(*pick) {
                let r = result.then(|| serde_json::json!({"by": "conclude"}));
                let _ = h.act(conclude(id, *delay, r));
            }
        }
        Op::Cancel {
            picks,
            ignore,
            missing,
        } => {
            let mut list: Vec<TaskId> = picks.iter().filter_map(|p| m.pick(*p)).collect();
            if *missing {
                list.push(h.e.next_id + 7);
            }
            let _ = h.act(Action::Cancel {
                tasks: ids(&list),
                ignore: *ignore,
            });
        }
        Op::CancelQuery { filter } => {
            let _ = h.act(Action::Cancel {
                tasks: vec![TaskRef::Query(FILTERS[*filter].into())],
                ignore: true,
            });
        }
        Op::Clean { picks, ignore } => {
            let list: Vec<TaskId> = picks.iter().filter_map(|p| m.pick(*p)).collect();
            let _ = h.act(Action::Clean {
                tasks: ids(&list),
                ignore: *ignore,
            });
        }
        Op::Destroy { pick } => {
            if let Some(id) = m.pick(*pick) {
                let _ = h.act(Action::Destroy { tasks: ids(&[id]) });
            }
        }
        Op::Pause { thread, until } => {
            let until = until.map(|u| h.now.plus_ms(u));
            let _ = h.act(pause(thread_of(*thread), until));
        }
        Op::Resume { thread, cont } => {
            if let Ok(ActionReply::Resume { continued: c, .. }) =
                h.act(resume(thread_of(*thread), *cont))
            {
                continued = c;
            }
        }
        Op::Poll { defs, max, wait } => {
            let req = PollRequest {
                executor: "w".into(),
                definitions: DEFS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| defs & (1 << i) != 0)
                    .map(|(_, d)| d.to_string())
                    .collect(),
                max: *max,
                wait_ms: if *wait { 700 } else { 0 },
            };
            if let Ok(PollOutcome::Claimed(tasks)) = h.poll_req(req) {
                assert!(tasks.len() <= *max as usize);
                m.saw_claims(&tasks);
            }
        }
        Op::Start { pick, which } => {
            if let Some((id, exec_id, ended)) = exec_call(h, m, *pick, *which) {
                let r = h.call(|e, now| e.start(&ExecRef { id, exec_id }, now));
                check_fenced(r.is_ok(), ended);
            }
        }
        Op::Notify { pick, which, bad } => {
            if let Some((id, exec_id, ended)) = exec_call(h, m, *pick, *which) {
                let req = NotifyRequest {
                    id,
                    exec_id,
                    progress: Some(if *bad { 2.0 } else { 0.5 }),
                    log: Some(vec!["working".into()]),
                };
                let r = h.call(|e, now| e.notify(&req, now));
                check_fenced(r.is_ok(), ended);
                if *bad {
                    assert!(r.is_err());
                }
            }
        }
        Op::Succeed { pick, which, valid } => {
            if let Some((id, exec_id, ended)) = exec_call(h, m, *pick, *which) {
                let result = if *valid {
                    serde_json::json!({"ok": true})
                } else {
                    serde_json::json!("not an object")
                };
                let req = SuccessRequest {
                    id,
                    exec_id,
                    result: Some(result),
                };
                let r = h.call(|e, now| e.succeed(req, now));
                check_fenced(r.is_ok(), ended);
            }
        }
        Op::Fail { pick, which, coded } => {
            if let Some((id, exec_id, ended)) = exec_call(h, m, *pick, *which) {
                let req = FailRequest {
                    id,
                    exec_id,
                    error: coded.then(|| serde_json::json!({"code": 1})),
                    message: Some("failed".into()),
                };
                let r = h.call(|e, now| e.fail(req, now));
                check_fenced(r.is_ok(), ended);
            }
        }
        Op::Advance(ms) => h.advance(*ms),
        Op::Dispatch { defs, max } => {
            let defs: Vec<String> = DEFS
                .iter()
                .enumerate()
                .filter(|(i, _)| defs & (1 << i) != 0)
                .map(|(_, d)| d.to_string())
                .collect();
            let now = h.now;
            let started = h.e.dispatch_builtin(&defs, *max, now);
            h.settle();
            assert!(started.len() <= *max as usize);
            for d in started {
                let rec = h.e.record(d.id).expect("dispatched task exists");
                assert_eq!(rec.task.status, Status::InProgress);
                assert_eq!(rec.live_exec(), Some(d.exec_id));
                assert_eq!(
                    (d.attempt, d.conf.clone()),
                    (rec.task.attempt, rec.task.conf.value())
                );
                assert!(!m.ended.contains(&d.exec_id));
                m.execs.entry(d.id).or_default().push(d.exec_id);
            }
        }
        Op::Restart => {
            let loaded = super::restore::stored(h);
            m.restarts += 1;
            // A new seed, as the runtime's entropy would give: exec ids stay unique.
            let config = EngineConfig {
                seed: h.e.config().seed + m.restarts,
                ..h.e.config().clone()
            };
            let mut e = Engine::new(config);
            let now = h.now;
            e.restore(loaded, now).expect("restore");
            h.e = e;
            h.poll_replies.clear();
            h.settle();
        }
        Op::Redefine(which) => {
            let base = definitions();
            let def = match which % 8 {
                0 => Definition {
                    concurrency_limit: Some(1),
                    ..base[0].clone()
                },
                1 => Definition {
                    concurrency_limit: Some(3),
                    retry_delay_ms: 10,
                    ..base[0].clone()
                },
                2 => base[0].clone(),
                3 => Definition {
                    concurrency_path: None,
                    ..base[1].clone()
                },
                4 => base[1].clone(),
                5 => Definition {
                    allowed_retry_count: 0,
                    retention_ms: 500,
                    ..base[2].clone()
                },
                6 => base[2].clone(),
                _ => {
                    let _ = h.call(|e, now| e.delete_definition("c", now));
                    return continued;
                }
            };
            // A lower limit (or one group instead of several) may leave a group over it
            // until enough of its tasks end.
            m.limits_changed |= matches!(which % 8, 0 | 2 | 3);
            let _ = h.call(|e, now| e.put_definition(def, now));
        }
    }
    continued
}

/// The checks this test adds to the harness's after every step.
fn after_step(h: &mut H, m: &mut Model, continued: &[TaskId], seen_events: &mut usize) {
    // The events replay the state: every entry of a task's log comes in order, and the
    // last transition announced is the status the task has.
    let mut claimed = Vec::new();
    for ev in &h.events[*seen_events..] {
        if let EventKind::TaskStatus {
            id,
            from: Status::Ready,
            to: Status::Requested,
            ..
        } = &ev.kind
        {
            claimed.push(*id);
        }
        if let EventKind::TaskCreated { task, .. } = &ev.kind {
            m.known.push(task.id);
        }
        if let EventKind::TaskCleaned { id } = &ev.kind {
            m.replay.remove(id);
        }
        if let (Some(id), Some(entry)) = (ev.kind.task_id(), ev.kind.log_entry()) {
            let last = m.replay.get(&id).copied();
            assert_eq!(
                entry.seq,
                last.map_or(1, |(seq, _)| seq + 1),
                "log seq of {id}"
            );
            let status = entry
                .to
                .or(last.map(|(_, s)| s))
                .expect("a first entry has `to`");
            if let (Some(from), Some((_, before))) = (entry.from, last) {
                assert_eq!(from, before, "transition of {id} from where it was");
            }
            m.replay.insert(id, (entry.seq, status));
        }
    }
    *seen_events = h.events.len();
    assert_eq!(m.replay.len(), h.e.task_count());
    for rec in h.e.records() {
        assert_eq!(m.replay.get(&rec.id()).map(|r| r.1), Some(rec.task.status));
        assert_eq!(
            m.replay[&rec.id()].0,
            rec.log_seq,
            "log seq of {}",
            rec.id()
        );
    }
    let replies = std::mem::take(&mut h.poll_replies);
    for (_, tasks) in &replies {
        m.saw_claims(tasks);
    }

    // `done` is final, but for a continued task.
    for id in continued {
        assert!(m.done.remove(id), "only a done task is continued");
        // Ready, or already claimed by a parked long poll.
        let status = h.e.record(*id).map(|r| r.task.status);
        assert!(matches!(status, Some(Status::Ready | Status::Requested)));
    }
    for id in &m.done {
        if let Some(rec) = h.e.record(*id) {
            assert_eq!(rec.task.status, Status::Done, "task {id} left done");
        }
    }
    for rec in h.e.records() {
        if rec.task.status == Status::Done {
            m.done.insert(rec.id());
        }
    }

    // Exec ids: once ended, never live again.
    for (id, execs) in &m.execs {
        let live = h.e.record(*id).and_then(|r| r.live_exec());
        for x in execs {
            if live == Some(*x) {
                assert!(!m.ended.contains(x), "an ended attempt came back to life");
            } else {
                m.ended.insert(*x);
            }
        }
    }

    // Concurrency limits and queue capacity. Once a limit was lowered, a group may stay
    // over it for a while, but nothing of the group may be claimed meanwhile.
    let claimed_groups: HashSet<(Arc<str>, Option<Arc<str>>)> = claimed
        .iter()
        .filter_map(|id| h.e.record(*id))
        .map(|r| (r.task.name.clone(), r.group.clone()))
        .collect();
    for d in h.e.definitions() {
        let mut slots: HashMap<Option<Arc<str>>, u32> = HashMap::new();
        let mut live = 0;
        for rec in h.e.records().filter(|r| *r.task.name == d.name) {
            if rec.holds_slot() {
                *slots.entry(rec.group.clone()).or_default() += 1;
            }
            if rec.task.status != Status::Done {
                live += 1;
            }
        }
        if let Some(limit) = d.concurrency_limit {
            for (group, n) in &slots {
                let claimed_now =
                    claimed_groups.contains(&(Arc::from(d.name.as_str()), group.clone()));
                if !m.limits_changed || claimed_now {
                    assert!(*n <= limit, "{} {group:?} over its limit", d.name);
                }
            }
        }
        if let Some(cap) = d.queue_capacity {
            assert!(live <= cap, "{} over its capacity", d.name);
        }
    }

    check_blocked_by_against_a_poll(h);

    // Thread rows agree with the tasks.
    for row in h.e.threads() {
        let held = h.e.records().find(|r| {
            r.task.thread.as_deref() == Some(row.name.as_str())
                && matches!(r.task.status, Status::Requested | Status::InProgress)
        });
        if let Some(rec) = held {
            assert_eq!(row.current, Some(rec.id()));
        }
        let live: u64 = row.counts.values().sum();
        let want = h
            .e
            .records()
            .filter(|r| {
                r.task.thread.as_deref() == Some(row.name.as_str()) && r.task.status != Status::Done
            })
            .count() as u64;
        assert_eq!(live, want, "counts of thread {}", row.name);
    }
}

/// `blocked_by` tells the truth: on a copy of the engine, a poll for every definition
/// claims only tasks shown as not blocked (or blocked by `no-executor`, which the poll
/// itself cures), and claims something if any ready task is shown as not blocked.
fn check_blocked_by_against_a_poll(h: &H) {
    let mut free = HashSet::new();
    let mut ready = 0;
    for rec in h.e.records().filter(|r| r.task.status == Status::Ready) {
        ready += 1;
        match h.e.blocked_by(rec, h.now) {
            None | Some(crate::model::BlockedBy::NoExecutor) => {
                free.insert(rec.id());
            }
            Some(_) => {}
        }
    }
    let mut copy = h.e.clone();
    let req = PollRequest {
        executor: "probe".into(),
        definitions: h.e.definitions().into_iter().map(|d| d.name).collect(),
        max: 1000,
        wait_ms: 0,
    };
    let Ok(PollOutcome::Claimed(tasks)) = copy.poll(&req, u64::MAX, h.now) else {
        panic!("the probe poll is valid");
    };
    for t in &tasks {
        assert!(
            free.contains(&t.id),
            "task {} was claimed though shown blocked",
            t.id
        );
    }
    assert_eq!(
        free.is_empty(),
        tasks.is_empty(),
        "{ready} ready, {free:?} free"
    );
}

/// Keyset pages through the final state agree with one big page, whatever the sort.
fn check_pagination(h: &H) {
    use crate::api::{SortKey, SortOrder, TaskQuery};
    for sort in SortKey::ALL {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for filter in ["", "!status:done", "thread:t1"] {
                let base = TaskQuery {
                    filter: filter.into(),
                    sort,
                    order,
                    offset: 0,
                    limit: 1000,
                    after: None,
                };
                let all = h.e.query(&base, h.now).expect("query");
                let want: Vec<TaskId> = all.tasks.iter().map(|t| t.id).collect();
                let mut got = Vec::new();
                let mut q = TaskQuery { limit: 3, ..base };
                loop {
                    let page = h.e.query(&q, h.now).expect("page");
                    assert_eq!(page.total, all.total);
                    got.extend(page.tasks.iter().map(|t| t.id));
                    match page.next {
                        Some(next) => q.after = Some(next),
                        None => break,
                    }
                }
                assert_eq!(got, want, "{sort:?} {order:?} `{filter}`");
            }
        }
    }
}

fn run_ops(ops: &[Op]) {
    let mut h = H::new(definitions());
    let mut m = Model::default();
    let mut seen_events = 0;
    for op in ops {
        let continued = step(&mut h, &mut m, op);
        after_step(&mut h, &mut m, &continued, &mut seen_events);
    }
    // Drive everything to its end: the engine must settle with nothing left live that a
    // worker could not finish.
    check_pagination(&h);
    for ms in [1_000, 5_000, 20_000] {
        h.advance(ms);
        after_step(&mut h, &mut m, &[], &mut seen_events);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_operations_keep_every_invariant(ops in proptest::collection::vec(op(), 1..80)) {
        run_ops(&ops);
    }
}
