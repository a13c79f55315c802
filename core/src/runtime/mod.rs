//! The thin tokio runtime around the engine: it owns the clock and timers, runs built-in
//! handlers, commits to storage, and publishes events. [`EngineHandle`] is how everything
//! else (server, console, benchmarks) talks to a running engine.

mod clock;
mod commit;
mod driver;
mod events;
mod handler;
pub mod handlers;

pub use clock::{Clock, ManualClock, SystemClock};
pub use events::{Delivery, EventBatch, Subscription};
pub use handler::{Handler, HandlerContext, HandlerError, HandlerResult, Handlers};

use crate::api::{
    Action, ActionReply, Counts, ExecRef, FailRequest, NotifyReply, NotifyRequest, PollRequest,
    Requester, Stats, SuccessRequest, TaskPage, TaskQuery,
};
use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::model::{
    Definition, LogPage, Schedule, ScheduleRow, Task, TaskDetail, TaskId, ThreadRow,
};
use crate::storage::{MemoryStorage, Storage};
use crate::time::Millis;
use driver::{Command, Driver};
use events::EventHub;
use parking_lot::RwLock;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

pub(crate) struct Shared {
    engine: RwLock<Engine>,
    commands: mpsc::UnboundedSender<Command>,
    clock: Arc<dyn Clock>,
    storage: Arc<dyn Storage>,
    hub: EventHub,
    handlers: Handlers,
    workspace_root: PathBuf,
}

/// Builds and starts a runtime.
pub struct RuntimeBuilder {
    config: EngineConfig,
    clock: Arc<dyn Clock>,
    storage: Arc<dyn Storage>,
    handlers: Handlers,
    workspace_root: Option<PathBuf>,
    handler_slots: usize,
    event_history: usize,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            config: EngineConfig {
                seed: rand::random(),
                ..EngineConfig::default()
            },
            clock: Arc::new(SystemClock),
            storage: Arc::new(MemoryStorage::new()),
            handlers: Handlers::builtin(),
            workspace_root: None,
            handler_slots: 1024,
            event_history: 100_000,
        }
    }
}

impl RuntimeBuilder {
    pub fn new() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = storage;
        self
    }

    pub fn handlers(mut self, handlers: Handlers) -> Self {
        self.handlers = handlers;
        self
    }

    /// Where task workspaces go (`<root>/<id>/`); default: a directory under the system's
    /// temporary directory.
    pub fn workspace_root(mut self, root: PathBuf) -> Self {
        self.workspace_root = Some(root);
        self
    }

    /// How many in-process handlers may run at once.
    pub fn handler_slots(mut self, n: usize) -> Self {
        self.handler_slots = n;
        self
    }

    /// How many recent events are kept for replay to reconnecting subscribers.
    pub fn event_history(mut self, n: usize) -> Self {
        self.event_history = n;
        self
    }

    /// Starts the driver on the current tokio runtime.
    pub fn start(self) -> Result<EngineHandle> {
        let mut engine = Engine::new(self.config);
        engine.set_track_records(self.storage.wants_records());
        let loaded = self.storage.load()?;
        let last_seq = loaded.next_seq.saturating_sub(1);
        engine.restore(loaded, self.clock.now())?;
        let root = self.workspace_root.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("taskyard-workspaces-{}", std::process::id()))
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            engine: RwLock::new(engine),
            commands: tx,
            clock: self.clock,
            storage: self.storage,
            hub: EventHub::new(self.event_history, last_seq),
            handlers: self.handlers,
            workspace_root: root,
        });
        let driver = {
            let engine = shared.engine.read();
            Driver::new(shared.clone(), rx, self.handler_slots, &engine)
        };
        tokio::spawn(driver.run());
        Ok(EngineHandle { shared })
    }
}

/// A handle on a running engine; cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    shared: Arc<Shared>,
}

fn stopped() -> Error {
    Error::internal("the engine has stopped; restart taskyard")
}

impl EngineHandle {
    async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T>>) -> Command) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.shared.commands.send(make(tx)).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Applies an action; the reply comes once its effects are committed.
    pub async fn act(&self, action: Action, who: Requester) -> Result<ActionReply> {
        self.call(|reply| Command::Act { action, who, reply }).await
    }

    pub async fn put_definition(&self, def: Definition) -> Result<Definition> {
        self.call(|reply| Command::PutDefinition {
            def: Box::new(def),
            reply,
        })
        .await
    }

    pub async fn delete_definition(&self, name: &str) -> Result<Definition> {
        let name = name.to_string();
        self.call(|reply| Command::DeleteDefinition { name, reply })
            .await
    }

    pub async fn put_schedule(&self, schedule: Schedule) -> Result<ScheduleRow> {
        self.call(|reply| Command::PutSchedule {
            schedule: Box::new(schedule),
            reply,
        })
        .await
    }

    pub async fn delete_schedule(&self, name: &str) -> Result<Schedule> {
        let name = name.to_string();
        self.call(|reply| Command::DeleteSchedule { name, reply })
            .await
    }

    /// `poll`; with `wait_ms` it waits until a task can be claimed or the time is up.
    pub async fn poll(&self, req: PollRequest) -> Result<Vec<Task>> {
        self.call(|reply| Command::Poll { req, reply }).await
    }

    pub async fn start(&self, call: ExecRef) -> Result<Task> {
        self.call(|reply| Command::Start { call, reply }).await
    }

    pub async fn notify(&self, req: NotifyRequest) -> Result<NotifyReply> {
        self.call(|reply| Command::Notify { req, reply }).await
    }

    pub async fn succeed(&self, req: SuccessRequest) -> Result<Task> {
        self.call(|reply| Command::Succeed { req, reply }).await
    }

    pub async fn fail(&self, req: FailRequest) -> Result<Task> {
        self.call(|reply| Command::Fail { req, reply }).await
    }

    /// Waits until everything sent before is applied and committed (and due timers fired).
    pub async fn sync(&self) {
        let (tx, rx) = oneshot::channel();
        if self
            .shared
            .commands
            .send(Command::Sync { reply: tx })
            .is_ok()
        {
            let _ = rx.await;
        }
    }

    /// Stops the driver and the handlers it runs.
    pub async fn shutdown(&self) {
        let _ = self.shared.commands.send(Command::Shutdown);
        self.sync().await;
    }

    pub fn now(&self) -> Millis {
        self.shared.clock.now()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    /// Reads the engine under a shared lock.
    pub fn read<R>(&self, f: impl FnOnce(&Engine) -> R) -> R {
        f(&self.shared.engine.read())
    }

    pub fn task(&self, id: TaskId) -> Option<Task> {
        let now = self.now();
        self.read(|e| e.task_view(id, now))
    }

    /// The single-task view, with the files in its workspace.
    pub fn task_detail(&self, id: TaskId) -> Option<TaskDetail> {
        let now = self.now();
        let mut detail = self.read(|e| e.task_detail(id, now))?;
        detail.workspace_files = list_files(&self.shared.workspace_root.join(id.to_string()));
        Some(detail)
    }

    pub fn query(&self, q: &TaskQuery) -> Result<TaskPage> {
        let now = self.now();
        self.read(|e| e.query(q, now))
    }

    pub fn threads(&self) -> Vec<ThreadRow> {
        self.read(Engine::threads)
    }

    pub fn definitions(&self) -> Vec<Definition> {
        self.read(Engine::definitions)
    }

    pub fn schedules(&self) -> Vec<ScheduleRow> {
        self.read(Engine::schedules)
    }

    pub fn counts(&self) -> Counts {
        self.read(Engine::counts)
    }

    pub fn stats(&self) -> Stats {
        let now = self.now();
        self.read(|e| e.stats(now))
    }

    pub fn log(&self, id: TaskId, after: u64, limit: usize) -> Result<LogPage> {
        if !self.read(|e| e.record(id).is_some()) {
            return Err(Error::task_not_found(id));
        }
        self.shared.storage.read_log(id, after, limit)
    }

    /// Subscribes to committed events; with `since`, replays what came after it first (or
    /// starts with a reset when that is older than what is kept).
    pub fn subscribe(&self, since: Option<u64>) -> Subscription {
        self.shared.hub.subscribe(since)
    }

    /// The seq of the last committed event.
    pub fn last_seq(&self) -> u64 {
        self.shared.hub.last_seq()
    }

    pub fn workspace_root(&self) -> &std::path::Path {
        &self.shared.workspace_root
    }
}

/// Files under a workspace, relative paths, sorted; none if it does not exist.
fn list_files(dir: &std::path::Path) -> Vec<String> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else if let Ok(rel) = path.strip_prefix(base) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
