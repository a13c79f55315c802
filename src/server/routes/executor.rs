//! The executor protocol over HTTP (SPEC §6). The engine parks long polls itself; here a
//! long poll only waits on its reply, so an idle one costs a parked entry and a task.

use super::App;
use crate::server::error::ApiResult;
use crate::server::extract::{Body, parse_json};
use crate::server::metrics::GaugeGuard;
use crate::server::reply::{Reply, reply, reply_of_tasks};
use axum::extract::State;
use taskyard_core::ErrorCode;
use taskyard_core::api::{
    ExecRef, FailRequest, NotifyReply, NotifyRequest, PollReply, PollRequest, SuccessRequest,
};
use taskyard_core::model::Task;

pub async fn poll(State(app): State<App>, Body(body): Body) -> ApiResult<Reply<PollReply>> {
    let req: PollRequest = parse_json(&body, ErrorCode::InvalidAction, "the poll request")?;
    let tasks = if req.wait_ms == 0 {
        app.engine.poll(req).await?
    } else {
        let _waiting = GaugeGuard::new(&app.metrics.long_polls);
        let mut shutdown = app.shutdown.clone();
        tokio::select! {
            tasks = app.engine.poll(req) => tasks?,
            // On shutdown a waiting poll ends empty; the worker polls the next server.
            _ = shutdown.wait_for(|stop| *stop) => Vec::new(),
        }
    };
    let n = tasks.len();
    Ok(reply_of_tasks(PollReply { tasks }, n))
}

pub async fn start(State(app): State<App>, Body(body): Body) -> ApiResult<Reply<Task>> {
    let call: ExecRef = parse_json(&body, ErrorCode::InvalidAction, "the start call")?;
    Ok(reply(app.engine.start(call).await?))
}

pub async fn notify(State(app): State<App>, Body(body): Body) -> ApiResult<Reply<NotifyReply>> {
    let req: NotifyRequest = parse_json(&body, ErrorCode::InvalidAction, "the notify call")?;
    Ok(reply(app.engine.notify(req).await?))
}

pub async fn success(State(app): State<App>, Body(body): Body) -> ApiResult<Reply<Task>> {
    let req: SuccessRequest = parse_json(&body, ErrorCode::InvalidAction, "the success call")?;
    Ok(reply(app.engine.succeed(req).await?))
}

pub async fn fail(State(app): State<App>, Body(body): Body) -> ApiResult<Reply<Task>> {
    let req: FailRequest = parse_json(&body, ErrorCode::InvalidAction, "the fail call")?;
    Ok(reply(app.engine.fail(req).await?))
}
