//! Definitions and schedules (SPEC §4, §7): the same four routes over two collections of
//! named things: list, read one, register or change (PUT), delete.

use super::App;
use crate::server::error::{ApiError, ApiResult, err};
use crate::server::extract::{Body, Params, parse_json};
use crate::server::reply::{Reply, reply, reply_of_tasks};
use axum::extract::{Path, State};
use serde::de::DeserializeOwned;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::future::Future;
use taskyard_core::model::{Definition, Schedule, ScheduleRow};
use taskyard_core::runtime::EngineHandle;
use taskyard_core::{ErrorCode, Result};

/// What differs between the collections; the routes below are the same for both.
pub trait Collection: Send + Sync + 'static {
    /// The body of a PUT.
    type Item: DeserializeOwned + Send + 'static;
    /// One entry of the list, and the answer to a GET.
    type Row: Serialize + Send + 'static;
    /// The answer to a PUT.
    type Saved: Serialize + Send + 'static;
    /// The answer to a DELETE.
    type Deleted: Serialize + Send + 'static;
    /// `definitions`: the list's key and the path segment.
    const PLURAL: &'static str;
    /// `definition`, for messages.
    const ONE: &'static str;
    const INVALID: ErrorCode;
    const NOT_FOUND: ErrorCode;
    /// The CLI command that lists them, for messages.
    const CLI_LIST: &'static str;
    /// A minimal valid body, for messages.
    const EXAMPLE: &'static str;

    fn rows(engine: &EngineHandle) -> Vec<Self::Row>;
    fn name(row: &Self::Row) -> &str;
    fn put(
        engine: &EngineHandle,
        item: Self::Item,
    ) -> impl Future<Output = Result<Self::Saved>> + Send;
    fn delete(
        engine: &EngineHandle,
        name: &str,
    ) -> impl Future<Output = Result<Self::Deleted>> + Send;
}

pub struct Definitions;

impl Collection for Definitions {
    type Item = Definition;
    type Row = Definition;
    type Saved = Definition;
    type Deleted = Definition;
    const PLURAL: &'static str = "definitions";
    const ONE: &'static str = "definition";
    const INVALID: ErrorCode = ErrorCode::InvalidDefinition;
    const NOT_FOUND: ErrorCode = ErrorCode::DefinitionNotFound;
    const CLI_LIST: &'static str = "taskyard defs";
    const EXAMPLE: &'static str = r#"{"executor":"external"}"#;

    fn rows(engine: &EngineHandle) -> Vec<Definition> {
        engine.definitions()
    }

    fn name(row: &Definition) -> &str {
        &row.name
    }

    async fn put(engine: &EngineHandle, item: Definition) -> Result<Definition> {
        engine.put_definition(item).await
    }

    async fn delete(engine: &EngineHandle, name: &str) -> Result<Definition> {
        engine.delete_definition(name).await
    }
}

pub struct Schedules;

impl Collection for Schedules {
    type Item = Schedule;
    type Row = ScheduleRow;
    type Saved = ScheduleRow;
    type Deleted = Schedule;
    const PLURAL: &'static str = "schedules";
    const ONE: &'static str = "schedule";
    const INVALID: ErrorCode = ErrorCode::InvalidSchedule;
    const NOT_FOUND: ErrorCode = ErrorCode::ScheduleNotFound;
    const CLI_LIST: &'static str = "taskyard schedules";
    const EXAMPLE: &'static str = r#"{"cron":"@daily","task":{"name":"sum"}}"#;

    fn rows(engine: &EngineHandle) -> Vec<ScheduleRow> {
        engine.schedules()
    }

    fn name(row: &ScheduleRow) -> &str {
        &row.schedule.name
    }

    async fn put(engine: &EngineHandle, item: Schedule) -> Result<ScheduleRow> {
        engine.put_schedule(item).await
    }

    async fn delete(engine: &EngineHandle, name: &str) -> Result<Schedule> {
        engine.delete_schedule(name).await
    }
}

fn not_found<C: Collection>(name: &str) -> ApiError {
    err(
        C::NOT_FOUND,
        format!(
            "there is no {} `{name}`; list them with GET /api/v1/{} (or `{}`)",
            C::ONE,
            C::PLURAL,
            C::CLI_LIST
        ),
    )
}

/// `{"<plural>": [rows]}`, serialized directly (no intermediate JSON tree).
pub struct Listed<C: Collection>(Vec<C::Row>);

impl<C: Collection> Serialize for Listed<C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(C::PLURAL, &self.0)?;
        map.end()
    }
}

pub async fn list<C: Collection>(
    State(app): State<App>,
    params: Params,
) -> ApiResult<Reply<Listed<C>>> {
    params.only(&[])?;
    let rows = C::rows(&app.engine);
    let n = rows.len();
    Ok(reply_of_tasks(Listed(rows), n))
}

pub async fn get_one<C: Collection>(
    State(app): State<App>,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Reply<C::Row>> {
    params.only(&[])?;
    C::rows(&app.engine)
        .into_iter()
        .find(|row| C::name(row) == name)
        .map(reply)
        .ok_or_else(|| not_found::<C>(&name))
}

/// The body is the item; its `name` may be left out (the path gives it) but must not
/// disagree with the path.
pub async fn put<C: Collection>(
    State(app): State<App>,
    Path(name): Path<String>,
    Body(body): Body,
) -> ApiResult<Reply<C::Saved>> {
    let what = format!("the {}", C::ONE);
    let mut value: Value = parse_json(&body, C::INVALID, &what)?;
    let Some(object) = value.as_object_mut() else {
        return Err(err(
            C::INVALID,
            format!("{what} must be a JSON object, e.g. {}", C::EXAMPLE),
        ));
    };
    match object.get("name") {
        None => {
            object.insert("name".into(), Value::String(name.clone()));
        }
        Some(Value::String(n)) if *n == name => {}
        Some(other) => {
            return Err(err(
                C::INVALID,
                format!(
                    "the body names the {} {other} but the path names `{name}`; make them agree or leave `name` out",
                    C::ONE
                ),
            ));
        }
    }
    let item: C::Item =
        serde_json::from_value(value).map_err(|e| err(C::INVALID, format!("{what}: {e}")))?;
    Ok(reply(C::put(&app.engine, item).await?))
}

pub async fn delete<C: Collection>(
    State(app): State<App>,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Reply<C::Deleted>> {
    params.only(&[])?;
    Ok(reply(C::delete(&app.engine, &name).await?))
}
