//! Schedules (SPEC §4): list, read, register or change, delete.

use super::App;
use crate::server::error::{ApiError, ApiResult, err};
use crate::server::extract::{Body, Params, parse_json};
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use taskyard_core::ErrorCode;
use taskyard_core::model::{Schedule, ScheduleRow};

fn not_found(name: &str) -> ApiError {
    err(
        ErrorCode::ScheduleNotFound,
        format!(
            "there is no schedule `{name}`; list them with GET /api/v1/schedules (or `taskyard schedules`)"
        ),
    )
}

pub async fn list(State(app): State<App>, params: Params) -> ApiResult<Json<Value>> {
    params.only(&[])?;
    Ok(Json(json!({ "schedules": app.engine.schedules() })))
}

pub async fn get_one(
    State(app): State<App>,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Json<ScheduleRow>> {
    params.only(&[])?;
    app.engine
        .schedules()
        .into_iter()
        .find(|s| s.schedule.name == name)
        .map(Json)
        .ok_or_else(|| not_found(&name))
}

/// The body is a schedule; its `name` may be left out (the path gives it) but must not
/// disagree with the path.
pub async fn put(
    State(app): State<App>,
    Path(name): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<ScheduleRow>> {
    let mut value: Value = parse_json(&body, ErrorCode::InvalidSchedule, "the schedule")?;
    let Some(object) = value.as_object_mut() else {
        return Err(err(
            ErrorCode::InvalidSchedule,
            "the schedule must be a JSON object, e.g. {\"cron\":\"@daily\",\"task\":{\"name\":\"sum\"}}",
        ));
    };
    match object.get("name") {
        None => {
            object.insert("name".into(), Value::String(name.clone()));
        }
        Some(Value::String(n)) if *n == name => {}
        Some(other) => {
            return Err(err(
                ErrorCode::InvalidSchedule,
                format!(
                    "the body names the schedule {other} but the path names `{name}`; make them agree or leave `name` out"
                ),
            ));
        }
    }
    let schedule: Schedule = serde_json::from_value(value)
        .map_err(|e| err(ErrorCode::InvalidSchedule, format!("the schedule: {e}")))?;
    Ok(Json(app.engine.put_schedule(schedule).await?))
}

pub async fn delete(
    State(app): State<App>,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Json<Schedule>> {
    params.only(&[])?;
    Ok(Json(app.engine.delete_schedule(&name).await?))
}
