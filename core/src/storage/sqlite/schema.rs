//! The schema of `taskyard.db`, how an existing file is recognised, and migrations.
//!
//! A file is ours when its SQLite header carries our `application_id`; `meta` holds the
//! schema version. A newer version than this build knows is refused (a later release may
//! have changed what the tables mean); an older one is migrated step by step, each step
//! in its own transaction, so an interrupted upgrade resumes where it stopped.

use super::sql_error;
use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 3;

/// "TYRD": marks the file as a taskyard database in the SQLite header.
pub(super) const APPLICATION_ID: i32 = 0x5459_5244;

/// Page size of a new database. Measured on the durable bench: 16 KiB pages write a
/// task's many small row changes with far less B-tree work than the default 4 KiB
/// (about 1.5× the throughput); set once, when the file is created.
const PAGE_SIZE: u32 = 16_384;

/// One step from `version - 1` to `version`.
pub(super) struct Migration {
    pub version: u32,
    pub sql: &'static str,
}

pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: "
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO meta (key, value) VALUES ('next_id', 1), ('next_seq', 1);
        -- One row per task not yet cleaned: the engine's whole record, binary (codec.rs).
        CREATE TABLE tasks (
            id     INTEGER PRIMARY KEY,
            record BLOB NOT NULL
        );
        -- Task logs in chunks: the entries one commit added to one task. `lines` counts
        -- the log lines (not transitions) in the chunk, for trimming.
        CREATE TABLE logs (
            task      INTEGER NOT NULL,
            first_seq INTEGER NOT NULL,
            last_seq  INTEGER NOT NULL,
            lines     INTEGER NOT NULL,
            entries   BLOB NOT NULL,
            PRIMARY KEY (task, first_seq)
        ) WITHOUT ROWID;
        CREATE TABLE definitions (
            name       TEXT PRIMARY KEY,
            definition TEXT NOT NULL
        ) WITHOUT ROWID;
        -- Schedules with their last and next firing (JSON of the API's row).
        CREATE TABLE schedules (
            name     TEXT PRIMARY KEY,
            schedule TEXT NOT NULL
        ) WITHOUT ROWID;
        -- Only threads that are paused or locked; the rest follows from the tasks.
        CREATE TABLE threads (
            name TEXT PRIMARY KEY,
            row  TEXT NOT NULL
        ) WITHOUT ROWID;
    ",
    },
    // The newest entries of each task's log move into its row (`log`, entries appended
    // in place): a commit then writes one row per task, not two. `logs` keeps the older
    // entries in chunks of at least 64.
    Migration {
        version: 2,
        sql: "ALTER TABLE tasks ADD COLUMN log BLOB NOT NULL DEFAULT x'';",
    },
    // A commit that adds the newest task keeps `next_id`/`next_seq` in that task's row
    // (the page it writes anyway) instead of `meta` (a second page per commit, which
    // made a lone commit's fsync write twice the bytes). The next values at load are the
    // larger of `meta`'s and the newest row's.
    Migration {
        version: 3,
        sql: "ALTER TABLE tasks ADD COLUMN next_id INTEGER;
              ALTER TABLE tasks ADD COLUMN next_seq INTEGER;",
    },
];

/// Checks that the file is ours (or empty), and brings its schema up to date.
pub(super) fn prepare(conn: &mut Connection, path: &Path, migrations: &[Migration]) -> Result<()> {
    let latest = migrations.last().map_or(0, |m| m.version);
    let app_id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|e| sql_error(path, "cannot read", e))?;
    let tables: Vec<String> = {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .map_err(|e| sql_error(path, "cannot read", e))?;
        let rows = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| sql_error(path, "cannot read", e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| sql_error(path, "cannot read", e))?
    };
    let version = if app_id == APPLICATION_ID {
        stored_version(conn, path)?
    } else if app_id == 0 && tables.is_empty() {
        0
    } else {
        let what = if tables.is_empty() {
            format!("its application id is {app_id:#x}")
        } else {
            format!("it has the tables {}", tables.join(", "))
        };
        return Err(Error::internal(format!(
            "{} is an SQLite database of another program, not taskyard's ({what}); give --data a directory of its own",
            path.display()
        )));
    };
    if version > latest {
        return Err(Error::internal(format!(
            "{} was written by a newer taskyard (schema version {version}; this build reads up to {latest}); upgrade taskyard, or give --data another directory",
            path.display()
        )));
    }
    if version == 0 {
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(|e| sql_error(path, "cannot set the page size of", e))?;
    }
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| sql_error(path, "cannot switch to WAL mode", e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::internal(format!(
            "{} cannot use write-ahead logging (SQLite chose journal mode `{mode}`); put --data on a local file system",
            path.display()
        )));
    }
    for m in migrations.iter().filter(|m| m.version > version) {
        let tx = conn
            .transaction()
            .map_err(|e| sql_error(path, "cannot migrate", e))?;
        let step = || -> rusqlite::Result<()> {
            tx.execute_batch(m.sql)?;
            if m.version == 1 {
                tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [m.version],
            )?;
            Ok(())
        };
        step().map_err(|e| {
            sql_error(
                path,
                &format!("cannot migrate to schema version {}", m.version),
                e,
            )
        })?;
        tx.commit()
            .map_err(|e| sql_error(path, "cannot migrate", e))?;
        if version > 0 {
            tracing::info!(path = %path.display(), to = m.version, "migrated the database");
        }
    }
    Ok(())
}

fn stored_version(conn: &Connection, path: &Path) -> Result<u32> {
    let damaged = |why: String| {
        Error::internal(format!(
            "{} is a damaged taskyard database ({why}); restore it from a backup, or move it away to start afresh",
            path.display()
        ))
    };
    let version: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| damaged(format!("its meta table cannot be read: {e}")))?;
    match version.map(u32::try_from) {
        Some(Ok(v)) => Ok(v),
        Some(Err(_)) => Err(damaged(format!(
            "its schema version {} is out of range",
            version.unwrap_or_default()
        ))),
        None => Err(damaged("it has no schema version".into())),
    }
}
