//! SqliteStorage on its own: what is committed comes back exactly; merged batches write
//! each task once in its final state; logs page and stay bounded; files that are not a
//! taskyard database are refused with a clear error, never a panic.

mod storage_common;

use serde_json::json;
use std::sync::Arc;
use storage_common::*;
use taskyard_core::api::Action;
use taskyard_core::model::{Event, EventKind, LogEntry, LogKind, Status, TaskRef, TaskSpec};
use taskyard_core::storage::{Batch, MAX_LOG_LINES, SqliteStorage, Storage};

fn all_tasks(rig: &Rig) -> Vec<taskyard_core::model::TaskDetail> {
    rig.engine
        .records()
        .map(|r| rig.engine.task_detail(r.id(), rig.now).unwrap())
        .collect()
}

#[test]
fn everything_committed_comes_back_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::open(dir.path(), T0);
    rig.def(external("ext", 2));
    let mut d = builtin("held", 0);
    d.params_schema = Some(json!({"type": "object"}));
    rig.def(d);
    let mut spec = on_thread("ext", "lane-a");
    spec.conf = Some(json!({"n": [1, 2, {"x": "ü"}]}));
    spec.key = Some("k1".into());
    spec.ref_id = Some(-5);
    spec.priority = 7;
    spec.desc = Some("first".into());
    let a = rig.run(spec);
    let mut held = TaskSpec::new("held");
    held.hold = true;
    held.parent = Some(a);
    let b = rig.run(held);
    let mut later = TaskSpec::new("ext");
    later.execute_at = Some(T0.plus_ms(60_000));
    let c = rig.run(later);
    rig.now = rig.now.plus_ms(5);
    let claimed = rig.poll("w1", "ext", 1);
    assert_eq!(claimed[0].id, a);
    rig.start(&claimed[0]);
    rig.notify(&claimed[0], "half way").unwrap();
    rig.act(Action::Pause {
        threads: vec!["idle-lane".into()],
        until: None,
    });
    let before = all_tasks(&rig);
    let threads = rig.engine.threads();
    let defs = rig.engine.definitions();
    let seq = rig.last_seq;

    let now = rig.now;
    let rig = rig.restart(now);
    assert_eq!(all_tasks(&rig), before);
    assert_eq!(rig.engine.threads(), threads);
    assert_eq!(rig.engine.definitions(), defs);
    assert_eq!(rig.engine.next_seq(), seq + 1);
    assert_eq!(rig.task(b).parent, Some(a));
    assert_eq!(rig.status(c), Status::Waiting);
    let log = rig.storage.read_log(a, 0, 100).unwrap();
    assert_eq!(log.entries.len(), 4, "{log:?}");
    assert_eq!(log.entries[3].message, "half way");
}

fn event(seq: u64, kind: EventKind) -> Event {
    Event { seq, at: T0, kind }
}

#[test]
fn merged_batches_write_each_task_once_in_its_final_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::open(dir.path(), T0);
    rig.def(builtin("echo", 0));
    // Three steps of the engine, committed as one group.
    let mut batches = Vec::new();
    let ids: Vec<u64> = (0..3)
        .map(|_| {
            rig.engine
                .apply(
                    Action::Run {
                        tasks: vec![taskyard_core::model::RunItem::New(Box::new(TaskSpec::new(
                            "echo",
                        )))],
                        ignore: false,
                    },
                    &taskyard_core::api::Requester::new("t"),
                    rig.now,
                )
                .unwrap();
            rig.engine.records().last().unwrap().id()
        })
        .collect();
    let take = |rig: &mut Rig| {
        let c = rig.engine.drain();
        Batch {
            events: Arc::new(c.events),
            records: c.records,
            next_id: c.next_id,
            next_seq: c.next_seq,
        }
    };
    batches.push(take(&mut rig));
    let t = rig
        .engine
        .poll(
            &taskyard_core::api::PollRequest {
                executor: "builtin".into(),
                definitions: vec!["echo".into()],
                max: 3,
                wait_ms: 0,
            },
            0,
            rig.now,
        )
        .unwrap();
    batches.push(take(&mut rig));
    let taskyard_core::engine::PollOutcome::Claimed(t) = t else {
        panic!()
    };
    for task in &t {
        rig.engine.start(&exec(task), rig.now).unwrap();
    }
    rig.engine
        .succeed(
            taskyard_core::api::SuccessRequest {
                id: t[0].id,
                exec_id: t[0].exec_id.unwrap(),
                result: None,
            },
            rig.now,
        )
        .unwrap();
    rig.engine
        .apply(
            Action::Cancel {
                tasks: vec![TaskRef::Id(ids[1])],
                ignore: false,
            },
            &taskyard_core::api::Requester::new("t"),
            rig.now,
        )
        .unwrap();
    rig.engine
        .apply(
            Action::Clean {
                tasks: vec![TaskRef::Id(ids[1])],
                ignore: false,
            },
            &taskyard_core::api::Requester::new("t"),
            rig.now,
        )
        .unwrap();
    batches.push(take(&mut rig));
    // The same task appears in several batches' records.
    let appearances = batches
        .iter()
        .flat_map(|b| &b.records)
        .filter(|r| r.id() == ids[0])
        .count();
    assert!(appearances >= 2);
    let merged = taskyard_core::storage::coalesce(&batches);
    assert_eq!(merged.tasks.len(), 3, "one write per task");
    assert!(
        merged
            .tasks
            .iter()
            .any(|(id, r)| *id == ids[1] && r.is_none())
    );
    rig.storage.commit(&batches).unwrap();

    let expected: Vec<_> = [ids[0], ids[2]]
        .iter()
        .map(|id| rig.engine.task_detail(*id, rig.now).unwrap())
        .collect();
    let now = rig.now;
    let rig = rig.restart(now);
    assert_eq!(rig.task(ids[0]).status, Status::Done);
    assert!(rig.engine.record(ids[1]).is_none(), "cleaned stays cleaned");
    assert!(
        rig.storage
            .read_log(ids[1], 0, 10)
            .unwrap()
            .entries
            .is_empty()
    );
    // Task 3 was in progress under `builtin`: recovery fails that attempt.
    assert_eq!(rig.engine.task_detail(ids[0], now).unwrap(), expected[0]);
    assert_eq!(rig.status(ids[2]), Status::Done);
    assert_eq!(expected[1].task.status, Status::InProgress);
}

fn line(seq: u64, message: String) -> LogEntry {
    LogEntry {
        seq,
        at: T0,
        kind: LogKind::Log,
        from: None,
        to: None,
        message,
    }
}

fn transition(seq: u64) -> LogEntry {
    LogEntry {
        seq,
        at: T0,
        kind: LogKind::Transition,
        from: Some(Status::Ready),
        to: Some(Status::Requested),
        message: format!("transition {seq}"),
    }
}

#[test]
fn logs_page_across_commits_and_keep_every_transition_when_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::open(dir.path(), T0);
    rig.def(external("ext", 0));
    let id = rig.run(TaskSpec::new("ext"));
    assert_eq!(id, 1);
    let storage = &rig.storage;
    // Entry 1 is the task's creation; lines follow.
    let mut seq = 1u64;
    let mut ev = rig.last_seq;
    let total = MAX_LOG_LINES as u64 + 2_500;
    // Many commits of a few hundred entries; a transition every 1,000 entries.
    while seq < total {
        let mut events = Vec::new();
        for _ in 0..300 {
            seq += 1;
            ev += 1;
            let entry = if seq.is_multiple_of(1_000) {
                transition(seq)
            } else {
                line(seq, format!("line {seq}"))
            };
            events.push(event(ev, EventKind::TaskLog { id: 1, entry }));
        }
        storage
            .commit(&[Batch {
                events: Arc::new(events),
                records: Vec::new(),
                next_id: 2,
                next_seq: ev + 1,
            }])
            .unwrap();
    }
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = storage.read_log(1, after, 777).unwrap();
        assert!(page.entries.len() <= 777);
        all.extend(page.entries);
        match page.next {
            Some(n) => after = n,
            None => break,
        }
    }
    assert!(
        all.windows(2).all(|w| w[0].seq < w[1].seq),
        "in order, no repeats"
    );
    let lines = all.iter().filter(|e| e.kind == LogKind::Log).count();
    assert!(
        (MAX_LOG_LINES..MAX_LOG_LINES + 1_064).contains(&lines),
        "{lines} lines kept"
    );
    let transitions = all.iter().filter(|e| e.kind == LogKind::Transition).count() as u64;
    assert_eq!(
        transitions,
        total.div_ceil(1_000),
        "every transition is kept"
    );
    assert_eq!(all.last().unwrap().seq, seq, "the newest are kept");
    // A page from the middle starts right after `after`.
    let mid = storage.read_log(1, seq - 10, 3).unwrap();
    assert_eq!(
        mid.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![seq - 9, seq - 8, seq - 7]
    );
    assert_eq!(mid.next, Some(seq - 7));
    assert_eq!(storage.read_log(1, seq, 10).unwrap().entries.len(), 0);
    assert_eq!(storage.read_log(99, 0, 10).unwrap().entries.len(), 0);
}

fn open_err(dir: &std::path::Path) -> String {
    match SqliteStorage::open(dir, options()) {
        Ok(_) => panic!("{} was accepted", dir.display()),
        Err(e) => e.message,
    }
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let junk: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(dir.path().join("taskyard.db"), junk).unwrap();
    let msg = open_err(dir.path());
    assert!(msg.contains("not a taskyard database"), "{msg}");
    assert!(msg.contains("--data"), "says what to do: {msg}");
}

#[test]
fn another_programs_sqlite_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taskyard.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE invoices (id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (1);",
    )
    .unwrap();
    drop(conn);
    let before = std::fs::read(&path).unwrap();
    let msg = open_err(dir.path());
    assert!(msg.contains("another program"), "{msg}");
    assert!(msg.contains("invoices"), "{msg}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing changed");
}

#[test]
fn a_data_dir_that_is_a_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data");
    std::fs::write(&file, "x").unwrap();
    let msg = open_err(&file);
    assert!(msg.contains("is a file, not a directory"), "{msg}");
}

#[test]
fn a_second_process_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = SqliteStorage::open(dir.path(), options()).unwrap();
    let msg = open_err(dir.path());
    assert!(msg.contains("another taskyard process"), "{msg}");
    first.close();
    SqliteStorage::open(dir.path(), options()).unwrap();
}

/// A database with some tasks, closed cleanly (so everything is in the main file).
fn populated(dir: &std::path::Path) {
    let mut rig = Rig::open(dir, T0);
    rig.def(external("ext", 0));
    for i in 0..2_000 {
        let mut s = TaskSpec::new("ext");
        s.desc = Some(format!("task number {i} with some text to fill pages"));
        rig.run(s);
    }
    rig.storage.close();
}

#[test]
fn a_damaged_record_is_reported_not_panicked_on() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let conn = rusqlite::Connection::open(dir.path().join("taskyard.db")).unwrap();
    conn.execute("UPDATE tasks SET record = x'01ffffff' WHERE id = 1234", [])
        .unwrap();
    drop(conn);
    let storage = SqliteStorage::open(dir.path(), options()).unwrap();
    let loaded = storage.load().unwrap();
    let mut engine = taskyard_core::engine::Engine::new(Default::default());
    let err = engine.restore(loaded, T0).unwrap_err();
    eprintln!("{err}");
    assert!(err.message.contains("task 1234"), "{err}");
    assert!(err.message.contains("damaged"), "{err}");
}

#[test]
fn damaged_pages_are_reported_not_panicked_on() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let path = dir.path().join("taskyard.db");
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 64 * 1024, "{} bytes", bytes.len());
    // Scribble over pages in the middle of the file (page 1, the header, stays intact).
    for (i, b) in bytes[20_000..60_000].iter_mut().enumerate() {
        *b = (i * 31 % 256) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    let outcome = SqliteStorage::open(dir.path(), options()).and_then(|s| {
        let loaded = s.load()?;
        let mut engine = taskyard_core::engine::Engine::new(Default::default());
        engine.restore(loaded, T0)
    });
    let err = outcome.expect_err("damage goes unnoticed");
    eprintln!("{err}");
    assert!(
        err.message.contains("damaged") || err.message.contains("malformed"),
        "{err}"
    );
}

#[test]
fn drain_returns_each_changed_task_once_in_id_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::open(dir.path(), T0);
    rig.def(external("ext", 0));
    let ids: Vec<u64> = (0..3).map(|_| rig.run(TaskSpec::new("ext"))).collect();
    // Claim all three, then finish the first: it changes twice in one batch.
    let req = taskyard_core::api::PollRequest {
        executor: "w".into(),
        definitions: vec!["ext".into()],
        max: 3,
        wait_ms: 0,
    };
    let Ok(taskyard_core::engine::PollOutcome::Claimed(t)) = rig.engine.poll(&req, 0, rig.now)
    else {
        panic!()
    };
    rig.engine.start(&exec(&t[2]), rig.now).unwrap();
    rig.engine.start(&exec(&t[0]), rig.now).unwrap();
    let changes = rig.engine.drain();
    let got: Vec<u64> = changes.records.iter().map(|r| r.id()).collect();
    assert_eq!(got, ids);
}
