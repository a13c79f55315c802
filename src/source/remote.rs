//! The console's source over HTTP: the typed client for reads and actions, the SSE
//! stream for events. It never downloads all tasks: the console asks for its window.

use super::{Connection, Mode, Source, SourceEvent};
use crate::client::{Client, ClientError, StreamItem};
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use std::sync::Arc;
use taskyard_core::Millis;
use taskyard_core::api::{Action, ActionReply, Counts, Stats, TaskPage, TaskQuery};
use taskyard_core::error::{Error, ErrorCode, Result};
use taskyard_core::model::{Definition, LogPage, ScheduleRow, TaskDetail, TaskId, ThreadRow};

pub struct RemoteSource {
    client: Client,
}

impl RemoteSource {
    pub fn new(client: Client) -> RemoteSource {
        RemoteSource { client }
    }
}

/// The server's error as is; a transport failure as an error that says what to check.
fn error(e: ClientError) -> Error {
    match e {
        ClientError::Api { error, .. } => error,
        ClientError::Transport(m) => Error::new(ErrorCode::Internal, m),
        ClientError::Decode(m) => Error::new(
            ErrorCode::Internal,
            format!(
                "the server's answer was not understood ({m}); is it the same taskyard version?"
            ),
        ),
    }
}

impl Source for RemoteSource {
    fn mode(&self) -> Mode {
        Mode::Remote(self.client.base().to_string())
    }

    fn now(&self) -> Millis {
        Millis::from_datetime(chrono::Utc::now())
    }

    fn query(&self, query: TaskQuery) -> BoxFuture<'_, Result<TaskPage>> {
        Box::pin(async move { self.client.tasks(&query).await.map_err(error) })
    }

    fn counts(&self) -> BoxFuture<'_, Result<Counts>> {
        Box::pin(async move {
            let s = self.client.stats().await.map_err(error)?;
            Ok(Counts {
                by_status: s.by_status,
                by_outcome: s.by_outcome,
            })
        })
    }

    fn stats(&self) -> BoxFuture<'_, Result<Stats>> {
        Box::pin(async move { self.client.stats().await.map_err(error) })
    }

    fn threads(&self) -> BoxFuture<'_, Result<Vec<ThreadRow>>> {
        Box::pin(async move { self.client.threads().await.map_err(error) })
    }

    fn definitions(&self) -> BoxFuture<'_, Result<Vec<Definition>>> {
        Box::pin(async move { self.client.definitions().await.map_err(error) })
    }

    fn schedules(&self) -> BoxFuture<'_, Result<Vec<ScheduleRow>>> {
        Box::pin(async move { self.client.schedules().await.map_err(error) })
    }

    fn task(&self, id: TaskId) -> BoxFuture<'_, Result<TaskDetail>> {
        Box::pin(async move { self.client.task(id).await.map_err(error) })
    }

    fn log(&self, id: TaskId, after: u64, limit: usize) -> BoxFuture<'_, Result<LogPage>> {
        Box::pin(async move { self.client.log(id, after, limit).await.map_err(error) })
    }

    fn act(&self, action: Action) -> BoxFuture<'_, Result<ActionReply>> {
        Box::pin(async move { self.client.act(&action).await.map_err(error) })
    }

    fn events(&self, since: Option<u64>) -> BoxStream<'static, SourceEvent> {
        struct State {
            events: crate::client::EventStream,
            /// Connected before: a new connection may have missed events.
            was_connected: bool,
            pending: Vec<SourceEvent>,
        }
        let state = State {
            events: self.client.events(since),
            was_connected: false,
            pending: Vec::new(),
        };
        stream::unfold(Some(state), |state| async move {
            let mut st = state?;
            if let Some(e) = st.pending.pop() {
                return Some((e, Some(st)));
            }
            match st.events.next().await {
                Ok(StreamItem::Connected) => {
                    let up = SourceEvent::Connection(Connection::Connected);
                    if st.was_connected {
                        // Back after a break: re-read, in case the resume missed anything.
                        st.pending.push(SourceEvent::Reset);
                    }
                    st.was_connected = true;
                    Some((up, Some(st)))
                }
                Ok(StreamItem::Event(e)) => {
                    Some((SourceEvent::Events(Arc::new(vec![*e])), Some(st)))
                }
                Ok(StreamItem::Reset { .. }) => Some((SourceEvent::Reset, Some(st))),
                Ok(StreamItem::Disconnected {
                    retry_in, attempt, ..
                }) => Some((
                    SourceEvent::Connection(Connection::Reconnecting {
                        attempt,
                        retry_in_ms: retry_in.as_millis() as u64,
                    }),
                    Some(st),
                )),
                // The server refused the stream itself (token, role): retrying cannot help.
                Err(e) => Some((
                    SourceEvent::Connection(Connection::Failed(error(e).message)),
                    None,
                )),
            }
        })
        .boxed()
    }
}
