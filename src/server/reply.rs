//! JSON answers, serialized straight into one buffer sized for a typical answer (axum's
//! `Json` starts at 128 bytes and grows by copying: a task is several times that).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A task's JSON is usually under this; larger answers grow from it.
const FIRST_GUESS: usize = 1024;

pub struct Reply<T> {
    value: T,
    guess: usize,
}

/// An answer of about one task's size.
pub fn reply<T>(value: T) -> Reply<T> {
    Reply {
        value,
        guess: FIRST_GUESS,
    }
}

/// An answer holding about `tasks` tasks.
pub fn reply_of_tasks<T>(value: T, tasks: usize) -> Reply<T> {
    Reply {
        value,
        guess: FIRST_GUESS * tasks.max(1),
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(self.guess);
        if let Err(e) = serde_json::to_writer(&mut body, &self.value) {
            return crate::server::error::ApiError(taskyard_core::Error::internal(format!(
                "the answer could not be encoded as JSON: {e}"
            )))
            .into_response();
        }
        let mut response = body.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}
