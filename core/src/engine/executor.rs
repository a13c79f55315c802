//! The executor protocol of SPEC §6 at the engine level: poll (with long-poll parking),
//! start, notify, success, fail, all fenced by `exec_id`. In-process handlers use the
//! very same calls.

use super::Engine;
use super::ParkedPoll;
use super::lifecycle::AttemptEnd;
use super::timers::TimerKind;
use crate::api::{ExecRef, FailRequest, NotifyReply, NotifyRequest, PollRequest, SuccessRequest};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{ExecutorKind, Outcome, ReasonType, Status, Task, TaskId};
use crate::time::Millis;
use std::sync::Arc;
use uuid::Uuid;

/// A task the runtime claimed and started for an in-process handler.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatched {
    pub id: TaskId,
    pub exec_id: Uuid,
    pub name: Arc<str>,
    pub conf: serde_json::Value,
    pub attempt: u32,
}

/// What a poll did: claimed tasks now, or parked until one can be claimed.
#[derive(Debug, PartialEq)]
pub enum PollOutcome {
    Claimed(Vec<Task>),
    /// Parked under this waiter id; the answer comes in [`super::Changes::poll_replies`].
    Parked(u64),
}

impl Engine {
    /// `poll`: claims up to `max` ready tasks of the given definitions, highest priority
    /// first. With `wait_ms` > 0 and nothing to claim, the poll is parked under `waiter`.
    pub fn poll(&mut self, req: &PollRequest, waiter: u64, now: Millis) -> Result<PollOutcome> {
        self.check_poll(req)?;
        let builtin = req.executor == "builtin";
        if !builtin {
            self.saw_worker(&req.executor, &req.definitions, now);
        }
        let executor: Arc<str> = Arc::from(req.executor.as_str());
        let tasks = self.claim_next(&executor, &req.definitions, req.max, now);
        if !tasks.is_empty() || req.wait_ms == 0 {
            return Ok(PollOutcome::Claimed(tasks));
        }
        let deadline = now.plus_ms(req.wait_ms);
        self.parked.push(ParkedPoll {
            waiter,
            executor,
            definitions: req.definitions.clone(),
            max: req.max,
            deadline,
        });
        self.timer(deadline, TimerKind::PollDeadline(waiter));
        Ok(PollOutcome::Parked(waiter))
    }

    fn check_poll(&self, req: &PollRequest) -> Result<()> {
        if req.executor.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidAction,
                "\"executor\" must name the worker, e.g. \"worker-1\"",
            ));
        }
        if !(1..=1000).contains(&req.max) {
            return Err(Error::new(
                ErrorCode::InvalidAction,
                format!("\"max\" is {}; use 1 to 1000", req.max),
            ));
        }
        if req.wait_ms > 60_000 {
            return Err(Error::new(
                ErrorCode::InvalidAction,
                format!("\"wait_ms\" is {}; use 0 to 60000", req.wait_ms),
            ));
        }
        for d in &req.definitions {
            match self.defs.get(d.as_str()) {
                None => return Err(self.unknown_definition(d)),
                Some(def)
                    if def.def.executor == ExecutorKind::External || req.executor == "builtin" => {}
                Some(def) => {
                    return Err(Error::new(
                        ErrorCode::InvalidAction,
                        format!(
                            "`{d}` is run in process by {}, not by external workers; poll for definitions with \"executor\": \"external\"",
                            def.def.executor
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Claims up to `max` offered tasks across `definitions`, best rank first; returns
    /// their ids in claim order.
    pub(super) fn claim_ids(
        &mut self,
        executor: &Arc<str>,
        definitions: &[String],
        max: u32,
        now: Millis,
    ) -> Vec<TaskId> {
        let mut claimed = Vec::new();
        while claimed.len() < max as usize {
            let best = definitions
                .iter()
                .filter_map(|d| self.defs.get(d.as_str())?.index.offer.first().copied())
                .min();
            let Some((_, id)) = best else {
                break;
            };
            if !self.claim(id, executor, now) {
                break;
            }
            claimed.push(id);
        }
        claimed
    }

    /// Claims like [`Engine::claim_ids`] and returns the claimed tasks as views.
    pub(super) fn claim_next(
        &mut self,
        executor: &Arc<str>,
        definitions: &[String],
        max: u32,
        now: Millis,
    ) -> Vec<Task> {
        let ids = self.claim_ids(executor, definitions, max, now);
        ids.into_iter()
            .filter_map(|id| self.task_view(id, now))
            .collect()
    }

    /// The runtime's own executor: claims and starts up to `max` tasks of in-process
    /// definitions through the same claim and start as external workers.
    pub fn dispatch_builtin(
        &mut self,
        definitions: &[String],
        max: u32,
        now: Millis,
    ) -> Vec<Dispatched> {
        let executor = self.builtin_executor.clone();
        let ids = self.claim_ids(&executor, definitions, max, now);
        let mut started = Vec::with_capacity(ids.len());
        for id in ids {
            self.start_attempt(id, now);
            if let Some(rec) = self.tasks.get(id)
                && let Some(exec_id) = rec.task.exec_id
            {
                started.push(Dispatched {
                    id,
                    exec_id,
                    name: rec.task.name.clone(),
                    conf: rec.task.conf.value(),
                    attempt: rec.task.attempt,
                });
            }
        }
        started
    }

    /// Answers parked polls that can now claim something. Cheap when nothing was offered.
    pub(super) fn serve_parked(&mut self, now: Millis) {
        if !self.offers_changed || self.parked.is_empty() {
            self.offers_changed = false;
            return;
        }
        self.offers_changed = false;
        let mut i = 0;
        while i < self.parked.len() {
            let p = &self.parked[i];
            let can = p.definitions.iter().any(|d| {
                self.defs
                    .get(d.as_str())
                    .is_some_and(|d| !d.index.offer.is_empty())
            });
            if !can {
                i += 1;
                continue;
            }
            let p = self.parked.remove(i);
            let tasks = self.claim_next(&p.executor, &p.definitions, p.max, now);
            self.poll_replies.push((p.waiter, tasks));
        }
    }

    /// Drops a parked poll whose caller went away.
    pub fn unpark(&mut self, waiter: u64) {
        self.parked.retain(|p| p.waiter != waiter);
    }

    /// Fencing: the task must exist and `exec_id` must be its live attempt's.
    fn fence(&self, id: TaskId, exec_id: Uuid) -> Result<()> {
        let Some(rec) = self.tasks.get(id) else {
            return Err(Error::task_not_found(id));
        };
        if rec.live_exec() == Some(exec_id) {
            return Ok(());
        }
        if rec.task.outcome == Some(Outcome::Canceled) && rec.task.exec_id == Some(exec_id) {
            return Err(Error::new(
                ErrorCode::TaskCanceled,
                format!("task {id} was canceled; stop working on it"),
            )
            .with_tasks(vec![id]));
        }
        Err(Error::new(
            ErrorCode::StaleExecution,
            format!(
                "exec_id {exec_id} is not the live attempt of task {id} (it timed out, was retried, concluded or the server restarted); drop this attempt"
            ),
        )
        .with_tasks(vec![id]))
    }

    /// `start`: `requested` → `in-progress`. Starting an already started attempt is a
    /// harmless repeat.
    pub fn start(&mut self, call: &ExecRef, now: Millis) -> Result<Task> {
        self.fence(call.id, call.exec_id)?;
        if self.tasks.get(call.id).map(|r| r.task.status) == Some(Status::Requested) {
            self.start_attempt(call.id, now);
        } else {
            self.heartbeat(call.id, now);
        }
        self.task_view(call.id, now)
            .ok_or_else(|| Error::task_not_found(call.id))
    }

    /// `notify`: heartbeat, progress and log lines.
    pub fn notify(&mut self, req: &NotifyRequest, now: Millis) -> Result<NotifyReply> {
        self.fence(req.id, req.exec_id)?;
        if let Some(p) = req.progress
            && !(0.0..=1.0).contains(&p)
        {
            return Err(Error::new(
                ErrorCode::InvalidAction,
                format!("\"progress\" is {p}; report a fraction from 0 to 1"),
            ));
        }
        let limit = self.config.max_log_line_bytes;
        if let Some(line) = req.log.iter().flatten().find(|l| l.len() > limit) {
            return Err(Error::new(
                ErrorCode::LimitExceeded,
                format!(
                    "a log line is {} bytes, over the limit of {limit}; split it or shorten it",
                    line.len()
                ),
            ));
        }
        self.heartbeat(req.id, now);
        if let Some(p) = req.progress
            && let Some(rec) = self.tasks.get_mut(req.id)
        {
            rec.task.progress = Some(p);
            self.mark_dirty(req.id);
            self.emit(
                now,
                crate::model::EventKind::TaskProgress {
                    id: req.id,
                    progress: p,
                },
            );
        }
        for line in req.log.iter().flatten() {
            self.log_line(req.id, now, line.clone());
        }
        let deadline = self
            .tasks
            .get(req.id)
            .and_then(|r| match r.task.status {
                Status::Requested => r.start_deadline.get(),
                _ => r.attempt_deadline(),
            })
            .unwrap_or(now);
        Ok(NotifyReply { deadline })
    }

    /// Starts the attempt if the executor reported without `start` first.
    fn ensure_started(&mut self, id: TaskId, now: Millis) {
        if self.tasks.get(id).map(|r| r.task.status) == Some(Status::Requested) {
            self.start_attempt(id, now);
        }
    }

    /// `success`: the attempt succeeded. A result that fails `result_schema` fails the
    /// attempt with `invalid-result` instead (the call itself is accepted).
    pub fn succeed(&mut self, req: SuccessRequest, now: Millis) -> Result<Task> {
        let id = req.id;
        self.report_success(req, now)?;
        self.task_view(id, now)
            .ok_or_else(|| Error::task_not_found(id))
    }

    /// `success` without building the reply (the runtime's own handlers need none).
    pub fn report_success(&mut self, req: SuccessRequest, now: Millis) -> Result<()> {
        self.fence(req.id, req.exec_id)?;
        self.ensure_started(req.id, now);
        let problems = self.check_output(req.id, req.result.as_ref(), true);
        match problems {
            Some(problems) => self.attempt_failed(
                req.id,
                AttemptEnd {
                    kind: ReasonType::InvalidResult,
                    message: format!("the result does not match result_schema: {problems}"),
                    error: None,
                },
                now,
            ),
            None => self.attempt_succeeded(req.id, req.result, now),
        }
        self.serve_parked(now);
        Ok(())
    }

    /// `fail`: the attempt failed; retried if retries are left.
    pub fn fail(&mut self, req: FailRequest, now: Millis) -> Result<Task> {
        self.fence(req.id, req.exec_id)?;
        self.ensure_started(req.id, now);
        let message = req
            .message
            .clone()
            .unwrap_or_else(|| "the executor reported failure".into());
        let end = match self.check_output(req.id, req.error.as_ref(), false) {
            Some(problems) => AttemptEnd {
                kind: ReasonType::InvalidResult,
                message: format!(
                    "the error does not match error_schema: {problems} (executor said: {message})"
                ),
                error: None,
            },
            None => AttemptEnd {
                kind: ReasonType::FailedByExecutor,
                message,
                error: req.error,
            },
        };
        self.attempt_failed(req.id, end, now);
        self.serve_parked(now);
        self.task_view(req.id, now)
            .ok_or_else(|| Error::task_not_found(req.id))
    }

    /// An in-process handler failed in a way of its own (panic, interruption).
    pub fn fail_attempt(
        &mut self,
        call: &ExecRef,
        kind: ReasonType,
        message: String,
        now: Millis,
    ) -> Result<Task> {
        self.fence(call.id, call.exec_id)?;
        self.ensure_started(call.id, now);
        self.attempt_failed(
            call.id,
            AttemptEnd {
                kind,
                message,
                error: None,
            },
            now,
        );
        self.serve_parked(now);
        self.task_view(call.id, now)
            .ok_or_else(|| Error::task_not_found(call.id))
    }

    /// Checks a reported result (or error) against its schema; `Some(problems)` if invalid.
    fn check_output(
        &self,
        id: TaskId,
        value: Option<&serde_json::Value>,
        result: bool,
    ) -> Option<String> {
        let rec = self.tasks.get(id)?;
        let def = self.defs.get(&rec.task.name)?;
        let schema = if result {
            def.result.as_ref()
        } else {
            def.error.as_ref()
        }?;
        let value = value.unwrap_or(&serde_json::Value::Null);
        schema.check(value).err().map(|p| p.join("; "))
    }
}
