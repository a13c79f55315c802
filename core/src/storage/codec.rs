//! A compact binary form of task records and log entries, for database backends.
//!
//! Why not JSON: a record as JSON is about 900 bytes with eight RFC 3339 timestamps to
//! parse back; this form is about 150 bytes and decodes without parsing text (only `conf`,
//! `result`, `error` and reason data stay JSON). At 100,000 tasks/s written twice each,
//! and a million read at start, that is the difference that matters.
//!
//! Every struct is taken apart with an exhaustive pattern, so a field added to the model
//! fails to compile here instead of being silently dropped. Each blob starts with a format
//! version byte so a later release can still read older blobs. Decoding never panics and
//! never trusts a length: corrupt input gives an error.

use crate::engine::{TaskRecord, When};
use crate::model::{
    Attempt, AttemptReason, Json, LogEntry, LogKind, Outcome, Reason, ReasonType, Status, Task,
    TaskId,
};
use crate::time::Millis;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

const RECORD_V1: u8 = 1;
const LOG_V1: u8 = 1;
const TAIL_ENTRY_V1: u8 = 1;

/// Why a blob could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Res<T> = Result<T, DecodeError>;

fn bad<T>(what: impl Into<String>) -> Res<T> {
    Err(DecodeError(what.into()))
}

// --- primitives ---------------------------------------------------------------------------

struct Enc<'a> {
    out: &'a mut Vec<u8>,
}

impl Enc<'_> {
    fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    fn u(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn i(&mut self, v: i64) {
        self.u(((v << 1) ^ (v >> 63)) as u64);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.u(b.len() as u64);
        self.out.extend_from_slice(b);
    }

    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// Task JSON is already compact text: written as it is.
    fn json_text(&mut self, j: &Json) {
        self.str(j.as_str());
    }

    /// A time relative to `base` (most of a record's times are close to its creation).
    fn time(&mut self, t: Millis, base: Millis) {
        self.i(t.0.wrapping_sub(base.0));
    }

    fn opt<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Self, T)) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                f(self, v);
            }
        }
    }
}

/// Interns the strings most records repeat (names, threads, requesters, executors), so
/// a million restored tasks share a handful of allocations.
#[derive(Default)]
pub struct Interner {
    strings: HashMap<Box<str>, Arc<str>>,
}

impl Interner {
    const MAX: usize = 65_536;

    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.strings.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        if self.strings.len() < Self::MAX {
            self.strings.insert(Box::from(s), a.clone());
        }
        a
    }
}

struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    fn u8(&mut self) -> Res<u8> {
        let Some(b) = self.buf.get(self.pos) else {
            return bad("it ends too early");
        };
        self.pos += 1;
        Ok(*b)
    }

    fn u(&mut self) -> Res<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        bad("a number is too long")
    }

    fn i(&mut self) -> Res<i64> {
        let u = self.u()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn u32(&mut self) -> Res<u32> {
        u32::try_from(self.u()?).or_else(|_| bad("a count is out of range"))
    }

    fn bytes(&mut self) -> Res<&'a [u8]> {
        let len = self.u()?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| self.pos.checked_add(l))
            .filter(|end| *end <= self.buf.len());
        let Some(end) = end else {
            return bad("a length runs past the end");
        };
        let b = &self.buf[self.pos..end];
        self.pos = end;
        Ok(b)
    }

    fn str(&mut self) -> Res<&'a str> {
        std::str::from_utf8(self.bytes()?).or_else(|_| bad("a text is not UTF-8"))
    }

    fn string(&mut self) -> Res<String> {
        self.str().map(str::to_string)
    }

    /// The same bytes as [`Dec::json`], kept as text (checked, not parsed into a value).
    fn json_text(&mut self) -> Res<Json> {
        Json::from_stored(self.str()?).or_else(|e| bad(format!("a JSON value is invalid: {e}")))
    }

    fn time(&mut self, base: Millis) -> Res<Millis> {
        Ok(Millis(base.0.wrapping_add(self.i()?)))
    }

    fn bool(&mut self) -> Res<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            n => bad(format!("a flag is {n}")),
        }
    }

    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Res<T>) -> Res<Option<T>> {
        if self.bool()? {
            f(self).map(Some)
        } else {
            Ok(None)
        }
    }

    fn uuid(&mut self) -> Res<Uuid> {
        let b = self.bytes()?;
        Uuid::from_slice(b).or_else(|_| bad("an exec id is not 16 bytes"))
    }

    /// A count of items that each take at least one byte: never more than what is left,
    /// so a corrupt count cannot make us allocate without bound.
    fn count(&mut self) -> Res<usize> {
        let n = self.u()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.buf.len() - self.pos => Ok(n),
            _ => bad("a count runs past the end"),
        }
    }
}

// --- enums (explicit codes: reordering the model must not change stored data) -------------

fn status_code(s: Status) -> u8 {
    match s {
        Status::Created => 0,
        Status::Waiting => 1,
        Status::Ready => 2,
        Status::Requested => 3,
        Status::InProgress => 4,
        Status::Done => 5,
    }
}

fn status_of(c: u8) -> Res<Status> {
    Ok(match c {
        0 => Status::Created,
        1 => Status::Waiting,
        2 => Status::Ready,
        3 => Status::Requested,
        4 => Status::InProgress,
        5 => Status::Done,
        n => return bad(format!("status code {n} is unknown")),
    })
}

fn outcome_code(o: Option<Outcome>) -> u8 {
    match o {
        None => 0,
        Some(Outcome::Succeeded) => 1,
        Some(Outcome::Failed) => 2,
        Some(Outcome::Canceled) => 3,
    }
}

fn outcome_of(c: u8) -> Res<Option<Outcome>> {
    Ok(match c {
        0 => None,
        1 => Some(Outcome::Succeeded),
        2 => Some(Outcome::Failed),
        3 => Some(Outcome::Canceled),
        n => return bad(format!("outcome code {n} is unknown")),
    })
}

fn reason_code(r: ReasonType) -> u8 {
    match r {
        ReasonType::Succeeded => 0,
        ReasonType::Concluded => 1,
        ReasonType::FailedByExecutor => 2,
        ReasonType::HandlerPanicked => 3,
        ReasonType::InProgressTimeout => 4,
        ReasonType::Timeout => 5,
        ReasonType::InvalidResult => 6,
        ReasonType::Interrupted => 7,
        ReasonType::Canceled => 8,
        ReasonType::ParentCanceled => 9,
    }
}

fn reason_of(c: u8) -> Res<ReasonType> {
    Ok(match c {
        0 => ReasonType::Succeeded,
        1 => ReasonType::Concluded,
        2 => ReasonType::FailedByExecutor,
        3 => ReasonType::HandlerPanicked,
        4 => ReasonType::InProgressTimeout,
        5 => ReasonType::Timeout,
        6 => ReasonType::InvalidResult,
        7 => ReasonType::Interrupted,
        8 => ReasonType::Canceled,
        9 => ReasonType::ParentCanceled,
        n => return bad(format!("reason code {n} is unknown")),
    })
}

// --- task records -------------------------------------------------------------------------

const F_AUTO: u8 = 1;
const F_ARCHIVE: u8 = 2;
const F_OPEN: u8 = 4;
const F_HOLD: u8 = 8;
const F_AWAITING: u8 = 16;
const F_FRONT: u8 = 32;

/// Appends the binary form of `rec` to `out`.
pub fn encode_record(rec: &TaskRecord, out: &mut Vec<u8>) {
    let TaskRecord {
        task,
        attempts,
        children,
        group,
        front,
        claimed_at,
        start_deadline,
        heartbeat_deadline,
        timeout_deadline,
        ready_at,
        pending_result,
        log_seq,
        status_timer: _, // the engine's own bookkeeping, set again by `attach`
    } = rec;
    let Task {
        id,
        name,
        conf,
        key,
        parent,
        thread,
        auto,
        archive,
        open,
        desc,
        priority,
        timeout,
        ref_id,
        execute_at,
        hold,
        requester,
        status,
        outcome,
        outcome_reason,
        blocked_by: _, // a view-only field: the engine's record keeps it `None`
        result,
        error,
        retry_count,
        attempt,
        exec_id,
        executor,
        progress,
        awaiting_conclude,
        rerun_of,
        created_at,
        updated_at,
        started_at,
        concluded_at,
        conclude_at,
    } = task;
    let base = *created_at;
    let mut e = Enc { out };
    e.u8(RECORD_V1);
    e.u(*id);
    e.i(base.0);
    e.str(name);
    e.json_text(conf);
    e.opt(key.as_deref(), Enc::str);
    e.opt(*parent, Enc::u);
    e.opt(thread.as_deref(), Enc::str);
    let flags = (if *auto { F_AUTO } else { 0 })
        | (if *archive { F_ARCHIVE } else { 0 })
        | (if *open { F_OPEN } else { 0 })
        | (if *hold { F_HOLD } else { 0 })
        | (if *awaiting_conclude { F_AWAITING } else { 0 })
        | (if *front { F_FRONT } else { 0 });
    e.u8(flags);
    e.opt(desc.as_deref(), Enc::str);
    e.i(i64::from(*priority));
    e.opt(*timeout, Enc::u);
    e.opt(*ref_id, Enc::i);
    e.opt(*execute_at, |e, t| e.time(t, base));
    e.str(requester);
    e.u8(status_code(*status));
    e.u8(outcome_code(*outcome));
    e.opt(outcome_reason.as_ref(), |e, r| {
        let Reason {
            kind,
            message,
            data,
        } = r;
        e.u8(reason_code(*kind));
        e.str(message);
        e.json_text(data);
    });
    e.opt(result.as_ref(), Enc::json_text);
    e.opt(error.as_ref(), Enc::json_text);
    e.u(u64::from(*retry_count));
    e.u(u64::from(*attempt));
    e.opt(exec_id.as_ref(), |e, u| e.bytes(u.as_bytes()));
    e.opt(executor.as_deref(), Enc::str);
    e.opt(*progress, |e, p| e.out.extend_from_slice(&p.to_le_bytes()));
    e.opt(*rerun_of, Enc::u);
    e.time(*updated_at, base);
    e.opt(*started_at, |e, t| e.time(t, base));
    e.opt(*concluded_at, |e, t| e.time(t, base));
    e.opt(*conclude_at, |e, t| e.time(t, base));
    e.u(attempts.len() as u64);
    for a in attempts {
        let Attempt {
            attempt,
            exec_id,
            executor,
            claimed_at,
            started_at,
            ended_at,
            reason,
        } = a;
        e.u(u64::from(*attempt));
        e.bytes(exec_id.as_bytes());
        e.str(executor);
        e.time(*claimed_at, base);
        e.time(*started_at, base);
        e.opt(*ended_at, |e, t| e.time(t, base));
        e.opt(reason.as_ref(), |e, r| {
            let AttemptReason { kind, message } = r;
            e.u8(reason_code(*kind));
            e.str(message);
        });
    }
    let children = children.as_deref().map_or(&[][..], Vec::as_slice);
    e.u(children.len() as u64);
    let mut prev = *id;
    for c in children {
        // Children are created after their parent and in order: small positive deltas.
        e.i((*c as i64).wrapping_sub(prev as i64));
        prev = *c;
    }
    e.opt(group.as_deref(), Enc::str);
    for t in [
        claimed_at,
        start_deadline,
        heartbeat_deadline,
        timeout_deadline,
        ready_at,
    ] {
        e.opt(t.get(), |e, t| e.time(t, base));
    }
    e.opt(pending_result.as_deref(), Enc::json_text);
    e.u(*log_seq);
}

/// Reads a record written by [`encode_record`].
pub fn decode_record(buf: &[u8], strings: &mut Interner) -> Res<TaskRecord> {
    let mut d = Dec { buf, pos: 0 };
    match d.u8()? {
        RECORD_V1 => {}
        v => return bad(format!("record format {v} is unknown (newer taskyard?)")),
    }
    let id: TaskId = d.u()?;
    let base = Millis(d.i()?);
    let name = strings.get(d.str()?);
    let conf = d.json_text()?;
    let key = d.opt(|d| d.str().map(Box::from))?;
    let parent = d.opt(Dec::u)?;
    let thread = d.opt(|d| d.str().map(|s| strings.get(s)))?;
    let flags = d.u8()?;
    let desc = d.opt(|d| d.str().map(Box::from))?;
    let priority = i32::try_from(d.i()?).or_else(|_| bad("priority is out of range"))?;
    let timeout = d.opt(Dec::u)?;
    let ref_id = d.opt(Dec::i)?;
    let execute_at = d.opt(|d| d.time(base))?;
    let requester = strings.get(d.str()?);
    let status = status_of(d.u8()?)?;
    let outcome = outcome_of(d.u8()?)?;
    let outcome_reason = d.opt(|d| {
        Ok(Reason {
            kind: reason_of(d.u8()?)?,
            message: strings.get(d.str()?),
            data: d.json_text()?,
        })
    })?;
    let result = d.opt(Dec::json_text)?;
    let error = d.opt(Dec::json_text)?;
    let retry_count = d.u32()?;
    let attempt = d.u32()?;
    let exec_id = d.opt(Dec::uuid)?;
    let executor = d.opt(|d| d.str().map(|s| strings.get(s)))?;
    let progress = d.opt(|d| {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = d.u8()?;
        }
        Ok(f64::from_le_bytes(b))
    })?;
    let rerun_of = d.opt(Dec::u)?;
    let updated_at = d.time(base)?;
    let started_at = d.opt(|d| d.time(base))?;
    let concluded_at = d.opt(|d| d.time(base))?;
    let conclude_at = d.opt(|d| d.time(base))?;
    let n = d.count()?;
    let mut attempts = Vec::with_capacity(n);
    for _ in 0..n {
        attempts.push(Attempt {
            attempt: d.u32()?,
            exec_id: d.uuid()?,
            executor: strings.get(d.str()?),
            claimed_at: d.time(base)?,
            started_at: d.time(base)?,
            ended_at: d.opt(|d| d.time(base))?,
            reason: d.opt(|d| {
                Ok(AttemptReason {
                    kind: reason_of(d.u8()?)?,
                    message: strings.get(d.str()?),
                })
            })?,
        });
    }
    let n = d.count()?;
    let mut children = Vec::with_capacity(n);
    let mut prev = id;
    for _ in 0..n {
        prev = (prev as i64).wrapping_add(d.i()?) as u64;
        children.push(prev);
    }
    let group = d.opt(|d| d.str().map(|s| strings.get(s)))?;
    let mut times = [None; 5];
    for t in &mut times {
        *t = d.opt(|d| d.time(base))?;
    }
    let [
        claimed_at,
        start_deadline,
        heartbeat_deadline,
        timeout_deadline,
        ready_at,
    ] = times;
    let pending_result = d.opt(Dec::json_text)?;
    let log_seq = d.u()?;
    if d.pos != buf.len() {
        return bad("it has bytes left over");
    }
    let task = Task {
        id,
        name,
        conf,
        key,
        parent,
        thread,
        auto: flags & F_AUTO != 0,
        archive: flags & F_ARCHIVE != 0,
        open: flags & F_OPEN != 0,
        desc,
        priority,
        timeout,
        ref_id,
        execute_at,
        hold: flags & F_HOLD != 0,
        requester,
        status,
        outcome,
        outcome_reason,
        blocked_by: None,
        result,
        error,
        retry_count,
        attempt,
        exec_id,
        executor,
        progress,
        awaiting_conclude: flags & F_AWAITING != 0,
        rerun_of,
        created_at: base,
        updated_at,
        started_at,
        concluded_at,
        conclude_at,
    };
    Ok(TaskRecord {
        task,
        attempts: attempts.into_boxed_slice(),
        children: (!children.is_empty()).then(|| Box::new(children)),
        group,
        front: flags & F_FRONT != 0,
        claimed_at: claimed_at.into(),
        start_deadline: start_deadline.into(),
        heartbeat_deadline: heartbeat_deadline.into(),
        timeout_deadline: timeout_deadline.into(),
        ready_at: ready_at.into(),
        pending_result: pending_result.map(Box::new),
        log_seq,
        status_timer: When::NONE,
    })
}

// --- log entries --------------------------------------------------------------------------

fn status_or_none(s: Option<Status>) -> u8 {
    s.map_or(0, |s| status_code(s) + 1)
}

fn status_or_none_of(c: u8) -> Res<Option<Status>> {
    if c == 0 {
        Ok(None)
    } else {
        status_of(c - 1).map(Some)
    }
}

/// Appends a chunk of log entries (one task, increasing `seq`) to `out`.
pub fn encode_log<'a>(entries: impl ExactSizeIterator<Item = &'a LogEntry>, out: &mut Vec<u8>) {
    let mut e = Enc { out };
    e.u8(LOG_V1);
    e.u(entries.len() as u64);
    let (mut seq, mut at) = (0u64, Millis::ZERO);
    for entry in entries {
        let LogEntry {
            seq: s,
            at: t,
            kind,
            from,
            to,
            message,
        } = entry;
        e.u(s.wrapping_sub(seq));
        e.time(*t, at);
        (seq, at) = (*s, *t);
        let kind = match kind {
            LogKind::Transition => 0,
            LogKind::Log => 1,
        };
        e.u8(kind | (status_or_none(*from) << 1) | (status_or_none(*to) << 4));
        e.str(message);
    }
}

/// Reads a chunk written by [`encode_log`].
pub fn decode_log(buf: &[u8]) -> Res<Vec<LogEntry>> {
    let mut d = Dec { buf, pos: 0 };
    match d.u8()? {
        LOG_V1 => {}
        v => return bad(format!("log format {v} is unknown (newer taskyard?)")),
    }
    let n = d.count()?;
    let mut entries = Vec::with_capacity(n);
    let (mut seq, mut at) = (0u64, Millis::ZERO);
    for _ in 0..n {
        seq = seq.wrapping_add(d.u()?);
        at = d.time(at)?;
        let bits = d.u8()?;
        let kind = if bits & 1 == 0 {
            LogKind::Transition
        } else {
            LogKind::Log
        };
        entries.push(LogEntry {
            seq,
            at,
            kind,
            from: status_or_none_of((bits >> 1) & 7)?,
            to: status_or_none_of((bits >> 4) & 7)?,
            message: d.string()?,
        });
    }
    if d.pos != buf.len() {
        return bad("it has bytes left over");
    }
    Ok(entries)
}

/// Appends one log entry in the concatenable form of a log tail: each entry stands
/// alone (its own version byte, absolute values), so a tail grows by appending bytes.
pub fn encode_tail_entry(entry: &LogEntry, out: &mut Vec<u8>) {
    let LogEntry {
        seq,
        at,
        kind,
        from,
        to,
        message,
    } = entry;
    let mut e = Enc { out };
    e.u8(TAIL_ENTRY_V1);
    e.u(*seq);
    e.i(at.0);
    let kind = match kind {
        LogKind::Transition => 0,
        LogKind::Log => 1,
    };
    e.u8(kind | (status_or_none(*from) << 1) | (status_or_none(*to) << 4));
    e.str(message);
}

/// Reads a log tail: entries written by [`encode_tail_entry`], back to back.
pub fn decode_tail(buf: &[u8]) -> Res<Vec<LogEntry>> {
    let mut d = Dec { buf, pos: 0 };
    let mut entries = Vec::new();
    while let Some(head) = tail_head(&mut d)? {
        entries.push(head.entry(d.string()?));
    }
    Ok(entries)
}

/// Reads entries with `seq > after` from a log tail, at most `limit`, and whether more
/// follow. Entries before are skipped without copying their messages.
pub fn decode_tail_page(buf: &[u8], after: u64, limit: usize) -> Res<(Vec<LogEntry>, bool)> {
    let mut d = Dec { buf, pos: 0 };
    let mut entries = Vec::new();
    while let Some(head) = tail_head(&mut d)? {
        if head.seq <= after {
            d.bytes()?;
            continue;
        }
        if entries.len() == limit {
            return Ok((entries, true));
        }
        entries.push(head.entry(d.string()?));
    }
    Ok((entries, false))
}

/// Where the first entry of kind `kind` lies in a log tail, as a byte range.
pub fn tail_find(buf: &[u8], kind: LogKind) -> Res<Option<std::ops::Range<usize>>> {
    let mut d = Dec { buf, pos: 0 };
    let mut start = 0;
    while let Some(head) = tail_head(&mut d)? {
        d.bytes()?;
        if head.kind == kind {
            return Ok(Some(start..d.pos));
        }
        start = d.pos;
    }
    Ok(None)
}

/// A log tail entry without its message (which follows it in the buffer).
struct TailHead {
    seq: u64,
    at: Millis,
    kind: LogKind,
    from: Option<Status>,
    to: Option<Status>,
}

impl TailHead {
    fn entry(self, message: String) -> LogEntry {
        let TailHead {
            seq,
            at,
            kind,
            from,
            to,
        } = self;
        LogEntry {
            seq,
            at,
            kind,
            from,
            to,
            message,
        }
    }
}

/// Reads the next entry's head, or `None` at the end of the buffer.
fn tail_head(d: &mut Dec<'_>) -> Res<Option<TailHead>> {
    if d.pos >= d.buf.len() {
        return Ok(None);
    }
    match d.u8()? {
        TAIL_ENTRY_V1 => {}
        v => return bad(format!("log entry format {v} is unknown (newer taskyard?)")),
    }
    let seq = d.u()?;
    let at = Millis(d.i()?);
    let bits = d.u8()?;
    Ok(Some(TailHead {
        seq,
        at,
        kind: if bits & 1 == 0 {
            LogKind::Transition
        } else {
            LogKind::Log
        },
        from: status_or_none_of((bits >> 1) & 7)?,
        to: status_or_none_of((bits >> 4) & 7)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Task;
    use proptest::prelude::*;
    use serde_json::json;

    fn sample() -> TaskRecord {
        let t0 = Millis(1_795_000_000_123);
        let task = Task {
            id: 42,
            name: Arc::from("sum"),
            conf: json!({"values": [1, 2.5, "x"], "nested": {"a": null}}).into(),
            key: Some("k-1".into()),
            parent: Some(7),
            thread: Some(Arc::from("imports")),
            auto: true,
            archive: false,
            open: true,
            desc: Some("a ✓ task".into()),
            priority: -3,
            timeout: Some(30_000),
            ref_id: Some(-9),
            execute_at: Some(t0.plus_ms(500)),
            hold: false,
            requester: Arc::from("alice"),
            status: Status::InProgress,
            outcome: Some(Outcome::Failed),
            outcome_reason: Some(Reason {
                kind: ReasonType::FailedByExecutor,
                message: "boom".into(),
                data: json!({"code": 3}).into(),
            }),
            blocked_by: None,
            result: Some(json!({"sum": 3}).into()),
            error: Some(json!("bad").into()),
            retry_count: 2,
            attempt: 3,
            exec_id: Some(Uuid::from_u128(0x1234_5678_9abc_def0_1122_3344_5566_7788)),
            executor: Some(Arc::from("worker-1")),
            progress: Some(0.25),
            awaiting_conclude: true,
            rerun_of: Some(3),
            created_at: t0,
            updated_at: t0.plus_ms(9_000),
            started_at: Some(t0.plus_ms(1_000)),
            concluded_at: None,
            conclude_at: Some(t0.plus_ms(12_000)),
        };
        TaskRecord {
            task,
            attempts: Box::new([Attempt {
                attempt: 1,
                exec_id: Uuid::from_u128(5),
                executor: Arc::from("builtin"),
                claimed_at: t0.plus_ms(10),
                started_at: t0.plus_ms(11),
                ended_at: Some(t0.plus_ms(20)),
                reason: Some(AttemptReason {
                    kind: ReasonType::Timeout,
                    message: "too slow".into(),
                }),
            }]),
            children: Some(Box::new(vec![43, 44, 100])),
            group: Some(Arc::from("\"Patient\"")),
            front: true,
            claimed_at: t0.plus_ms(900).into(),
            start_deadline: When::NONE,
            heartbeat_deadline: t0.plus_ms(120_000).into(),
            timeout_deadline: t0.plus_ms(31_000).into(),
            ready_at: t0.into(),
            pending_result: Some(Box::new(json!([1, 2]).into())),
            log_seq: 17,
            status_timer: When::NONE,
        }
    }

    #[test]
    fn records_round_trip() {
        let rec = sample();
        let mut buf = Vec::new();
        encode_record(&rec, &mut buf);
        let back = decode_record(&buf, &mut Interner::default()).unwrap();
        assert_eq!(back, rec);
        assert!(buf.len() < 400, "{} bytes", buf.len());
    }

    #[test]
    fn a_minimal_record_is_small() {
        let mut rec = sample();
        rec.task.conf = json!({}).into();
        (rec.task.key, rec.task.parent, rec.task.desc) = (None, None, None);
        rec.task.outcome_reason = None;
        (rec.task.result, rec.task.error, rec.pending_result) = (None, None, None);
        rec.attempts = Box::default();
        rec.children = None;
        let mut buf = Vec::new();
        encode_record(&rec, &mut buf);
        assert_eq!(decode_record(&buf, &mut Interner::default()).unwrap(), rec);
        assert!(buf.len() < 160, "{} bytes", buf.len());
    }

    #[test]
    fn logs_round_trip() {
        let t0 = Millis(1_795_000_000_000);
        let entries = vec![
            LogEntry {
                seq: 1,
                at: t0,
                kind: LogKind::Transition,
                from: None,
                to: Some(Status::Ready),
                message: "created by bench".into(),
            },
            LogEntry {
                seq: 2,
                at: t0.plus_ms(3),
                kind: LogKind::Transition,
                from: Some(Status::InProgress),
                to: Some(Status::Done),
                message: "succeeded".into(),
            },
            LogEntry {
                seq: 9,
                at: t0.plus_ms(1),
                kind: LogKind::Log,
                from: None,
                to: None,
                message: String::new(),
            },
        ];
        let mut buf = Vec::new();
        encode_log(entries.iter(), &mut buf);
        assert_eq!(decode_log(&buf).unwrap(), entries);
        // Tails concatenate: two halves appended read back as the whole.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        encode_tail_entry(&entries[0], &mut a);
        for e in &entries[1..] {
            encode_tail_entry(e, &mut b);
        }
        a.extend_from_slice(&b);
        assert_eq!(decode_tail(&a).unwrap(), entries);
        assert!(decode_tail(&a[..a.len() - 1]).is_err());
    }

    #[test]
    fn truncations_and_versions_are_errors() {
        let mut buf = Vec::new();
        encode_record(&sample(), &mut buf);
        for cut in 0..buf.len() {
            assert!(decode_record(&buf[..cut], &mut Interner::default()).is_err());
        }
        buf[0] = 9;
        let err = decode_record(&buf, &mut Interner::default()).unwrap_err();
        assert!(err.0.contains("newer"), "{err}");
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_record(&bytes, &mut Interner::default());
            let _ = decode_log(&bytes);
            let _ = decode_tail(&bytes);
        }

        #[test]
        fn flipped_bytes_never_panic(i in 0usize..300, x in any::<u8>()) {
            let mut buf = Vec::new();
            encode_record(&sample(), &mut buf);
            let i = i % buf.len();
            buf[i] ^= x;
            let _ = decode_record(&buf, &mut Interner::default());
        }
    }
}
