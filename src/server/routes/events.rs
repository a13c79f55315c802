//! `GET /api/v1/events`: committed events as Server-Sent Events with `id: <seq>`, replay
//! after `?since=` or `Last-Event-ID`, `reset` when the client is too far behind, and
//! keep-alive comments. A slow client lags on its own subscription and gets a `reset`;
//! it never slows the engine.

use super::App;
use crate::server::error::{ApiResult, err};
use crate::server::extract::Params;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use taskyard_core::ErrorCode;
use taskyard_core::model::Event;
use taskyard_core::runtime::{Delivery, Subscription};

/// Counts an open stream for as long as it lives.
struct Open(App);

impl Open {
    fn new(app: App) -> Open {
        app.metrics.sse_clients.fetch_add(1, Ordering::Relaxed);
        Open(app)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.metrics.sse_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Stream {
    open: Open,
    sub: Subscription,
    pending: VecDeque<SseEvent>,
    /// After a reset, events up to the seq it named are already in the re-read state.
    skip_through: u64,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

fn event(e: &Event) -> SseEvent {
    let data = serde_json::to_string(e).unwrap_or_else(|_| "{}".into());
    SseEvent::default()
        .id(e.seq.to_string())
        .event(e.kind.type_name())
        .data(data)
}

/// Tells the client it missed events: re-read state, then go on from `last_seq`.
fn reset(last_seq: u64) -> SseEvent {
    SseEvent::default()
        .id(last_seq.to_string())
        .event("reset")
        .data(format!("{{\"last_seq\":{last_seq}}}"))
}

fn since(headers: &HeaderMap, params: &Params) -> ApiResult<Option<u64>> {
    if let Some(v) = headers.get("last-event-id") {
        let text = v.to_str().unwrap_or("").trim();
        if text.is_empty() {
            return Ok(None);
        }
        return text.parse().map(Some).map_err(|_| {
            err(
                ErrorCode::InvalidQuery,
                format!("Last-Event-ID `{text}` is not an event seq (a whole number)"),
            )
        });
    }
    params.number::<u64>("since", None, 0..=u64::MAX)
}

pub async fn stream(
    State(app): State<App>,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Response> {
    params.only(&["since"])?;
    let since = since(&headers, &params)?;
    let last = app.engine.last_seq();
    let mut pending = VecDeque::new();
    // A seq from the future means the server lost events the client saw (a memory-only
    // server restarted): the client must re-read state.
    let sub = match since {
        Some(s) if s > last => {
            pending.push_back(reset(last));
            app.engine.subscribe(None)
        }
        s => app.engine.subscribe(s),
    };
    let state = Stream {
        open: Open::new(app.clone()),
        sub,
        pending,
        skip_through: 0,
        shutdown: app.shutdown.clone(),
    };
    let body = futures::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(e) = s.pending.pop_front() {
                return Some((Ok::<_, Infallible>(e), s));
            }
            let delivery = tokio::select! {
                d = s.sub.next() => d,
                _ = s.shutdown.wait_for(|stop| *stop) => return None,
            };
            match delivery {
                Delivery::Events(batch) => {
                    let skip = s.skip_through;
                    s.pending
                        .extend(batch.iter().filter(|e| e.seq > skip).map(event));
                }
                Delivery::Reset => {
                    let last = s.open.0.engine.last_seq();
                    s.skip_through = last;
                    s.pending.push_back(reset(last));
                }
                Delivery::Closed => return None,
            }
        }
    });
    Ok(Sse::new(body)
        .keep_alive(KeepAlive::new().interval(app.keep_alive).text("keep-alive"))
        .into_response())
}
