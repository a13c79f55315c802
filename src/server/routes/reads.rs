//! The read API (SPEC §7): windowed task queries with keyset cursors, one task, its log,
//! threads and stats. All of it reads the engine under a shared lock; nothing changes.

use super::App;
use crate::server::error::{ApiResult, err};
use crate::server::extract::Params;
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use taskyard_core::ErrorCode;
use taskyard_core::api::{SortKey, SortOrder, TaskPage, TaskQuery};
use taskyard_core::model::{LogPage, Outcome, Status, TaskDetail, TaskId};
use taskyard_core::{Error, error::ErrorCode as Code};

pub const TASK_PARAMS: &[&str] = &[
    "filter", "status", "outcome", "name", "thread", "ref_id", "parent", "sort", "order", "limit",
    "after", "offset",
];

/// Builds the engine query from `GET /api/v1/tasks` parameters: the field parameters
/// become terms of the filter language, so there is one matching path.
pub fn task_query(params: &Params) -> ApiResult<TaskQuery> {
    params.only(TASK_PARAMS)?;
    let mut filter = params.get("filter").unwrap_or("").trim().to_string();
    let mut term = |field: &str, value: &str| -> ApiResult<()> {
        if value.contains('"') {
            return Err(err(
                ErrorCode::InvalidQuery,
                format!("`{field}={value}` contains a double quote, which no {field} has"),
            ));
        }
        if !filter.is_empty() {
            filter.push(' ');
        }
        filter.push_str(&format!("{field}:\"{value}\""));
        Ok(())
    };
    if let Some(s) = params.get("status") {
        if Status::parse(s).is_none() {
            return Err(err(
                ErrorCode::InvalidQuery,
                format!(
                    "`status={s}` is not a status; use one of {}",
                    Status::ALL.map(Status::as_str).join(", ")
                ),
            ));
        }
        term("status", s)?;
    }
    if let Some(o) = params.get("outcome") {
        if Outcome::parse(o).is_none() {
            return Err(err(
                ErrorCode::InvalidQuery,
                format!(
                    "`outcome={o}` is not an outcome; use one of {}",
                    Outcome::ALL.map(Outcome::as_str).join(", ")
                ),
            ));
        }
        term("outcome", o)?;
    }
    if let Some(n) = params.get("name") {
        term("name", n)?;
    }
    if let Some(t) = params.get("thread") {
        term("thread", t)?;
    }
    if let Some(r) = params.number::<i64>("ref_id", None, i64::MIN..=i64::MAX)? {
        term("ref", &r.to_string())?;
    }
    if let Some(p) = params.number::<u64>("parent", None, 0..=u64::MAX)? {
        term("parent", &p.to_string())?;
    }
    let sort = match params.get("sort") {
        None => SortKey::Id,
        Some(s) => SortKey::parse(s).ok_or_else(|| {
            err(
                ErrorCode::InvalidQuery,
                format!(
                    "`sort={s}` is not a sort key; use one of {}",
                    SortKey::ALL.map(SortKey::as_str).join(", ")
                ),
            )
        })?,
    };
    let order = match params.get("order") {
        None | Some("asc") => SortOrder::Asc,
        Some("desc") => SortOrder::Desc,
        Some(o) => {
            return Err(err(
                ErrorCode::InvalidQuery,
                format!("`order={o}` is not an order; use asc or desc"),
            ));
        }
    };
    let limit = params
        .number::<usize>("limit", Some(100), 1..=1000)?
        .unwrap_or(100);
    let offset = params
        .number::<usize>("offset", Some(0), 0..=usize::MAX)?
        .unwrap_or(0);
    Ok(TaskQuery {
        filter,
        sort,
        order,
        offset,
        limit,
        after: params.get("after").map(str::to_string),
    })
}

pub async fn tasks(State(app): State<App>, params: Params) -> ApiResult<Json<TaskPage>> {
    let query = task_query(&params)?;
    Ok(Json(app.engine.query(&query)?))
}

pub fn parse_id(text: &str) -> ApiResult<TaskId> {
    text.parse().map_err(|_| {
        err(
            ErrorCode::InvalidQuery,
            format!("`{text}` is not a task id; ids are whole numbers, e.g. /api/v1/tasks/12"),
        )
    })
}

pub async fn task(
    State(app): State<App>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<TaskDetail>> {
    params.only(&[])?;
    let id = parse_id(&id)?;
    app.engine
        .task_detail(id)
        .map(Json)
        .ok_or_else(|| Error::task_not_found(id).into())
}

pub async fn log(
    State(app): State<App>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<LogPage>> {
    params.only(&["after", "limit"])?;
    let id = parse_id(&id)?;
    let after = params
        .number::<u64>("after", Some(0), 0..=u64::MAX)?
        .unwrap_or(0);
    let limit = params
        .number::<usize>("limit", Some(1000), 1..=10_000)?
        .unwrap_or(1000);
    Ok(Json(app.engine.log(id, after, limit)?))
}

pub async fn threads(State(app): State<App>, params: Params) -> ApiResult<Json<Value>> {
    params.only(&[])?;
    Ok(Json(json!({ "threads": app.engine.threads() })))
}

pub async fn stats(State(app): State<App>, params: Params) -> ApiResult<Json<Value>> {
    params.only(&[])?;
    let mut stats = serde_json::to_value(app.engine.stats())
        .map_err(|e| Error::new(Code::Internal, format!("stats could not be encoded: {e}")))?;
    // A thread's stats are by status only (SPEC §7).
    if let Some(threads) = stats.get_mut("by_thread").and_then(Value::as_object_mut) {
        for counts in threads.values_mut() {
            if let Some(c) = counts.as_object_mut() {
                c.remove("by_outcome");
            }
        }
    }
    Ok(Json(stats))
}
