//! In-process handlers (SPEC §10): async, cancellable, with the task's conf, a workspace,
//! a logger and a progress reporter. They run through the same engine calls as external
//! workers: claim, start, heartbeat, success or failure.

use super::EngineHandle;
use super::driver::Command;
use crate::api::{Action, ActionReply, Requester};
use crate::error::Result as EngineResult;
use crate::model::TaskId;
use crate::time::Millis;
use futures::future::BoxFuture;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Why a handler failed: a message for people, and optionally the `error` payload.
#[derive(Clone, Debug, PartialEq)]
pub struct HandlerError {
    pub message: String,
    pub error: Option<Value>,
}

impl HandlerError {
    pub fn new(message: impl Into<String>) -> HandlerError {
        HandlerError {
            message: message.into(),
            error: None,
        }
    }
}

impl<E: std::fmt::Display> From<E> for HandlerError {
    fn from(e: E) -> Self {
        HandlerError::new(e.to_string())
    }
}

pub type HandlerResult = Result<Value, HandlerError>;

pub trait Handler: Send + Sync + 'static {
    /// Runs one attempt. Dropping the future cancels it.
    fn run(&self, ctx: HandlerContext) -> BoxFuture<'static, HandlerResult>;
}

/// Any `Fn(HandlerContext) -> Future` is a handler.
impl<F, Fut> Handler for F
where
    F: Fn(HandlerContext) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = HandlerResult> + Send + 'static,
{
    fn run(&self, ctx: HandlerContext) -> BoxFuture<'static, HandlerResult> {
        Box::pin(self(ctx))
    }
}

/// Handlers by name, as `builtin:<name>` refers to them.
#[derive(Clone, Default)]
pub struct Handlers {
    by_name: HashMap<String, Arc<dyn Handler>>,
}

impl Handlers {
    pub fn new() -> Handlers {
        Handlers::default()
    }

    /// The six built-ins of SPEC §10.
    pub fn builtin() -> Handlers {
        let mut h = Handlers::new();
        super::handlers::register_all(&mut h);
        h
    }

    pub fn register(&mut self, name: &str, handler: impl Handler) -> &mut Self {
        self.by_name.insert(name.to_string(), Arc::new(handler));
        self
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Handler>> {
        self.by_name.get(name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_name.keys().cloned().collect();
        names.sort();
        names
    }
}

/// What a running handler can see and do.
pub struct HandlerContext {
    pub id: TaskId,
    pub exec_id: Uuid,
    pub attempt: u32,
    pub conf: Value,
    pub(super) workspace: PathBuf,
    pub(super) engine: EngineHandle,
    pub(super) commands: mpsc::UnboundedSender<Command>,
}

impl HandlerContext {
    /// Appends a line to the task's log (also a heartbeat).
    pub fn log(&self, line: impl Into<String>) {
        let _ = self.commands.send(Command::HandlerNotify {
            id: self.id,
            exec_id: self.exec_id,
            progress: None,
            line: Some(line.into()),
        });
    }

    /// Reports progress, 0.0–1.0 (also a heartbeat).
    pub fn progress(&self, fraction: f64) {
        let _ = self.commands.send(Command::HandlerNotify {
            id: self.id,
            exec_id: self.exec_id,
            progress: Some(fraction.clamp(0.0, 1.0)),
            line: None,
        });
    }

    /// The task's workspace directory, created on first use (and deleted when the task
    /// concludes unless `archive`, and always when it is cleaned).
    pub async fn workspace(&self) -> std::io::Result<PathBuf> {
        tokio::fs::create_dir_all(&self.workspace).await?;
        let _ = self
            .commands
            .send(Command::WorkspaceCreated { id: self.id });
        Ok(self.workspace.clone())
    }

    pub fn now(&self) -> Millis {
        self.engine.now()
    }

    /// Sleeps on the engine's clock (so tests with a manual clock control it).
    pub async fn sleep_until(&self, at: Millis) {
        self.engine.clock().sleep_until(at).await
    }

    pub async fn sleep(&self, ms: u64) {
        let at = self.now().plus_ms(ms);
        self.sleep_until(at).await
    }

    /// Runs an action on the engine as this task (`requester` is `task:<id>`).
    pub async fn act(&self, action: Action) -> EngineResult<ActionReply> {
        self.engine
            .act(action, Requester::new(format!("task:{}", self.id)))
            .await
    }

    pub fn engine(&self) -> &EngineHandle {
        &self.engine
    }
}
