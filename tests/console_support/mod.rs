//! What the console tests share: a local engine on a manual clock with deterministic
//! definitions, and a console harness over it.

#![allow(dead_code)]

use serde_json::json;
use std::sync::Arc;
use taskyard::console::harness::Harness;
use taskyard::console::state::Options;
use taskyard::source::Source;
use taskyard::source::local::LocalSource;
use taskyard_core::Millis;
use taskyard_core::api::{
    Action, ActionReply, ExecRef, FailRequest, PollRequest, Requester, TaskQuery,
};
use taskyard_core::engine::EngineConfig;
use taskyard_core::model::{Definition, ExecutorKind, RunItem, Task, TaskId, TaskSpec, ThreadRow};
use taskyard_core::runtime::{EngineHandle, ManualClock, RuntimeBuilder};

/// 2026-11-23T10:00:00Z: every test starts at the same instant, so the screen is the same
/// every run.
pub const START: Millis = Millis(1_795_428_000_000);

pub struct World {
    pub engine: EngineHandle,
    pub clock: ManualClock,
    pub console: Harness,
    _workspaces: tempfile::TempDir,
}

/// An engine with `job` (external: nothing runs it unless a test polls), `sum` (built
/// in) and `fragile` (external, no retries).
pub async fn engine() -> (EngineHandle, ManualClock, tempfile::TempDir) {
    let clock = ManualClock::new(START);
    let workspaces = tempfile::tempdir().unwrap();
    let engine = RuntimeBuilder::new()
        .config(EngineConfig::default())
        .clock(Arc::new(clock.clone()))
        .workspace_root(workspaces.path().to_path_buf())
        .start()
        .unwrap();
    let mut job = Definition::new("job", ExecutorKind::External);
    job.allowed_retry_count = 0;
    job.desc = Some("an external job".into());
    engine.put_definition(job).await.unwrap();
    let mut fragile = Definition::new("fragile", ExecutorKind::External);
    fragile.allowed_retry_count = 0;
    engine.put_definition(fragile).await.unwrap();
    let mut sum = Definition::new("sum", ExecutorKind::Builtin("sum".into()));
    sum.allowed_retry_count = 0;
    engine.put_definition(sum).await.unwrap();
    (engine, clock, workspaces)
}

impl World {
    pub async fn new(width: u16, height: u16) -> World {
        World::with(width, height, |_| {}).await
    }

    /// A world whose console options `tune` changes first (theme, read-only...).
    pub async fn with(width: u16, height: u16, tune: impl FnOnce(&mut Options)) -> World {
        let (engine, clock, workspaces) = engine().await;
        let source: Arc<dyn Source> = Arc::new(LocalSource::new(engine.clone()));
        let mut options = Harness::options(&*source);
        tune(&mut options);
        let console = Harness::new(source, options, width, height).await;
        World {
            engine,
            clock,
            console,
            _workspaces: workspaces,
        }
    }

    pub async fn act(&self, action: Action) -> ActionReply {
        self.engine
            .act(action, Requester::new("test"))
            .await
            .unwrap()
    }

    /// Creates tasks and returns their ids.
    pub async fn run(&self, specs: Vec<TaskSpec>) -> Vec<TaskId> {
        let tasks = specs
            .into_iter()
            .map(|s| RunItem::New(Box::new(s)))
            .collect();
        match self
            .act(Action::Run {
                tasks,
                ignore: false,
            })
            .await
        {
            ActionReply::Run { tasks } => tasks,
            other => panic!("{other:?}"),
        }
    }

    /// Claims, starts and fails the next ready task of `definition` as a worker would.
    pub async fn fail_next(&self, definition: &str) -> TaskId {
        let tasks = self
            .engine
            .poll(PollRequest {
                executor: "w1".into(),
                definitions: vec![definition.into()],
                max: 1,
                wait_ms: 0,
            })
            .await
            .unwrap();
        let t = &tasks[0];
        let exec_id = t.exec_id.unwrap();
        self.engine
            .start(ExecRef { id: t.id, exec_id })
            .await
            .unwrap();
        self.engine
            .fail(FailRequest {
                id: t.id,
                exec_id,
                error: None,
                message: Some("disk full".into()),
            })
            .await
            .unwrap();
        t.id
    }

    pub fn task(&self, id: TaskId) -> Option<Task> {
        self.engine.task(id)
    }

    pub fn thread(&self, name: &str) -> ThreadRow {
        self.engine
            .threads()
            .into_iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no thread {name}"))
    }

    pub fn all(&self) -> Vec<Task> {
        self.engine
            .query(&TaskQuery {
                limit: 1_000,
                ..TaskQuery::default()
            })
            .unwrap()
            .tasks
    }

    pub async fn keys(&mut self, keys: &[&str]) {
        self.console.keys(keys).await;
    }

    pub async fn typed(&mut self, text: &str) {
        self.console.type_text(text).await;
    }

    /// Lets the console catch up with the engine (events, then a refresh).
    pub async fn settle(&mut self) {
        self.engine.sync().await;
        self.console.refresh().await;
    }

    /// The status line's text.
    pub fn status(&self) -> String {
        self.console
            .app
            .status
            .as_ref()
            .map(|s| s.text.clone())
            .unwrap_or_default()
    }

    /// Selects the task with this id in the table, with the keys an operator would use:
    /// `1` (tasks), `g` (top), then `j` down to it.
    pub async fn select(&mut self, id: TaskId) {
        self.settle().await;
        self.keys(&["1", "g"]).await;
        let index = self
            .console
            .app
            .tasks
            .rows
            .iter()
            .position(|t| t.id == id)
            .unwrap_or_else(|| panic!("task {id} is not in the first window"));
        for _ in 0..index {
            self.keys(&["j"]).await;
        }
        assert_eq!(
            self.console.app.tasks.selected_task().map(|t| t.id),
            Some(id)
        );
    }
}

pub fn spec(name: &str) -> TaskSpec {
    TaskSpec::new(name)
}

pub fn on_thread(name: &str, thread: &str) -> TaskSpec {
    let mut s = TaskSpec::new(name);
    s.thread = Some(thread.into());
    s
}

pub fn json_conf(v: serde_json::Value) -> Option<serde_json::Value> {
    Some(v)
}

pub fn sample_conf() -> serde_json::Value {
    json!({"values": [1, 2, 3]})
}
