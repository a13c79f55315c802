//! Schema versioning: migrations run once, in order; a newer schema is refused.

use super::schema::{MIGRATIONS, Migration};
use super::*;

fn v2() -> Vec<Migration> {
    let mut m: Vec<Migration> = MIGRATIONS
        .iter()
        .map(|m| Migration {
            version: m.version,
            sql: m.sql,
        })
        .collect();
    m.push(Migration {
        version: SCHEMA_VERSION + 1,
        sql: "CREATE TABLE later (name TEXT PRIMARY KEY, x TEXT NOT NULL);
              INSERT INTO later VALUES ('migrated', '{}');",
    });
    m
}

fn version(dir: &Path) -> i64 {
    let conn = Connection::open(dir.join("taskyard.db")).unwrap();
    conn.query_row(
        "SELECT value FROM meta WHERE key = 'schema_version'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn an_older_schema_is_migrated_once_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SqliteStorage::open(dir.path(), SqliteOptions::default()).unwrap();
        let batch = Batch {
            next_id: 8,
            next_seq: 30,
            ..Batch::default()
        };
        // Only meta changes: still written.
        let mut b = batch;
        b.events = Arc::new(vec![crate::model::Event {
            seq: 29,
            at: crate::time::Millis(1),
            kind: crate::model::EventKind::TaskProgress {
                id: 1,
                progress: 0.5,
            },
        }]);
        s.commit(&[b]).unwrap();
    }
    assert_eq!(version(dir.path()), i64::from(SCHEMA_VERSION));
    let newer = v2();
    for _ in 0..2 {
        let s = SqliteStorage::open_with(dir.path(), SqliteOptions::default(), &newer).unwrap();
        let loaded = s.load().unwrap();
        assert_eq!((loaded.next_id, loaded.next_seq), (8, 30));
    }
    assert_eq!(version(dir.path()), i64::from(SCHEMA_VERSION) + 1);
    let conn = Connection::open(dir.path().join("taskyard.db")).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM later", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "the migration ran exactly once");
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStorage::open_with(dir.path(), SqliteOptions::default(), &v2()).unwrap());
    let err = SqliteStorage::open(dir.path(), SqliteOptions::default())
        .err()
        .unwrap();
    assert!(err.message.contains("newer taskyard"), "{err}");
    assert!(
        err.message
            .contains(&format!("schema version {}", SCHEMA_VERSION + 1)),
        "{err}"
    );
}

/// A task made by the engine, with its batch.
fn one_task() -> Batch {
    use crate::api::{Action, Requester};
    use crate::model::{Definition, ExecutorKind, RunItem, TaskSpec};
    let now = crate::time::Millis(1_795_000_000_000);
    let mut e = crate::engine::Engine::new(Default::default());
    e.set_track_records(true);
    e.put_definition(Definition::new("ext", ExecutorKind::External), now)
        .unwrap();
    e.apply(
        Action::Run {
            tasks: vec![RunItem::New(Box::new(TaskSpec::new("ext")))],
            ignore: false,
        },
        &Requester::new("t"),
        now,
    )
    .unwrap();
    let c = e.drain();
    Batch {
        events: Arc::new(c.events),
        records: c.records,
        next_id: c.next_id,
        next_seq: c.next_seq,
    }
}

#[test]
fn a_version_1_database_is_migrated_and_its_logs_still_read() {
    use crate::model::{LogEntry, LogKind};
    use crate::storage::codec::{encode_log, encode_record};
    let dir = tempfile::tempdir().unwrap();
    let batch = one_task();
    let mut rec = batch.records[0].clone();
    let line = |seq: u64| LogEntry {
        seq,
        at: rec.task.created_at,
        kind: LogKind::Log,
        from: None,
        to: None,
        message: format!("line {seq}"),
    };
    // What taskyard with schema 1 wrote: the record alone, the log in `logs` chunks.
    {
        let v1 = SqliteStorage::open_with(dir.path(), SqliteOptions::default(), &MIGRATIONS[..1])
            .unwrap();
        let guard = v1.inner.writer.lock();
        let conn = &guard.as_ref().unwrap().conn;
        rec.log_seq = 3;
        let mut blob = Vec::new();
        encode_record(&rec, &mut blob);
        conn.execute("INSERT INTO tasks (id, record) VALUES (1, ?1)", [&blob])
            .unwrap();
        let mut chunk = Vec::new();
        let entries = [line(1), line(2), line(3)];
        encode_log(entries.iter(), &mut chunk);
        conn.execute(
            "INSERT INTO logs VALUES (1, 1, 3, 3, ?1)",
            rusqlite::params![chunk],
        )
        .unwrap();
        conn.execute("UPDATE meta SET value = 2 WHERE key = 'next_id'", [])
            .unwrap();
    }
    assert_eq!(version(dir.path()), 1);

    let s = SqliteStorage::open(dir.path(), SqliteOptions::default()).unwrap();
    assert_eq!(version(dir.path()), i64::from(SCHEMA_VERSION));
    let loaded = s.load().unwrap();
    let records: Vec<_> = loaded.records.map(|r| r.unwrap()).collect();
    assert_eq!(records, vec![rec.clone()]);
    // New entries go to the tail, after the old chunks.
    rec.log_seq = 4;
    let event = crate::model::Event {
        seq: 10,
        at: rec.task.created_at,
        kind: crate::model::EventKind::TaskLog {
            id: 1,
            entry: line(4),
        },
    };
    s.commit(&[Batch {
        events: Arc::new(vec![event]),
        records: vec![rec],
        next_id: 2,
        next_seq: 11,
    }])
    .unwrap();
    let log = s.read_log(1, 0, 100).unwrap();
    let seqs: Vec<u64> = log.entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    assert_eq!(s.read_log(1, 2, 1).unwrap().next, Some(3));
}

/// The next id and seq come back whichever place held them last: the newest row (a
/// commit that added it), or `meta` (a commit that added no newer row, or removed one).
#[test]
fn the_next_id_and_seq_survive_wherever_they_were_kept() {
    let dir = tempfile::tempdir().unwrap();
    let reopened = |want: (u64, u64)| {
        let s = SqliteStorage::open(dir.path(), SqliteOptions::default()).unwrap();
        let loaded = s.load().unwrap();
        assert_eq!((loaded.next_id, loaded.next_seq), want);
        drop(loaded);
        s.close();
    };
    let mut rec = one_task().records[0].clone();
    let commit = |records: Vec<TaskRecord>, next_id: u64, next_seq: u64, cleaned: Option<u64>| {
        let s = SqliteStorage::open(dir.path(), SqliteOptions::default()).unwrap();
        let events = cleaned
            .map(|id| crate::model::Event {
                seq: next_seq - 1,
                at: crate::time::Millis(1),
                kind: crate::model::EventKind::TaskCleaned { id },
            })
            .into_iter()
            .collect();
        s.commit(&[Batch {
            events: Arc::new(events),
            records,
            next_id,
            next_seq,
        }])
        .unwrap();
        s.close();
    };
    // A new newest task: kept in its row.
    rec.task.id = 5;
    commit(vec![rec.clone()], 6, 20, None);
    reopened((6, 20));
    // Only an older row changes (no newer row): kept in meta.
    rec.task.id = 3;
    commit(vec![rec.clone()], 6, 25, None);
    reopened((6, 25));
    // A newer task again, then the newest row removed: meta.
    rec.task.id = 9;
    commit(vec![rec.clone()], 10, 30, None);
    reopened((10, 30));
    commit(Vec::new(), 10, 31, Some(9));
    reopened((10, 31));
    let conn = Connection::open(dir.path().join("taskyard.db")).unwrap();
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM tasks ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(ids, [3, 5], "task 9 was removed");
}
