//! Rebuilding the engine from storage at start, then recovering as SPEC §8 says:
//! `requested` tasks go back to `ready`; `in-progress` attempts of in-process handlers
//! fail with `interrupted` (and retry if they may); attempts of external workers keep
//! their deadline; retry timers, delayed conclusions, pauses and locks carry on, and
//! event `seq`s continue after the last one stored.
//!
//! Loading puts every record through the same `attach` as a live change, so the indexes
//! are built by the code that maintains them. The recovery steps then run as ordinary
//! transitions: their events and records come out of the next [`Engine::drain`], so the
//! runtime commits and publishes them like any other change.

use super::index::Pause;
use super::lifecycle::AttemptEnd;
use super::timers::TimerKind;
use super::{Engine, TaskRecord};
use crate::error::Result;
use crate::model::{ReasonType, Status, TaskId};
use crate::storage::Loaded;
use crate::time::Millis;
use std::sync::Arc;

/// The executor name in-process handlers claim under.
const BUILTIN: &str = "builtin";

impl Engine {
    /// Loads what storage had into an empty engine, then recovers interrupted work. Fails
    /// only when a stored record cannot be read.
    pub fn restore(&mut self, loaded: Loaded, now: Millis) -> Result<()> {
        let Loaded {
            definitions,
            records,
            threads,
            schedules,
            next_id,
            next_seq,
        } = loaded;
        for def in definitions {
            let name = def.name.clone();
            if let Err(e) = self.put_definition(def, now) {
                tracing::warn!(definition = %name, error = %e, "a stored definition no longer loads; skipped");
            }
        }
        self.events.clear();
        self.next_id = self.next_id.max(next_id);
        self.next_seq = self.next_seq.max(next_seq);

        for row in &threads {
            if !row.paused && row.locked_by.is_none() {
                // Nothing to carry over: the thread comes back with its tasks, if any.
                continue;
            }
            let name = self.intern_thread(&row.name);
            let ts = self.threads.entry(name.clone()).or_default();
            if row.paused {
                ts.pause = Some(Pause {
                    at: row.paused_at.unwrap_or(now),
                    until: row.paused_until,
                    by: row.paused_by.clone().unwrap_or_default(),
                });
            }
            if let (Some(id), Some(at)) = (row.locked_by, row.locked_at) {
                ts.lock = Some((id, at));
            }
            // A lock never ends by itself, so `until` only matters without one.
            if let Some(until) = row.paused_until.filter(|_| row.paused) {
                self.timer(until, TimerKind::PauseUntil(name));
            }
        }

        let mut requested = Vec::new();
        let mut interrupted = Vec::new();
        // Loading changes nothing storage lacks: do not list a million ids as dirty.
        let track_records = std::mem::replace(&mut self.track_records, false);
        for rec in records {
            let mut rec = match rec {
                Ok(rec) => rec,
                Err(e) => {
                    self.track_records = track_records;
                    return Err(e);
                }
            };
            let id = rec.id();
            self.next_id = self.next_id.max(id + 1);
            if let Some(th) = rec.task.thread.as_deref() {
                rec.task.thread = Some(self.intern_thread(th));
            }
            if let Some(d) = self.defs.get_key_value(&*rec.task.name) {
                rec.task.name = d.0.clone();
            }
            rec.group = self.group_of(&rec.task.name, &rec.task);
            self.index_restored(&rec, now);
            match rec.task.status {
                Status::Requested => requested.push(id),
                Status::InProgress
                    if !rec.task.awaiting_conclude
                        && rec.task.executor.as_deref() == Some(BUILTIN) =>
                {
                    interrupted.push(id)
                }
                _ => {}
            }
            // A claimed task holds its thread until it concludes, through retries and
            // start timeouts; a continued one (`front`) waits to be claimed again.
            let holds_thread =
                rec.task.status != Status::Done && rec.claimed_at.is_some() && !rec.front;
            let thread = rec.task.thread.clone();
            let updated_at = rec.task.updated_at;
            self.tasks.insert(rec);
            if let Some(th) = thread
                && holds_thread
            {
                self.threads.entry(th).or_default().current = Some(id);
            }
            self.attach(id, now);
            // `attach` stamps the time of a change; loading is not one.
            if let Some(rec) = self.tasks.get_mut(id) {
                rec.task.updated_at = updated_at;
            }
        }
        // The live engine drops a lock when its task is cleaned; a stored row may predate that.
        let dangling: Vec<Arc<str>> = self
            .threads
            .iter()
            .filter(|(_, ts)| ts.lock.is_some_and(|(id, _)| !self.tasks.contains(id)))
            .map(|(name, _)| name.clone())
            .collect();
        for name in dangling {
            if let Some(ts) = self.threads.get_mut(&name) {
                ts.lock = None;
            }
        }
        // Records come in id order; the sweeper needs each queue in conclusion order.
        for q in self.retention.values_mut() {
            q.make_contiguous().sort_unstable();
        }
        self.track_records = track_records;
        self.dirty = Vec::new();
        self.events.clear();
        // A firing missed while down happens now, as an ordinary change.
        for row in schedules {
            self.restore_schedule(row, now);
        }

        for id in requested {
            self.requeue_after_restart(id, now);
        }
        for id in interrupted {
            let end = AttemptEnd {
                kind: ReasonType::Interrupted,
                message: "the engine restarted while an in-process handler held the attempt".into(),
                error: None,
            };
            self.attempt_failed(id, end, now);
        }
        Ok(())
    }

    /// Puts the link indexes and the retention queue entry of a restored record back
    /// (`attach` schedules its timers).
    fn index_restored(&mut self, rec: &TaskRecord, now: Millis) {
        let id = rec.id();
        let t = &rec.task;
        if let Some(key) = &t.key {
            self.keys
                .entry(t.name.clone())
                .or_default()
                .insert(key.clone(), id);
        }
        if let Some(r) = t.ref_id {
            self.refs.entry(r).or_default().push(id);
        }
        if t.status == Status::Done {
            self.retention
                .entry(t.name.clone())
                .or_default()
                .push_back((t.concluded_at.unwrap_or(now), id));
        }
    }

    /// A claim that was not started before the restart is void, as after a start timeout.
    fn requeue_after_restart(&mut self, id: TaskId, now: Millis) {
        self.void_claim(
            id,
            now,
            "the engine restarted before the claim was started; back to ready".into(),
        );
    }
}
