//! The driver: one tokio task that owns every change to the engine. It takes commands in
//! batches, applies them with one `now`, fires due timers, hands ready built-in tasks to
//! handlers, and hands the batch to the committer, which replies and publishes events
//! only once the batch is committed (see `commit.rs`). The driver does not wait for the
//! commit: it goes on with the next batch.

use super::Shared;
use super::commit::{After, Committer, Slot};
use super::handler::{Handler, HandlerContext, HandlerError};
use crate::api::{
    Action, ActionReply, ExecRef, FailRequest, NotifyReply, NotifyRequest, PollRequest, Requester,
    SuccessRequest,
};
use crate::engine::{Changes, Dispatched, Engine, PollOutcome};
use crate::error::{Error, Result};
use crate::model::{
    Definition, EventKind, ExecutorKind, ReasonType, Schedule, ScheduleRow, Status, Task, TaskId,
};
use crate::storage::Batch;
use crate::time::Millis;
use futures::FutureExt;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde_json::Value;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

type Reply<T> = oneshot::Sender<Result<T>>;

pub(crate) enum Command {
    Act {
        action: Action,
        who: Requester,
        reply: Reply<ActionReply>,
    },
    PutDefinition {
        def: Box<Definition>,
        reply: Reply<Definition>,
    },
    DeleteDefinition {
        name: String,
        reply: Reply<Definition>,
    },
    PutSchedule {
        schedule: Box<Schedule>,
        reply: Reply<ScheduleRow>,
    },
    DeleteSchedule {
        name: String,
        reply: Reply<Schedule>,
    },
    Poll {
        req: PollRequest,
        reply: Reply<Vec<Task>>,
    },
    Start {
        call: ExecRef,
        reply: Reply<Task>,
    },
    Notify {
        req: NotifyRequest,
        reply: Reply<NotifyReply>,
    },
    Succeed {
        req: SuccessRequest,
        reply: Reply<Task>,
    },
    Fail {
        req: FailRequest,
        reply: Reply<Task>,
    },
    HandlerDone {
        id: TaskId,
        exec_id: Uuid,
        outcome: HandlerOutcome,
    },
    HandlerNotify {
        id: TaskId,
        exec_id: Uuid,
        progress: Option<f64>,
        line: Option<String>,
    },
    WorkspaceCreated {
        id: TaskId,
    },
    /// Answered once everything sent before it is applied and committed.
    Sync {
        reply: oneshot::Sender<()>,
    },
    Shutdown,
}

pub(crate) enum HandlerOutcome {
    Succeeded(Value),
    Failed(HandlerError),
    Panicked(String),
}

/// A reply waiting for its batch to commit.
type Deferred = Box<dyn FnOnce(Option<&Error>) + Send>;

fn defer<T: Send + 'static>(reply: Reply<T>, result: Result<T>) -> Deferred {
    Box::new(move |commit_error| {
        let result = match commit_error {
            Some(e) => Err(e.clone()),
            None => result,
        };
        let _ = reply.send(result);
    })
}

struct Running {
    exec_id: Uuid,
    abort: tokio::task::AbortHandle,
}

/// How often live in-process attempts are heartbeated: they cannot be lost without the
/// process dying, and a restart fails them with `interrupted`.
const HEARTBEAT_EVERY_MS: u64 = 1_000;

pub(super) struct Driver {
    pub shared: Arc<Shared>,
    pub rx: mpsc::UnboundedReceiver<Command>,
    pub handler_slots: usize,
    running: HashMap<TaskId, Running>,
    parked: HashMap<u64, Reply<Vec<Task>>>,
    next_waiter: u64,
    /// Built-in definitions the driver claims for, and their handlers.
    builtin_defs: Vec<String>,
    builtin_handlers: HashMap<String, Arc<dyn Handler>>,
    workspaces: HashSet<TaskId>,
    next_heartbeat: Millis,
    committer: Committer,
    /// For work the writer thread starts after a commit (workspace deletion).
    rt: tokio::runtime::Handle,
    /// Syncs that came with a shutdown: answered once storage is closed.
    final_syncs: Vec<oneshot::Sender<()>>,
    /// Batches to go before the driver may commit one itself again (see `commit.rs`).
    inline_pause: u32,
}

/// Batches the driver leaves to the writer after an inline commit kept commands waiting.
const INLINE_PAUSE: u32 = 1_000;

impl Driver {
    pub fn new(
        shared: Arc<Shared>,
        rx: mpsc::UnboundedReceiver<Command>,
        handler_slots: usize,
        engine: &Engine,
    ) -> Driver {
        let mut d = Driver {
            rx,
            handler_slots: handler_slots.max(1),
            running: HashMap::default(),
            parked: HashMap::default(),
            next_waiter: 1,
            builtin_defs: Vec::new(),
            builtin_handlers: HashMap::default(),
            workspaces: HashSet::default(),
            next_heartbeat: Millis::ZERO,
            committer: Committer::new(shared.storage.clone()),
            rt: tokio::runtime::Handle::current(),
            final_syncs: Vec::new(),
            inline_pause: 0,
            shared,
        };
        d.refresh_builtins(engine);
        d.discover_workspaces(engine);
        d
    }

    /// Finds the workspaces a previous run left, so they are still deleted when their
    /// task concludes or is cleaned; deletes those whose task is gone or concluded (the
    /// process stopped between the commit and the deletion).
    fn discover_workspaces(&mut self, engine: &Engine) {
        let Ok(entries) = std::fs::read_dir(&self.shared.workspace_root) else {
            return;
        };
        let mut doomed = Vec::new();
        for entry in entries.flatten() {
            // Only `<id>/` directories are ours.
            let Some(id) = entry
                .file_name()
                .to_str()
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<TaskId>().ok())
            else {
                continue;
            };
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            match engine.record(id) {
                Some(r) if r.task.status != Status::Done || r.task.archive => {
                    self.workspaces.insert(id);
                }
                _ => doomed.push(id),
            }
        }
        self.delete_workspaces(doomed);
    }

    fn delete_workspaces(&self, ids: Vec<TaskId>) {
        if ids.is_empty() {
            return;
        }
        let root = self.shared.workspace_root.clone();
        self.rt.spawn_blocking(move || {
            for id in ids {
                let _ = std::fs::remove_dir_all(root.join(id.to_string()));
            }
        });
    }

    pub async fn run(mut self) {
        let mut buf = Vec::with_capacity(4096);
        // Commit and announce what recovery did before anything else happens.
        let slot = self.committer.reserve().await;
        let mut running = self.step(&mut buf, slot);
        while running {
            // Waits while the writer is too far behind (its next transaction just grows).
            let slot = self.committer.reserve().await;
            let wake = self.wake_at();
            let sleep = match wake {
                Some(at) => self.shared.clock.sleep_until(at),
                None => Box::pin(futures::future::pending()),
            };
            tokio::select! {
                biased;
                n = self.rx.recv_many(&mut buf, 4096) => {
                    if n == 0 {
                        break;
                    }
                }
                _ = sleep => {}
            }
            running = self.step(&mut buf, slot);
        }
        for (_, r) in self.running.drain() {
            r.abort.abort();
        }
        // Everything handed to the writer is committed and answered; then let go of the
        // data dir, and only then tell whoever asked for the shutdown.
        self.committer.finish();
        self.shared.storage.close();
        for s in self.final_syncs.drain(..) {
            let _ = s.send(());
        }
    }

    fn wake_at(&self) -> Option<Millis> {
        let engine = self.shared.engine.read().next_deadline();
        let heartbeat = (!self.running.is_empty()).then_some(self.next_heartbeat);
        match (engine, heartbeat) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// One batch. Returns false when told to shut down.
    fn step(&mut self, buf: &mut Vec<Command>, slot: Slot) -> bool {
        let now = self.shared.clock.now();
        let mut deferred: Vec<Deferred> = Vec::with_capacity(buf.len());
        let mut syncs = Vec::new();
        let mut to_spawn = Vec::new();
        let mut doomed_workspaces = Vec::new();
        let mut keep_running = true;
        let changes: Changes;
        {
            let shared = self.shared.clone();
            let mut guard = shared.engine.write();
            let engine: &mut Engine = &mut guard;
            // A long poll whose caller went away (worker killed, HTTP request dropped)
            // must not claim tasks that nobody will start.
            if !self.parked.is_empty() {
                self.parked.retain(|waiter, reply| {
                    let open = !reply.is_closed();
                    if !open {
                        engine.unpark(*waiter);
                    }
                    open
                });
            }
            for cmd in buf.drain(..) {
                match cmd {
                    Command::Sync { reply } => syncs.push(reply),
                    Command::Shutdown => keep_running = false,
                    cmd => self.apply(engine, cmd, now, &mut deferred),
                }
            }
            if !self.running.is_empty() && now >= self.next_heartbeat {
                for (id, r) in &self.running {
                    let hb = NotifyRequest {
                        id: *id,
                        exec_id: r.exec_id,
                        progress: None,
                        log: None,
                    };
                    let _ = engine.notify(&hb, now);
                }
                self.next_heartbeat = now.plus_ms(HEARTBEAT_EVERY_MS);
            }
            engine.tick(now);
            if keep_running {
                self.dispatch(engine, now, &mut to_spawn);
            }
            changes = engine.drain();
            self.after_changes(engine, &changes, &mut doomed_workspaces);
        }

        let Changes {
            events,
            records,
            poll_replies,
            next_id,
            next_seq,
        } = changes;
        let batch = Batch {
            events: Arc::new(events),
            records,
            next_id,
            next_seq,
        };
        let polls: Vec<(Reply<Vec<Task>>, Vec<Task>)> = poll_replies
            .into_iter()
            .filter_map(|(waiter, tasks)| Some((self.parked.remove(&waiter)?, tasks)))
            .collect();
        // Handlers start before the commit: an in-process run is not an acknowledgement,
        // and if the process dies first, the run dies with it and recovery redoes it.
        for (task, handler) in to_spawn {
            self.spawn_handler(task, handler);
        }
        if !keep_running {
            self.final_syncs.append(&mut syncs);
        }
        let after = self.after_commit(
            batch.events.clone(),
            deferred,
            polls,
            doomed_workspaces,
            syncs,
        );
        // Nothing else waits for the driver, and no handler will report soon: it may as
        // well commit this batch itself (see `commit.rs`), unless that recently kept
        // commands waiting.
        self.inline_pause = self.inline_pause.saturating_sub(1);
        let rx = &self.rx;
        let arrived = || !rx.is_empty();
        let alone = (self.inline_pause == 0 && rx.is_empty() && self.running.is_empty())
            .then_some(&arrived as &dyn Fn() -> bool);
        if self.committer.submit(slot, batch, after, alone) {
            self.inline_pause = INLINE_PAUSE;
        }
        keep_running
    }

    /// What happens once a batch is committed: replies (or the commit's error), answers
    /// to parked polls, the events published, workspaces deleted, syncs answered; in
    /// that order. A failed commit publishes nothing and deletes nothing.
    fn after_commit(
        &self,
        events: super::EventBatch,
        deferred: Vec<Deferred>,
        polls: Vec<(Reply<Vec<Task>>, Vec<Task>)>,
        doomed: Vec<TaskId>,
        syncs: Vec<oneshot::Sender<()>>,
    ) -> After {
        let shared = self.shared.clone();
        let rt = self.rt.clone();
        Box::new(move |commit_error: Option<&Error>| {
            for reply in deferred {
                reply(commit_error);
            }
            for (reply, tasks) in polls {
                let _ = reply.send(match commit_error {
                    Some(e) => Err(e.clone()),
                    None => Ok(tasks),
                });
            }
            if commit_error.is_none() {
                shared.hub.publish(events);
                if !doomed.is_empty() {
                    let root = shared.workspace_root.clone();
                    rt.spawn_blocking(move || {
                        for id in doomed {
                            let _ = std::fs::remove_dir_all(root.join(id.to_string()));
                        }
                    });
                }
            }
            for s in syncs {
                let _ = s.send(());
            }
        })
    }

    fn apply(
        &mut self,
        engine: &mut Engine,
        cmd: Command,
        now: Millis,
        deferred: &mut Vec<Deferred>,
    ) {
        match cmd {
            Command::Act { action, who, reply } => {
                deferred.push(defer(reply, engine.apply(action, &who, now)));
            }
            Command::PutDefinition { def, reply } => {
                let result = self
                    .check_handler(&def)
                    .and_then(|_| engine.put_definition(*def, now));
                deferred.push(defer(reply, result));
            }
            Command::DeleteDefinition { name, reply } => {
                deferred.push(defer(reply, engine.delete_definition(&name, now)));
            }
            Command::PutSchedule { schedule, reply } => {
                deferred.push(defer(reply, engine.put_schedule(*schedule, now)));
            }
            Command::DeleteSchedule { name, reply } => {
                deferred.push(defer(reply, engine.delete_schedule(&name, now)));
            }
            Command::Poll { req, reply } => {
                let waiter = self.next_waiter;
                self.next_waiter += 1;
                match engine.poll(&req, waiter, now) {
                    Ok(PollOutcome::Claimed(tasks)) => deferred.push(defer(reply, Ok(tasks))),
                    Ok(PollOutcome::Parked(w)) => {
                        self.parked.insert(w, reply);
                    }
                    Err(e) => deferred.push(defer(reply, Err(e))),
                }
            }
            Command::Start { call, reply } => deferred.push(defer(reply, engine.start(&call, now))),
            Command::Notify { req, reply } => deferred.push(defer(reply, engine.notify(&req, now))),
            Command::Succeed { req, reply } => {
                deferred.push(defer(reply, engine.succeed(req, now)))
            }
            Command::Fail { req, reply } => deferred.push(defer(reply, engine.fail(req, now))),
            Command::HandlerDone {
                id,
                exec_id,
                outcome,
            } => {
                if self.running.get(&id).is_some_and(|r| r.exec_id == exec_id) {
                    self.running.remove(&id);
                }
                // A stale report (the attempt was canceled or timed out) changes nothing.
                let _ = match outcome {
                    HandlerOutcome::Succeeded(result) => engine.report_success(
                        SuccessRequest {
                            id,
                            exec_id,
                            result: Some(result),
                        },
                        now,
                    ),
                    HandlerOutcome::Failed(e) => engine
                        .fail(
                            FailRequest {
                                id,
                                exec_id,
                                error: e.error,
                                message: Some(e.message),
                            },
                            now,
                        )
                        .map(drop),
                    HandlerOutcome::Panicked(message) => engine
                        .fail_attempt(
                            &ExecRef { id, exec_id },
                            ReasonType::HandlerPanicked,
                            format!("the handler panicked: {message}"),
                            now,
                        )
                        .map(drop),
                };
            }
            Command::HandlerNotify {
                id,
                exec_id,
                progress,
                line,
            } => {
                let req = NotifyRequest {
                    id,
                    exec_id,
                    progress,
                    log: line.map(|l| vec![l]),
                };
                let _ = engine.notify(&req, now);
            }
            Command::WorkspaceCreated { id } => {
                self.workspaces.insert(id);
            }
            Command::Sync { .. } | Command::Shutdown => {}
        }
    }

    /// A `builtin:` definition must name a handler this runtime has.
    fn check_handler(&self, def: &Definition) -> Result<()> {
        if let ExecutorKind::Builtin(h) = &def.executor
            && self.shared.handlers.get(h).is_none()
        {
            return Err(Error::new(
                crate::error::ErrorCode::InvalidDefinition,
                format!(
                    "definition `{}`: there is no built-in handler `{h}`; known handlers: {}",
                    def.name,
                    self.shared.handlers.names().join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Claims and starts ready built-in tasks while handler slots are free.
    fn dispatch(
        &mut self,
        engine: &mut Engine,
        now: Millis,
        to_spawn: &mut Vec<(Dispatched, Arc<dyn Handler>)>,
    ) {
        if self.builtin_defs.is_empty() {
            return;
        }
        loop {
            let free = self
                .handler_slots
                .saturating_sub(self.running.len() + to_spawn.len());
            if free == 0 {
                return;
            }
            let max = free.min(1000) as u32;
            let started = engine.dispatch_builtin(&self.builtin_defs, max, now);
            let n = started.len();
            for d in started {
                if let Some(handler) = self.builtin_handlers.get(&*d.name) {
                    to_spawn.push((d, handler.clone()));
                }
            }
            if n < max as usize {
                return;
            }
        }
    }

    /// Reacts to a batch: handlers whose attempt ended are stopped, workspaces of
    /// concluded tasks are deleted (unless `archive`), new definitions are picked up.
    fn after_changes(&mut self, engine: &Engine, changes: &Changes, doomed: &mut Vec<TaskId>) {
        let mut defs_changed = false;
        for event in &changes.events {
            match &event.kind {
                EventKind::TaskStatus { id, to, .. } => {
                    if let Some(r) = self.running.get(id)
                        && engine.record(*id).and_then(|rec| rec.live_exec()) != Some(r.exec_id)
                    {
                        r.abort.abort();
                        self.running.remove(id);
                    }
                    if *to == Status::Done
                        && self.workspaces.contains(id)
                        && !engine.record(*id).is_some_and(|r| r.task.archive)
                    {
                        self.workspaces.remove(id);
                        doomed.push(*id);
                    }
                }
                EventKind::TaskCleaned { id } => {
                    if let Some(r) = self.running.remove(id) {
                        r.abort.abort();
                    }
                    if self.workspaces.remove(id) {
                        doomed.push(*id);
                    }
                }
                EventKind::DefinitionUpdated { .. } => defs_changed = true,
                _ => {}
            }
        }
        if defs_changed {
            self.refresh_builtins(engine);
        }
    }

    fn refresh_builtins(&mut self, engine: &Engine) {
        self.builtin_handlers.clear();
        self.builtin_defs.clear();
        for def in engine.definitions() {
            if let ExecutorKind::Builtin(h) = &def.executor
                && let Some(handler) = self.shared.handlers.get(h)
            {
                self.builtin_defs.push(def.name.clone());
                self.builtin_handlers.insert(def.name.clone(), handler);
            }
        }
    }

    fn spawn_handler(&mut self, task: Dispatched, handler: Arc<dyn Handler>) {
        let (id, exec_id) = (task.id, task.exec_id);
        let ctx = HandlerContext {
            id,
            exec_id,
            attempt: task.attempt,
            conf: task.conf,
            workspace: self.shared.workspace_root.join(id.to_string()),
            engine: super::EngineHandle {
                shared: self.shared.clone(),
            },
            commands: self.shared.commands.clone(),
        };
        let tx = self.shared.commands.clone();
        let join = tokio::spawn(async move {
            let run = std::panic::catch_unwind(AssertUnwindSafe(|| handler.run(ctx)));
            let outcome = match run {
                Err(panic) => HandlerOutcome::Panicked(panic_text(panic)),
                Ok(fut) => match AssertUnwindSafe(fut).catch_unwind().await {
                    Ok(Ok(v)) => HandlerOutcome::Succeeded(v),
                    Ok(Err(e)) => HandlerOutcome::Failed(e),
                    Err(panic) => HandlerOutcome::Panicked(panic_text(panic)),
                },
            };
            let _ = tx.send(Command::HandlerDone {
                id,
                exec_id,
                outcome,
            });
        });
        self.running.insert(
            id,
            Running {
                exec_id,
                abort: join.abort_handle(),
            },
        );
    }
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use crate::api::{Action, ActionReply, PollRequest, Requester};
    use crate::model::{Definition, ExecutorKind, RunItem, Status, TaskSpec};
    use crate::runtime::RuntimeBuilder;

    #[tokio::test]
    async fn an_abandoned_long_poll_claims_nothing() {
        let engine = RuntimeBuilder::new().start().unwrap();
        engine
            .put_definition(Definition::new("ext", ExecutorKind::External))
            .await
            .unwrap();
        let req = PollRequest {
            executor: "w1".into(),
            definitions: vec!["ext".into()],
            max: 1,
            wait_ms: 60_000,
        };
        {
            let mut poll = Box::pin(engine.poll(req));
            // Sends the poll; it parks, since nothing is ready.
            assert!(futures::poll!(poll.as_mut()).is_pending());
            engine.sync().await;
        } // the caller goes away
        let reply = engine
            .act(
                Action::Run {
                    tasks: vec![RunItem::New(Box::new(TaskSpec::new("ext")))],
                    ignore: false,
                },
                Requester::new("test"),
            )
            .await
            .unwrap();
        let ActionReply::Run { tasks } = reply else {
            panic!("{reply:?}")
        };
        engine.sync().await;
        assert_eq!(engine.task(tasks[0]).unwrap().status, Status::Ready);
    }
}
