//! The executor protocol over HTTP (SPEC §6). The engine parks long polls itself; here a
//! long poll only waits on its reply, so an idle one costs a parked entry and a task.

use super::App;
use crate::server::error::ApiResult;
use crate::server::extract::{Body, parse_json};
use crate::server::metrics::GaugeGuard;
use axum::Json;
use axum::extract::State;
use taskyard_core::ErrorCode;
use taskyard_core::api::{
    ExecRef, FailRequest, NotifyReply, NotifyRequest, PollReply, PollRequest, SuccessRequest,
};
use taskyard_core::model::Task;

pub async fn poll(State(app): State<App>, Body(body): Body) -> ApiResult<Json<PollReply>> {
    let req: PollRequest = parse_json(&body, ErrorCode::InvalidAction, "the poll request")?;
    if req.wait_ms == 0 {
        let tasks = app.engine.poll(req).await?;
        return Ok(Json(PollReply { tasks }));
    }
    let _waiting = GaugeGuard::new(&app.metrics.long_polls);
    let mut shutdown = app.shutdown.clone();
    tokio::select! {
        tasks = app.engine.poll(req) => Ok(Json(PollReply { tasks: tasks? })),
        // On shutdown a waiting poll ends empty; the worker polls the next server.
        _ = shutdown.wait_for(|stop| *stop) => Ok(Json(PollReply { tasks: Vec::new() })),
    }
}

pub async fn start(State(app): State<App>, Body(body): Body) -> ApiResult<Json<Task>> {
    let call: ExecRef = parse_json(&body, ErrorCode::InvalidAction, "the start call")?;
    Ok(Json(app.engine.start(call).await?))
}

pub async fn notify(State(app): State<App>, Body(body): Body) -> ApiResult<Json<NotifyReply>> {
    let req: NotifyRequest = parse_json(&body, ErrorCode::InvalidAction, "the notify call")?;
    Ok(Json(app.engine.notify(req).await?))
}

pub async fn success(State(app): State<App>, Body(body): Body) -> ApiResult<Json<Task>> {
    let req: SuccessRequest = parse_json(&body, ErrorCode::InvalidAction, "the success call")?;
    Ok(Json(app.engine.succeed(req).await?))
}

pub async fn fail(State(app): State<App>, Body(body): Body) -> ApiResult<Json<Task>> {
    let req: FailRequest = parse_json(&body, ErrorCode::InvalidAction, "the fail call")?;
    Ok(Json(app.engine.fail(req).await?))
}
