//! Turning request bodies and query strings into typed values, with the documented 4xx
//! for each way they can be wrong: too large (413 `body-too-large`), not UTF-8 or not JSON
//! (400 `invalid-json`), the wrong shape (400 with the caller's code), bad query
//! parameters (400 `invalid-query`).

use super::error::{ApiError, err};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use taskyard_core::ErrorCode;

/// The raw body, read under the body limit.
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Body(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(err(
                ErrorCode::BodyTooLarge,
                "the request body is over the server's limit (1 MiB unless --max-body says otherwise); split the request, e.g. fewer tasks per run",
            )),
            Err(rejection) => Err(err(
                ErrorCode::InvalidJson,
                format!("the request body could not be read: {rejection}"),
            )),
        }
    }
}

/// Parses a JSON body into `T`. Syntax errors (and non-UTF-8) are `invalid-json`; a
/// well-formed body of the wrong shape gets `shape_code`, naming what was wrong.
pub fn parse_json<T: DeserializeOwned>(
    body: &[u8],
    shape_code: ErrorCode,
    what: &str,
) -> Result<T, ApiError> {
    if let Err(e) = std::str::from_utf8(body) {
        return Err(err(
            ErrorCode::InvalidJson,
            format!(
                "the body is not UTF-8 (bad byte at offset {}); send JSON encoded as UTF-8",
                e.valid_up_to()
            ),
        ));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(err(
            ErrorCode::InvalidJson,
            format!("the body is empty; send {what} as a JSON object"),
        ));
    }
    let syntax = |e: serde_json::Error| {
        err(
            ErrorCode::InvalidJson,
            format!("the body is not valid JSON: {e}"),
        )
    };
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        // A shape error can come before a syntax error further on: malformed wins.
        Category::Data => match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Err(syntax_error) => syntax(syntax_error),
            Ok(_) => err(shape_code, format!("{what}: {e}")),
        },
        Category::Syntax | Category::Eof | Category::Io => syntax(e),
    })
}

/// The query string as ordered pairs; a malformed one is `invalid-query`.
pub struct Params(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .map(Params)
            .map_err(|e| {
                err(
                    ErrorCode::InvalidQuery,
                    format!("the query string is malformed: {e}"),
                )
            })
    }
}

impl Params {
    /// Refuses parameters outside `known`, so typos are not silently ignored.
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        for (k, _) in &self.0 {
            if !known.contains(&k.as_str()) {
                return Err(err(
                    ErrorCode::InvalidQuery,
                    format!(
                        "unknown query parameter `{k}`; this endpoint takes: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The last value of a parameter (a repeated one: the last wins).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A number within `range`, or `default` when absent.
    pub fn number<T>(
        &self,
        key: &str,
        default: Option<T>,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<Option<T>, ApiError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(text) = self.get(key) else {
            return Ok(default);
        };
        let bad = || {
            err(
                ErrorCode::InvalidQuery,
                format!(
                    "`{key}={text}` is not allowed; give a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        };
        let n: T = text.trim().parse().map_err(|_| bad())?;
        if !range.contains(&n) {
            return Err(bad());
        }
        Ok(Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskyard_core::api::Action;

    fn code(r: Result<Action, ApiError>) -> ErrorCode {
        match r {
            Ok(_) => panic!("parsed"),
            Err(e) => e.0.code,
        }
    }

    #[test]
    fn classifies_body_errors() {
        let p = |b: &[u8]| parse_json::<Action>(b, ErrorCode::InvalidAction, "the action");
        assert_eq!(code(p(b"")), ErrorCode::InvalidJson);
        assert_eq!(code(p(b"{\"action\":")), ErrorCode::InvalidJson);
        assert_eq!(code(p(b"\xff\xfe")), ErrorCode::InvalidJson);
        assert_eq!(code(p(b"{\"action\":\"run\"}")), ErrorCode::InvalidAction);
        assert_eq!(code(p(b"[1,2]")), ErrorCode::InvalidAction);
        assert_eq!(
            code(p(br#"{"action":"cancel","tasks":["x"]}"#)),
            ErrorCode::InvalidAction
        );
        assert!(p(br#"{"action":"cancel","tasks":[1]}"#).is_ok());
    }
}
