//! The embedded default storage: SQLite in WAL mode, one file `taskyard.db` under the
//! data dir (SPEC §8).
//!
//! One connection writes (the runtime's writer thread, one transaction per group of
//! batches); another reads (start-up, task logs), so reading a log never waits for an
//! fsync. A lock file keeps a second taskyard process off the same data dir: two engines
//! on one database would each think they own every task.

mod logs;
mod schema;

pub use schema::SCHEMA_VERSION;

use super::codec::{Interner, decode_record, encode_record};
use super::{Batch, Loaded, RecordStream, Storage, coalesce};
use crate::engine::TaskRecord;
use crate::error::{Error, Result};
use crate::model::{Definition, LogPage, ScheduleRow, TaskId, ThreadRow};
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// SQLite's `synchronous` setting: how hard a commit waits for the disk.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Synchronous {
    /// No fsync: a power loss may lose or corrupt recent commits. Tests and benchmarks.
    Off,
    /// fsync at checkpoints only: a power loss may lose recent commits, never corrupts.
    Normal,
    /// fsync every commit: nothing acknowledged is lost (SPEC §8). The default.
    #[default]
    Full,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Off => "OFF",
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }

    /// Parses `off`, `normal` or `full` (for command-line flags).
    pub fn parse(text: &str) -> std::result::Result<Synchronous, String> {
        match text.to_ascii_lowercase().as_str() {
            "off" => Ok(Synchronous::Off),
            "normal" => Ok(Synchronous::Normal),
            "full" => Ok(Synchronous::Full),
            _ => Err(format!(
                "synchronous `{text}` is not one of off, normal, full"
            )),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SqliteOptions {
    pub synchronous: Synchronous,
    /// WAL size, in pages, at which a commit also checkpoints the WAL into the database
    /// (after which new commits overwrite the WAL from its start).
    pub wal_autocheckpoint: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: Synchronous::Full,
            // 8 MiB of 16 KiB pages. Until the WAL first wraps, every commit grows the file
            // and its fsync also journals the new size (~1.7× slower here), so a small WAL
            // gets a fresh data dir to in-place writes soon. Measured (durable bench,
            // interleaved, quiet machine): sequential runs went from 0.30–0.37× to
            // 0.50–0.55× the disk's fsync rate on a fresh data dir (64 MiB WAL before),
            // with no measurable change in throughput.
            wal_autocheckpoint: 512,
        }
    }
}

pub struct SqliteStorage {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Option<Writer>>,
    reader: Mutex<Option<Connection>>,
    /// Held (locked) while open; dropping it releases the data dir.
    lock: Mutex<Option<File>>,
}

struct Writer {
    conn: Connection,
    /// The highest task id stored: a commit that writes a higher one writes the table's
    /// newest row, which then carries the next id and seq.
    newest: i64,
    /// Threads that have a row, so an ordinary thread change costs no delete.
    stored_threads: HashSet<String>,
    buf: Vec<u8>,
    log_buf: Vec<u8>,
}

/// Maps a SQLite error to one that says which file and what to do.
pub(super) fn sql_error(path: &Path, doing: &str, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode as C;
    let code = e.sqlite_error_code();
    let advice = match code {
        Some(C::NotADatabase) => {
            return Error::internal(format!(
                "{} is not a taskyard database (SQLite: {e}); it is damaged or belongs to another program: move it away, or give --data another directory",
                path.display()
            ));
        }
        Some(C::DatabaseCorrupt) => {
            "the file is damaged: restore it from a backup, or move it away to start afresh"
        }
        Some(C::DiskFull) => "the disk is full: free some space",
        Some(C::ReadOnly) | Some(C::PermissionDenied) | Some(C::CannotOpen) => {
            "check that the data dir exists and is writable by this user"
        }
        Some(C::DatabaseBusy) | Some(C::DatabaseLocked) => {
            "another program holds the database: stop it"
        }
        _ => "see the message; if it persists, report it",
    };
    Error::internal(format!("{doing} {}: {e}; {advice}", path.display()))
}

fn apply_pragmas(conn: &Connection, path: &Path, options: &SqliteOptions) -> Result<()> {
    let set = |name: &str, value: &dyn rusqlite::ToSql| {
        conn.pragma_update(None, name, value)
            .map_err(|e| sql_error(path, &format!("cannot set {name} on"), e))
    };
    set("synchronous", &options.synchronous.pragma())?;
    set("wal_autocheckpoint", &options.wal_autocheckpoint)?;
    set("temp_store", &"MEMORY")?;
    // 16 MiB of page cache: enough for the hot end of the tables.
    set("cache_size", &-16_000)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| sql_error(path, "cannot configure", e))
}

impl SqliteStorage {
    /// Opens (or creates) `DIR/taskyard.db`. Refuses, with a message saying what to do,
    /// a file that is not a taskyard database, one from a newer taskyard, and a data dir
    /// another taskyard process is using.
    pub fn open(dir: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteStorage> {
        Self::open_with(dir.as_ref(), options, schema::MIGRATIONS)
    }

    fn open_with(
        dir: &Path,
        options: SqliteOptions,
        migrations: &[schema::Migration],
    ) -> Result<SqliteStorage> {
        if dir.exists() && !dir.is_dir() {
            return Err(Error::internal(format!(
                "the data dir {} is a file, not a directory; give --data a directory",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::internal(format!(
                "cannot create the data dir {}: {e}; check the path and its permissions",
                dir.display()
            ))
        })?;
        let lock = lock_dir(dir)?;
        let path = dir.join("taskyard.db");
        if path.exists() && !path.is_file() {
            return Err(Error::internal(format!(
                "{} is not a file; move it away, or give --data another directory",
                path.display()
            )));
        }
        let mut conn = Connection::open(&path).map_err(|e| sql_error(&path, "cannot open", e))?;
        schema::prepare(&mut conn, &path, migrations)?;
        apply_pragmas(&conn, &path, &options)?;
        let stored_threads = {
            let mut stmt = conn
                .prepare("SELECT name FROM threads")
                .map_err(|e| sql_error(&path, "cannot read", e))?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(|e| sql_error(&path, "cannot read", e))?;
            rows.collect::<rusqlite::Result<HashSet<_>>>()
                .map_err(|e| sql_error(&path, "cannot read", e))?
        };
        let newest: i64 = conn
            .query_row("SELECT coalesce(max(id), 0) FROM tasks", [], |r| r.get(0))
            .map_err(|e| sql_error(&path, "cannot read", e))?;
        let reader = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| sql_error(&path, "cannot open", e))?;
        reader
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| sql_error(&path, "cannot configure", e))?;
        Ok(SqliteStorage {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(Some(Writer {
                    conn,
                    newest,
                    stored_threads,
                    buf: Vec::with_capacity(4096),
                    log_buf: Vec::with_capacity(4096),
                })),
                reader: Mutex::new(Some(reader)),
                lock: Mutex::new(Some(lock)),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

impl Drop for SqliteStorage {
    /// Releases the data dir at once, even if a reader thread still winds down.
    fn drop(&mut self) {
        self.close();
    }
}

/// Takes the data dir's lock file, so that one taskyard process at a time uses it. The
/// operating system releases it when the process ends, however it ends.
fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join("taskyard.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            Error::internal(format!(
                "cannot create {}: {e}; check that the data dir is writable by this user",
                path.display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::internal(format!(
            "another taskyard process is using the data dir {}; stop it, or give --data another directory",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::internal(format!(
            "cannot lock {}: {e}; put --data on a local file system",
            path.display()
        ))),
    }
}

impl Inner {
    fn closed(&self) -> Error {
        Error::internal(format!(
            "{} is closed: the engine has stopped; restart taskyard",
            self.path.display()
        ))
    }

    fn read_meta(&self, conn: &Connection, key: &str) -> Result<u64> {
        let v: i64 = conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .map_err(|e| sql_error(&self.path, &format!("cannot read {key} from"), e))?;
        u64::try_from(v).map_err(|_| {
            Error::internal(format!(
                "{} is damaged ({key} is {v}); restore it from a backup",
                self.path.display()
            ))
        })
    }

    fn damaged(&self, what: &str, why: impl std::fmt::Display) -> Error {
        Error::internal(format!(
            "{} is damaged: {what} cannot be read ({why}); restore it from a backup, or move it away to start afresh",
            self.path.display()
        ))
    }
}

/// Reads task records a page at a time, so start-up never holds them twice.
struct RecordPages {
    inner: Arc<Inner>,
    after: i64,
    done: bool,
    strings: Interner,
}

const PAGE: i64 = 4096;

impl RecordPages {
    /// The next page; an error (or a record that cannot be read) ends the stream.
    fn next_page(&mut self) -> Vec<Result<TaskRecord>> {
        match self.fill() {
            Ok(page) => page,
            Err(e) => {
                self.done = true;
                vec![Err(e)]
            }
        }
    }

    fn fill(&mut self) -> Result<Vec<Result<TaskRecord>>> {
        let guard = self.inner.reader.lock();
        let conn = guard.as_ref().ok_or_else(|| self.inner.closed())?;
        let mut stmt = conn
            .prepare_cached("SELECT id, record FROM tasks WHERE id > ?1 ORDER BY id LIMIT ?2")
            .map_err(|e| sql_error(&self.inner.path, "cannot read tasks from", e))?;
        let mut rows = stmt
            .query(params![self.after, PAGE])
            .map_err(|e| sql_error(&self.inner.path, "cannot read tasks from", e))?;
        let mut page = Vec::with_capacity(PAGE as usize);
        while let Some(row) = rows
            .next()
            .map_err(|e| sql_error(&self.inner.path, "cannot read tasks from", e))?
        {
            let id: i64 = row.get(0).map_err(|e| self.inner.damaged("a task id", e))?;
            let blob = row
                .get_ref(1)
                .and_then(|v| v.as_blob().map_err(rusqlite::Error::from))
                .map_err(|e| self.inner.damaged(&format!("task {id}"), e))?;
            let rec = decode_record(blob, &mut self.strings)
                .map_err(|e| self.inner.damaged(&format!("task {id}"), e))
                .and_then(|rec| {
                    if rec.id() as i64 == id {
                        Ok(rec)
                    } else {
                        Err(self.inner.damaged(
                            &format!("task {id}"),
                            format!("its record says it is task {}", rec.id()),
                        ))
                    }
                });
            self.after = id;
            let failed = rec.is_err();
            page.push(rec);
            if failed {
                self.done = true;
                break;
            }
        }
        if (page.len() as i64) < PAGE {
            self.done = true;
        }
        Ok(page)
    }
}

/// Pages read and decoded on a thread of their own while the engine takes in the
/// previous ones: start-up uses both cores.
struct Prefetched {
    rx: std::sync::mpsc::Receiver<Vec<Result<TaskRecord>>>,
    page: std::vec::IntoIter<Result<TaskRecord>>,
}

impl Iterator for Prefetched {
    type Item = Result<TaskRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.page.next() {
                return Some(item);
            }
            self.page = self.rx.recv().ok()?.into_iter();
        }
    }
}

/// The same, read on the caller's thread (when a thread cannot be started).
struct InPlace {
    pages: RecordPages,
    page: std::vec::IntoIter<Result<TaskRecord>>,
}

impl Iterator for InPlace {
    type Item = Result<TaskRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.page.next() {
                return Some(item);
            }
            if self.pages.done {
                return None;
            }
            self.page = self.pages.next_page().into_iter();
        }
    }
}

fn record_stream(inner: &Arc<Inner>) -> RecordStream {
    let pages = || RecordPages {
        inner: inner.clone(),
        after: 0,
        done: false,
        strings: Interner::default(),
    };
    let mut ahead = pages();
    // Two pages ahead at most: the engine, not the reader, sets the pace.
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    let reader = std::thread::Builder::new()
        .name("taskyard-load".into())
        .spawn(move || {
            while !ahead.done {
                if tx.send(ahead.next_page()).is_err() {
                    break;
                }
            }
        });
    match reader {
        Ok(_) => Box::new(Prefetched {
            rx,
            page: Vec::new().into_iter(),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "cannot start a thread to read tasks; reading them in turn");
            Box::new(InPlace {
                pages: pages(),
                page: Vec::new().into_iter(),
            })
        }
    }
}

impl Storage for SqliteStorage {
    fn wants_records(&self) -> bool {
        true
    }

    fn group_commit(&self) -> bool {
        true
    }

    fn load(&self) -> Result<Loaded> {
        let inner = &self.inner;
        let guard = inner.reader.lock();
        let conn = guard.as_ref().ok_or_else(|| inner.closed())?;
        let (row_id, row_seq): (Option<i64>, Option<i64>) = conn
            .query_row(
                "SELECT next_id, next_seq FROM tasks ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| sql_error(&inner.path, "cannot read the newest task from", e))?
            .unwrap_or((None, None));
        let from_row = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
        let next_id = inner.read_meta(conn, "next_id")?.max(from_row(row_id));
        let next_seq = inner.read_meta(conn, "next_seq")?.max(from_row(row_seq));
        let read_json = |sql: &str, what: &str| -> Result<Vec<(String, String)>> {
            let mut stmt = conn
                .prepare(sql)
                .map_err(|e| sql_error(&inner.path, &format!("cannot read {what} from"), e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| sql_error(&inner.path, &format!("cannot read {what} from"), e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| sql_error(&inner.path, &format!("cannot read {what} from"), e))
        };
        let mut definitions = Vec::new();
        for (name, json) in read_json(
            "SELECT name, definition FROM definitions ORDER BY name",
            "definitions",
        )? {
            let def: Definition = serde_json::from_str(&json)
                .map_err(|e| inner.damaged(&format!("definition `{name}`"), e))?;
            definitions.push(def);
        }
        let mut threads = Vec::new();
        for (name, json) in read_json("SELECT name, row FROM threads ORDER BY name", "threads")? {
            let row: ThreadRow = serde_json::from_str(&json)
                .map_err(|e| inner.damaged(&format!("thread `{name}`"), e))?;
            threads.push(row);
        }
        let mut schedules = Vec::new();
        for (name, json) in read_json(
            "SELECT name, schedule FROM schedules ORDER BY name",
            "schedules",
        )? {
            let row: ScheduleRow = serde_json::from_str(&json)
                .map_err(|e| inner.damaged(&format!("schedule `{name}`"), e))?;
            schedules.push(row);
        }
        drop(guard);
        let records = record_stream(&self.inner);
        Ok(Loaded {
            definitions,
            records,
            threads,
            schedules,
            next_id: next_id.max(1),
            next_seq: next_seq.max(1),
        })
    }

    fn commit(&self, batches: &[Batch]) -> Result<()> {
        if batches.iter().all(Batch::is_empty) {
            return Ok(());
        }
        let inner = &self.inner;
        let mut guard = inner.writer.lock();
        let w = guard.as_mut().ok_or_else(|| inner.closed())?;
        let changes = coalesce(batches);
        let mut added_threads = Vec::new();
        let mut removed_threads = Vec::new();
        let result = (|| -> rusqlite::Result<()> {
            let tx = w.conn.transaction()?;
            // Tasks and their new log entries, both in id order: merged in one pass.
            let mut logs = changes.logs().peekable();
            for (id, rec) in &changes.tasks {
                while let Some((lid, entries)) = logs.next_if(|(lid, _)| lid < id) {
                    logs::write(&tx, lid, None, &entries, &mut w.log_buf)?;
                }
                let entries = logs
                    .next_if(|(lid, _)| lid == id)
                    .map(|(_, e)| e)
                    .unwrap_or_default();
                match rec {
                    Some(rec) => {
                        w.buf.clear();
                        encode_record(rec, &mut w.buf);
                        logs::write(&tx, *id, Some(&w.buf), &entries, &mut w.log_buf)?;
                    }
                    None => {
                        tx.prepare_cached("DELETE FROM tasks WHERE id = ?1")?
                            .execute([*id as i64])?;
                        logs::delete(&tx, *id as i64)?;
                    }
                }
            }
            for (lid, entries) in logs {
                logs::write(&tx, lid, None, &entries, &mut w.log_buf)?;
            }
            for row in &changes.threads {
                let keep = row.paused || row.locked_by.is_some();
                if keep {
                    // Counts and the current task follow from the tasks; keep the row small.
                    let stored = ThreadRow {
                        current: None,
                        counts: Default::default(),
                        ..(*row).clone()
                    };
                    let json = serde_json::to_string(&stored)
                        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                    tx.execute(
                        "INSERT INTO threads (name, row) VALUES (?1, ?2)
                         ON CONFLICT (name) DO UPDATE SET row = excluded.row",
                        params![row.name, json],
                    )?;
                    added_threads.push(row.name.clone());
                } else if w.stored_threads.contains(&row.name) {
                    tx.execute("DELETE FROM threads WHERE name = ?1", [&row.name])?;
                    removed_threads.push(row.name.clone());
                }
            }
            for (name, def) in &changes.definitions {
                match def {
                    Some(def) => {
                        let json = serde_json::to_string(def)
                            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                        tx.execute(
                            "INSERT INTO definitions (name, definition) VALUES (?1, ?2)
                             ON CONFLICT (name) DO UPDATE SET definition = excluded.definition",
                            params![name, json],
                        )?;
                    }
                    None => {
                        tx.execute("DELETE FROM definitions WHERE name = ?1", [name])?;
                    }
                }
            }
            for (name, row) in &changes.schedules {
                match row {
                    Some(row) => {
                        let json = serde_json::to_string(row)
                            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                        tx.execute(
                            "INSERT INTO schedules (name, schedule) VALUES (?1, ?2)
                             ON CONFLICT (name) DO UPDATE SET schedule = excluded.schedule",
                            params![name, json],
                        )?;
                    }
                    None => {
                        tx.execute("DELETE FROM schedules WHERE name = ?1", [name])?;
                    }
                }
            }
            // Where the next id and seq go: the newest row when this commit writes one and
            // removes none (a removed row may be the one that held them), else `meta`.
            let newest = changes
                .tasks
                .iter()
                .rev()
                .find(|(_, rec)| rec.is_some())
                .map(|(id, _)| *id as i64)
                .filter(|id| *id > w.newest);
            let removes = changes.tasks.iter().any(|(_, rec)| rec.is_none());
            match newest {
                Some(id) if !removes => {
                    tx.prepare_cached(
                        "UPDATE tasks SET next_id = ?2, next_seq = ?3 WHERE id = ?1",
                    )?
                    .execute(params![
                        id,
                        changes.next_id as i64,
                        changes.next_seq as i64
                    ])?;
                }
                _ => {
                    let mut meta =
                        tx.prepare_cached("UPDATE meta SET value = ?2 WHERE key = ?1")?;
                    meta.execute(params!["next_id", changes.next_id as i64])?;
                    meta.execute(params!["next_seq", changes.next_seq as i64])?;
                }
            }
            tx.commit()?;
            if let Some(id) = newest {
                w.newest = id;
            }
            Ok(())
        })();
        result.map_err(|e| sql_error(&inner.path, "cannot commit to", e))?;
        for name in removed_threads {
            w.stored_threads.remove(&name);
        }
        w.stored_threads.extend(added_threads);
        Ok(())
    }

    fn read_log(&self, id: TaskId, after: u64, limit: usize) -> Result<LogPage> {
        let inner = &self.inner;
        let guard = inner.reader.lock();
        let conn = guard.as_ref().ok_or_else(|| inner.closed())?;
        logs::read(conn, id, after, limit).map_err(|e| match e {
            logs::ReadError::Sql(e) => sql_error(&inner.path, "cannot read a log from", e),
            logs::ReadError::Decode(e) => inner.damaged(&format!("the log of task {id}"), e),
        })
    }

    fn close(&self) {
        // Reader first: the writer's close then checkpoints and removes the WAL.
        drop(self.inner.reader.lock().take());
        drop(self.inner.writer.lock().take());
        drop(self.inner.lock.lock().take());
    }
}

#[cfg(test)]
mod tests;
