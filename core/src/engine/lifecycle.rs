//! The transitions of SPEC §2, each in one place: create, release (→ ready), claim, start,
//! requested timeout, attempt end (success, failure, retry), conclusion, thread lock and
//! continue, and the timers that drive them.

use super::index::Pause;
use super::record::{TaskRecord, When};
use super::timers::TimerKind;
use super::{Engine, Worker};
use crate::model::Json;
use crate::model::{
    Attempt, AttemptReason, EventKind, LogKind, Outcome, Reason, ReasonType, Status, Task, TaskId,
    TaskSpec,
};
use crate::time::Millis;
use serde_json::Value;
use std::sync::{Arc, OnceLock};

/// A constant message as one allocation shared by every task that carries it.
fn shared(slot: &'static OnceLock<Arc<str>>, text: &'static str) -> Arc<str> {
    slot.get_or_init(|| Arc::from(text)).clone()
}

/// How an attempt ended, before deciding between retry and failure.
pub(crate) struct AttemptEnd {
    pub kind: ReasonType,
    pub message: String,
    pub error: Option<Value>,
}

impl Engine {
    /// Creates a task from validated inputs (the caller checked them) and returns its id.
    pub(super) fn create(
        &mut self,
        spec: TaskSpec,
        requester: &str,
        rerun_of: Option<TaskId>,
        now: Millis,
    ) -> TaskId {
        let id = self.next_id;
        self.next_id += 1;
        let name: Arc<str> = self
            .defs
            .get_key_value(spec.name.as_str())
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| Arc::from(spec.name.as_str()));
        let thread = spec.thread.as_deref().map(|t| self.intern_thread(t));
        let status = if spec.hold {
            Status::Created
        } else if spec.execute_at.is_some_and(|at| at > now) {
            Status::Waiting
        } else {
            Status::Ready
        };
        let conf = spec.conf.as_ref().map(Json::new).unwrap_or_default();
        let task = Task {
            id,
            name: name.clone(),
            conf,
            key: spec.key.map(String::into_boxed_str),
            parent: spec.parent,
            thread,
            auto: spec.auto,
            archive: spec.archive,
            open: spec.open,
            desc: spec.desc.map(String::into_boxed_str),
            priority: spec.priority,
            timeout: spec.timeout,
            ref_id: spec.ref_id,
            execute_at: spec.execute_at,
            hold: spec.hold,
            requester: self.intern_requester(requester),
            status,
            outcome: None,
            outcome_reason: None,
            blocked_by: None,
            result: None,
            error: None,
            retry_count: 0,
            attempt: 0,
            exec_id: None,
            executor: None,
            progress: None,
            awaiting_conclude: false,
            rerun_of,
            created_at: now,
            updated_at: now,
            started_at: None,
            concluded_at: None,
            conclude_at: None,
        };
        let group = self.group_of(&name, &task);
        if let Some(key) = &task.key {
            self.keys
                .entry(name.clone())
                .or_default()
                .insert(key.clone(), id);
        }
        if let Some(r) = task.ref_id {
            self.refs.entry(r).or_default().push(id);
        }
        if let Some(parent) = task.parent
            && let Some(p) = self.tasks.get_mut(parent)
        {
            p.add_child(id);
        }
        let mut record = TaskRecord {
            task,
            attempts: Box::default(),
            children: None,
            group,
            front: false,
            claimed_at: When::NONE,
            start_deadline: When::NONE,
            heartbeat_deadline: When::NONE,
            timeout_deadline: When::NONE,
            ready_at: (status == Status::Ready).then_some(now).into(),
            pending_result: None,
            log_seq: 1,
            status_timer: When::NONE,
        };
        let message = match (rerun_of, status) {
            (Some(of), _) => format!("created by {requester} as a re-run of task {of}"),
            (None, Status::Created) => format!("created by {requester}, held until run"),
            (None, Status::Waiting) => format!(
                "created by {requester}, waiting until {}",
                record.task.execute_at.unwrap_or(now)
            ),
            (None, _) => format!("created by {requester}"),
        };
        let entry = crate::model::LogEntry {
            seq: 1,
            at: now,
            kind: LogKind::Transition,
            from: None,
            to: Some(status),
            message,
        };
        record.task.updated_at = now;
        let task_copy = Box::new(record.task.clone());
        self.tasks.insert(record);
        self.attach(id, now);
        self.emit(
            now,
            EventKind::TaskCreated {
                task: task_copy,
                entry,
            },
        );
        id
    }

    /// The concurrency group of a task of `name`: the JSON text of the value found at the
    /// definition's `concurrency_path`, a path into the task (`["conf", "resource_type"]`).
    /// A missing value groups as `null`.
    pub(super) fn group_of(&self, name: &str, task: &Task) -> super::GroupKey {
        let path = self.defs.get(name)?.def.concurrency_path.as_ref()?;
        let text = match path.split_first() {
            Some((first, rest)) if first == "conf" => {
                value_at(&task.conf.value(), rest).to_string()
            }
            _ => {
                let whole = serde_json::to_value(task).unwrap_or(Value::Null);
                value_at(&whole, path).to_string()
            }
        };
        Some(Arc::from(text))
    }

    /// `created` or `waiting` → `ready` (a run reference, or `execute_at` reached).
    pub(super) fn release(&mut self, id: TaskId, now: Millis, message: String) {
        let Some(from) = self.tasks.get(id).map(|r| r.task.status) else {
            return;
        };
        self.detach(id);
        if let Some(rec) = self.tasks.get_mut(id) {
            rec.task.status = Status::Ready;
            rec.ready_at = now.into();
        }
        self.attach(id, now);
        self.transition_event(id, from, now, message);
    }

    /// `ready` → `requested`: a fresh exec id for `executor`.
    /// Returns whether the task was claimed.
    pub(super) fn claim(&mut self, id: TaskId, executor: &Arc<str>, now: Millis) -> bool {
        self.claim_inner(id, executor, now).is_some()
    }

    fn claim_inner(&mut self, id: TaskId, executor: &Arc<str>, now: Millis) -> Option<()> {
        let timeout = {
            let rec = self.tasks.get(id)?;
            self.defs
                .get(&rec.task.name)?
                .def
                .requested_to_start_timeout_ms
        };
        let exec_id = self.new_exec_id();
        self.detach(id);
        let rec = self.tasks.get_mut(id)?;
        rec.task.status = Status::Requested;
        rec.task.exec_id = Some(exec_id);
        rec.task.executor = Some(executor.clone());
        rec.task.progress = None;
        rec.front = false;
        rec.claimed_at = now.into();
        let deadline = now.plus_ms(timeout);
        rec.start_deadline = deadline.into();
        let waited = rec.ready_at.get().map(|r| now.since(r));
        let thread = rec.task.thread.clone();
        if let Some(th) = &thread {
            self.threads.entry(th.clone()).or_default().current = Some(id);
        }
        if let Some(w) = waited {
            self.latencies.push_back((now, w));
            if self.latencies.len() > 4096 {
                self.latencies.pop_front();
            }
        }
        self.attach(id, now);
        self.transition_event(id, Status::Ready, now, format!("claimed by {executor}"));
        Some(())
    }

    /// `requested` → `in-progress`: a new attempt starts.
    pub(super) fn start_attempt(&mut self, id: TaskId, now: Millis) {
        let Some(hb) = self
            .tasks
            .get(id)
            .and_then(|r| self.defs.get(&r.task.name))
            .map(|d| d.def.in_progress_timeout_ms)
        else {
            return;
        };
        self.detach(id);
        let Some(rec) = self.tasks.get_mut(id) else {
            return;
        };
        rec.task.status = Status::InProgress;
        rec.task.attempt += 1;
        rec.task.started_at = Some(now);
        rec.start_deadline = When::NONE;
        rec.heartbeat_deadline = now.plus_ms(hb).into();
        rec.timeout_deadline = rec.task.timeout.map(|t| now.plus_ms(t)).into();
        let attempt = Attempt {
            attempt: rec.task.attempt,
            exec_id: rec.task.exec_id.unwrap_or_default(),
            executor: rec.task.executor.clone().unwrap_or_else(|| Arc::from("")),
            claimed_at: rec.claimed_at.get().unwrap_or(now),
            started_at: now,
            ended_at: None,
            reason: None,
        };
        rec.push_attempt(attempt);
        let n = rec.task.attempt;
        self.attach(id, now);
        self.transition_event(id, Status::Requested, now, format!("attempt {n} started"));
    }

    /// Any executor call is a heartbeat: it moves the in-progress deadline.
    pub(super) fn heartbeat(&mut self, id: TaskId, now: Millis) {
        let Some(hb) = self
            .tasks
            .get(id)
            .and_then(|r| self.defs.get(&r.task.name))
            .map(|d| d.def.in_progress_timeout_ms)
        else {
            return;
        };
        if let Some(rec) = self.tasks.get_mut(id)
            && rec.task.status == Status::InProgress
        {
            rec.heartbeat_deadline = now.plus_ms(hb).into();
            rec.task.updated_at = now;
            self.mark_dirty(id);
        }
    }

    /// Marks the current attempt ended, with its reason.
    fn close_attempt(rec: &mut TaskRecord, now: Millis, kind: ReasonType, message: &Arc<str>) {
        if let Some(a) = rec.attempts.last_mut()
            && a.ended_at.is_none()
            && Some(a.exec_id) == rec.task.exec_id
        {
            a.ended_at = Some(now);
            a.reason = Some(AttemptReason {
                kind,
                message: message.clone(),
            });
        }
        rec.start_deadline = When::NONE;
        rec.heartbeat_deadline = When::NONE;
        rec.timeout_deadline = When::NONE;
    }

    /// The attempt succeeded: `done`/`succeeded`, or awaiting conclusion when `open`.
    pub(super) fn attempt_succeeded(&mut self, id: TaskId, result: Option<Value>, now: Millis) {
        let result = result.as_ref().map(Json::new);
        let Some(open) = self.tasks.get(id).map(|r| r.task.open) else {
            return;
        };
        if !open {
            static MESSAGE: OnceLock<Arc<str>> = OnceLock::new();
            let reason = Reason::new(
                ReasonType::Succeeded,
                shared(&MESSAGE, "the executor reported success"),
            );
            self.conclude(id, Outcome::Succeeded, reason, result, now);
            return;
        }
        self.detach(id);
        if let Some(rec) = self.tasks.get_mut(id) {
            static EMPTY: OnceLock<Arc<str>> = OnceLock::new();
            Self::close_attempt(rec, now, ReasonType::Succeeded, &shared(&EMPTY, ""));
            rec.task.awaiting_conclude = true;
            rec.task.result = result;
        }
        self.attach(id, now);
        self.log_line(
            id,
            now,
            "attempt succeeded; the task is open and awaits a conclude action".into(),
        );
    }

    /// The attempt failed: retry if retries are left, else `done`/`failed` (and lock the
    /// thread unless `auto`).
    pub(super) fn attempt_failed(&mut self, id: TaskId, end: AttemptEnd, now: Millis) {
        let Some((retry_count, delay_of)) = self.tasks.get(id).and_then(|r| {
            let def = &self.defs.get(&r.task.name)?.def;
            Some((
                r.task.retry_count,
                (def.allowed_retry_count, def.retry_delay(r.task.retry_count)),
            ))
        }) else {
            return;
        };
        let (allowed, delay) = delay_of;
        if retry_count < allowed {
            let from = self
                .tasks
                .get(id)
                .map(|r| r.task.status)
                .unwrap_or(Status::InProgress);
            let at = now.plus_ms(delay);
            self.detach(id);
            if let Some(rec) = self.tasks.get_mut(id) {
                Self::close_attempt(rec, now, end.kind, &Arc::from(end.message.as_str()));
                rec.task.status = Status::Waiting;
                rec.task.retry_count += 1;
                rec.task.execute_at = Some(at);
                rec.task.error = end.error.as_ref().map(Json::new);
                rec.task.awaiting_conclude = false;
            }
            self.attach(id, now);
            let message = format!(
                "attempt failed ({}: {}); retry {} of {allowed} at {at}",
                end.kind.as_str(),
                end.message,
                retry_count + 1
            );
            self.transition_event(id, from, now, message);
        } else {
            let mut reason = Reason::new(end.kind, end.message);
            let error = end.error.as_ref().map(Json::new);
            if end.kind == ReasonType::FailedByExecutor || end.kind == ReasonType::InvalidResult {
                // Shares the error's text.
                reason.data = error.clone().unwrap_or_else(Json::null);
            }
            if let Some(rec) = self.tasks.get_mut(id) {
                rec.task.error = error;
            }
            self.conclude(id, Outcome::Failed, reason, None, now);
        }
    }

    /// Any non-done status → `done` with `outcome`. Ends a live attempt, drops a pending
    /// conclusion, releases the thread, and locks it on a terminal failure.
    pub(super) fn conclude(
        &mut self,
        id: TaskId,
        outcome: Outcome,
        reason: Reason,
        result: Option<Json>,
        now: Millis,
    ) {
        let Some(rec) = self.tasks.get(id) else {
            return;
        };
        if rec.task.status == Status::Done {
            return;
        }
        let from = rec.task.status;
        let name_for_retention = rec.task.name.clone();
        self.detach(id);
        let Some(rec) = self.tasks.get_mut(id) else {
            return;
        };
        let message = match outcome {
            Outcome::Succeeded => format!("succeeded ({})", reason.message),
            Outcome::Failed => format!("failed ({}: {})", reason.kind.as_str(), reason.message),
            Outcome::Canceled => reason.message.to_string(),
        };
        Self::close_attempt(rec, now, reason.kind, &reason.message);
        rec.task.status = Status::Done;
        rec.task.outcome = Some(outcome);
        rec.task.concluded_at = Some(now);
        rec.task.conclude_at = None;
        rec.task.awaiting_conclude = false;
        rec.pending_result = None;
        rec.front = false;
        if outcome == Outcome::Succeeded && result.is_some() {
            rec.task.result = result;
        }
        let lock = outcome == Outcome::Failed && !rec.task.auto;
        rec.task.outcome_reason = Some(reason);
        let thread = rec.task.thread.clone();
        self.completions.push_back(now);
        if self.completions.len() > 65_536 {
            self.completions.pop_front();
        }
        self.retention
            .entry(name_for_retention)
            .or_default()
            .push_back((now, id));
        let mut thread_changed = false;
        if let Some(th) = &thread {
            let ts = self.threads.entry(th.clone()).or_default();
            if ts.current == Some(id) {
                ts.current = None;
            }
            if lock {
                ts.lock = Some((id, now));
                ts.pause = Some(Pause {
                    at: now,
                    until: None,
                    by: format!("task:{id}"),
                });
                thread_changed = true;
            }
        }
        self.attach(id, now);
        self.transition_event(id, from, now, message);
        if let Some(th) = &thread
            && thread_changed
        {
            if let Some(ts) = self.threads.get(th)
                && ts.lock.is_some_and(|l| l.0 == id)
            {
                self.log_line(id, now, format!("locked thread {th}"));
            }
            self.thread_changed(th, now);
        }
    }

    /// A locked task goes back to `ready` for one more attempt, ahead of its thread.
    pub(super) fn continue_task(&mut self, id: TaskId, who: &str, now: Millis) {
        let Some(from) = self.tasks.get(id).map(|r| r.task.status) else {
            return;
        };
        self.detach(id);
        if let Some(rec) = self.tasks.get_mut(id) {
            rec.task.status = Status::Ready;
            rec.task.outcome = None;
            rec.task.outcome_reason = None;
            rec.task.concluded_at = None;
            rec.task.error = None;
            rec.front = true;
            rec.ready_at = now.into();
        }
        self.attach(id, now);
        self.transition_event(id, from, now, format!("continued by {who}"));
    }

    /// Records that an executor polled, for `no-executor` and the workers list.
    pub(super) fn saw_worker(&mut self, executor: &str, definitions: &[String], now: Millis) {
        for d in definitions {
            if let Some(def) = self.defs.get_mut(d.as_str()) {
                def.last_polled = Some(now);
            }
        }
        let w = self.workers.entry(executor.to_string()).or_insert(Worker {
            definitions: Vec::new(),
            last_seen: now,
        });
        w.last_seen = now;
        if w.definitions != definitions {
            w.definitions = definitions.to_vec();
        }
    }

    /// Fires every timer due at `now`. Retention cleans at most `retention_batch` tasks per
    /// call; when more are due, [`Engine::next_deadline`] is already `now`.
    pub fn tick(&mut self, now: Millis) {
        while let Some(timer) = self.timers.pop_due(now) {
            match timer.kind {
                TimerKind::ExecuteAt(id) => {
                    let due = self.tasks.get(id).is_some_and(|r| {
                        r.task.status == Status::Waiting
                            && r.task.execute_at.is_none_or(|at| at <= now)
                    });
                    if due {
                        self.release(id, now, "execute_at reached".into());
                    }
                }
                TimerKind::StartDeadline(id) => {
                    let expired = self.tasks.get(id).is_some_and(|r| {
                        r.task.status == Status::Requested
                            && r.start_deadline.get().is_some_and(|d| d <= now)
                    });
                    if expired {
                        self.start_timed_out(id, now);
                    }
                }
                TimerKind::AttemptDeadline(id) => self.check_attempt_deadline(id, now),
                TimerKind::Conclude(id) => {
                    let due = self.tasks.get(id).is_some_and(|r| {
                        r.task.status != Status::Done
                            && r.task.conclude_at.is_some_and(|at| at <= now)
                    });
                    if due {
                        let result = self
                            .tasks
                            .get_mut(id)
                            .and_then(|r| r.pending_result.take())
                            .map(|j| *j);
                        self.conclude_now(id, result, now);
                    }
                }
                TimerKind::PauseUntil(name) => self.pause_expired(&name, now),
                TimerKind::ScheduleFire(name) => {
                    let due = self
                        .schedules
                        .get(&*name)
                        .is_some_and(|s| s.next.is_some_and(|n| n <= now));
                    if due {
                        self.fire_schedule(&name, now);
                    }
                }
                TimerKind::PollDeadline(waiter) => {
                    if let Some(i) = self.parked.iter().position(|p| p.waiter == waiter) {
                        let parked = self.parked.swap_remove(i);
                        if parked.deadline <= now {
                            self.poll_replies.push((waiter, Vec::new()));
                        } else {
                            self.parked.push(parked);
                        }
                    }
                }
            }
        }
        self.sweep_retention(now);
        self.serve_parked(now);
    }

    /// Cleans concluded tasks past their definition's retention, oldest first, at most
    /// `retention_batch` per call. Each definition's queue is in conclusion order, so its
    /// front is always the next to expire.
    fn sweep_retention(&mut self, now: Millis) {
        let mut budget = self.config.retention_batch;
        let names: Vec<Arc<str>> = self.retention.keys().cloned().collect();
        for name in names {
            let keep = self.retention_ms(&name);
            while budget > 0 {
                let Some(&(concluded, id)) = self.retention.get(&name).and_then(|q| q.front())
                else {
                    break;
                };
                if concluded.plus_ms(keep) > now {
                    break;
                }
                if let Some(q) = self.retention.get_mut(&name) {
                    q.pop_front();
                }
                // The entry is stale if the task was cleaned or continued since.
                let current = self.tasks.get(id).is_some_and(|r| {
                    r.task.status == Status::Done && r.task.concluded_at == Some(concluded)
                });
                if current {
                    self.clean_task(id, now);
                    budget -= 1;
                }
            }
            if self.retention.get(&name).is_some_and(|q| q.is_empty()) {
                self.retention.remove(&name);
            }
        }
    }

    pub(super) fn retention_ms(&self, name: &str) -> u64 {
        self.defs
            .get(name)
            .map_or(604_800_000, |d| d.def.retention_ms)
    }

    /// When the next retention cleaning is due, if any.
    pub(super) fn next_retention(&self) -> Option<Millis> {
        self.retention
            .iter()
            .filter_map(|(name, q)| q.front().map(|(at, _)| at.plus_ms(self.retention_ms(name))))
            .min()
    }

    fn start_timed_out(&mut self, id: TaskId, now: Millis) {
        let timeout = self
            .tasks
            .get(id)
            .and_then(|r| self.defs.get(&r.task.name))
            .map_or(0, |d| d.def.requested_to_start_timeout_ms);
        self.void_claim(
            id,
            now,
            format!("not started within {timeout} ms of its claim; back to ready (not a retry)"),
        );
    }

    /// `requested` → `ready`: the claim is void (its exec id is no longer accepted); not a
    /// retry and not an attempt. The task keeps its thread.
    pub(super) fn void_claim(&mut self, id: TaskId, now: Millis, message: String) {
        self.detach(id);
        if let Some(rec) = self.tasks.get_mut(id) {
            rec.task.status = Status::Ready;
            rec.task.exec_id = None;
            rec.task.executor = None;
            rec.start_deadline = When::NONE;
            rec.ready_at = now.into();
        }
        self.attach(id, now);
        self.transition_event(id, Status::Requested, now, message);
    }

    fn check_attempt_deadline(&mut self, id: TaskId, now: Millis) {
        let Some(rec) = self.tasks.get(id) else {
            return;
        };
        if rec.task.status != Status::InProgress || rec.task.awaiting_conclude {
            return;
        }
        let (hb, to) = (rec.heartbeat_deadline.get(), rec.timeout_deadline.get());
        let end = if let Some(t) = to.filter(|t| *t <= now) {
            Some(AttemptEnd {
                kind: ReasonType::Timeout,
                message: format!(
                    "the task's timeout of {} ms elapsed at {t}",
                    rec.task.timeout.unwrap_or(0)
                ),
                error: None,
            })
        } else if hb.is_some_and(|h| h <= now) {
            let ms = self
                .defs
                .get(&rec.task.name)
                .map_or(0, |d| d.def.in_progress_timeout_ms);
            Some(AttemptEnd {
                kind: ReasonType::InProgressTimeout,
                message: format!("no heartbeat within {ms} ms"),
                error: None,
            })
        } else {
            None
        };
        match end {
            Some(end) => self.attempt_failed(id, end, now),
            None => {
                // A heartbeat moved the deadline: schedule the new one.
                let at = rec.attempt_deadline();
                if let Some(at) = at {
                    self.timer(at, TimerKind::AttemptDeadline(id));
                }
                if let Some(rec) = self.tasks.get_mut(id) {
                    rec.status_timer = at.into();
                }
            }
        }
    }

    /// Concludes as `succeeded` with reason `concluded` (a `conclude` action, now or at
    /// its delay). Without a `result` the executor's result stays.
    pub(super) fn conclude_now(&mut self, id: TaskId, result: Option<Json>, now: Millis) {
        static MESSAGE: OnceLock<Arc<str>> = OnceLock::new();
        let reason = Reason::new(
            ReasonType::Concluded,
            shared(&MESSAGE, "concluded by a conclude action"),
        );
        self.conclude(id, Outcome::Succeeded, reason, result, now);
    }

    fn pause_expired(&mut self, name: &Arc<str>, now: Millis) {
        let expired = self.threads.get(name).is_some_and(|ts| {
            ts.lock.is_none()
                && ts
                    .pause
                    .as_ref()
                    .is_some_and(|p| p.until.is_some_and(|u| u <= now))
        });
        if expired {
            if let Some(ts) = self.threads.get_mut(name) {
                ts.pause = None;
            }
            self.refresh_thread(name);
            self.thread_changed(name, now);
        }
    }

    /// Deletes a concluded task for good: record, key, ref and parent links.
    pub(super) fn clean_task(&mut self, id: TaskId, now: Millis) {
        self.detach(id);
        let Some(rec) = self.tasks.remove(id) else {
            return;
        };
        if let Some(key) = &rec.task.key
            && let Some(keys) = self.keys.get_mut(&rec.task.name)
        {
            if keys.get(key) == Some(&id) {
                keys.remove(key);
            }
            if keys.is_empty() {
                self.keys.remove(&rec.task.name);
            }
        }
        if let Some(r) = rec.task.ref_id
            && let Some(ids) = self.refs.get_mut(&r)
        {
            ids.retain(|x| *x != id);
            if ids.is_empty() {
                self.refs.remove(&r);
            }
        }
        if let Some(p) = rec.task.parent
            && let Some(parent) = self.tasks.get_mut(p)
        {
            parent.remove_child(id);
        }
        if self
            .by_def
            .get(&rec.task.name)
            .is_some_and(|t| t.is_empty())
        {
            self.by_def.remove(&rec.task.name);
        }
        if let Some(th) = &rec.task.thread {
            if let Some(ts) = self.threads.get_mut(th)
                && ts.lock.is_some_and(|l| l.0 == id)
            {
                // A cleaned task cannot be continued; the thread stays paused until resumed.
                ts.lock = None;
            }
            self.refresh_thread(th);
        }
        self.emit(now, EventKind::TaskCleaned { id });
    }
}

/// The value at `path` inside `value` (object keys, or array indexes), `null` if absent.
fn value_at<'a>(value: &'a Value, path: &[String]) -> &'a Value {
    static NULL: Value = Value::Null;
    path.iter().fold(value, |at, key| match at {
        Value::Object(m) => m.get(key).unwrap_or(&NULL),
        Value::Array(a) => key
            .parse::<usize>()
            .ok()
            .and_then(|i| a.get(i))
            .unwrap_or(&NULL),
        _ => &NULL,
    })
}
