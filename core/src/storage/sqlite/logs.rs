//! Task logs. The newest entries live in the task's own row (`tasks.log`, the *tail*):
//! a commit appends a task's new entries there with the same statement that writes its
//! record, so a task created, claimed, started and finished costs one row write per
//! commit. When a task's `seq` passes a multiple of [`TAIL_SPAN`], the entries up to it
//! move to `logs` as one chunk (a row per chunk), so tails stay small.
//!
//! Bounded like the memory store (SPEC §1: the newest 10,000 lines and every
//! transition), but trimmed in steps: chunks are trimmed each time a task's `seq` passes
//! another [`TRIM_EVERY`] beyond the bound, so a log may briefly hold up to
//! `TRIM_EVERY + TAIL_SPAN` more lines. Trimming drops the oldest lines and keeps
//! transitions.

use crate::model::{LogEntry, LogKind, LogPage, TaskId};
use crate::storage::MAX_LOG_LINES;
use crate::storage::codec::{DecodeError, decode_log, decode_tail, encode_log, encode_tail_entry};
use rusqlite::{Connection, OptionalExtension, params};

pub(super) const TAIL_SPAN: u64 = 64;
pub(super) const TRIM_EVERY: u64 = 1_000;

/// Writes the record and appends to the tail: a new row, or the existing one updated.
/// `||` joins the two byte strings (SQLite concatenates them as text without looking
/// inside, in a UTF-8 database); the cast makes the result a blob again.
const PUT_APPEND: &str = "INSERT INTO tasks (id, record, log) VALUES (?1, ?2, ?3)
     ON CONFLICT (id) DO UPDATE SET record = excluded.record,
                                    log = CAST(tasks.log || excluded.log AS BLOB)";
const PUT_REPLACE: &str = "INSERT INTO tasks (id, record, log) VALUES (?1, ?2, ?3)
     ON CONFLICT (id) DO UPDATE SET record = excluded.record, log = excluded.log";
const APPEND: &str = "UPDATE tasks SET log = CAST(log || ?2 AS BLOB) WHERE id = ?1";
const REPLACE: &str = "UPDATE tasks SET log = ?2 WHERE id = ?1";

pub(super) enum ReadError {
    Sql(rusqlite::Error),
    Decode(DecodeError),
}

impl From<rusqlite::Error> for ReadError {
    fn from(e: rusqlite::Error) -> Self {
        ReadError::Sql(e)
    }
}

impl From<DecodeError> for ReadError {
    fn from(e: DecodeError) -> Self {
        ReadError::Decode(e)
    }
}

fn lines_in<'a>(entries: impl Iterator<Item = &'a LogEntry>) -> i64 {
    entries.filter(|e| e.kind == LogKind::Log).count() as i64
}

/// Whether entries `first..=last` cross a multiple of `span`.
fn crosses(first: u64, last: u64, span: u64) -> bool {
    last / span != first.saturating_sub(1) / span
}

/// Writes a task's record (when it changed) and the log entries one commit added to it
/// (in `seq` order).
pub(super) fn write(
    conn: &Connection,
    task: TaskId,
    record: Option<&[u8]>,
    entries: &[&LogEntry],
    buf: &mut Vec<u8>,
) -> rusqlite::Result<()> {
    let id = task as i64;
    let spill = match (entries.first(), entries.last()) {
        (Some(first), Some(last)) => crosses(first.seq, last.seq, TAIL_SPAN),
        _ => false,
    };
    buf.clear();
    if spill {
        spill_tail(conn, task, entries, buf)?;
    } else {
        for e in entries {
            encode_tail_entry(e, buf);
        }
    }
    let written = match (record, spill) {
        (Some(rec), false) => conn
            .prepare_cached(PUT_APPEND)?
            .execute(params![id, rec, &buf[..]]),
        (Some(rec), true) => conn
            .prepare_cached(PUT_REPLACE)?
            .execute(params![id, rec, &buf[..]]),
        (None, false) if entries.is_empty() => return Ok(()),
        (None, false) => conn.prepare_cached(APPEND)?.execute(params![id, &buf[..]]),
        (None, true) => conn.prepare_cached(REPLACE)?.execute(params![id, &buf[..]]),
    }?;
    if written == 0 {
        // The engine writes a task's record no later than its first log entry.
        tracing::warn!(
            task,
            "log entries for a task that is not stored were dropped"
        );
    }
    Ok(())
}

/// Moves the tail and the new entries up to the last multiple of [`TAIL_SPAN`] into a
/// chunk; leaves the encoded new tail (what is after it) in `buf`.
fn spill_tail(
    conn: &Connection,
    task: TaskId,
    entries: &[&LogEntry],
    buf: &mut Vec<u8>,
) -> rusqlite::Result<()> {
    let old: Option<Vec<u8>> = conn
        .prepare_cached("SELECT log FROM tasks WHERE id = ?1")?
        .query_row([task as i64], |r| r.get(0))
        .optional()?;
    let old = match old.as_deref().map(decode_tail).transpose() {
        Ok(old) => old.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(task, error = %e, "a damaged log tail was dropped");
            Vec::new()
        }
    };
    let last = entries.last().map_or(0, |e| e.seq);
    let boundary = last / TAIL_SPAN * TAIL_SPAN;
    let all: Vec<&LogEntry> = old.iter().chain(entries.iter().copied()).collect();
    let (chunk, rest): (Vec<&LogEntry>, Vec<&LogEntry>) =
        all.into_iter().partition(|e| e.seq <= boundary);
    if let (Some(first), Some(last_in)) = (chunk.first(), chunk.last()) {
        let mut blob = Vec::new();
        encode_log(chunk.iter().copied(), &mut blob);
        conn.prepare_cached(
            "INSERT OR REPLACE INTO logs (task, first_seq, last_seq, lines, entries)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            task as i64,
            first.seq as i64,
            last_in.seq as i64,
            lines_in(chunk.iter().copied()),
            blob
        ])?;
        let first_new = entries.first().map_or(last, |e| e.seq);
        if last > MAX_LOG_LINES as u64 && crosses(first_new, last, TRIM_EVERY) {
            trim(conn, task)?;
        }
    }
    for e in rest {
        encode_tail_entry(e, buf);
    }
    Ok(())
}

/// Deletes a task's chunks (the task was cleaned; its row, tail included, goes too).
pub(super) fn delete(conn: &Connection, task: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM logs WHERE task = ?1")?
        .execute([task])?;
    Ok(())
}

/// Drops the oldest log lines beyond the newest [`MAX_LOG_LINES`] (counting the chunks
/// only), keeping transitions.
fn trim(conn: &Connection, task: TaskId) -> rusqlite::Result<()> {
    let chunks: Vec<(i64, i64)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT first_seq, lines FROM logs WHERE task = ?1 ORDER BY first_seq DESC",
        )?;
        let rows = stmt.query_map([task as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut keep = MAX_LOG_LINES as i64;
    for (first_seq, lines) in chunks {
        if lines <= keep {
            keep -= lines;
            continue;
        }
        let mut excess = lines - keep;
        keep = 0;
        let blob: Vec<u8> = conn.query_row(
            "SELECT entries FROM logs WHERE task = ?1 AND first_seq = ?2",
            params![task as i64, first_seq],
            |r| r.get(0),
        )?;
        let entries = match decode_log(&blob) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(task, error = %e, "a damaged log chunk was left untrimmed");
                continue;
            }
        };
        // Entries are oldest first: drop the oldest `excess` lines.
        let kept: Vec<&LogEntry> = entries
            .iter()
            .filter(|e| {
                if e.kind == LogKind::Log && excess > 0 {
                    excess -= 1;
                    false
                } else {
                    true
                }
            })
            .collect();
        if kept.is_empty() {
            conn.execute(
                "DELETE FROM logs WHERE task = ?1 AND first_seq = ?2",
                params![task as i64, first_seq],
            )?;
        } else {
            let mut buf = Vec::new();
            encode_log(kept.iter().copied(), &mut buf);
            conn.execute(
                "UPDATE logs SET entries = ?3, lines = ?4 WHERE task = ?1 AND first_seq = ?2",
                params![task as i64, first_seq, buf, lines_in(kept.iter().copied())],
            )?;
        }
    }
    Ok(())
}

/// A page of a task's log: entries with `seq > after`, at most `limit`.
pub(super) fn read(
    conn: &Connection,
    task: TaskId,
    after: u64,
    limit: usize,
) -> Result<LogPage, ReadError> {
    let task = task as i64;
    let after_i = i64::try_from(after).unwrap_or(i64::MAX);
    let mut out: Vec<LogEntry> = Vec::new();
    // The chunk that may hold `after + 1` starts at or before it.
    let straddling: Option<(i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT last_seq, entries FROM logs WHERE task = ?1 AND first_seq <= ?2
             ORDER BY first_seq DESC LIMIT 1",
        )?
        .query_row(params![task, after_i], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((last, blob)) = straddling
        && last > after_i
    {
        out.extend(decode_log(&blob)?.into_iter().filter(|e| e.seq > after));
    }
    if out.len() <= limit {
        let mut stmt = conn.prepare_cached(
            "SELECT entries FROM logs WHERE task = ?1 AND first_seq > ?2 ORDER BY first_seq",
        )?;
        let mut rows = stmt.query(params![task, after_i])?;
        while let Some(row) = rows.next()? {
            let blob = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
            out.extend(decode_log(blob)?);
            if out.len() > limit {
                break;
            }
        }
    }
    if out.len() <= limit {
        // The tail comes after every chunk.
        let tail: Option<Vec<u8>> = conn
            .prepare_cached("SELECT log FROM tasks WHERE id = ?1")?
            .query_row([task], |r| r.get(0))
            .optional()?;
        if let Some(tail) = tail {
            out.extend(decode_tail(&tail)?.into_iter().filter(|e| e.seq > after));
        }
    }
    let next = if out.len() > limit {
        out.truncate(limit);
        out.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(LogPage { entries: out, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concatenation_keeps_any_bytes() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, log BLOB NOT NULL)")
            .unwrap();
        // Every byte value, NULs and invalid UTF-8 included.
        let a: Vec<u8> = (0..=255u8).rev().collect();
        let b: Vec<u8> = vec![0, 0, 0xff, 0xc3, 0x28, 0, 0x80];
        conn.execute("INSERT INTO t VALUES (1, ?1)", [&a]).unwrap();
        conn.execute(
            "UPDATE t SET log = CAST(log || ?1 AS BLOB) WHERE id = 1",
            [&b],
        )
        .unwrap();
        let (got, kind): (Vec<u8>, String) = conn
            .query_row("SELECT log, typeof(log) FROM t", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(kind, "blob");
        assert_eq!(got, [a, b].concat());
    }
}
