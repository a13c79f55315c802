//! The transitions of SPEC §2: creation, release, claim order, start, timeouts, retries,
//! success and failure, open tasks and delayed conclusions, retention.

use super::*;
use crate::model::{BlockedBy, Outcome, ReasonType};
use serde_json::json;

fn quick(name: &str) -> Definition {
    Definition {
        requested_to_start_timeout_ms: 1_000,
        in_progress_timeout_ms: 5_000,
        allowed_retry_count: 0,
        retry_delay_ms: 1_000,
        ..ext(name)
    }
}

#[test]
fn a_new_task_is_created_waiting_or_ready() {
    let mut h = H::new(vec![ext("a")]);
    let held = h.run1(TaskSpec {
        hold: true,
        ..spec("a")
    });
    let later = h.run1(TaskSpec {
        execute_at: Some(h.at(5_000)),
        ..spec("a")
    });
    let past = h.run1(TaskSpec {
        execute_at: Some(h.at(0)),
        ..spec("a")
    });
    let now = h.run1(spec("a"));
    assert_eq!(h.status(held), Status::Created);
    assert_eq!(h.status(later), Status::Waiting);
    assert_eq!(h.status(past), Status::Ready);
    assert_eq!(h.status(now), Status::Ready);
    assert_eq!(h.transitions(held), vec![(None, Status::Created)]);
    assert!(h.log(held)[0].contains("held until run"));
    assert!(h.log(later)[0].contains("waiting until"));
    let t = h.task(now);
    assert_eq!(t.conf, json!({}));
    assert_eq!(&*t.requester, "alice");
    assert_eq!((t.attempt, t.retry_count), (0, 0));
    assert_eq!(t.created_at, T0);
    assert!(t.exec_id.is_none() && t.outcome.is_none());
    // Ids strictly increase.
    assert_eq!(vec![held, later, past, now], vec![1, 2, 3, 4]);
}

#[test]
fn execute_at_releases_the_task_by_itself() {
    let mut h = H::new(vec![ext("a")]);
    let id = h.run1(TaskSpec {
        execute_at: Some(h.at(5_000)),
        ..spec("a")
    });
    assert_eq!(h.e.next_deadline(), Some(h.at(5_000)));
    assert!(
        h.poll(&["a"], 10).is_empty(),
        "a waiting task is not claimed"
    );
    h.advance(4_999);
    assert_eq!(h.status(id), Status::Waiting);
    h.advance(1);
    assert_eq!(h.status(id), Status::Ready);
    assert!(h.log(id).last().unwrap().contains("execute_at reached"));
    assert_eq!(poll_ids(&h.poll(&["a"], 10)), vec![id]);
}

#[test]
fn claims_go_by_priority_then_id_across_definitions() {
    let mut h = H::new(vec![ext("a"), ext("b")]);
    let ids = h.run(vec![
        spec("a"),
        TaskSpec {
            priority: 5,
            ..spec("b")
        },
        TaskSpec {
            priority: 5,
            ..spec("a")
        },
        TaskSpec {
            priority: -1,
            ..spec("a")
        },
        spec("b"),
    ]);
    let claimed = h.poll(&["a", "b"], 3);
    assert_eq!(poll_ids(&claimed), vec![ids[1], ids[2], ids[0]]);
    let rest = h.poll(&["a", "b"], 10);
    assert_eq!(poll_ids(&rest), vec![ids[4], ids[3]]);
    for t in claimed.iter().chain(&rest) {
        assert_eq!(t.status, Status::Requested);
        assert_eq!(t.executor.as_deref(), Some("w1"));
        assert!(t.exec_id.is_some());
    }
    let execs: BTreeSet<_> = claimed.iter().chain(&rest).map(exec).collect();
    assert_eq!(execs.len(), 5, "every claim gets a fresh exec_id");
    // A poll only claims its own definitions.
    let c = h.run1(spec("a"));
    assert!(h.poll(&["b"], 10).is_empty());
    assert_eq!(poll_ids(&h.poll(&["a"], 10)), vec![c]);
}

#[test]
fn start_begins_an_attempt() {
    let mut h = H::new(vec![ext("a")]);
    let id = h.run1(spec("a"));
    h.advance(100);
    let t = h.claim("a");
    assert_eq!(t.attempt, 0, "a claim is not an attempt");
    h.advance(50);
    let started = h.start(&t).unwrap();
    assert_eq!(started.status, Status::InProgress);
    assert_eq!(started.attempt, 1);
    assert_eq!(started.started_at, Some(h.at(150)));
    let detail = h.e.task_detail(id, h.now).unwrap();
    assert_eq!(detail.attempts.len(), 1);
    let a = &detail.attempts[0];
    assert_eq!((a.attempt, a.exec_id), (1, exec(&t)));
    assert_eq!((a.claimed_at, a.started_at), (h.at(100), h.at(150)));
    assert!(a.ended_at.is_none() && a.reason.is_none());
    assert_eq!(
        h.transitions(id),
        vec![
            (None, Status::Ready),
            (Some(Status::Ready), Status::Requested),
            (Some(Status::Requested), Status::InProgress)
        ]
    );
}

#[test]
fn a_claim_not_started_in_time_goes_back_to_ready_without_a_retry() {
    let mut h = H::new(vec![quick("a")]);
    let id = h.run1(spec("a"));
    let t = h.claim("a");
    h.advance(999);
    assert_eq!(h.status(id), Status::Requested);
    h.advance(1);
    let back = h.task(id);
    assert_eq!(back.status, Status::Ready);
    assert_eq!((back.retry_count, back.attempt), (0, 0));
    assert!(back.exec_id.is_none() && back.executor.is_none());
    assert!(h.log(id).last().unwrap().contains("not a retry"));
    // The exec_id is void.
    let err = h.start(&t).unwrap_err();
    assert_eq!(err.code, ErrorCode::StaleExecution);
    // Claimed again with a fresh exec_id; the expired claim is no attempt.
    let again = h.claim("a");
    assert_ne!(exec(&again), exec(&t));
    h.start(&again).unwrap();
    assert_eq!(h.e.task_detail(id, h.now).unwrap().attempts.len(), 1);
}

#[test]
fn a_missing_heartbeat_fails_the_attempt() {
    let mut h = H::new(vec![Definition {
        allowed_retry_count: 1,
        ..quick("a")
    }]);
    let id = h.run1(spec("a"));
    let t = h.claim("a");
    h.start(&t).unwrap();
    h.advance(4_000);
    let reply = h.notify(&t, Some(0.5), &["half way"]).unwrap();
    assert_eq!(reply.deadline, h.at(9_000));
    assert_eq!(h.task(id).progress, Some(0.5));
    h.advance(4_999);
    assert_eq!(
        h.status(id),
        Status::InProgress,
        "the heartbeat moved the deadline"
    );
    h.advance(1);
    let task = h.task(id);
    assert_eq!(task.status, Status::Waiting, "retried");
    assert_eq!(task.retry_count, 1);
    let detail = h.e.task_detail(id, h.now).unwrap();
    let reason = detail.attempts[0].reason.as_ref().unwrap();
    assert_eq!(reason.kind, ReasonType::InProgressTimeout);
    assert_eq!(detail.attempts[0].ended_at, Some(h.at(9_000)));
    assert_eq!(
        h.notify(&t, None, &[]).unwrap_err().code,
        ErrorCode::StaleExecution
    );
    // The second attempt times out for good.
    h.advance(1_000);
    let t2 = h.claim("a");
    h.start(&t2).unwrap();
    h.advance(5_000);
    let task = h.task(id);
    assert_eq!(task.status, Status::Done);
    assert_eq!(task.outcome, Some(Outcome::Failed));
    assert_eq!(
        task.outcome_reason.unwrap().kind,
        ReasonType::InProgressTimeout
    );
}

#[test]
fn the_task_timeout_bounds_an_attempt_despite_heartbeats() {
    let mut h = H::new(vec![quick("a")]);
    let id = h.run1(TaskSpec {
        timeout: Some(3_500),
        ..spec("a")
    });
    let t = h.claim("a");
    h.start(&t).unwrap();
    for _ in 0..3 {
        h.advance(1_000);
        let reply = h.notify(&t, None, &[]).unwrap();
        assert_eq!(reply.deadline, h.at(3_500), "the earlier of both deadlines");
    }
    assert_eq!(h.status(id), Status::InProgress);
    h.advance(500);
    let task = h.task(id);
    assert_eq!(task.outcome, Some(Outcome::Failed));
    assert_eq!(task.outcome_reason.unwrap().kind, ReasonType::Timeout);
}

#[test]
fn retries_wait_with_backoff_up_to_the_cap() {
    let mut h = H::new(vec![Definition {
        allowed_retry_count: 3,
        retry_delay_ms: 1_000,
        retry_backoff: 2.0,
        max_retry_delay_ms: 3_000,
        ..quick("a")
    }]);
    let id = h.run1(spec("a"));
    for (n, delay) in [(1, 1_000), (2, 2_000), (3, 3_000)] {
        let failed = h.claim_and_fail("a");
        assert_eq!(
            failed.status,
            Status::Waiting,
            "the reply says what became of it"
        );
        assert_eq!(failed.retry_count, n);
        assert_eq!(failed.execute_at, Some(h.now.plus_ms(delay)));
        assert!(h.poll(&["a"], 1).is_empty(), "not before the delay");
        h.advance(delay - 1);
        assert_eq!(h.status(id), Status::Waiting);
        h.advance(1);
        assert_eq!(h.status(id), Status::Ready);
    }
    let last = h.claim_and_fail("a");
    assert_eq!(last.status, Status::Done);
    assert_eq!(last.outcome, Some(Outcome::Failed));
    assert_eq!((last.retry_count, last.attempt), (3, 4));
    let reason = last.outcome_reason.unwrap();
    assert_eq!(reason.kind, ReasonType::FailedByExecutor);
    assert_eq!(&*reason.message, "boom");
    let attempts = h.e.task_detail(id, h.now).unwrap().attempts;
    assert_eq!(attempts.len(), 4);
    assert!(
        attempts
            .iter()
            .all(|a| a.reason.as_ref().unwrap().kind == ReasonType::FailedByExecutor)
    );
}

#[test]
fn success_concludes_with_the_result() {
    let mut h = H::new(vec![quick("a")]);
    let id = h.run1(spec("a"));
    let t = h.claim("a");
    h.start(&t).unwrap();
    h.advance(10);
    let done = h.succeed(&t, Some(json!({"sum": 3}))).unwrap();
    assert_eq!(done.status, Status::Done);
    assert_eq!(done.outcome, Some(Outcome::Succeeded));
    assert_eq!(done.result, Some(json!({"sum": 3}).into()));
    assert_eq!(done.concluded_at, Some(h.now));
    assert_eq!(done.outcome_reason.unwrap().kind, ReasonType::Succeeded);
    let a = &h.e.task_detail(id, h.now).unwrap().attempts[0];
    assert_eq!(a.reason.as_ref().unwrap().kind, ReasonType::Succeeded);
    assert_eq!(a.ended_at, Some(h.now));
}

#[test]
fn a_terminal_failure_keeps_the_error_payload() {
    let mut h = H::new(vec![quick("a")]);
    let id = h.run1(spec("a"));
    let t = h.claim("a");
    let done = h.fail(&t, Some(json!({"code": 7})), "bad input").unwrap();
    assert_eq!(done.attempt, 1, "failing without start starts the attempt");
    assert_eq!(done.error, Some(json!({"code": 7}).into()));
    let reason = done.outcome_reason.unwrap();
    assert_eq!(reason.kind, ReasonType::FailedByExecutor);
    assert_eq!(reason.data, json!({"code": 7}));
    assert_eq!(h.task(id).outcome, Some(Outcome::Failed));
}

#[test]
fn a_result_or_error_off_schema_fails_the_attempt_but_the_call_is_accepted() {
    let mut h = H::new(vec![Definition {
        allowed_retry_count: 1,
        result_schema: Some(json!({"type": "object", "required": ["sum"]})),
        error_schema: Some(json!({"type": "object", "required": ["code"]})),
        ..quick("a")
    }]);
    let id = h.run1(spec("a"));
    let t = h.claim("a");
    h.start(&t).unwrap();
    let reply = h.succeed(&t, Some(json!({"total": 3}))).unwrap();
    assert_eq!(reply.status, Status::Waiting, "retried like any failure");
    let a = &h.e.task_detail(id, h.now).unwrap().attempts[0];
    let reason = a.reason.as_ref().unwrap();
    assert_eq!(reason.kind, ReasonType::InvalidResult);
    assert!(
        reason.message.contains("result_schema"),
        "{}",
        reason.message
    );
    h.advance(1_000);
    let t = h.claim("a");
    let reply = h.fail(&t, Some(json!("nope")), "broke").unwrap();
    assert_eq!(reply.status, Status::Done);
    let reason = reply.outcome_reason.unwrap();
    assert_eq!(reason.kind, ReasonType::InvalidResult);
    assert!(
        reason.message.contains("error_schema"),
        "{}",
        reason.message
    );
    // A valid result and error pass.
    let id2 = h.run1(spec("a"));
    let t = h.claim("a");
    h.fail(&t, Some(json!({"code": 1})), "x").unwrap();
    let r = h.e.task_detail(id2, h.now).unwrap().attempts[0]
        .reason
        .clone();
    assert_eq!(r.unwrap().kind, ReasonType::FailedByExecutor);
    h.advance(1_000);
    let t = h.claim("a");
    let done = h.succeed(&t, Some(json!({"sum": 1}))).unwrap();
    assert_eq!(done.outcome, Some(Outcome::Succeeded));
}

#[test]
fn hold_waits_for_a_run_reference() {
    let mut h = H::new(vec![ext("a")]);
    let id = h.run1(TaskSpec {
        hold: true,
        execute_at: Some(h.at(60_000)),
        ..spec("a")
    });
    h.advance(120_000);
    assert_eq!(
        h.status(id),
        Status::Created,
        "only a run starts a held task"
    );
    assert!(h.poll(&["a"], 10).is_empty());
    let reply = h.ok(run_refs(ids(&[id]), false));
    assert_eq!(reply, ActionReply::Run { tasks: vec![id] });
    assert_eq!(h.status(id), Status::Ready);
    assert!(h.log(id).last().unwrap().contains("run by alice"));
}

#[test]
fn a_run_reference_releases_a_waiting_task_now() {
    let mut h = H::new(vec![ext("a")]);
    let id = h.run1(TaskSpec {
        execute_at: Some(h.at(60_000)),
        ..spec("a")
    });
    h.ok(run_refs(ids(&[id, id]), false));
    assert_eq!(h.status(id), Status::Ready);
    h.advance(60_000);
    assert_eq!(h.status(id), Status::Ready, "the old timer does nothing");
    assert_eq!(h.transitions(id).len(), 2);
}

#[test]
fn open_tasks_await_a_conclude_and_keep_the_executor_result() {
    let mut h = H::new(vec![Definition {
        concurrency_limit: Some(1),
        ..quick("a")
    }]);
    let id = h.run1(on(
        "t",
        TaskSpec {
            open: true,
            timeout: Some(100),
            ..spec("a")
        },
    ));
    let other = h.run1(spec("a"));
    let t = h.claim("a");
    h.start(&t).unwrap();
    let reply = h.succeed(&t, Some(json!({"n": 1}))).unwrap();
    assert_eq!(reply.status, Status::InProgress);
    assert!(reply.awaiting_conclude);
    assert_eq!(reply.result, Some(json!({"n": 1}).into()));
    let a = &h.e.task_detail(id, h.now).unwrap().attempts[0];
    assert_eq!(a.reason.as_ref().unwrap().kind, ReasonType::Succeeded);
    // The attempt ended: no timeout applies, and its slot is free.
    h.advance(1_000_000);
    assert_eq!(h.status(id), Status::InProgress);
    assert_eq!(poll_ids(&h.poll(&["a"], 5)), vec![other]);
    // But it still holds its thread.
    assert_eq!(h.e.thread("t").current, Some(id));
    // The executor is done with it.
    assert_eq!(
        h.notify(&t, None, &[]).unwrap_err().code,
        ErrorCode::StaleExecution
    );
    h.ok(conclude(id, 0, None));
    let done = h.task(id);
    assert_eq!(done.outcome, Some(Outcome::Succeeded));
    assert_eq!(
        done.result,
        Some(json!({"n": 1}).into()),
        "kept without a result"
    );
    assert_eq!(done.outcome_reason.unwrap().kind, ReasonType::Concluded);
    assert!(!done.awaiting_conclude);
    assert_eq!(h.e.thread("t").current, None);
}

#[test]
fn conclude_with_a_result_replaces_the_executor_result() {
    let mut h = H::new(vec![quick("a")]);
    let id = h.run1(TaskSpec {
        open: true,
        ..spec("a")
    });
    let t = h.claim("a");
    h.succeed(&t, Some(json!(1))).unwrap();
    h.ok(conclude(id, 0, Some(json!(2))));
    assert_eq!(h.task(id).result, Some(json!(2).into()));
}

#[test]
fn a_delayed_conclusion_blocks_claiming_until_it_lands() {
    let mut h = H::new(vec![ext("a")]);
    h.poll(&["a"], 1); // a worker is around
    let id = h.run1(spec("a"));
    let reply = h.ok(conclude(id, 1_000, Some(json!("r"))));
    assert_eq!(
        reply,
        ActionReply::Conclude {
            task: id,
            conclude_at: h.at(1_000)
        }
    );
    let t = h.task(id);
    assert_eq!(t.conclude_at, Some(h.at(1_000)));
    assert_eq!(t.blocked_by, Some(BlockedBy::Concluding));
    assert!(h.poll(&["a"], 10).is_empty());
    h.advance(999);
    assert_eq!(h.status(id), Status::Ready);
    h.advance(1);
    let t = h.task(id);
    assert_eq!(t.outcome, Some(Outcome::Succeeded));
    assert_eq!(t.result, Some(json!("r").into()));
    assert_eq!(t.conclude_at, None);
    assert_eq!(t.outcome_reason.unwrap().kind, ReasonType::Concluded);
}

#[test]
fn a_second_conclude_replaces_the_first() {
    let mut h = H::new(vec![ext("a")]);
    let [a, b] = h.run(vec![spec("a"), spec("a")])[..] else {
        unreachable!()
    };
    // Earlier replaces later.
    h.ok(conclude(a, 3_000, Some(json!("first"))));
    h.ok(conclude(a, 1_000, Some(json!("second"))));
    // Later replaces earlier.
    h.ok(conclude(b, 1_000, Some(json!("first"))));
    h.ok(conclude(b, 2_000, None));
    h.advance(1_000);
    assert_eq!(h.task(a).result, Some(json!("second").into()));
    assert_eq!(
        h.status(b),
        Status::Ready,
        "the first conclusion was replaced"
    );
    h.advance(1_000);
    assert_eq!(h.task(b).outcome, Some(Outcome::Succeeded));
    assert_eq!(h.task(b).result, None, "the second had no result");
    let n = h.events.len();
    h.advance(5_000);
    assert!(
        h.events_since(n).is_empty(),
        "no left-over conclusion fires"
    );
}

#[test]
fn a_conclusion_some_other_way_drops_the_pending_one() {
    let mut h = H::new(vec![quick("a")]);
    let [a, b] = h.run(vec![spec("a"), spec("a")])[..] else {
        unreachable!()
    };
    let ta = h.claim("a");
    h.start(&ta).unwrap();
    h.ok(conclude(a, 2_000, Some(json!("pending"))));
    // The live attempt may still report while the conclusion is pending.
    h.notify(&ta, Some(0.9), &["still here"]).unwrap();
    h.succeed(&ta, Some(json!("executor"))).unwrap();
    h.ok(conclude(b, 2_000, None));
    h.ok(cancel(&[b]));
    let n = h.events.len();
    h.advance(3_000);
    assert!(h.events_since(n).is_empty());
    let ta = h.task(a);
    assert_eq!(ta.result, Some(json!("executor").into()));
    assert_eq!(ta.outcome_reason.unwrap().kind, ReasonType::Succeeded);
    assert_eq!(h.task(b).outcome, Some(Outcome::Canceled));
}

#[test]
fn a_pending_conclusion_still_lets_the_attempt_fail_and_retry() {
    let mut h = H::new(vec![Definition {
        allowed_retry_count: 1,
        ..quick("a")
    }]);
    let id = h.run1(spec("a"));
    let t = h.claim("a");
    h.ok(conclude(id, 5_000, None));
    h.fail(&t, None, "x").unwrap();
    assert_eq!(h.status(id), Status::Waiting);
    h.advance(1_000);
    assert_eq!(h.task(id).blocked_by, Some(BlockedBy::Concluding));
    assert!(h.poll(&["a"], 1).is_empty());
    h.advance(4_000);
    assert_eq!(h.task(id).outcome, Some(Outcome::Succeeded));
}

#[test]
fn conclude_ends_a_live_attempt() {
    let mut h = H::new(vec![quick("a")]);
    let id = h.run1(spec("a"));
    let t = h.claim("a");
    h.start(&t).unwrap();
    h.ok(conclude(id, 0, Some(json!(1))));
    assert_eq!(
        h.succeed(&t, None).unwrap_err().code,
        ErrorCode::StaleExecution
    );
    let a = &h.e.task_detail(id, h.now).unwrap().attempts[0];
    assert_eq!(a.reason.as_ref().unwrap().kind, ReasonType::Concluded);
    // A held or waiting task can be concluded too.
    let held = h.run1(TaskSpec {
        hold: true,
        ..spec("a")
    });
    h.ok(conclude(held, 0, None));
    assert_eq!(h.task(held).outcome, Some(Outcome::Succeeded));
}

#[test]
fn retention_cleans_concluded_tasks_in_batches() {
    let config = EngineConfig {
        retention_batch: 2,
        ..EngineConfig::default()
    };
    let mut h = H::with_config(
        config,
        vec![Definition {
            retention_ms: 1_000,
            ..ext("a")
        }],
    );
    let ids = h.run(
        (0..5)
            .map(|i| TaskSpec {
                key: Some(format!("k{i}")),
                ..spec("a")
            })
            .collect(),
    );
    let live = h.run1(spec("a"));
    h.ok(cancel(&ids));
    h.advance(999);
    assert_eq!(h.e.task_count(), 6);
    h.advance(1);
    assert_eq!(h.e.task_count(), 4, "at most a batch per tick");
    assert_eq!(h.e.next_deadline(), Some(h.now), "more is due at once");
    let now = h.now;
    h.e.tick(now);
    h.settle();
    assert_eq!(h.e.task_count(), 2);
    h.e.tick(now);
    h.settle();
    assert_eq!(h.e.task_count(), 1);
    assert!(h.e.record(live).is_some(), "live tasks are never cleaned");
    let cleaned = count_events(&h.events, |k| matches!(k, EventKind::TaskCleaned { .. }));
    assert_eq!(cleaned, 5);
    // Their keys are free again.
    let again = h.run1(TaskSpec {
        key: Some("k0".into()),
        ..spec("a")
    });
    assert!(again > live);
}

#[test]
fn retention_follows_a_changed_definition() {
    let mut h = H::new(vec![Definition {
        retention_ms: 1_000,
        ..ext("a")
    }]);
    let id = h.run1(spec("a"));
    h.ok(cancel(&[id]));
    h.def(Definition {
        retention_ms: 5_000,
        ..ext("a")
    });
    h.advance(1_000);
    assert!(h.e.record(id).is_some(), "kept for the new retention");
    h.advance(4_000);
    assert!(h.e.record(id).is_none());
}

#[test]
fn a_definition_change_applies_to_later_claims_and_attempts() {
    let mut h = H::new(vec![quick("a")]);
    let id = h.run1(spec("a"));
    h.def(Definition {
        requested_to_start_timeout_ms: 3_000,
        allowed_retry_count: 1,
        ..quick("a")
    });
    let t = h.claim("a");
    h.advance(2_000);
    assert_eq!(h.status(id), Status::Requested);
    h.fail(&t, None, "x").unwrap();
    assert_eq!(
        h.status(id),
        Status::Waiting,
        "retried under the new definition"
    );
}

#[test]
fn changing_the_concurrency_limit_regroups_live_tasks() {
    let mut h = H::new(vec![ext("a")]);
    h.run(vec![spec("a"), spec("a"), spec("a")]);
    let first = h.claim("a");
    h.def(Definition {
        concurrency_limit: Some(1),
        ..ext("a")
    });
    assert!(
        h.poll(&["a"], 10).is_empty(),
        "the running task fills the new limit"
    );
    h.start(&first).unwrap();
    h.succeed(&first, None).unwrap();
    assert_eq!(h.poll(&["a"], 10).len(), 1);
    h.def(ext("a"));
    assert_eq!(h.poll(&["a"], 10).len(), 1);
}
