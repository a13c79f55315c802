//! Threads (SPEC §3): serialisation, pause, lock, resume with and without continue.

use super::*;
use crate::model::{BlockedBy, Outcome};

fn quick(name: &str) -> Definition {
    Definition {
        requested_to_start_timeout_ms: 1_000,
        in_progress_timeout_ms: 5_000,
        allowed_retry_count: 0,
        retry_delay_ms: 1_000,
        ..ext(name)
    }
}

fn three_on_t(h: &mut H) -> Vec<TaskId> {
    h.run(vec![
        on("t", spec("a")),
        on(
            "t",
            TaskSpec {
                priority: 1,
                ..spec("a")
            },
        ),
        on("t", spec("a")),
    ])
}

#[test]
fn a_thread_runs_one_task_at_a_time_in_priority_order() {
    let mut h = H::new(vec![quick("a")]);
    h.poll(&["a"], 1);
    let ids = three_on_t(&mut h);
    let free = h.run1(spec("a"));
    let claimed = h.poll(&["a"], 10);
    assert_eq!(
        poll_ids(&claimed),
        vec![ids[1], free],
        "one of the thread, by priority"
    );
    assert_eq!(h.e.thread("t").current, Some(ids[1]));
    assert_eq!(h.task(ids[0]).blocked_by, Some(BlockedBy::ThreadBusy));
    assert_eq!(h.task(ids[2]).blocked_by, Some(BlockedBy::ThreadBusy));
    h.start(&claimed[0]).unwrap();
    h.succeed(&claimed[0], None).unwrap();
    assert_eq!(h.e.thread("t").current, None);
    assert_eq!(h.task(ids[0]).blocked_by, None, "about to be claimed");
    assert_eq!(h.task(ids[2]).blocked_by, Some(BlockedBy::ThreadBusy));
    let t = h.poll(&["a"], 10);
    assert_eq!(poll_ids(&t), vec![ids[0]]);
    h.succeed(&t[0], None).unwrap();
    // a new higher-priority task overtakes the rest of the thread
    let urgent = h.run1(on(
        "t",
        TaskSpec {
            priority: 9,
            ..spec("a")
        },
    ));
    assert_eq!(poll_ids(&h.poll(&["a"], 10)), vec![urgent]);
}

#[test]
fn a_thread_spans_definitions() {
    let mut h = H::new(vec![quick("a"), quick("b")]);
    let a = h.run1(on("t", spec("a")));
    let b = h.run1(on("t", spec("b")));
    assert_eq!(poll_ids(&h.poll(&["a", "b"], 10)), vec![a]);
    assert!(h.poll(&["b"], 10).is_empty());
    h.ok(cancel(&[a]));
    assert_eq!(poll_ids(&h.poll(&["b"], 10)), vec![b]);
}

#[test]
fn a_task_waiting_for_a_retry_keeps_its_thread() {
    let mut h = H::new(vec![Definition {
        allowed_retry_count: 1,
        ..quick("a")
    }]);
    let ids = three_on_t(&mut h);
    let t = h.claim_and_fail("a");
    assert_eq!((t.id, t.status), (ids[1], Status::Waiting));
    assert_eq!(h.e.thread("t").current, Some(ids[1]));
    assert!(h.poll(&["a"], 10).is_empty());
    h.advance(1_000);
    let again = h.claim("a");
    assert_eq!(
        again.id, ids[1],
        "the retried task comes back before the rest"
    );
}

#[test]
fn a_claim_that_expires_keeps_its_thread() {
    let mut h = H::new(vec![quick("a")]);
    let ids = three_on_t(&mut h);
    h.claim("a");
    h.advance(1_000);
    assert_eq!(h.status(ids[1]), Status::Ready);
    assert_eq!(h.e.thread("t").current, Some(ids[1]));
    assert_eq!(h.claim("a").id, ids[1]);
}

#[test]
fn an_open_task_awaiting_conclusion_keeps_its_thread() {
    let mut h = H::new(vec![quick("a")]);
    let open = h.run1(on(
        "t",
        TaskSpec {
            open: true,
            ..spec("a")
        },
    ));
    let next = h.run1(on("t", spec("a")));
    let t = h.claim("a");
    h.succeed(&t, None).unwrap();
    assert!(h.poll(&["a"], 10).is_empty());
    assert_eq!(h.task(next).blocked_by, Some(BlockedBy::ThreadBusy));
    h.ok(conclude(open, 0, None));
    assert_eq!(h.claim("a").id, next);
}

#[test]
fn pause_blocks_new_claims_but_not_claimed_tasks_and_is_idempotent() {
    let mut h = H::new(vec![quick("a")]);
    let ids = three_on_t(&mut h);
    let t = h.claim("a");
    let reply = h.ok(pause("t", None));
    let ActionReply::Pause { threads } = reply else {
        panic!()
    };
    assert_eq!(threads.len(), 1);
    let row = &threads[0];
    assert!(row.paused);
    assert_eq!(row.paused_at, Some(h.now));
    assert_eq!(row.paused_by.as_deref(), Some("alice"));
    assert_eq!(row.current, Some(ids[1]));
    let n = h.events.len();
    h.ok(pause("t", None));
    assert!(
        h.events_since(n).is_empty(),
        "pausing twice changes nothing"
    );
    // The claimed task may still start and finish.
    h.start(&t).unwrap();
    h.succeed(&t, None).unwrap();
    assert_eq!(h.task(ids[0]).blocked_by, Some(BlockedBy::ThreadPaused));
    assert!(h.poll(&["a"], 10).is_empty());
    let ActionReply::Resume { threads, continued } = h.ok(resume("t", false)) else {
        panic!()
    };
    assert!(!threads[0].paused && continued.is_empty());
    assert_eq!(h.claim("a").id, ids[0]);
}

#[test]
fn pausing_an_unknown_thread_creates_it_and_resuming_forgets_it() {
    let mut h = H::new(vec![quick("a")]);
    assert!(h.e.threads().is_empty());
    h.ok(pause("later", None));
    let rows = h.e.threads();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].paused);
    let id = h.run1(on("later", spec("a")));
    assert!(h.poll(&["a"], 10).is_empty());
    assert_eq!(h.task(id).blocked_by, Some(BlockedBy::ThreadPaused));
    h.ok(resume("later", false));
    assert_eq!(h.e.threads()[0].counts.get("ready"), Some(&1));
    h.claim_and_succeed("a");
    assert!(h.e.threads().is_empty(), "an idle thread is not listed");
}

#[test]
fn pause_until_resumes_by_itself() {
    let mut h = H::new(vec![quick("a")]);
    let id = h.run1(on("t", spec("a")));
    h.ok(pause("t", Some(h.at(1_000))));
    assert_eq!(h.e.thread("t").paused_until, Some(h.at(1_000)));
    // Moving `until` later: the old timer does not end the pause.
    h.ok(pause("t", Some(h.at(2_000))));
    h.advance(1_000);
    assert!(h.e.thread("t").paused);
    assert!(h.poll(&["a"], 10).is_empty());
    h.advance(1_000);
    let row = h.e.thread("t");
    assert!(!row.paused && row.paused_until.is_none());
    assert_eq!(h.claim("a").id, id);
    let ev = h.events.iter().rev().find_map(|e| match &e.kind {
        EventKind::ThreadUpdated { thread } if !thread.paused => Some(thread.clone()),
        _ => None,
    });
    assert!(ev.is_some(), "the thread's change is announced");
}

#[test]
fn pause_without_until_cancels_an_earlier_until() {
    let mut h = H::new(vec![quick("a")]);
    h.ok(pause("t", Some(h.at(1_000))));
    h.ok(pause("t", None));
    h.advance(5_000);
    assert!(h.e.thread("t").paused);
}

#[test]
fn a_terminal_failure_locks_the_thread() {
    let mut h = H::new(vec![quick("a")]);
    h.poll(&["a"], 1);
    let ids = three_on_t(&mut h);
    let failed = h.claim_and_fail("a");
    assert_eq!(failed.outcome, Some(Outcome::Failed));
    let row = h.e.thread("t");
    assert!(row.paused);
    assert_eq!(row.locked_by, Some(ids[1]));
    assert_eq!(row.locked_at, Some(h.now));
    assert_eq!(row.paused_by, Some(format!("task:{}", ids[1])));
    assert_eq!(row.current, None);
    assert_eq!(h.task(ids[0]).blocked_by, Some(BlockedBy::ThreadLocked));
    assert!(h.poll(&["a"], 10).is_empty());
    assert!(h.log(ids[1]).iter().any(|m| m == "locked thread t"));
}

#[test]
fn an_auto_task_does_not_lock_its_thread() {
    let mut h = H::new(vec![quick("a")]);
    let a = h.run1(on(
        "t",
        TaskSpec {
            auto: true,
            ..spec("a")
        },
    ));
    let b = h.run1(on("t", spec("a")));
    let t = h.claim_and_fail("a");
    assert_eq!((t.id, t.outcome), (a, Some(Outcome::Failed)));
    assert!(!h.e.thread("t").paused);
    assert_eq!(h.claim("a").id, b);
}

#[test]
fn cancel_and_timeouts_lock_as_failures_do_or_not() {
    let mut h = H::new(vec![quick("a")]);
    let a = h.run1(on("t", spec("a")));
    h.claim("a");
    h.ok(cancel(&[a]));
    assert!(!h.e.thread("t").paused, "a cancel is no failure");
    let b = h.run1(on("t", spec("a")));
    let t = h.claim("a");
    h.start(&t).unwrap();
    h.advance(5_000);
    assert_eq!(h.task(b).outcome, Some(Outcome::Failed));
    assert_eq!(h.e.thread("t").locked_by, Some(b), "a timeout is a failure");
}

#[test]
fn pause_until_never_ends_a_lock() {
    let mut h = H::new(vec![quick("a")]);
    h.ok(pause("t", Some(h.at(1_000))));
    let a = h.run1(on("t", spec("a")));
    h.ok(resume("t", false));
    let t = h.claim("a");
    h.ok(pause("t", Some(h.at(500))));
    h.fail(&t, None, "x").unwrap();
    assert_eq!(
        h.e.thread("t").paused_until,
        None,
        "the lock replaced the pause"
    );
    h.ok(pause("t", Some(h.at(2_000))));
    h.advance(5_000);
    let row = h.e.thread("t");
    assert!(row.paused);
    assert_eq!(row.locked_by, Some(a));
}

#[test]
fn resume_without_continue_moves_on() {
    let mut h = H::new(vec![quick("a")]);
    let ids = three_on_t(&mut h);
    h.claim_and_fail("a");
    let ActionReply::Resume { threads, continued } = h.ok(resume("t", false)) else {
        panic!()
    };
    assert!(continued.is_empty());
    assert!(!threads[0].paused && threads[0].locked_by.is_none());
    assert_eq!(
        h.task(ids[1]).outcome,
        Some(Outcome::Failed),
        "stays failed"
    );
    assert_eq!(h.claim("a").id, ids[0]);
}

#[test]
fn resume_with_continue_runs_the_locked_task_first_and_locks_again_on_failure() {
    let mut h = H::new(vec![Definition {
        allowed_retry_count: 1,
        ..quick("a")
    }]);
    let low = h.run1(on(
        "t",
        TaskSpec {
            priority: -5,
            ..spec("a")
        },
    ));
    h.claim_and_fail("a");
    h.advance(1_000);
    let failed = h.claim_and_fail("a");
    assert_eq!((failed.id, failed.retry_count), (low, 1));
    assert_eq!(h.e.thread("t").locked_by, Some(low));
    let high = h.run1(on(
        "t",
        TaskSpec {
            priority: 10,
            ..spec("a")
        },
    ));
    h.who = Requester::new("bob");
    let ActionReply::Resume { continued, .. } = h.ok(resume("t", true)) else {
        panic!()
    };
    assert_eq!(continued, vec![low]);
    let t = h.task(low);
    assert_eq!(t.status, Status::Ready);
    assert_eq!(t.retry_count, 1, "unchanged");
    assert!(t.outcome.is_none() && t.outcome_reason.is_none() && t.concluded_at.is_none());
    assert_eq!(
        h.log(low).last().map(String::as_str),
        Some("continued by bob")
    );
    assert_eq!(h.task(high).blocked_by, Some(BlockedBy::ThreadBusy));
    let again = h.claim("a");
    assert_eq!(
        again.id, low,
        "before the rest of the thread, whatever the priority"
    );
    assert_ne!(exec(&again), exec(&failed));
    h.start(&again).unwrap();
    let failed_again = h.fail(&again, None, "still broken").unwrap();
    assert_eq!(failed_again.status, Status::Done, "no retries are left");
    assert_eq!(failed_again.attempt, 3);
    assert_eq!(h.e.thread("t").locked_by, Some(low), "locked again");
    // Continue once more, and this time it succeeds: the thread moves on.
    h.ok(resume("t", true));
    let t = h.claim("a");
    assert_eq!(t.id, low);
    h.succeed(&t, None).unwrap();
    assert_eq!(h.claim("a").id, high);
}

#[test]
fn resume_is_a_no_op_on_a_running_thread_and_continue_without_lock_just_resumes() {
    let mut h = H::new(vec![quick("a")]);
    h.run1(on("t", spec("a")));
    let n = h.events.len();
    let ActionReply::Resume { continued, threads } = h.ok(resume("t", true)) else {
        panic!()
    };
    assert!(continued.is_empty() && !threads[0].paused);
    assert!(h.events_since(n).is_empty());
    let ActionReply::Resume { continued, .. } = h.ok(resume("nobody", true)) else {
        panic!()
    };
    assert!(continued.is_empty());
    h.ok(pause("t", None));
    let ActionReply::Resume { continued, threads } = h.ok(resume("t", true)) else {
        panic!()
    };
    assert!(continued.is_empty() && !threads[0].paused);
}

#[test]
fn cleaning_the_locking_task_leaves_the_thread_paused_until_resumed() {
    let mut h = H::new(vec![quick("a")]);
    let t = three_on_t(&mut h);
    h.claim_and_fail("a");
    h.ok(Action::Clean {
        tasks: ids(&[t[1]]),
        ignore: false,
    });
    let row = h.e.thread("t");
    assert!(row.paused && row.locked_by.is_none());
    let ActionReply::Resume { continued, .. } = h.ok(resume("t", true)) else {
        panic!()
    };
    assert!(continued.is_empty());
    assert_eq!(h.claim("a").id, t[0]);
}

#[test]
fn thread_rows_count_live_tasks_by_status() {
    let mut h = H::new(vec![quick("a")]);
    h.run(vec![
        on("x", spec("a")),
        on("x", spec("a")),
        on(
            "x",
            TaskSpec {
                hold: true,
                ..spec("a")
            },
        ),
        on("y", spec("a")),
    ]);
    h.claim_and_succeed("a");
    h.claim("a");
    let rows = h.e.threads();
    assert_eq!(
        rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["x", "y"]
    );
    let x = &rows[0];
    assert_eq!(
        x.counts,
        BTreeMap::from([("created".to_string(), 1), ("requested".to_string(), 1)])
    );
    assert_eq!(x.current, Some(2));
    assert_eq!(rows[1].counts, BTreeMap::from([("ready".to_string(), 1)]));
}

#[test]
fn pause_and_resume_check_their_threads() {
    let mut h = H::new(vec![quick("a")]);
    h.err(pause("bad name", None), ErrorCode::InvalidName);
    h.err(
        Action::Pause {
            threads: vec!["ok".into(), "x".repeat(129)],
            until: None,
        },
        ErrorCode::InvalidName,
    );
    h.err(
        Action::Pause {
            threads: vec![],
            until: None,
        },
        ErrorCode::InvalidAction,
    );
    h.err(resume("", false), ErrorCode::InvalidName);
    h.err(
        run(vec![on("no spaces", spec("a"))]),
        ErrorCode::InvalidName,
    );
    // The same thread twice is paused once and listed once.
    let ActionReply::Pause { threads } = h.ok(Action::Pause {
        threads: vec!["t".into(), "t".into()],
        until: None,
    }) else {
        panic!()
    };
    assert_eq!(threads.len(), 1);
}

#[test]
fn continue_refuses_a_task_whose_definition_is_gone() {
    let mut h = H::new(vec![quick("a"), quick("b")]);
    let locker = h.run1(on("t", spec("a")));
    let next = h.run1(on("t", spec("b")));
    h.claim_and_fail("a");
    h.call(|e, now| e.delete_definition("a", now)).unwrap();
    let e = h.err(resume("t", true), ErrorCode::UnknownDefinition);
    assert_eq!(e.tasks, vec![locker]);
    assert!(e.message.contains("without continue"), "{}", e.message);
    h.ok(resume("t", false));
    assert_eq!(h.claim("b").id, next);
}
