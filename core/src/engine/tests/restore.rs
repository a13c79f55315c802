//! Restoring an engine from what storage kept (SPEC §8): state comes back whole, claims
//! return to ready, in-process attempts fail with `interrupted`, external attempts keep
//! their deadline, and timers, pauses, locks and retention carry on.

use super::*;
use crate::model::{Outcome, ReasonType, ThreadRow};
use crate::storage::Loaded;

fn quick(name: &str) -> Definition {
    Definition {
        requested_to_start_timeout_ms: 1_000,
        in_progress_timeout_ms: 5_000,
        allowed_retry_count: 0,
        retention_ms: 10_000,
        ..ext(name)
    }
}

/// What storage would hand back: definitions, records through JSON, and the paused or
/// locked threads.
pub(super) fn stored(h: &H) -> Loaded {
    let records: Vec<crate::engine::TaskRecord> =
        h.e.records()
            .map(|r| serde_json::from_value(serde_json::to_value(r).unwrap()).unwrap())
            .collect();
    let records: crate::storage::RecordStream = Box::new(records.into_iter().map(Ok));
    let threads: Vec<ThreadRow> =
        h.e.threads()
            .into_iter()
            .filter(|t| t.paused || t.locked_by.is_some())
            .collect();
    Loaded {
        definitions: h.e.definitions(),
        records,
        threads,
        schedules: Vec::new(),
        next_id: h.e.next_id,
        next_seq: h.e.next_seq(),
    }
}

fn restart(h: &H, loaded: Loaded) -> H {
    let mut r = H::new(vec![]);
    r.now = h.now;
    let now = r.now;
    r.e.restore(loaded, now).expect("restore");
    r.settle();
    r
}

#[test]
fn a_restart_brings_everything_back() {
    let mut h = H::new(vec![
        quick("a"),
        Definition::new("b", ExecutorKind::Builtin("echo".into())),
    ]);
    let requested = h.run1(on("r", spec("a")));
    let behind = h.run1(on("r", spec("a")));
    let running = h.run1(spec("a"));
    let builtin = h.run1(spec("b"));
    let waiting = h.run1(TaskSpec {
        execute_at: Some(h.at(3_000)),
        key: Some("k".into()),
        ..spec("a")
    });
    let concluding = h.run1(spec("a"));
    let locker = h.run1(on("l", spec("a")));
    let claimed = h.poll(&["a"], 2);
    assert_eq!(poll_ids(&claimed), vec![requested, running]);
    h.start(&claimed[1]).unwrap();
    let Ok(PollOutcome::Claimed(b)) = h.poll_req(PollRequest {
        executor: "builtin".into(),
        definitions: vec!["b".into()],
        max: 1,
        wait_ms: 0,
    }) else {
        panic!()
    };
    h.start(&b[0]).unwrap();
    h.ok(conclude(concluding, 2_000, None));
    let tl = h.claim("a");
    assert_eq!(tl.id, locker);
    h.fail(&tl, None, "x").unwrap();
    h.ok(pause("p", Some(h.at(4_000))));
    h.advance(500);

    let mut r = restart(&h, stored(&h));
    // Claims not started go back to ready; the thread stays with its task.
    assert_eq!(r.status(requested), Status::Ready);
    assert_eq!(r.e.thread("r").current, Some(requested));
    assert_eq!(r.claim("a").id, requested);
    assert_eq!(r.status(behind), Status::Ready);
    // The external attempt keeps its exec id and deadline.
    assert_eq!(r.status(running), Status::InProgress);
    r.notify(&claimed[1], None, &[]).unwrap();
    // The in-process attempt was interrupted.
    assert_eq!(
        r.status(builtin),
        Status::Waiting,
        "retried: it has retries left"
    );
    let a = &r.e.task_detail(builtin, r.now).unwrap().attempts[0];
    assert_eq!(a.reason.as_ref().unwrap().kind, ReasonType::Interrupted);
    // Keys, locks, pauses and pending conclusions survive.
    assert_eq!(
        r.run(vec![TaskSpec {
            key: Some("k".into()),
            ..spec("a")
        }]),
        vec![waiting]
    );
    assert_eq!(r.e.thread("l").locked_by, Some(locker));
    assert!(r.e.thread("p").paused);
    r.advance(1_500);
    assert_eq!(r.task(concluding).outcome, Some(Outcome::Succeeded));
    r.advance(1_000);
    assert_eq!(r.status(waiting), Status::Ready);
    r.advance(1_000);
    assert!(!r.e.thread("p").paused, "pause until carries on");
    // New ids and events continue after the old ones.
    let id = r.run1(spec("a"));
    assert!(id > locker);
    assert!(r.events.iter().all(|e| e.seq >= h.e.next_seq()));
}

#[test]
fn retention_after_a_restart_goes_by_conclusion_time_not_id() {
    let mut h = H::new(vec![quick("a")]);
    let [first, second] = h.run(vec![spec("a"), spec("a")])[..] else {
        unreachable!()
    };
    h.ok(cancel(&[second]));
    h.advance(5_000);
    h.ok(cancel(&[first]));
    let mut r = restart(&h, stored(&h));
    r.advance(5_000);
    assert!(
        r.e.record(second).is_none(),
        "concluded first, cleaned first"
    );
    assert!(r.e.record(first).is_some());
    r.advance(5_000);
    assert!(r.e.record(first).is_none());
}

#[test]
fn records_restore_whatever_order_storage_gives_them_in() {
    let mut h = H::new(vec![quick("a")]);
    let ids = h.run(vec![spec("a"), spec("a"), spec("a")]);
    h.ok(cancel(&[ids[1]]));
    let mut loaded = stored(&h);
    let mut records: Vec<_> =
        std::mem::replace(&mut loaded.records, Box::new(std::iter::empty())).collect();
    records.reverse();
    loaded.records = Box::new(records.into_iter());
    let r = restart(&h, loaded);
    for id in ids {
        assert_eq!(r.task(id).id, id);
    }
}

#[test]
fn a_stored_thread_that_is_neither_paused_nor_locked_is_not_kept() {
    let h = H::new(vec![quick("a")]);
    let mut loaded = stored(&h);
    loaded.threads.push(h.e.thread("idle"));
    let r = restart(&h, loaded);
    assert!(r.e.threads().is_empty());
}
