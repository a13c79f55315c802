//! The one interface the console talks to (SPEC §9): windowed task queries, counts and
//! stats, threads, definitions, one task with its log, the event stream and the actions.
//! [`local::LocalSource`] implements it over an in-process engine; the remote one over
//! HTTP. Views never know which one they have.

pub mod local;
pub mod remote;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use std::sync::Arc;
use taskyard_core::Millis;
use taskyard_core::api::{Action, ActionReply, Counts, Stats, TaskPage, TaskQuery};
use taskyard_core::error::Result;
use taskyard_core::model::{
    Definition, Event, LogPage, ScheduleRow, TaskDetail, TaskId, ThreadRow,
};

/// Where the data comes from, as the header shows it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Mode {
    /// An in-process engine with the built-in definitions and a synthetic workload.
    Sandbox,
    /// An in-process engine without the sandbox (tests, benchmarks).
    Local,
    /// A server, by URL.
    Remote(String),
}

impl Mode {
    pub fn label(&self) -> String {
        match self {
            Mode::Sandbox => "sandbox".into(),
            Mode::Local => "local".into(),
            Mode::Remote(url) => url.clone(),
        }
    }
}

/// The state of the link to the data, shown in the header.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Connection {
    Connected,
    /// Lost; the next attempt is in `retry_in_ms` (attempt number `attempt`).
    Reconnecting {
        attempt: u32,
        retry_in_ms: u64,
    },
    /// Gone for good (the engine stopped).
    Closed,
    /// Refused for good (a bad token, a role without access): the server's message.
    Failed(String),
}

/// What the event stream delivers.
#[derive(Clone, Debug)]
pub enum SourceEvent {
    /// Committed events, in `seq` order.
    Events(Arc<Vec<Event>>),
    /// Events were missed: re-read everything, then carry on.
    Reset,
    /// The link changed state.
    Connection(Connection),
}

/// The data a console needs. Every method that may need I/O is async, so the console
/// never blocks its input loop on it.
pub trait Source: Send + Sync + 'static {
    fn mode(&self) -> Mode;
    /// The source's idea of now (the engine's clock locally, this machine's remotely).
    fn now(&self) -> Millis;
    /// A window of tasks matching a filter, sorted.
    fn query(&self, query: TaskQuery) -> BoxFuture<'_, Result<TaskPage>>;
    fn counts(&self) -> BoxFuture<'_, Result<Counts>>;
    fn stats(&self) -> BoxFuture<'_, Result<Stats>>;
    fn threads(&self) -> BoxFuture<'_, Result<Vec<ThreadRow>>>;
    fn definitions(&self) -> BoxFuture<'_, Result<Vec<Definition>>>;
    /// Schedules with their next firing.
    fn schedules(&self) -> BoxFuture<'_, Result<Vec<ScheduleRow>>>;
    /// One task with its attempts, children and workspace files.
    fn task(&self, id: TaskId) -> BoxFuture<'_, Result<TaskDetail>>;
    /// A page of one task's log: entries with `seq > after`.
    fn log(&self, id: TaskId, after: u64, limit: usize) -> BoxFuture<'_, Result<LogPage>>;
    /// Applies an action; the reply comes once it is committed.
    fn act(&self, action: Action) -> BoxFuture<'_, Result<ActionReply>>;
    /// The event stream from after `since` (or from now): batches, resets and link
    /// changes. It ends when the source is gone for good.
    fn events(&self, since: Option<u64>) -> BoxStream<'static, SourceEvent>;
    /// Whether a sandbox workload runs: `None` when there is no workload to control.
    fn workload(&self) -> Option<bool> {
        None
    }
    /// Starts or stops the sandbox workload; returns whether it now runs.
    fn set_workload(&self, on: bool) -> BoxFuture<'_, Result<bool>> {
        let _ = on;
        Box::pin(async {
            Err(taskyard_core::Error::new(
                taskyard_core::ErrorCode::Forbidden,
                "there is no sandbox workload here: W only works in the local sandbox (`taskyard` with no arguments)",
            ))
        })
    }
}
