//! Task logs in `logs`: one row per (task, commit) holding every entry that commit added
//! to the task, so a task created, claimed, started and finished in one group commit
//! costs one row, not four.
//!
//! Bounded like the memory store (SPEC §1: the newest 10,000 lines and every
//! transition), but trimmed in steps: a task's log is trimmed each time its `seq` passes
//! another [`TRIM_EVERY`] beyond the bound, so it may briefly hold up to that many more
//! lines. Trimming drops the oldest lines and keeps transitions.

use crate::model::{LogEntry, LogKind, LogPage, TaskId};
use crate::storage::MAX_LOG_LINES;
use crate::storage::codec::{DecodeError, decode_log, encode_log};
use rusqlite::{Connection, OptionalExtension, params};

pub(super) const TRIM_EVERY: u64 = 1_000;

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

/// Stores the entries one commit added to `task` (in `seq` order).
pub(super) fn append(
    conn: &Connection,
    task: TaskId,
    entries: &[&LogEntry],
    buf: &mut Vec<u8>,
) -> rusqlite::Result<()> {
    let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
        return Ok(());
    };
    buf.clear();
    encode_log(entries.iter().copied(), buf);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO logs (task, first_seq, last_seq, lines, entries)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        task as i64,
        first.seq as i64,
        last.seq as i64,
        lines_in(entries.iter().copied()),
        &buf[..]
    ])?;
    let bound = MAX_LOG_LINES as u64;
    if last.seq > bound && last.seq / TRIM_EVERY != first.seq.saturating_sub(1) / TRIM_EVERY {
        trim(conn, task)?;
    }
    Ok(())
}

/// Deletes a task's whole log (the task was cleaned).
pub(super) fn delete(conn: &Connection, task: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM logs WHERE task = ?1")?
        .execute([task])?;
    Ok(())
}

/// Drops the oldest log lines beyond the newest [`MAX_LOG_LINES`], keeping transitions.
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
    let next = if out.len() > limit {
        out.truncate(limit);
        out.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(LogPage { entries: out, next })
}
