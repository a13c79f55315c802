//! The seven actions of SPEC §5. Each one first checks everything (resolving references,
//! validating inputs) without touching state, then applies: a refused action changes
//! nothing, and an accepted one changes all it says.

use super::Engine;
use super::index::Pause;
use super::timers::TimerKind;
use crate::api::{Action, ActionReply, Requester};
use crate::error::{Error, ErrorCode, Result, id_list};
use crate::filter::Filter;
use crate::model::Json;
use crate::model::{
    Outcome, Reason, ReasonType, RunItem, Status, TaskId, TaskRef, TaskSpec, validate_thread_name,
};
use crate::time::Millis;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What a `run` will do for one element, decided before anything changes.
enum RunStep {
    Create(Box<TaskSpec>),
    /// The name+key already exists (or was created earlier in this action).
    Existing(TaskId),
    SameAsEarlier(usize),
    Release(TaskId),
    Rerun(TaskId),
}

impl Engine {
    /// Applies one action atomically.
    pub fn apply(&mut self, action: Action, who: &Requester, now: Millis) -> Result<ActionReply> {
        let reply = match action {
            Action::Run { tasks, ignore } => self.run(tasks, ignore, who, now),
            Action::Conclude {
                task,
                delay,
                result,
            } => self.conclude_action(task, delay, result, now),
            Action::Cancel { tasks, ignore } => self.cancel(&tasks, ignore, who, now),
            Action::Clean { tasks, ignore } => self.clean(&tasks, ignore, now),
            Action::Destroy { tasks } => self.destroy(&tasks, who, now),
            Action::Pause { threads, until } => self.pause(&threads, until, who, now),
            Action::Resume { threads, continue_ } => self.resume(&threads, continue_, who, now),
        };
        if reply.is_ok() {
            // What the action released or freed may answer a parked long poll.
            self.serve_parked(now);
        }
        reply
    }

    /// Resolves references to ids: each task once, in first-mention order.
    pub(super) fn resolve(&self, refs: &[TaskRef], now: Millis) -> Result<Vec<TaskId>> {
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        let mut missing = Vec::new();
        for r in refs {
            match r {
                TaskRef::Id(id) => {
                    if self.tasks.contains(*id) {
                        if seen.insert(*id) {
                            ids.push(*id);
                        }
                    } else {
                        missing.push(*id);
                    }
                }
                TaskRef::Ref(list) => {
                    let mut found: Vec<TaskId> = list
                        .iter()
                        .filter_map(|r| self.refs.get(r))
                        .flatten()
                        .copied()
                        .collect();
                    found.sort_unstable();
                    for id in found {
                        if seen.insert(id) {
                            ids.push(id);
                        }
                    }
                }
                TaskRef::Query(filter) => {
                    let filter = Filter::parse(filter)?;
                    for rec in self.tasks.iter() {
                        if filter.matches(&rec.task, now) && seen.insert(rec.id()) {
                            ids.push(rec.id());
                        }
                    }
                }
            }
        }
        if !missing.is_empty() {
            let message = if missing.len() == 1 {
                format!(
                    "task {} does not exist (it may have been cleaned); nothing was changed",
                    missing[0]
                )
            } else {
                format!(
                    "tasks {} do not exist (they may have been cleaned); nothing was changed",
                    id_list(&missing)
                )
            };
            return Err(Error::new(ErrorCode::TaskNotFound, message).with_tasks(missing));
        }
        Ok(ids)
    }

    fn status_of(&self, id: TaskId) -> Option<Status> {
        self.tasks.get(id).map(|r| r.task.status)
    }

    // --- run -----------------------------------------------------------------------------

    fn run(
        &mut self,
        items: Vec<RunItem>,
        ignore: bool,
        who: &Requester,
        now: Millis,
    ) -> Result<ActionReply> {
        if items.len() > self.config.max_tasks_per_run {
            return Err(Error::new(
                ErrorCode::LimitExceeded,
                format!(
                    "a run may carry at most {} tasks, this one has {}; split it into several runs",
                    self.config.max_tasks_per_run,
                    items.len()
                ),
            ));
        }
        let mut steps = Vec::with_capacity(items.len());
        let mut new_keys: HashMap<(String, String), usize> = HashMap::new();
        // Tasks this run adds per definition, for the queue capacity check.
        let mut added: rustc_hash::FxHashMap<Arc<str>, u64> = Default::default();
        let mut active = Vec::new();
        let mut referenced = HashSet::new();
        for item in items {
            match item {
                RunItem::New(spec) => {
                    if let Some(key) = &spec.key {
                        if let Some(id) = self
                            .keys
                            .get(spec.name.as_str())
                            .and_then(|k| k.get(key.as_str()))
                        {
                            steps.push(RunStep::Existing(*id));
                            continue;
                        }
                        let k = (spec.name.clone(), key.clone());
                        if let Some(i) = new_keys.get(&k) {
                            steps.push(RunStep::SameAsEarlier(*i));
                            continue;
                        }
                        new_keys.insert(k, steps.len());
                    }
                    self.check_spec(&spec)?;
                    *added.entry(self.def_name(&spec.name)).or_default() += 1;
                    steps.push(RunStep::Create(spec));
                }
                RunItem::Existing(r) => {
                    for id in self.resolve(std::slice::from_ref(&r), now)? {
                        if !referenced.insert(id) {
                            continue;
                        }
                        match self.status_of(id) {
                            Some(Status::Created | Status::Waiting) => {
                                steps.push(RunStep::Release(id))
                            }
                            Some(Status::Done) => {
                                if let Some(spec) = self.rerun_spec(id) {
                                    self.check_rerun(&spec, id)?;
                                    *added.entry(self.def_name(&spec.name)).or_default() += 1;
                                }
                                steps.push(RunStep::Rerun(id));
                            }
                            Some(_) if ignore => {}
                            Some(_) => active.push(id),
                            None => {}
                        }
                    }
                }
            }
        }
        if !active.is_empty() {
            return Err(Error::new(
                ErrorCode::TaskActive,
                format!(
                    "task{} {} already ready or running, so there is nothing to run; pass \"ignore\": true to skip {}",
                    if active.len() == 1 { "" } else { "s" },
                    id_list(&active),
                    if active.len() == 1 { "it" } else { "them" },
                ),
            )
            .with_tasks(active));
        }
        for (name, n) in &added {
            self.check_capacity(name, *n)?;
        }

        let mut ids: Vec<TaskId> = Vec::with_capacity(steps.len());
        let mut created_at_step: HashMap<usize, TaskId> = HashMap::new();
        for (i, step) in steps.into_iter().enumerate() {
            match step {
                RunStep::Create(spec) => {
                    let id = self.create(*spec, &who.0, None, now);
                    created_at_step.insert(i, id);
                    ids.push(id);
                }
                RunStep::Existing(id) => ids.push(id),
                RunStep::SameAsEarlier(j) => {
                    if let Some(id) = created_at_step.get(&j) {
                        ids.push(*id);
                    }
                }
                RunStep::Release(id) => {
                    self.release(id, now, format!("run by {}", who.0));
                    ids.push(id);
                }
                RunStep::Rerun(id) => {
                    if let Some(spec) = self.rerun_spec(id) {
                        let new = self.create(spec, &who.0, Some(id), now);
                        ids.push(new);
                    }
                }
            }
        }
        Ok(ActionReply::Run { tasks: ids })
    }

    /// Checks a new task's inputs against its definition and the limits.
    pub(super) fn check_spec(&self, spec: &TaskSpec) -> Result<()> {
        let Some(def) = self.defs.get(spec.name.as_str()) else {
            return Err(self.unknown_definition(&spec.name));
        };
        if let Some(thread) = &spec.thread {
            validate_thread_name(thread).map_err(|m| Error::new(ErrorCode::InvalidName, m))?;
        }
        if let Some(parent) = spec.parent
            && !self.tasks.contains(parent)
        {
            return Err(Error::new(
                ErrorCode::ParentNotFound,
                format!("parent task {parent} does not exist; give the id of an existing task"),
            )
            .with_tasks(vec![parent]));
        }
        if let Some(conf) = &spec.conf {
            if !conf.is_object() && !conf.is_null() {
                // Any JSON is allowed by the schema check below; objects are the norm.
            }
            let size = json_size(conf);
            if size > self.config.max_conf_bytes {
                return Err(Error::new(
                    ErrorCode::LimitExceeded,
                    format!(
                        "conf of a `{}` task is {size} bytes, over the limit of {} bytes; pass large inputs by reference (a path or URL)",
                        spec.name, self.config.max_conf_bytes
                    ),
                ));
            }
        }
        if let Some(schema) = &def.params {
            let empty = serde_json::Value::Object(Default::default());
            let conf = spec.conf.as_ref().unwrap_or(&empty);
            if let Err(problems) = schema.check(conf) {
                return Err(Error::new(
                    ErrorCode::InvalidConf,
                    format!(
                        "conf does not match the params_schema of `{}`: {}",
                        spec.name,
                        problems.join("; ")
                    ),
                )
                .with_details(json!({ "errors": problems })));
            }
        }
        Ok(())
    }

    /// The inputs of a re-run of `of`. A parent cleaned since is dropped: the re-run stands
    /// alone.
    fn rerun_spec(&self, of: TaskId) -> Option<TaskSpec> {
        let mut spec = self.tasks.get(of)?.task.rerun_spec();
        if spec.parent.is_some_and(|p| !self.tasks.contains(p)) {
            spec.parent = None;
        }
        Some(spec)
    }

    fn check_rerun(&self, spec: &TaskSpec, of: TaskId) -> Result<()> {
        self.check_spec(spec).map_err(|mut e| {
            e.message = format!("cannot re-run task {of}: {}", e.message);
            e.tasks.push(of);
            e
        })
    }

    pub(super) fn check_capacity(&self, name: &str, adding: u64) -> Result<()> {
        let Some(cap) = self.defs.get(name).and_then(|d| d.def.queue_capacity) else {
            return Ok(());
        };
        let live = self.by_def.get(name).map_or(0, |t| t.live());
        if live + adding > cap {
            return Err(Error::new(
                ErrorCode::QueueFull,
                format!(
                    "the queue of `{name}` is full: {live} tasks not yet concluded, capacity {cap}, this run adds {adding}; retry later"
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn unknown_definition(&self, name: &str) -> Error {
        let mut known: Vec<&str> = self.defs.keys().map(|k| &**k).collect();
        known.sort_unstable();
        Error::new(
            ErrorCode::UnknownDefinition,
            format!(
                "no definition named `{name}`; known definitions: {}. Register one with PUT /api/v1/definitions/{name}",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        )
    }

    // --- conclude ------------------------------------------------------------------------

    fn conclude_action(
        &mut self,
        id: TaskId,
        delay: u64,
        result: Option<serde_json::Value>,
        now: Millis,
    ) -> Result<ActionReply> {
        if delay > 5_000 {
            return Err(Error::new(
                ErrorCode::InvalidDelay,
                format!("delay {delay} ms is out of range; use 0 to 5000 ms"),
            ));
        }
        match self.status_of(id) {
            None => return Err(Error::task_not_found(id)),
            Some(Status::Done) => {
                return Err(Error::new(
                    ErrorCode::TaskConcluded,
                    format!("task {id} is already concluded; there is nothing to conclude"),
                )
                .with_tasks(vec![id]));
            }
            Some(_) => {}
        }
        let at = now.plus_ms(delay);
        let result = result.as_ref().map(Json::new);
        if delay == 0 {
            self.conclude_now(id, result, now);
        } else {
            self.detach(id);
            if let Some(rec) = self.tasks.get_mut(id) {
                rec.task.conclude_at = Some(at);
                rec.pending_result = result.map(Box::new);
            }
            self.attach(id, now);
            self.log_line(id, now, format!("conclusion pending until {at}"));
        }
        Ok(ActionReply::Conclude {
            task: id,
            conclude_at: at,
        })
    }

    // --- cancel, clean, destroy ----------------------------------------------------------

    fn cancel(
        &mut self,
        refs: &[TaskRef],
        ignore: bool,
        who: &Requester,
        now: Millis,
    ) -> Result<ActionReply> {
        let ids = self.resolve(refs, now)?;
        let (live, done): (Vec<TaskId>, Vec<TaskId>) = ids
            .into_iter()
            .partition(|id| self.status_of(*id) != Some(Status::Done));
        if !done.is_empty() && !ignore {
            return Err(Error::new(
                ErrorCode::TaskConcluded,
                format!(
                    "task{} {} already concluded and cannot be canceled; nothing was changed. Pass \"ignore\": true to skip concluded tasks",
                    if done.len() == 1 { " is" } else { "s are" },
                    id_list(&done)
                ),
            )
            .with_tasks(done));
        }
        let cascaded = self.cancel_with_descendants(&live, who, now);
        Ok(ActionReply::Cancel {
            canceled: live,
            cascaded,
            ignored: done,
        })
    }

    /// Cancels `ids` (all live), then their live descendants, depth first in child order;
    /// returns the descendants. A referenced task met as a descendant stays referenced.
    fn cancel_with_descendants(
        &mut self,
        ids: &[TaskId],
        who: &Requester,
        now: Millis,
    ) -> Vec<TaskId> {
        let referenced: HashSet<TaskId> = ids.iter().copied().collect();
        for id in ids {
            let mut reason = Reason::new(ReasonType::Canceled, format!("canceled by {}", who.0));
            reason.data = json!({ "by": who.0 }).into();
            self.conclude(*id, Outcome::Canceled, reason, None, now);
        }
        let mut cascaded = Vec::new();
        let mut visited = HashSet::new();
        for root in ids {
            let mut stack = vec![(*root, *root)];
            while let Some((id, parent)) = stack.pop() {
                if !visited.insert(id) {
                    continue;
                }
                if !referenced.contains(&id)
                    && self.status_of(id).is_some_and(|s| s != Status::Done)
                {
                    let mut reason = Reason::new(
                        ReasonType::ParentCanceled,
                        format!("canceled because its parent task {parent} was canceled"),
                    );
                    reason.data = json!({ "by": who.0, "parent": parent }).into();
                    self.conclude(id, Outcome::Canceled, reason, None, now);
                    cascaded.push(id);
                }
                for c in self.children_of(id).into_iter().rev() {
                    stack.push((c, id));
                }
            }
        }
        cascaded
    }

    fn children_of(&self, id: TaskId) -> Vec<TaskId> {
        self.tasks
            .get(id)
            .map(|r| r.children().to_vec())
            .unwrap_or_default()
    }

    fn clean(&mut self, refs: &[TaskRef], ignore: bool, now: Millis) -> Result<ActionReply> {
        let ids = self.resolve(refs, now)?;
        let (done, live): (Vec<TaskId>, Vec<TaskId>) = ids
            .into_iter()
            .partition(|id| self.status_of(*id) == Some(Status::Done));
        if !live.is_empty() && !ignore {
            return Err(Error::new(
                ErrorCode::TaskNotConcluded,
                format!(
                    "task{} {} not concluded yet, and only concluded tasks can be cleaned; nothing was changed. Cancel first, use destroy, or pass \"ignore\": true",
                    if live.len() == 1 { " is" } else { "s are" },
                    id_list(&live)
                ),
            )
            .with_tasks(live));
        }
        for id in &done {
            self.clean_task(*id, now);
        }
        Ok(ActionReply::Clean {
            cleaned: done,
            ignored: live,
        })
    }

    fn destroy(&mut self, refs: &[TaskRef], who: &Requester, now: Millis) -> Result<ActionReply> {
        let ids = self.resolve(refs, now)?;
        let live: Vec<TaskId> = ids
            .iter()
            .copied()
            .filter(|id| self.status_of(*id) != Some(Status::Done))
            .collect();
        self.cancel_with_descendants(&live, who, now);
        for id in &ids {
            self.clean_task(*id, now);
        }
        Ok(ActionReply::Destroy { destroyed: ids })
    }

    // --- pause, resume -------------------------------------------------------------------

    fn check_threads(threads: &[String]) -> Result<()> {
        if threads.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidAction,
                "name at least one thread in \"threads\"",
            ));
        }
        for t in threads {
            validate_thread_name(t).map_err(|m| Error::new(ErrorCode::InvalidName, m))?;
        }
        Ok(())
    }

    fn pause(
        &mut self,
        threads: &[String],
        until: Option<Millis>,
        who: &Requester,
        now: Millis,
    ) -> Result<ActionReply> {
        Self::check_threads(threads)?;
        let mut rows = Vec::new();
        let mut seen = HashSet::new();
        for name in threads {
            if !seen.insert(name.as_str()) {
                continue;
            }
            let key: Arc<str> = self.intern_thread(name);
            let ts = self.threads.entry(key.clone()).or_default();
            let changed = match (&mut ts.pause, ts.lock) {
                (Some(_), Some(_)) => false,
                (Some(p), None) => {
                    let changed = p.until != until;
                    p.until = until;
                    changed
                }
                (None, _) => {
                    ts.pause = Some(Pause {
                        at: now,
                        until,
                        by: who.0.clone(),
                    });
                    true
                }
            };
            if let Some(u) = until
                && changed
            {
                self.timer(u, TimerKind::PauseUntil(key.clone()));
            }
            self.refresh_thread(&key);
            if changed {
                self.thread_changed(&key, now);
            }
            rows.push(self.thread_row(name));
        }
        Ok(ActionReply::Pause { threads: rows })
    }

    fn resume(
        &mut self,
        threads: &[String],
        continue_: bool,
        who: &Requester,
        now: Millis,
    ) -> Result<ActionReply> {
        Self::check_threads(threads)?;
        if continue_ {
            self.check_continuable(threads)?;
        }
        let mut rows = Vec::new();
        let mut continued = Vec::new();
        let mut seen = HashSet::new();
        for name in threads {
            if !seen.insert(name.as_str()) {
                continue;
            }
            let Some((key, ts)) = self.threads.get_key_value(name.as_str()) else {
                rows.push(self.thread_row(name));
                continue;
            };
            let key = key.clone();
            if ts.pause.is_none() {
                rows.push(self.thread_row(name));
                continue;
            }
            let lock = ts.lock;
            if let Some(ts) = self.threads.get_mut(&key) {
                ts.pause = None;
                ts.lock = None;
            }
            if continue_
                && let Some((id, _)) = lock
                && self.status_of(id) == Some(Status::Done)
            {
                self.continue_task(id, &who.0, now);
                continued.push(id);
            }
            self.refresh_thread(&key);
            self.thread_changed(&key, now);
            rows.push(self.thread_row(name));
        }
        Ok(ActionReply::Resume {
            threads: rows,
            continued,
        })
    }

    /// A locked task can only be continued while its definition exists: without one it
    /// could never be claimed, and its thread would be stuck behind it.
    fn check_continuable(&self, threads: &[String]) -> Result<()> {
        for name in threads {
            let Some((id, _)) = self.threads.get(name.as_str()).and_then(|t| t.lock) else {
                continue;
            };
            if let Some(rec) = self.tasks.get(id)
                && !self.defs.contains_key(&rec.task.name)
            {
                let mut e = self.unknown_definition(&rec.task.name);
                e.message = format!(
                    "cannot continue task {id} of thread {name}: {}; or resume without continue",
                    e.message
                );
                return Err(e.with_tasks(vec![id]));
            }
        }
        Ok(())
    }
}

/// Size of a JSON value once serialized, without building the text.
fn json_size(value: &serde_json::Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Counter(0);
    let _ = serde_json::to_writer(&mut c, value);
    c.0
}
