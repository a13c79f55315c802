//! Rebuilding the engine from storage at start, then recovering as SPEC §8 says:
//! `requested` tasks go back to `ready`; `in-progress` attempts of in-process handlers
//! fail with `interrupted` (and retry if they may); attempts of external workers keep
//! their deadline; retry timers, delayed conclusions, pauses and locks carry on.

use super::index::Pause;
use super::lifecycle::AttemptEnd;
use super::timers::TimerKind;
use super::{Engine, TaskRecord};
use crate::model::{ReasonType, Status, TaskId};
use crate::storage::Loaded;
use crate::time::Millis;
use std::sync::Arc;

impl Engine {
    /// Loads what storage had into an empty engine, then recovers interrupted work.
    pub fn restore(&mut self, mut loaded: Loaded, now: Millis) {
        // The task table takes ids in increasing order.
        loaded.records.sort_unstable_by_key(TaskRecord::id);
        for def in loaded.definitions {
            if let Err(e) = self.put_definition(def, now) {
                tracing::warn!(error = %e, "a stored definition no longer loads; skipped");
            }
        }
        self.events.clear();
        self.next_id = self.next_id.max(loaded.next_id);
        self.next_seq = self.next_seq.max(loaded.next_seq);

        for row in &loaded.threads {
            if !row.paused && row.locked_by.is_none() {
                // Nothing to carry over: the thread comes back with its tasks, if any.
                continue;
            }
            let name: Arc<str> = Arc::from(row.name.as_str());
            let ts = self.threads.entry(name).or_default();
            if row.paused {
                ts.pause = Some(Pause {
                    at: row.paused_at.unwrap_or(now),
                    until: row.paused_until,
                    by: row.paused_by.clone().unwrap_or_default(),
                });
                if let Some(until) = row.paused_until {
                    let key = self.intern_thread(&row.name);
                    self.timer(until, TimerKind::PauseUntil(key));
                }
            }
            if let (Some(id), Some(at)) = (row.locked_by, row.locked_at)
                && let Some(ts) = self.threads.get_mut(row.name.as_str())
            {
                ts.lock = Some((id, at));
            }
        }

        let mut requested = Vec::new();
        let mut interrupted = Vec::new();
        for mut rec in loaded.records {
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
                        && rec.task.executor.as_deref() == Some("builtin") =>
                {
                    interrupted.push(id)
                }
                _ => {}
            }
            let holds_thread = rec.task.status != Status::Done && rec.claimed_at.is_some();
            let thread = rec.task.thread.clone();
            self.tasks.insert(rec);
            if let Some(th) = thread {
                let ts = self.threads.entry(th).or_default();
                if holds_thread {
                    ts.current = Some(id);
                }
            }
            self.attach(id, now);
        }
        // The sweeper expects each retention queue in conclusion order; records came in
        // id order.
        for q in self.retention.values_mut() {
            q.make_contiguous().sort_unstable();
        }
        self.dirty.clear();
        self.events.clear();
        for row in loaded.schedules {
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
    }

    /// Puts the timers and link indexes of a restored record back.
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

    fn requeue_after_restart(&mut self, id: TaskId, now: Millis) {
        self.detach(id);
        if let Some(rec) = self.tasks.get_mut(id) {
            rec.task.status = Status::Ready;
            rec.task.exec_id = None;
            rec.task.executor = None;
            rec.start_deadline = None;
            rec.ready_at = Some(now);
        }
        self.attach(id, now);
        self.transition_event(
            id,
            Status::Requested,
            now,
            "the engine restarted before the claim was started; back to ready".into(),
        );
    }
}
