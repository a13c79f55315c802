//! Definitions (SPEC §4): list, read, register or change, delete.

use super::App;
use crate::server::error::{ApiResult, err};
use crate::server::extract::{Body, Params, parse_json};
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use taskyard_core::ErrorCode;
use taskyard_core::model::Definition;

fn not_found(name: &str) -> crate::server::error::ApiError {
    err(
        ErrorCode::DefinitionNotFound,
        format!(
            "there is no definition `{name}`; list them with GET /api/v1/definitions (or `taskyard defs`)"
        ),
    )
}

pub async fn list(State(app): State<App>, params: Params) -> ApiResult<Json<Value>> {
    params.only(&[])?;
    Ok(Json(json!({ "definitions": app.engine.definitions() })))
}

pub async fn get_one(
    State(app): State<App>,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Json<Definition>> {
    params.only(&[])?;
    app.engine
        .definitions()
        .into_iter()
        .find(|d| d.name == name)
        .map(Json)
        .ok_or_else(|| not_found(&name))
}

/// The body is a definition; its `name` may be left out (the path gives it) but must not
/// disagree with the path.
pub async fn put(
    State(app): State<App>,
    Path(name): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Definition>> {
    let mut value: Value = parse_json(&body, ErrorCode::InvalidDefinition, "the definition")?;
    let Some(object) = value.as_object_mut() else {
        return Err(err(
            ErrorCode::InvalidDefinition,
            "the definition must be a JSON object, e.g. {\"executor\":\"external\"}",
        ));
    };
    match object.get("name") {
        None => {
            object.insert("name".into(), Value::String(name.clone()));
        }
        Some(Value::String(n)) if *n == name => {}
        Some(other) => {
            return Err(err(
                ErrorCode::InvalidDefinition,
                format!(
                    "the body names the definition {other} but the path names `{name}`; make them agree or leave `name` out"
                ),
            ));
        }
    }
    let def: Definition = serde_json::from_value(value)
        .map_err(|e| err(ErrorCode::InvalidDefinition, format!("the definition: {e}")))?;
    Ok(Json(app.engine.put_definition(def).await?))
}

pub async fn delete(
    State(app): State<App>,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Json<Definition>> {
    params.only(&[])?;
    Ok(Json(app.engine.delete_definition(&name).await?))
}
