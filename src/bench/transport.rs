//! The transport floor of `bench http`'s drain: the same worker loops, through the same
//! client, against a bare axum server that answers the executor calls at once (no
//! engine, no storage, no middleware). Nothing taskyard does can drain faster than this on
//! the machine at hand, so the drain's rate reads against it, not against a guess.

use super::http::{client_for, worker_loop};
use axum::routing::post;
use axum::serve::ListenerExt as _;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use taskyard_core::api::{ExecRef, PollRequest, SuccessRequest};
use taskyard_core::model::{Outcome, Status};

/// Drains `tasks` made-up tasks with `workers` loops of `inflight` calls each; returns
/// once all are done.
pub async fn drain(
    tasks: usize,
    workers: usize,
    inflight: usize,
    http2: bool,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = tokio::spawn(async move { axum::serve(listener, router()).await });
    let client = client_for(addr, http2)?;
    let claimed = Arc::new(AtomicUsize::new(0));
    let loops: Vec<_> = (0..workers)
        .map(|i| {
            tokio::spawn(worker_loop(
                client.clone(),
                format!("floor-{i}"),
                claimed.clone(),
                tasks,
                inflight,
            ))
        })
        .collect();
    let mut outcome = Ok(());
    for l in loops {
        if let Err(e) = l.await? {
            outcome = Err(e);
        }
    }
    server.abort();
    outcome
}

/// Each poll hands out as many new tasks as asked for; start and success echo the call.
fn router() -> Router {
    let next = Arc::new(AtomicU64::new(1));
    Router::new()
        .route(
            "/api/v1/executor/poll",
            post(move |Json(req): Json<PollRequest>| async move {
                let first = next.fetch_add(u64::from(req.max), Ordering::Relaxed);
                let tasks: Vec<Value> = (first..first + u64::from(req.max))
                    .map(|id| receipt(id, Status::Requested, None, uuid::Uuid::new_v4()))
                    .collect();
                Json(json!({ "tasks": tasks }))
            }),
        )
        .route(
            "/api/v1/executor/start",
            post(|Json(call): Json<ExecRef>| async move {
                Json(receipt(call.id, Status::InProgress, None, call.exec_id))
            }),
        )
        .route(
            "/api/v1/executor/success",
            post(|Json(call): Json<SuccessRequest>| async move {
                Json(receipt(
                    call.id,
                    Status::Done,
                    Some(Outcome::Succeeded),
                    call.exec_id,
                ))
            }),
        )
}

fn receipt(id: u64, status: Status, outcome: Option<Outcome>, exec_id: uuid::Uuid) -> Value {
    json!({"id": id, "status": status, "outcome": outcome, "attempt": 1, "exec_id": exec_id})
}
