//! Recovery after a crash, one test per case of SPEC §8. Each test commits what the
//! engine did, drops everything without a goodbye, reopens the data dir and checks what
//! the restored engine does.

mod storage_common;

use storage_common::*;
use taskyard_core::ErrorCode;
use taskyard_core::api::Action;
use taskyard_core::model::{LogKind, Outcome, ReasonType, Status, TaskRef, TaskSpec};
use taskyard_core::storage::Storage;

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn requested_tasks_go_back_to_ready_and_their_claim_is_void() {
    let d = dir();
    let mut rig = Rig::open(d.path(), T0);
    rig.def(external("ext", 0));
    let id = rig.run(TaskSpec::new("ext"));
    let claim = rig.poll("w1", "ext", 1).remove(0);
    assert_eq!(rig.status(id), Status::Requested);

    let mut rig = rig.restart(T0.plus_ms(100));
    let t = rig.task(id);
    assert_eq!(t.status, Status::Ready);
    assert_eq!(
        (t.attempt, t.retry_count),
        (0, 0),
        "not an attempt, not a retry"
    );
    assert_eq!(t.exec_id, None);
    let err = rig.engine.start(&exec(&claim), rig.now).unwrap_err();
    assert_eq!(err.code, ErrorCode::StaleExecution);
    let log = rig.storage.read_log(id, 0, 100).unwrap().entries;
    assert!(log.last().unwrap().message.contains("restarted"), "{log:?}");
    // It can be claimed again at once.
    assert_eq!(rig.poll("w2", "ext", 1)[0].id, id);
}

#[test]
fn in_process_attempts_are_interrupted_and_retried_when_allowed() {
    let d = dir();
    let mut rig = Rig::open(d.path(), T0);
    rig.def(builtin("echo", 1));
    let id = rig.run(TaskSpec::new("echo"));
    let t = rig.poll("builtin", "echo", 1).remove(0);
    rig.start(&t);

    let rig = rig.restart(T0.plus_ms(500));
    let detail = rig.engine.task_detail(id, rig.now).unwrap();
    assert_eq!(detail.task.status, Status::Waiting);
    assert_eq!(detail.task.retry_count, 1);
    assert_eq!(detail.task.execute_at, Some(T0.plus_ms(1_500)));
    let reason = detail.attempts[0].reason.as_ref().unwrap();
    assert_eq!(reason.kind, ReasonType::Interrupted);
    // The recovery itself is committed: another crash now does not redo it.
    let mut rig = rig.restart(T0.plus_ms(600));
    assert_eq!(rig.task(id).retry_count, 1);
    rig.advance(900);
    assert_eq!(
        rig.status(id),
        Status::Ready,
        "the retry timer fires on time"
    );
}

#[test]
fn in_process_attempts_without_retries_fail_interrupted_and_lock_their_thread() {
    let d = dir();
    let mut rig = Rig::open(d.path(), T0);
    rig.def(builtin("echo", 0));
    let id = rig.run(on_thread("echo", "lane"));
    let next = rig.run(on_thread("echo", "lane"));
    let t = rig.poll("builtin", "echo", 1).remove(0);
    rig.start(&t);

    let rig = rig.restart(T0.plus_ms(10));
    let t = rig.task(id);
    assert_eq!((t.status, t.outcome), (Status::Done, Some(Outcome::Failed)));
    assert_eq!(t.outcome_reason.unwrap().kind, ReasonType::Interrupted);
    let th = rig.thread("lane");
    assert_eq!(th.locked_by, Some(id));
    assert!(th.paused);
    assert_eq!(rig.status(next), Status::Ready);
}

#[test]
fn open_tasks_awaiting_conclusion_are_not_interrupted() {
    let d = dir();
    let mut rig = Rig::open(d.path(), T0);
    rig.def(builtin("echo", 0));
    let mut s = TaskSpec::new("echo");
    s.open = true;
    let id = rig.run(s);
    let t = rig.poll("builtin", "echo", 1).remove(0);
    rig.start(&t);
    rig.succeed(&t);
    assert!(rig.task(id).awaiting_conclude);

    let rig = rig.restart(T0.plus_ms(10));
    let t = rig.task(id);
    assert_eq!(t.status, Status::InProgress);
    assert!(t.awaiting_conclude);
}

#[test]
fn external_attempts_keep_their_deadline_and_their_worker_carries_on() {
    let d = dir();
    let mut rig = Rig::open(d.path(), T0);
    let mut def = external("ext", 0);
    def.in_progress_timeout_ms = 10_000;
    rig.def(def);
    let id = rig.run(TaskSpec::new("ext"));
    let t = rig.poll("w1", "ext", 1).remove(0);
    rig.start(&t);
    rig.now = T0.plus_ms(4_000);
    rig.notify(&t, "still going").unwrap(); // deadline now T0 + 14 s

    let mut rig = rig.restart(T0.plus_ms(5_000));
    assert_eq!(rig.status(id), Status::InProgress);
    assert_eq!(
        rig.engine.record(id).unwrap().heartbeat_deadline.get(),
        Some(T0.plus_ms(14_000))
    );
    rig.advance(8_999); // T0 + 13.999 s
    assert_eq!(rig.status(id), Status::InProgress);
    rig.notify(&t, "after the restart").unwrap();
    rig.succeed(&t);
    assert_eq!(rig.task(id).outcome, Some(Outcome::Succeeded));

    // Without a heartbeat, the kept deadline expires as it would have.
    let id2 = rig.run(TaskSpec::new("ext"));
    let t2 = rig.poll("w1", "ext", 1).remove(0);
    rig.start(&t2);
    let start = rig.now;
    let mut rig = rig.restart(start.plus_ms(1));
    rig.advance(9_998);
    assert_eq!(rig.status(id2), Status::InProgress);
    rig.advance(1);
    let t2 = rig.task(id2);
    assert_eq!(t2.outcome, Some(Outcome::Failed));
    assert_eq!(
        t2.outcome_reason.unwrap().kind,
        ReasonType::InProgressTimeout
    );
}

#[test]
fn retry_timers_resume_and_fire_when_due_even_if_missed_while_down() {
    let d = dir();
    let mut rig = Rig::open(d.path(), T0);
    rig.def(external("ext", 3));
    let a = rig.run(TaskSpec::new("ext"));
    let t = rig.poll("w1", "ext", 1).remove(0);
    rig.fail(&t); // retry at T0 + 1 s
    let b = rig.run(TaskSpec::new("ext"));
    let t = rig.poll("w1", "ext", 1).remove(0);
    rig.now = T0.plus_ms(50_000);
    rig.fail(&t); // retry at T0 + 51 s

    let mut rig = rig.restart(T0.plus_ms(50_500));
    assert_eq!(rig.status(a), Status::Waiting);
    rig.advance(0);
    assert_eq!(
        rig.status(a),
        Status::Ready,
        "missed while down: fires at once"
    );
    assert_eq!(rig.status(b), Status::Waiting);
    rig.advance(499);
    assert_eq!(rig.status(b), Status::Waiting);
    rig.advance(1);
    assert_eq!(rig.status(b), Status::Ready);
}

#[test]
fn delayed_conclusions_resume() {
    let d = dir();
    let mut rig = Rig::open(d.path(), T0);
    rig.def(external("ext", 0));
    let id = rig.run(TaskSpec::new("ext"));
    rig.act(Action::Conclude {
        task: id,
        delay: 3_000,
        result: Some(serde_json::json!({"by": "hand"})),
    });

    let mut rig = rig.restart(T0.plus_ms(1_000));
    assert!(
        rig.poll("w1", "ext", 1).is_empty(),
        "not claimed while concluding"
    );
    assert_eq!(rig.task(id).conclude_at, Some(T0.plus_ms(3_000)));
    rig.advance(1_999);
    assert_eq!(rig.status(id), Status::Ready);
    rig.advance(1);
    let t = rig.task(id);
    assert_eq!(t.outcome, Some(Outcome::Succeeded));
    assert_eq!(t.outcome_reason.unwrap().kind, ReasonType::Concluded);
    assert_eq!(t.result, Some(serde_json::json!({"by": "hand"}).into()));
}

#[test]
fn paused_threads_stay_paused_and_pause_until_ends_on_time() {
    let d = dir();
    let mut rig = Rig::open(d.path(), T0);
    rig.def(external("ext", 0));
    let a = rig.run(on_thread("ext", "forever"));
    let b = rig.run(on_thread("ext", "briefly"));
    rig.act(Action::Pause {
        threads: vec!["forever".into(), "empty".into()],
        until: None,
    });
    rig.act(Action::Pause {
        threads: vec!["briefly".into()],
        until: Some(T0.plus_ms(60_000)),
    });
    let rows = rig.engine.threads();

    let mut rig = rig.restart(T0.plus_ms(30_000));
    assert_eq!(rig.engine.threads(), rows);
    assert!(
        rig.thread("empty").paused,
        "a paused thread with no task survives"
    );
    assert!(rig.poll("w1", "ext", 10).is_empty());
    rig.advance(29_999);
    assert!(rig.thread("briefly").paused);
    rig.advance(1);
    assert!(
        !rig.thread("briefly").paused,
        "until ends the pause by itself"
    );
    assert!(rig.thread("forever").paused);
    let claimed: Vec<u64> = rig.poll("w1", "ext", 10).iter().map(|t| t.id).collect();
    assert_eq!(claimed, vec![b]);
    let _ = a;
}

#[test]
fn locked_threads_stay_locked_and_can_be_continued() {
    let d = dir();
    let mut rig = Rig::open(d.path(), T0);
    rig.def(external("ext", 0));
    let a = rig.run(on_thread("ext", "lane"));
    let b = rig.run(on_thread("ext", "lane"));
    let t = rig.poll("w1", "ext", 1).remove(0);
    rig.fail(&t);
    let row = rig.thread("lane");
    assert_eq!(row.locked_by, Some(a));

    let mut rig = rig.restart(T0.plus_ms(10));
    assert_eq!(rig.thread("lane"), row);
    assert!(rig.poll("w1", "ext", 10).is_empty(), "locked: nothing runs");
    rig.act(Action::Resume {
        threads: vec!["lane".into()],
        continue_: true,
    });
    let t = rig.poll("w1", "ext", 10);
    assert_eq!(t.iter().map(|t| t.id).collect::<Vec<_>>(), vec![a]);
    // A restart voids the claim, but the thread stays held by the continued task.
    let mut rig = rig.restart(T0.plus_ms(20));
    assert_eq!(rig.thread("lane").current, Some(a));
    let t = rig.poll("w1", "ext", 10);
    assert_eq!(t.iter().map(|t| t.id).collect::<Vec<_>>(), vec![a]);
    assert_eq!(rig.status(b), Status::Ready);
}

#[test]
fn a_continued_task_waiting_to_run_again_survives_a_restart() {
    let d = dir();
    let mut rig = Rig::open(d.path(), T0);
    rig.def(external("ext", 0));
    let a = rig.run(on_thread("ext", "lane"));
    let mut hi = on_thread("ext", "lane");
    hi.priority = 100;
    let t = rig.poll("w1", "ext", 1).remove(0);
    rig.fail(&t);
    let b = rig.run(hi);
    rig.act(Action::Resume {
        threads: vec!["lane".into()],
        continue_: true,
    });
    let row = rig.thread("lane");

    let mut rig = rig.restart(T0.plus_ms(10));
    assert_eq!(rig.thread("lane"), row);
    let t = rig.poll("w1", "ext", 10);
    assert_eq!(
        t.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![a],
        "the continued task runs before the rest, whatever their priority"
    );
    let _ = b;
}

#[test]
fn event_seq_and_task_ids_continue_after_a_restart() {
    let d = dir();
    let mut rig = Rig::open(d.path(), T0);
    rig.def(external("ext", 0));
    let ids: Vec<u64> = (0..5).map(|_| rig.run(TaskSpec::new("ext"))).collect();
    // The newest tasks are cleaned: their ids are still never reused.
    rig.act(Action::Destroy {
        tasks: vec![TaskRef::Id(ids[3]), TaskRef::Id(ids[4])],
    });
    let last = rig.last_seq;
    let mut rig = rig.restart(T0.plus_ms(10));
    let id = rig.run(TaskSpec::new("ext"));
    assert_eq!(id, ids[4] + 1);
    let batch_first = rig.last_seq;
    assert!(batch_first > last);
    // The first event after the restart is the one after the last committed.
    let mut rig = rig.restart(T0.plus_ms(20));
    let before = rig.engine.next_seq();
    assert_eq!(before, batch_first + 1);
    rig.run(TaskSpec::new("ext"));
    let log = rig.storage.read_log(id, 0, 10).unwrap().entries;
    assert_eq!(log[0].kind, LogKind::Transition);
}

#[test]
fn restored_tasks_keep_their_timestamps_and_indexes() {
    let d = dir();
    let mut rig = Rig::open(d.path(), T0);
    rig.def(external("ext", 0));
    let mut s = TaskSpec::new("ext");
    s.key = Some("once".into());
    s.ref_id = Some(42);
    let id = rig.run(s.clone());
    let before = rig.task(id);

    let mut rig = rig.restart(T0.plus_ms(99_000));
    assert_eq!(rig.task(id).updated_at, before.updated_at);
    // The idempotency key still dedupes; the ref still finds the task.
    assert_eq!(rig.run(s), id);
    let reply = rig.act(Action::Cancel {
        tasks: vec![TaskRef::Ref(vec![42])],
        ignore: false,
    });
    assert!(format!("{reply:?}").contains(&id.to_string()));
}

#[test]
fn retention_still_cleans_after_a_restart() {
    let d = dir();
    let mut rig = Rig::open(d.path(), T0);
    let mut def = external("ext", 0);
    def.retention_ms = 60_000;
    rig.def(def);
    let id = rig.run(TaskSpec::new("ext"));
    let t = rig.poll("w1", "ext", 1).remove(0);
    rig.succeed(&t);
    let mut rig = rig.restart(T0.plus_ms(30_000));
    rig.advance(29_999);
    assert!(rig.engine.record(id).is_some());
    rig.advance(1);
    assert!(rig.engine.record(id).is_none());
    let rig = rig.restart(T0.plus_ms(70_000));
    assert!(
        rig.engine.record(id).is_none(),
        "the cleaning was committed"
    );
}

#[test]
fn schedules_survive_and_a_missed_firing_fires_once() {
    use taskyard_core::model::{Overlap, Schedule};
    let d = dir();
    // 2026-01-10T14:30:00Z
    let start = taskyard_core::time::Millis::parse("2026-01-10T14:30:00Z").unwrap();
    let mut rig = Rig::open(d.path(), start);
    rig.def(external("ext", 0));
    rig.engine
        .put_schedule(
            Schedule {
                name: "hourly".into(),
                cron: "@hourly".into(),
                timezone: "UTC".into(),
                task: TaskSpec::new("ext"),
                overlap: Overlap::Allow,
                paused: false,
            },
            rig.now,
        )
        .unwrap();
    rig.commit();
    let before = rig.engine.schedules();

    // Down from 14:30 to 16:10: the 15:00 and 16:00 firings were missed.
    let down_until = taskyard_core::time::Millis::parse("2026-01-10T16:10:00Z").unwrap();
    let rig = rig.restart(down_until);
    let rows = rig.engine.schedules();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].schedule, before[0].schedule);
    let keys: Vec<String> = rig
        .engine
        .records()
        .filter_map(|r| r.task.key.as_deref().map(str::to_string))
        .collect();
    assert_eq!(keys, vec!["hourly@2026-01-10T16:00:00.000Z".to_string()]);
    // Restarting again fires nothing more.
    let rig = rig.restart(down_until.plus_ms(60_000));
    assert_eq!(rig.engine.records().count(), 1);
}
