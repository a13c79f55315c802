//! The console's source over an in-process engine ([`EngineHandle`]).

use super::{Connection, Mode, Source, SourceEvent};
use crate::sandbox::Workload;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use std::sync::Arc;
use taskyard_core::Millis;
use taskyard_core::api::{Action, ActionReply, Counts, Requester, Stats, TaskPage, TaskQuery};
use taskyard_core::error::{Error, Result};
use taskyard_core::model::{Definition, LogPage, ScheduleRow, TaskDetail, TaskId, ThreadRow};
use taskyard_core::runtime::{Delivery, EngineHandle};

/// Who the console acts as on a local engine (SPEC §1 `requester`).
pub const REQUESTER: &str = "local";

pub struct LocalSource {
    engine: EngineHandle,
    mode: Mode,
    workload: Option<Arc<Workload>>,
}

impl LocalSource {
    pub fn new(engine: EngineHandle) -> LocalSource {
        LocalSource {
            engine,
            mode: Mode::Local,
            workload: None,
        }
    }

    /// The sandbox: the same engine, with a workload `W` starts and stops.
    pub fn sandbox(engine: EngineHandle, workload: Arc<Workload>) -> LocalSource {
        LocalSource {
            engine,
            mode: Mode::Sandbox,
            workload: Some(workload),
        }
    }

    pub fn engine(&self) -> &EngineHandle {
        &self.engine
    }
}

impl Source for LocalSource {
    fn mode(&self) -> Mode {
        self.mode.clone()
    }

    fn now(&self) -> Millis {
        self.engine.now()
    }

    fn query(&self, query: TaskQuery) -> BoxFuture<'_, Result<TaskPage>> {
        let engine = self.engine.clone();
        Box::pin(async move {
            // A sorted query over a million tasks takes a while: keep it off the
            // console's own thread.
            tokio::task::spawn_blocking(move || engine.query(&query))
                .await
                .map_err(|e| Error::internal(format!("the query task failed: {e}")))?
        })
    }

    fn counts(&self) -> BoxFuture<'_, Result<Counts>> {
        Box::pin(async move { Ok(self.engine.counts()) })
    }

    fn stats(&self) -> BoxFuture<'_, Result<Stats>> {
        Box::pin(async move { Ok(self.engine.stats()) })
    }

    fn threads(&self) -> BoxFuture<'_, Result<Vec<ThreadRow>>> {
        Box::pin(async move { Ok(self.engine.threads()) })
    }

    fn definitions(&self) -> BoxFuture<'_, Result<Vec<Definition>>> {
        Box::pin(async move { Ok(self.engine.definitions()) })
    }

    fn schedules(&self) -> BoxFuture<'_, Result<Vec<ScheduleRow>>> {
        Box::pin(async move { Ok(self.engine.schedules()) })
    }

    fn task(&self, id: TaskId) -> BoxFuture<'_, Result<TaskDetail>> {
        Box::pin(async move {
            self.engine
                .task_detail(id)
                .ok_or_else(|| Error::task_not_found(id))
        })
    }

    fn log(&self, id: TaskId, after: u64, limit: usize) -> BoxFuture<'_, Result<LogPage>> {
        Box::pin(async move { self.engine.log(id, after, limit) })
    }

    fn act(&self, action: Action) -> BoxFuture<'_, Result<ActionReply>> {
        Box::pin(async move { self.engine.act(action, Requester::new(REQUESTER)).await })
    }

    fn events(&self, since: Option<u64>) -> BoxStream<'static, SourceEvent> {
        let sub = self.engine.subscribe(since);
        stream::unfold(Some(sub), |sub| async move {
            let mut sub = sub?;
            match sub.next().await {
                Delivery::Events(batch) => Some((SourceEvent::Events(batch), Some(sub))),
                Delivery::Reset => Some((SourceEvent::Reset, Some(sub))),
                Delivery::Closed => Some((SourceEvent::Connection(Connection::Closed), None)),
            }
        })
        .boxed()
    }

    fn workload(&self) -> Option<bool> {
        self.workload.as_ref().map(|w| w.is_running())
    }

    fn set_workload(&self, on: bool) -> BoxFuture<'_, Result<bool>> {
        match &self.workload {
            Some(w) => {
                w.set_running(on);
                Box::pin(async move { Ok(on) })
            }
            None => Box::pin(async {
                Err(Error::new(
                    taskyard_core::ErrorCode::Forbidden,
                    "there is no sandbox workload here: W only works in the sandbox (`taskyard` with no arguments)",
                ))
            }),
        }
    }
}
