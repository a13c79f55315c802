//! The executor protocol (SPEC §6): poll, long polls, start, notify, success, fail, and
//! exec_id fencing.

use super::*;
use crate::model::{BlockedBy, Outcome, ReasonType};
use serde_json::json;

fn quick(name: &str) -> Definition {
    Definition {
        requested_to_start_timeout_ms: 1_000,
        in_progress_timeout_ms: 5_000,
        allowed_retry_count: 1,
        retry_delay_ms: 1_000,
        ..ext(name)
    }
}

fn poll_req(defs: &[&str], max: u32, wait_ms: u64) -> PollRequest {
    PollRequest {
        executor: "w1".into(),
        definitions: defs.iter().map(|d| d.to_string()).collect(),
        max,
        wait_ms,
    }
}

fn stale(h: &mut H, t: &Task) -> ErrorCode {
    h.start(t).unwrap_err().code
}

/// Every executor call with `t`'s exec id is refused with `code`.
#[track_caller]
fn all_refused(h: &mut H, t: &Task, code: ErrorCode) {
    assert_eq!(h.start(t).unwrap_err().code, code);
    assert_eq!(h.notify(t, Some(0.1), &["x"]).unwrap_err().code, code);
    assert_eq!(h.succeed(t, None).unwrap_err().code, code);
    assert_eq!(h.fail(t, None, "x").unwrap_err().code, code);
}

#[test]
fn a_call_with_an_ended_attempt_is_stale() {
    let mut h = H::new(vec![quick("a")]);
    let id = h.run1(spec("a"));
    // Timed out before start.
    let t1 = h.claim("a");
    h.advance(1_000);
    all_refused(&mut h, &t1, ErrorCode::StaleExecution);
    // Retried after a failure.
    let t2 = h.claim("a");
    h.fail(&t2, None, "x").unwrap();
    all_refused(&mut h, &t2, ErrorCode::StaleExecution);
    // Concluded by success: a late or repeated report is stale.
    h.advance(1_000);
    let t3 = h.claim("a");
    h.succeed(&t3, None).unwrap();
    all_refused(&mut h, &t3, ErrorCode::StaleExecution);
    // A made-up exec id.
    let fake = Task {
        exec_id: Some(Uuid::from_u128(7)),
        ..t3.clone()
    };
    all_refused(&mut h, &fake, ErrorCode::StaleExecution);
    let e = h.start(&fake).unwrap_err();
    assert_eq!(e.tasks, vec![id]);
    assert!(e.message.contains("drop this attempt"), "{}", e.message);
}

#[test]
fn a_newer_attempt_is_never_overwritten_by_an_older_one() {
    let mut h = H::new(vec![quick("a")]);
    let id = h.run1(spec("a"));
    let old = h.claim("a");
    h.advance(1_000);
    let new = h.claim("a");
    h.start(&new).unwrap();
    assert_eq!(stale(&mut h, &old), ErrorCode::StaleExecution);
    assert_eq!(
        h.succeed(&old, None).unwrap_err().code,
        ErrorCode::StaleExecution
    );
    assert_eq!(h.status(id), Status::InProgress);
    assert_eq!(h.task(id).exec_id, Some(exec(&new)));
}

#[test]
fn a_canceled_task_tells_its_executor_to_stop() {
    let mut h = H::new(vec![quick("a")]);
    let [a, b] = h.run(vec![spec("a"), spec("a")])[..] else {
        unreachable!()
    };
    let ta = h.claim("a");
    let tb = h.claim("a");
    h.start(&tb).unwrap();
    h.ok(cancel(&[a, b]));
    all_refused(&mut h, &ta, ErrorCode::TaskCanceled);
    all_refused(&mut h, &tb, ErrorCode::TaskCanceled);
    let e = h.start(&ta).unwrap_err();
    assert_eq!(e.tasks, vec![a]);
    assert!(e.message.contains("stop"), "{}", e.message);
    let attempt = &h.e.task_detail(b, h.now).unwrap().attempts[0];
    assert_eq!(attempt.reason.as_ref().unwrap().kind, ReasonType::Canceled);
}

#[test]
fn a_call_on_an_unknown_task_is_not_found() {
    let mut h = H::new(vec![quick("a")]);
    h.run1(spec("a"));
    let t = h.claim("a");
    let ghost = Task { id: 42, ..t };
    all_refused(&mut h, &ghost, ErrorCode::TaskNotFound);
}

#[test]
fn start_twice_is_a_harmless_repeat_and_a_heartbeat() {
    let mut h = H::new(vec![quick("a")]);
    let id = h.run1(spec("a"));
    let t = h.claim("a");
    h.start(&t).unwrap();
    h.advance(4_000);
    let again = h.start(&t).unwrap();
    assert_eq!((again.status, again.attempt), (Status::InProgress, 1));
    h.advance(4_000);
    assert_eq!(
        h.status(id),
        Status::InProgress,
        "the repeat was a heartbeat"
    );
    assert_eq!(h.e.task_detail(id, h.now).unwrap().attempts.len(), 1);
}

#[test]
fn notify_reports_progress_and_log_lines_and_checks_them() {
    let mut h = H::with_config(
        EngineConfig {
            max_log_line_bytes: 10,
            ..EngineConfig::default()
        },
        vec![quick("a")],
    );
    let id = h.run1(spec("a"));
    let t = h.claim("a");
    let reply = h.notify(&t, None, &[]).unwrap();
    assert_eq!(
        reply.deadline,
        h.at(1_000),
        "before start: the start deadline"
    );
    h.start(&t).unwrap();
    let n = h.events.len();
    let reply = h.notify(&t, Some(0.25), &["one", "two"]).unwrap();
    assert_eq!(reply.deadline, h.at(5_000));
    let evs = h.events_since(n);
    assert!(matches!(evs[0].kind, EventKind::TaskProgress { progress, .. } if progress == 0.25));
    assert_eq!(&h.log(id)[h.log(id).len() - 2..], ["one", "two"]);
    assert_eq!(h.task(id).progress, Some(0.25));
    for p in [-0.1, 1.5, f64::NAN] {
        let e = h.notify(&t, Some(p), &[]).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidAction, "{p}");
    }
    let e = h.notify(&t, None, &["ok", "far too long"]).unwrap_err();
    assert_eq!(e.code, ErrorCode::LimitExceeded);
    assert_eq!(h.task(id).progress, Some(0.25));
}

#[test]
fn success_or_failure_without_start_starts_the_attempt() {
    let mut h = H::new(vec![quick("a")]);
    let id = h.run1(spec("a"));
    let t = h.claim("a");
    let done = h.succeed(&t, Some(json!(1))).unwrap();
    assert_eq!((done.attempt, done.outcome), (1, Some(Outcome::Succeeded)));
    assert_eq!(
        h.transitions(id)[2..],
        [
            (Some(Status::Requested), Status::InProgress),
            (Some(Status::InProgress), Status::Done)
        ]
    );
}

#[test]
fn in_process_failures_have_their_own_reason() {
    let mut h = H::new(vec![Definition {
        allowed_retry_count: 0,
        ..quick("a")
    }]);
    let id = h.run1(spec("a"));
    let t = h.claim("a");
    let call = xref(&t);
    let task = h
        .call(|e, now| e.fail_attempt(&call, ReasonType::HandlerPanicked, "oops".into(), now))
        .unwrap();
    let reason = task.outcome_reason.unwrap();
    assert_eq!(
        (reason.kind, &*reason.message),
        (ReasonType::HandlerPanicked, "oops")
    );
    let e = h
        .call(|e, now| e.fail_attempt(&call, ReasonType::Interrupted, "x".into(), now))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::StaleExecution);
    assert_eq!(h.task(id).outcome, Some(Outcome::Failed));
}

#[test]
fn poll_checks_its_request() {
    let mut h = H::new(vec![
        quick("a"),
        Definition::new("b", ExecutorKind::Builtin("echo".into())),
    ]);
    for (req, code) in [
        (poll_req(&["a"], 0, 0), ErrorCode::InvalidAction),
        (poll_req(&["a"], 1001, 0), ErrorCode::InvalidAction),
        (poll_req(&["a"], 1, 60_001), ErrorCode::InvalidAction),
        (poll_req(&["zz"], 1, 0), ErrorCode::UnknownDefinition),
        (poll_req(&["a", "b"], 1, 0), ErrorCode::InvalidAction),
        (
            PollRequest {
                executor: String::new(),
                ..poll_req(&["a"], 1, 0)
            },
            ErrorCode::InvalidAction,
        ),
    ] {
        let e = h.poll_req(req).unwrap_err();
        assert_eq!(e.code, code, "{e}");
    }
    assert!(
        h.e.stats(h.now).workers.is_empty(),
        "a refused poll is not seen"
    );
    // The in-process executor polls built-in definitions.
    let id = h.run1(spec("b"));
    let req = PollRequest {
        executor: "builtin".into(),
        ..poll_req(&["b"], 1000, 0)
    };
    let Ok(PollOutcome::Claimed(tasks)) = h.poll_req(req) else {
        panic!()
    };
    assert_eq!(poll_ids(&tasks), vec![id]);
    assert!(h.e.stats(h.now).workers.is_empty(), "builtin is no worker");
}

#[test]
fn poll_claims_at_most_max() {
    let mut h = H::new(vec![quick("a")]);
    let ids = h.run(vec![spec("a"); 5]);
    assert_eq!(poll_ids(&h.poll(&["a"], 2)), ids[..2]);
    assert_eq!(poll_ids(&h.poll(&["a"], 1000)), ids[2..]);
}

#[test]
fn a_long_poll_parks_until_a_task_can_be_claimed() {
    let mut h = H::new(vec![quick("a"), quick("b")]);
    let Ok(PollOutcome::Parked(w)) = h.poll_req(poll_req(&["a"], 2, 30_000)) else {
        panic!("nothing to claim: parked")
    };
    h.run1(spec("b"));
    assert!(
        h.poll_replies.is_empty(),
        "a task of another definition does not wake it"
    );
    let ids = h.run(vec![spec("a"), spec("a"), spec("a")]);
    assert_eq!(h.poll_replies.len(), 1, "a later run answers it");
    let (waiter, tasks) = h.poll_replies.remove(0);
    assert_eq!(waiter, w);
    assert_eq!(poll_ids(&tasks), ids[..2]);
    assert!(tasks.iter().all(|t| t.status == Status::Requested));
    // A poll that finds something returns at once.
    let Ok(PollOutcome::Claimed(tasks)) = h.poll_req(poll_req(&["a"], 5, 30_000)) else {
        panic!()
    };
    assert_eq!(poll_ids(&tasks), ids[2..]);
}

#[test]
fn a_long_poll_gives_up_empty_at_its_deadline() {
    let mut h = H::new(vec![quick("a")]);
    let Ok(PollOutcome::Parked(w)) = h.poll_req(poll_req(&["a"], 1, 1_000)) else {
        panic!()
    };
    assert_eq!(h.e.next_deadline(), Some(h.at(1_000)));
    h.advance(999);
    assert!(h.poll_replies.is_empty());
    h.advance(1);
    assert_eq!(h.poll_replies, vec![(w, vec![])]);
    h.run1(spec("a"));
    assert_eq!(h.poll_replies.len(), 1, "answered once");
}

#[test]
fn a_long_poll_wakes_when_a_retry_comes_due_or_a_thread_frees() {
    let mut h = H::new(vec![Definition {
        retry_delay_ms: 500,
        ..quick("a")
    }]);
    let a = h.run1(on("t", spec("a")));
    let b = h.run1(on("t", spec("a")));
    let ta = h.claim("a");
    h.fail(&ta, None, "x").unwrap();
    let Ok(PollOutcome::Parked(_)) = h.poll_req(poll_req(&["a"], 1, 10_000)) else {
        panic!()
    };
    h.advance(500);
    let (_, tasks) = h.poll_replies.remove(0);
    assert_eq!(poll_ids(&tasks), vec![a]);
    let Ok(PollOutcome::Parked(_)) = h.poll_req(poll_req(&["a"], 1, 10_000)) else {
        panic!()
    };
    h.succeed(&tasks[0], None).unwrap();
    let (_, tasks) = h.poll_replies.remove(0);
    assert_eq!(
        poll_ids(&tasks),
        vec![b],
        "the freed thread offers its next task"
    );
}

#[test]
fn a_long_poll_wakes_when_a_concurrency_slot_frees() {
    let mut h = H::new(vec![Definition {
        concurrency_limit: Some(1),
        ..quick("a")
    }]);
    let [_, b] = h.run(vec![spec("a"), spec("a")])[..] else {
        unreachable!()
    };
    let t = h.claim("a");
    let Ok(PollOutcome::Parked(_)) = h.poll_req(poll_req(&["a"], 1, 10_000)) else {
        panic!()
    };
    h.succeed(&t, None).unwrap();
    assert_eq!(h.poll_replies.len(), 1);
    assert_eq!(poll_ids(&h.poll_replies[0].1), vec![b]);
}

#[test]
fn a_long_poll_wakes_on_resume() {
    let mut h = H::new(vec![quick("a")]);
    h.ok(pause("t", None));
    let id = h.run1(on("t", spec("a")));
    let Ok(PollOutcome::Parked(_)) = h.poll_req(poll_req(&["a"], 1, 10_000)) else {
        panic!()
    };
    h.ok(resume("t", false));
    assert_eq!(poll_ids(&h.poll_replies[0].1), vec![id]);
}

#[test]
fn an_unparked_poll_is_forgotten() {
    let mut h = H::new(vec![quick("a")]);
    let Ok(PollOutcome::Parked(w)) = h.poll_req(poll_req(&["a"], 1, 10_000)) else {
        panic!()
    };
    h.e.unpark(w);
    h.run1(spec("a"));
    h.advance(10_000);
    assert!(h.poll_replies.is_empty());
    assert_eq!(h.status(1), Status::Ready);
}

#[test]
fn an_external_definition_nobody_polls_is_blocked_by_no_executor() {
    let mut h = H::new(vec![
        quick("a"),
        Definition::new("b", ExecutorKind::Builtin("x".into())),
    ]);
    let [a, b] = h.run(vec![spec("a"), spec("b")])[..] else {
        unreachable!()
    };
    assert_eq!(h.task(a).blocked_by, Some(BlockedBy::NoExecutor));
    assert_eq!(
        h.task(b).blocked_by,
        None,
        "built-ins always have an executor"
    );
    let req = PollRequest {
        executor: "w9".into(),
        ..poll_req(&["a"], 1, 1)
    };
    let Ok(PollOutcome::Claimed(_)) = h.poll_req(PollRequest { wait_ms: 0, ..req }) else {
        panic!()
    };
    let c = h.run1(spec("a"));
    assert_eq!(h.task(c).blocked_by, None);
    h.advance(60_000);
    assert_eq!(h.task(c).blocked_by, None);
    h.advance(1);
    assert_eq!(h.task(c).blocked_by, Some(BlockedBy::NoExecutor));
    let workers = h.e.stats(h.now).workers;
    assert_eq!(workers.len(), 1);
    assert_eq!(workers[0].executor, "w9");
    assert_eq!(workers[0].definitions, vec!["a".to_string()]);
    assert_eq!(workers[0].last_seen, h.at(0));
}

#[test]
fn the_in_process_executor_claims_and_starts_in_one_go() {
    let mut h = H::new(vec![
        Definition {
            concurrency_limit: Some(2),
            ..Definition::new("b", ExecutorKind::Builtin("echo".into()))
        },
        quick("a"),
    ]);
    let ids = h.run(vec![
        on("t", spec("b")),
        on("t", spec("b")),
        spec("b"),
        spec("b"),
        spec("a"),
    ]);
    let now = h.now;
    let started = h.e.dispatch_builtin(&["b".to_string()], 10, now);
    h.settle();
    let got: Vec<TaskId> = started.iter().map(|d| d.id).collect();
    assert_eq!(got, vec![ids[0], ids[2]], "threads and limits hold");
    for d in &started {
        let t = h.task(d.id);
        assert_eq!((t.status, t.attempt, d.attempt), (Status::InProgress, 1, 1));
        assert_eq!(t.executor.as_deref(), Some("builtin"));
        assert_eq!(t.exec_id, Some(d.exec_id));
        assert_eq!(&*d.name, "b");
    }
    let call = ExecRef {
        id: started[0].id,
        exec_id: started[0].exec_id,
    };
    let req = SuccessRequest {
        id: call.id,
        exec_id: call.exec_id,
        result: None,
    };
    h.call(|e, now| e.report_success(req, now)).unwrap();
    let started = h.e.dispatch_builtin(&["b".to_string()], 10, now);
    h.settle();
    assert_eq!(
        started.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
    assert_eq!(
        h.status(ids[4]),
        Status::Ready,
        "only the definitions asked for"
    );
}
