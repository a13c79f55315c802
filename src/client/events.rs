//! The event stream (`GET /api/v1/events`) as a client sees it: it connects, yields
//! events, and when the connection breaks or goes quiet it reconnects with backoff and
//! resumes after the last event it delivered, so nothing is missed silently: either the
//! events come, or a [`StreamItem::Reset`] says to re-read state.

use super::{Client, ClientError, api_error};
use eventsource_stream::{EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use std::pin::Pin;
use std::time::Duration;
use taskyard_core::model::Event;

/// What the stream yields.
#[derive(Clone, Debug)]
pub enum StreamItem {
    /// Connected (or connected again after a break).
    Connected,
    Event(Box<Event>),
    /// Events were missed (the client fell behind, or asked for more than the server
    /// keeps): re-read state; the stream goes on after `last_seq`.
    Reset {
        last_seq: u64,
    },
    /// The connection broke or could not be made; the next call retries after `retry_in`
    /// (`attempt` counts the tries since the last success, from 1).
    Disconnected {
        error: String,
        retry_in: Duration,
        attempt: u32,
    },
}

/// Why the byte stream ended.
#[derive(Debug)]
enum Broken {
    Http(String),
    Idle,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Broken::Http(e) => f.write_str(e),
            Broken::Idle => f.write_str("nothing heard from the server (not even a keep-alive)"),
        }
    }
}

type Events =
    Pin<Box<dyn Stream<Item = Result<eventsource_stream::Event, EventStreamError<Broken>>> + Send>>;

const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(5);
/// The server sends a keep-alive every 15 s; three missed ones mean a dead connection.
const IDLE_LIMIT: Duration = Duration::from_secs(45);

pub struct EventStream {
    client: Client,
    last_seq: Option<u64>,
    inner: Option<Events>,
    retry: Duration,
    attempts: u32,
    wait: Option<Duration>,
    idle_limit: Duration,
}

impl EventStream {
    pub(super) fn new(client: Client, since: Option<u64>) -> EventStream {
        EventStream {
            client,
            last_seq: since,
            inner: None,
            retry: FIRST_RETRY,
            attempts: 0,
            wait: None,
            idle_limit: IDLE_LIMIT,
        }
    }

    /// The seq of the last event delivered (or of the last reset), to resume from.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// How long silence (not even keep-alives) may last before reconnecting.
    pub fn set_idle_limit(&mut self, limit: Duration) {
        self.idle_limit = limit;
    }

    /// Connects; the future owns what it needs (borrowing `self` across the request would
    /// make `next` not `Send`, and the console reads the stream from a spawned task).
    fn connect(
        &self,
    ) -> impl std::future::Future<Output = Result<Events, ClientError>> + Send + 'static {
        let client = self.client.clone();
        let last_seq = self.last_seq;
        let idle = self.idle_limit;
        async move { Self::open(client, last_seq, idle).await }
    }

    async fn open(
        client: Client,
        last_seq: Option<u64>,
        idle: Duration,
    ) -> Result<Events, ClientError> {
        let query: Vec<(&str, String)> = last_seq
            .map(|s| vec![("since", s.to_string())])
            .unwrap_or_default();
        let url = client.url("/api/v1/events", &query)?;
        let resp = client
            .request(reqwest::Method::GET, url)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| client.transport(e))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.bytes().await.unwrap_or_default();
            return Err(api_error(status, &body));
        }
        let bytes = resp.bytes_stream();
        // Each chunk (keep-alives included) must come within `idle`.
        let timed = futures::stream::unfold(Some(bytes), move |state| async move {
            let mut bytes = state?;
            match tokio::time::timeout(idle, bytes.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(bytes))),
                Ok(Some(Err(e))) => Some((Err(Broken::Http(e.to_string())), None)),
                Ok(None) => None,
                Err(_) => Some((Err(Broken::Idle), None)),
            }
        });
        Ok(Box::pin(timed.eventsource()))
    }

    fn broken(&mut self, error: String) -> StreamItem {
        self.inner = None;
        let jitter = Duration::from_millis(rand::random::<u64>() % 100);
        let retry_in = self.retry + jitter;
        self.retry = (self.retry * 2).min(MAX_RETRY);
        self.wait = Some(retry_in);
        self.attempts += 1;
        StreamItem::Disconnected {
            error,
            retry_in,
            attempt: self.attempts,
        }
    }

    /// The next item. Errors only when retrying cannot help: the server refused the
    /// stream itself (bad token, wrong role, bad `since`).
    pub async fn next(&mut self) -> Result<StreamItem, ClientError> {
        loop {
            let Some(inner) = self.inner.as_mut() else {
                if let Some(wait) = self.wait.take() {
                    tokio::time::sleep(wait).await;
                }
                match self.connect().await {
                    Ok(events) => {
                        self.inner = Some(events);
                        self.retry = FIRST_RETRY;
                        self.attempts = 0;
                        return Ok(StreamItem::Connected);
                    }
                    Err(e @ ClientError::Api { status, .. })
                        if (400..500).contains(&status) && status != 429 =>
                    {
                        return Err(e);
                    }
                    Err(e) => return Ok(self.broken(e.to_string())),
                }
            };
            match inner.next().await {
                Some(Ok(ev)) => {
                    if ev.event == "reset" {
                        let last_seq = serde_json::from_str::<serde_json::Value>(&ev.data)
                            .ok()
                            .and_then(|v| v.get("last_seq").and_then(serde_json::Value::as_u64))
                            .or_else(|| ev.id.parse().ok())
                            .unwrap_or(0);
                        self.last_seq = Some(last_seq);
                        return Ok(StreamItem::Reset { last_seq });
                    }
                    // An event type this client does not know is skipped, not fatal.
                    if let Ok(event) = serde_json::from_str::<Event>(&ev.data) {
                        self.last_seq = Some(event.seq);
                        return Ok(StreamItem::Event(Box::new(event)));
                    }
                }
                Some(Err(e)) => return Ok(self.broken(e.to_string())),
                None => return Ok(self.broken("the server closed the event stream".into())),
            }
        }
    }
}
