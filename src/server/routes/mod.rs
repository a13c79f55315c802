//! The router: every endpoint of SPEC §7, the gate (auth and request counts), the body
//! limit and the JSON fallbacks for unknown routes and methods.

mod actions;
mod events;
mod executor;
mod meta;
mod named;
mod reads;

use super::auth::Auth;
use super::gate::Gate;
use super::metrics::Metrics;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use named::{Definitions, Schedules};
use std::sync::Arc;
use std::time::Duration;
use taskyard_core::api::Requester;
use taskyard_core::runtime::EngineHandle;
use tokio::sync::watch;

/// What every handler can reach.
pub struct Inner {
    pub engine: EngineHandle,
    pub auth: Auth,
    pub metrics: Metrics,
    /// Becomes true when the server shuts down: event streams and long polls end.
    pub shutdown: watch::Receiver<bool>,
    pub keep_alive: Duration,
}

pub type App = Arc<Inner>;

/// Who is calling, as the gate decided.
#[derive(Clone, Debug)]
pub struct Caller(pub Requester);

/// Every route path, for the OpenAPI check: (method, path).
#[cfg_attr(not(test), allow(dead_code))]
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/actions"),
    ("post", "/api/v1/executor/poll"),
    ("post", "/api/v1/executor/start"),
    ("post", "/api/v1/executor/notify"),
    ("post", "/api/v1/executor/success"),
    ("post", "/api/v1/executor/fail"),
    ("get", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/{id}"),
    ("get", "/api/v1/tasks/{id}/log"),
    ("get", "/api/v1/threads"),
    ("get", "/api/v1/definitions"),
    ("get", "/api/v1/definitions/{name}"),
    ("put", "/api/v1/definitions/{name}"),
    ("delete", "/api/v1/definitions/{name}"),
    ("get", "/api/v1/schedules"),
    ("get", "/api/v1/schedules/{name}"),
    ("put", "/api/v1/schedules/{name}"),
    ("delete", "/api/v1/schedules/{name}"),
    ("get", "/api/v1/stats"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/metrics"),
    ("get", "/healthz"),
];

pub fn router(app: App, max_body: usize) -> Router {
    Router::new()
        .route("/api/v1/actions", post(actions::act))
        .route("/api/v1/executor/poll", post(executor::poll))
        .route("/api/v1/executor/start", post(executor::start))
        .route("/api/v1/executor/notify", post(executor::notify))
        .route("/api/v1/executor/success", post(executor::success))
        .route("/api/v1/executor/fail", post(executor::fail))
        .route("/api/v1/tasks", get(reads::tasks))
        .route("/api/v1/tasks/{id}", get(reads::task))
        .route("/api/v1/tasks/{id}/log", get(reads::log))
        .route("/api/v1/threads", get(reads::threads))
        .route("/api/v1/stats", get(reads::stats))
        .route("/api/v1/definitions", get(named::list::<Definitions>))
        .route(
            "/api/v1/definitions/{name}",
            get(named::get_one::<Definitions>)
                .put(named::put::<Definitions>)
                .delete(named::delete::<Definitions>),
        )
        .route("/api/v1/schedules", get(named::list::<Schedules>))
        .route(
            "/api/v1/schedules/{name}",
            get(named::get_one::<Schedules>)
                .put(named::put::<Schedules>)
                .delete(named::delete::<Schedules>),
        )
        .route("/api/v1/events", get(events::stream))
        .route("/api/v1/openapi.json", get(meta::openapi))
        .route("/metrics", get(meta::metrics))
        .route("/healthz", get(meta::healthz))
        .fallback(meta::not_found)
        .method_not_allowed_fallback(meta::method_not_allowed)
        .layer(Gate { app: app.clone() })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(app)
}

#[cfg(test)]
mod tests {
    use super::ROUTES;
    use std::collections::BTreeSet;

    /// The OpenAPI document lists exactly the routes the router serves.
    #[test]
    fn openapi_lists_exactly_the_routes() {
        let doc: serde_json::Value = serde_json::from_str(super::meta::OPENAPI).unwrap();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.clone(), path.clone()));
            }
        }
        let served: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(documented, served);
    }
}
