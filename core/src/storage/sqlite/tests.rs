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
