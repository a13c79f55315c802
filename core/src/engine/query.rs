//! Reading the engine: task views with `blocked_by`, windowed queries, threads, counts
//! and stats. Nothing here changes state.

use super::Engine;
use super::record::TaskRecord;
use crate::api::{Counts, Latency, SortKey, SortOrder, Stats, TaskPage, TaskQuery};
use crate::error::{Error, ErrorCode, Result};
use crate::filter::Filter;
use crate::model::{BlockedBy, ExecutorKind, Outcome, Status, Task, TaskDetail, TaskId, ThreadRow};
use crate::time::Millis;
use serde_json::{Value, json};
use std::cmp::Ordering;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum SortVal<'a> {
    Int(i64),
    Str(&'a str),
}

impl SortVal<'_> {
    fn to_json(self) -> Value {
        match self {
            SortVal::Int(n) => json!(n),
            SortVal::Str(s) => json!(s),
        }
    }
}

/// A decoded keyset cursor: the sort value and id of the last row of the previous page.
enum Cursor {
    Int(i64, TaskId),
    Str(String, TaskId),
}

impl Cursor {
    fn parse(text: &str) -> Result<Cursor> {
        let bad = || {
            Error::new(
                ErrorCode::InvalidQuery,
                format!(
                    "cursor `{text}` is not one this server issued; pass the `next` of the previous page unchanged"
                ),
            )
        };
        let v: Value = serde_json::from_str(text).map_err(|_| bad())?;
        let (val, id) = match v.as_array().map(Vec::as_slice) {
            Some([val, id]) => (val, id.as_u64().ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        match val {
            Value::Number(n) => n.as_i64().map(|n| Cursor::Int(n, id)).ok_or_else(bad),
            Value::String(s) => Ok(Cursor::Str(s.clone(), id)),
            _ => Err(bad()),
        }
    }

    fn cmp_row(&self, val: SortVal<'_>, id: TaskId) -> Ordering {
        match (self, val) {
            (Cursor::Int(c, cid), SortVal::Int(v)) => (v, id).cmp(&(*c, *cid)),
            (Cursor::Str(c, cid), SortVal::Str(v)) => (v, id).cmp(&(c.as_str(), *cid)),
            (Cursor::Int(..), SortVal::Str(_)) => Ordering::Greater,
            (Cursor::Str(..), SortVal::Int(_)) => Ordering::Less,
        }
    }
}

fn sort_val(rec: &TaskRecord, key: SortKey) -> SortVal<'_> {
    let t = &rec.task;
    match key {
        SortKey::Id => SortVal::Int(t.id as i64),
        SortKey::Priority => SortVal::Int(i64::from(t.priority)),
        SortKey::CreatedAt => SortVal::Int(t.created_at.0),
        SortKey::UpdatedAt => SortVal::Int(t.updated_at.0),
        SortKey::Name => SortVal::Str(&t.name),
        SortKey::Thread => SortVal::Str(t.thread.as_deref().unwrap_or("")),
        SortKey::Status => SortVal::Int(t.status.index() as i64),
    }
}

impl Engine {
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// Every task record, in id order (for storage snapshots and invariant checks).
    pub fn records(&self) -> impl Iterator<Item = &TaskRecord> {
        self.tasks.iter()
    }

    pub fn record(&self, id: TaskId) -> Option<&TaskRecord> {
        self.tasks.get(id)
    }

    /// The task as the API shows it, with `blocked_by` filled in.
    pub fn task_view(&self, id: TaskId, now: Millis) -> Option<Task> {
        let rec = self.tasks.get(id)?;
        let mut task = rec.task.clone();
        task.blocked_by = self.blocked_by(rec, now);
        Some(task)
    }

    /// The single-task view: attempts and children (workspace files are the runtime's).
    pub fn task_detail(&self, id: TaskId, now: Millis) -> Option<TaskDetail> {
        let rec = self.tasks.get(id)?;
        Some(TaskDetail {
            task: self.task_view(id, now)?,
            attempts: rec.attempts.to_vec(),
            children: rec.children().to_vec(),
            workspace_files: Vec::new(),
        })
    }

    /// Why a ready task is not being claimed, the first reason that applies (SPEC §1).
    pub fn blocked_by(&self, rec: &TaskRecord, now: Millis) -> Option<BlockedBy> {
        if rec.task.status != Status::Ready {
            return None;
        }
        let id = rec.id();
        if let Some(th) = &rec.task.thread
            && let Some(ts) = self.threads.get(th)
        {
            if ts.lock.is_some() {
                return Some(BlockedBy::ThreadLocked);
            }
            if ts.pause.is_some() {
                return Some(BlockedBy::ThreadPaused);
            }
            if ts.current.is_some_and(|c| c != id) || ts.offered.is_some_and(|o| o != id) {
                return Some(BlockedBy::ThreadBusy);
            }
        }
        if rec.task.conclude_at.is_some() {
            return Some(BlockedBy::Concluding);
        }
        let def = self.defs.get(&rec.task.name)?;
        if !def.index.group_has_slot(&rec.group) {
            return Some(BlockedBy::ConcurrencyLimit);
        }
        if def.def.executor == ExecutorKind::External
            && def
                .last_polled
                .is_none_or(|t| now.since(t) > self.config.worker_absent_after_ms)
        {
            return Some(BlockedBy::NoExecutor);
        }
        None
    }

    /// A window of tasks matching a filter, in the asked order.
    pub fn query(&self, q: &TaskQuery, now: Millis) -> Result<TaskPage> {
        if !(1..=1000).contains(&q.limit) {
            return Err(Error::new(
                ErrorCode::InvalidQuery,
                format!("limit {} is out of range; use 1 to 1000", q.limit),
            ));
        }
        let filter = Filter::parse(&q.filter)?;
        let cursor = q.after.as_deref().map(Cursor::parse).transpose()?;
        let limit = q.limit;
        let desc = q.order == SortOrder::Desc;
        let mut rows: Vec<&TaskRecord> = Vec::with_capacity(limit.min(1024));
        let mut total: u64 = 0;
        let mut more = false;

        if q.sort == SortKey::Id {
            // Id order is the table's own: no sort, and stop early without a filter.
            if filter.is_empty() && cursor.is_none() {
                total = self.tasks.len() as u64;
                let skip = q.offset;
                if desc {
                    rows.extend(self.tasks.iter().rev().skip(skip).take(limit));
                } else {
                    rows.extend(self.tasks.iter().skip(skip).take(limit));
                }
                more = skip.saturating_add(rows.len()) < self.tasks.len();
            } else {
                // Rows past the cursor still to skip for `offset`.
                let mut skip = q.offset;
                let iter: Box<dyn Iterator<Item = &TaskRecord>> = if desc {
                    Box::new(self.tasks.iter().rev())
                } else {
                    Box::new(self.tasks.iter())
                };
                for rec in iter {
                    if !filter.matches(&rec.task, now) {
                        continue;
                    }
                    total += 1;
                    let id = rec.id();
                    let past_cursor = cursor.as_ref().is_none_or(|c| {
                        let ord = c.cmp_row(SortVal::Int(id as i64), id);
                        if desc {
                            ord == Ordering::Less
                        } else {
                            ord == Ordering::Greater
                        }
                    });
                    if !past_cursor {
                        continue;
                    }
                    if skip > 0 {
                        skip -= 1;
                    } else if rows.len() >= limit {
                        more = true;
                    } else {
                        rows.push(rec);
                    }
                }
            }
        } else {
            // Every match past the cursor; only the asked window is put in order (a
            // selection, then a sort of `limit` rows), so a page of a million-task sort
            // costs a linear pass, not a full sort.
            let mut past: Vec<(SortVal<'_>, TaskId, &TaskRecord)> = Vec::new();
            for r in self.tasks.iter() {
                if !filter.matches(&r.task, now) {
                    continue;
                }
                total += 1;
                let (v, id) = (sort_val(r, q.sort), r.id());
                let is_past = cursor.as_ref().is_none_or(|c| {
                    let ord = c.cmp_row(v, id);
                    if desc {
                        ord == Ordering::Less
                    } else {
                        ord == Ordering::Greater
                    }
                });
                if is_past {
                    past.push((v, id, r));
                }
            }
            type Row<'a> = (SortVal<'a>, TaskId, &'a TaskRecord);
            let cmp = |a: &Row<'_>, b: &Row<'_>| {
                if desc {
                    (b.0, b.1).cmp(&(a.0, a.1))
                } else {
                    (a.0, a.1).cmp(&(b.0, b.1))
                }
            };
            let skip = q.offset;
            let end = skip.saturating_add(limit).min(past.len());
            if skip < past.len() {
                if end < past.len() {
                    past.select_nth_unstable_by(end, cmp);
                }
                let head = &mut past[..end];
                if skip > 0 {
                    head.select_nth_unstable_by(skip, cmp);
                }
                head[skip..].sort_unstable_by(cmp);
                rows.extend(head[skip..].iter().map(|(_, _, r)| *r));
            }
            more = end < past.len();
        }
        let next = if more {
            rows.last()
                .map(|r| json!([sort_val(r, q.sort).to_json(), r.id()]).to_string())
        } else {
            None
        };
        let tasks = rows
            .into_iter()
            .map(|rec| {
                let mut t = rec.task.clone();
                t.blocked_by = self.blocked_by(rec, now);
                t
            })
            .collect();
        Ok(TaskPage { tasks, total, next })
    }

    /// Threads that have a task not yet concluded, or are paused or locked, by name.
    pub fn threads(&self) -> Vec<ThreadRow> {
        let mut names: Vec<&str> = self.threads.keys().map(|k| &**k).collect();
        names.sort_unstable();
        names.into_iter().map(|n| self.thread_row(n)).collect()
    }

    pub fn thread(&self, name: &str) -> ThreadRow {
        self.thread_row(name)
    }

    pub fn counts(&self) -> Counts {
        tally_counts(&self.tally)
    }

    pub fn stats(&self, now: Millis) -> Stats {
        let window_ms = 10_000;
        let recent = self
            .completions
            .iter()
            .rev()
            .take_while(|t| now.since(**t) <= window_ms)
            .count();
        let mut lat: Vec<u64> = self
            .latencies
            .iter()
            .filter(|(at, _)| now.since(*at) <= 60_000)
            .map(|(_, l)| *l)
            .collect();
        lat.sort_unstable();
        let pct = |p: f64| -> f64 {
            if lat.is_empty() {
                0.0
            } else {
                let i = ((lat.len() - 1) as f64 * p).round() as usize;
                lat[i.min(lat.len() - 1)] as f64
            }
        };
        Stats {
            by_status: self.counts().by_status,
            by_outcome: self.counts().by_outcome,
            by_definition: self
                .by_def
                .iter()
                .map(|(k, t)| (k.to_string(), tally_counts(t)))
                .collect(),
            by_thread: self
                .by_thread
                .iter()
                .map(|(k, t)| {
                    let mut c = tally_counts(t);
                    c.by_outcome.clear();
                    (k.to_string(), c)
                })
                .collect(),
            completions_per_s: recent as f64 / (window_ms as f64 / 1000.0),
            queue_latency_ms: Latency {
                p50: pct(0.5),
                p99: pct(0.99),
            },
            workers: self.worker_rows(),
        }
    }
}

fn tally_counts(t: &super::index::Tally) -> Counts {
    Counts {
        by_status: Status::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), t.status[s.index()]))
            .collect(),
        by_outcome: Outcome::ALL
            .iter()
            .map(|o| (o.as_str().to_string(), t.outcome[o.index()]))
            .collect(),
    }
}
