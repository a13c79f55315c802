//! Every failure leaves the server as `{"error": {...}}` with the status its code implies
//! (SPEC §7). Internal errors are logged under a correlation id the message quotes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use taskyard_core::{Error, ErrorCode};

pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

pub fn err(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError(Error::new(code, message))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = self.0;
        if error.code == ErrorCode::Internal {
            let cid = uuid::Uuid::new_v4().simple().to_string();
            let cid = &cid[..12];
            tracing::error!(correlation_id = cid, message = %error.message, "internal error");
            error.message = format!("{} (correlation id {cid})", error.message);
        }
        let status = StatusCode::from_u16(error.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body =
            serde_json::to_vec(&serde_json::json!({ "error": &error })).unwrap_or_else(|_| {
                br#"{"error":{"code":"internal","message":"the error could not be encoded"}}"#
                    .to_vec()
            });
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        match error.code {
            ErrorCode::QueueFull => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ErrorCode::Unauthenticated => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"taskyard\""),
                );
            }
            _ => {}
        }
        response
    }
}
