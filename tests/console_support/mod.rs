//! What the console tests share: a console harness over either a local engine on a
//! manual clock, or a real `taskyard serve` over HTTP, with the same definitions, so the
//! same scenarios run against both.

#![allow(dead_code)]

#[path = "../http_common/mod.rs"]
mod http_common;
use http_common::Server;

use serde_json::json;
use std::sync::Arc;
use taskyard::client::Client;
use taskyard::console::harness::Harness;
use taskyard::console::state::Options;
use taskyard::source::Source;
use taskyard::source::local::LocalSource;
use taskyard::source::remote::RemoteSource;
use taskyard_core::Millis;
use taskyard_core::api::{
    Action, ActionReply, ExecRef, FailRequest, PollRequest, Requester, TaskQuery,
};
use taskyard_core::engine::EngineConfig;
use taskyard_core::model::{Definition, ExecutorKind, RunItem, Task, TaskId, TaskSpec, ThreadRow};
use taskyard_core::runtime::{EngineHandle, ManualClock, RuntimeBuilder};

/// 2026-11-23T10:00:00Z: every local test starts at the same instant, so the screen is
/// the same every run.
pub const START: Millis = Millis(1_795_428_000_000);

pub enum Backend {
    Local {
        engine: EngineHandle,
        clock: ManualClock,
        _workspaces: tempfile::TempDir,
    },
    Remote {
        client: Client,
        _server: Server,
    },
}

pub struct World {
    pub backend: Backend,
    pub console: Harness,
}

/// The test definitions: `job` (external: nothing runs it unless a test polls),
/// `fragile` (external, no retries) and `sum` (built in).
fn definitions() -> Vec<Definition> {
    let mut job = Definition::new("job", ExecutorKind::External);
    job.allowed_retry_count = 0;
    job.desc = Some("an external job".into());
    let mut fragile = Definition::new("fragile", ExecutorKind::External);
    fragile.allowed_retry_count = 0;
    let mut sum = Definition::new("sum", ExecutorKind::Builtin("sum".into()));
    sum.allowed_retry_count = 0;
    vec![job, fragile, sum]
}

pub async fn local_engine() -> (EngineHandle, ManualClock, tempfile::TempDir) {
    let clock = ManualClock::new(START);
    let workspaces = tempfile::tempdir().unwrap();
    let engine = RuntimeBuilder::new()
        .config(EngineConfig::default())
        .clock(Arc::new(clock.clone()))
        .workspace_root(workspaces.path().to_path_buf())
        .start()
        .unwrap();
    for def in definitions() {
        engine.put_definition(def).await.unwrap();
    }
    (engine, clock, workspaces)
}

impl World {
    pub async fn new(width: u16, height: u16) -> World {
        World::with(width, height, |_| {}).await
    }

    /// A local world whose console options `tune` changes first (theme, read-only...).
    pub async fn with(width: u16, height: u16, tune: impl FnOnce(&mut Options)) -> World {
        let (engine, clock, workspaces) = local_engine().await;
        let source: Arc<dyn Source> = Arc::new(LocalSource::new(engine.clone()));
        let mut options = Harness::options(&*source);
        tune(&mut options);
        let console = Harness::new(source, options, width, height).await;
        World {
            backend: Backend::Local {
                engine,
                clock,
                _workspaces: workspaces,
            },
            console,
        }
    }

    /// A console on a real server over HTTP.
    pub async fn remote(width: u16, height: u16, tune: impl FnOnce(&mut Options)) -> World {
        let server = Server::start(&[]);
        let client = Client::new(&server.url, None).unwrap();
        for def in definitions() {
            client.put_definition(&def).await.unwrap();
        }
        let source: Arc<dyn Source> = Arc::new(RemoteSource::new(client.clone()));
        let mut options = Harness::options(&*source);
        tune(&mut options);
        let console = Harness::new(source, options, width, height).await;
        World {
            backend: Backend::Remote {
                client,
                _server: server,
            },
            console,
        }
    }

    /// Either kind of world, for scenarios that run against both.
    pub async fn of(remote: bool, tune: impl FnOnce(&mut Options)) -> World {
        if remote {
            World::remote(200, 50, tune).await
        } else {
            World::with(200, 50, tune).await
        }
    }

    pub fn engine(&self) -> &EngineHandle {
        match &self.backend {
            Backend::Local { engine, .. } => engine,
            Backend::Remote { .. } => panic!("a remote world has no local engine"),
        }
    }

    pub fn clock(&self) -> &ManualClock {
        match &self.backend {
            Backend::Local { clock, .. } => clock,
            Backend::Remote { .. } => panic!("a remote world has no manual clock"),
        }
    }

    pub fn is_remote(&self) -> bool {
        matches!(self.backend, Backend::Remote { .. })
    }

    pub async fn act(&self, action: Action) -> ActionReply {
        match &self.backend {
            Backend::Local { engine, .. } => {
                engine.act(action, Requester::new("test")).await.unwrap()
            }
            Backend::Remote { client, .. } => client.act(&action).await.unwrap(),
        }
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
        let poll = PollRequest {
            executor: "w1".into(),
            definitions: vec![definition.into()],
            max: 1,
            wait_ms: 0,
        };
        let tasks = match &self.backend {
            Backend::Local { engine, .. } => engine.poll(poll).await.unwrap(),
            Backend::Remote { client, .. } => client.poll(&poll).await.unwrap(),
        };
        let t = &tasks[0];
        let exec_id = t.exec_id.unwrap();
        let fail = FailRequest {
            id: t.id,
            exec_id,
            error: None,
            message: Some("disk full".into()),
        };
        match &self.backend {
            Backend::Local { engine, .. } => {
                engine.start(ExecRef { id: t.id, exec_id }).await.unwrap();
                engine.fail(fail).await.unwrap();
            }
            Backend::Remote { client, .. } => {
                client.start(ExecRef { id: t.id, exec_id }).await.unwrap();
                client.fail(&fail).await.unwrap();
            }
        }
        t.id
    }

    pub async fn task(&self, id: TaskId) -> Option<Task> {
        match &self.backend {
            Backend::Local { engine, .. } => engine.task(id),
            Backend::Remote { client, .. } => client.task(id).await.ok().map(|d| d.task),
        }
    }

    pub async fn threads(&self) -> Vec<ThreadRow> {
        match &self.backend {
            Backend::Local { engine, .. } => engine.threads(),
            Backend::Remote { client, .. } => client.threads().await.unwrap(),
        }
    }

    pub async fn thread(&self, name: &str) -> ThreadRow {
        self.threads()
            .await
            .into_iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no thread {name}"))
    }

    pub async fn all(&self) -> Vec<Task> {
        let q = TaskQuery {
            limit: 1_000,
            ..TaskQuery::default()
        };
        match &self.backend {
            Backend::Local { engine, .. } => engine.query(&q).unwrap().tasks,
            Backend::Remote { client, .. } => client.tasks(&q).await.unwrap().tasks,
        }
    }

    /// Waits until the engine applied everything sent before (locally; a server's reply
    /// already means it).
    pub async fn sync(&self) {
        if let Backend::Local { engine, .. } = &self.backend {
            engine.sync().await;
        }
    }

    pub async fn keys(&mut self, keys: &[&str]) {
        self.console.keys(keys).await;
    }

    pub async fn typed(&mut self, text: &str) {
        self.console.type_text(text).await;
    }

    /// Lets the console catch up with the engine (events, then a refresh).
    pub async fn settle(&mut self) {
        self.sync().await;
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

pub fn sample_conf() -> serde_json::Value {
    json!({"values": [1, 2, 3]})
}
