//! `/healthz`, `/metrics`, the OpenAPI document, and JSON answers for unknown routes and
//! methods.

use super::App;
use crate::server::error::{ApiError, err};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use taskyard_core::ErrorCode;

/// The OpenAPI 3 document of this API, kept in the repository (docs/openapi.json).
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

pub async fn healthz() -> Json<Value> {
    Json(json!({ "ok": true, "version": env!("CARGO_PKG_VERSION") }))
}

pub async fn metrics(State(app): State<App>) -> Response {
    let text = app
        .metrics
        .render(&app.engine.stats(), app.engine.last_seq());
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

pub async fn openapi() -> Response {
    let mut response = OPENAPI.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub async fn not_found(uri: Uri) -> ApiError {
    err(
        ErrorCode::NotFound,
        format!(
            "there is no endpoint at {}; the API is under /api/v1 (see /api/v1/openapi.json)",
            uri.path()
        ),
    )
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    err(
        ErrorCode::MethodNotAllowed,
        format!(
            "{method} is not allowed on {}; see /api/v1/openapi.json for the methods it takes",
            uri.path()
        ),
    )
}
