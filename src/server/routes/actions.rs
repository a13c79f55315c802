//! `POST /api/v1/actions` (SPEC §5): parse, hand to the engine, reply what it did.

use super::{App, Caller};
use crate::server::error::ApiResult;
use crate::server::extract::{Body, parse_json};
use axum::Extension;
use axum::Json;
use axum::extract::State;
use taskyard_core::ErrorCode;
use taskyard_core::api::{Action, ActionReply};

pub async fn act(
    State(app): State<App>,
    Extension(Caller(who)): Extension<Caller>,
    Body(body): Body,
) -> ApiResult<Json<ActionReply>> {
    let action: Action = parse_json(&body, ErrorCode::InvalidAction, "the action")?;
    Ok(Json(app.engine.act(action, who).await?))
}
