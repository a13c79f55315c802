//! What every request passes through, in one layer: who is calling (bearer-token auth,
//! SPEC §7) and, once answered, the count by route template and status for `/metrics`.
//!
//! A hand-written tower layer rather than two `from_fn` middlewares: those box every
//! request's future and clone the inner route each time, which measured as a few per cent
//! of a small executor call's CPU (docs/api.md).

use super::auth::{Auth, RouteClass};
use super::error::{ApiError, err};
use super::routes::{App, Caller};
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use taskyard_core::ErrorCode;
use taskyard_core::api::Requester;
use tower::{Layer, Service};

/// Applied with `Router::layer`, so it runs once the router has matched the request
/// (the route template is known) and also before the 404 and 405 fallbacks (an unknown
/// route needs a valid token before it is reported unknown).
#[derive(Clone)]
pub struct Gate {
    pub app: App,
}

impl<S> Layer<S> for Gate {
    type Service = GateService<S>;

    fn layer(&self, inner: S) -> GateService<S> {
        GateService {
            inner,
            app: self.app.clone(),
        }
    }
}

#[derive(Clone)]
pub struct GateService<S> {
    inner: S,
    app: App,
}

/// What to count once the inner service has answered.
struct Record {
    app: App,
    method: Method,
    route: Option<MatchedPath>,
}

impl Record {
    fn done(self, response: Response) -> Response {
        let route = self.route.as_ref().map_or("unmatched", MatchedPath::as_str);
        self.app
            .metrics
            .record(&self.method, route, response.status().as_u16());
        response
    }
}

/// The inner answer, counted when it comes. (The router's route futures are `Unpin`, so
/// this needs neither a box nor a pin projection.)
pub struct Answered<F> {
    inner: Option<F>,
    refused: Option<Response>,
    record: Option<Record>,
}

impl<F> Future for Answered<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = match (self.refused.take(), self.inner.as_mut()) {
            (Some(refused), _) => refused,
            (None, Some(inner)) => match Pin::new(inner).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(response)) => response,
                Poll::Ready(Err(never)) => match never {},
            },
            (None, None) => {
                // Polled after it completed: a caller bug; answer rather than panic.
                return Poll::Ready(Ok(err(
                    ErrorCode::Internal,
                    "a request was polled after its answer",
                )
                .into_response()));
            }
        };
        self.inner = None;
        let response = match self.record.take() {
            Some(record) => record.done(response),
            None => response,
        };
        Poll::Ready(Ok(response))
    }
}

impl<S> Service<Request> for GateService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answered<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let record = Some(Record {
            app: self.app.clone(),
            method: req.method().clone(),
            route: req.extensions().get::<MatchedPath>().cloned(),
        });
        match caller(&self.app, &req) {
            Ok(who) => {
                req.extensions_mut().insert(Caller(who));
                Answered {
                    inner: Some(self.inner.call(req)),
                    refused: None,
                    record,
                }
            }
            Err(refused) => Answered {
                inner: None,
                refused: Some(refused.into_response()),
                record,
            },
        }
    }
}

/// Who is calling. With auth off, a caller is `local` when it comes from loopback and
/// `anonymous` otherwise (only possible with `--insecure`).
fn caller(app: &App, req: &Request) -> Result<Requester, ApiError> {
    if !app.auth.is_enabled() {
        let loopback = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|ConnectInfo(peer)| peer.ip().is_loopback());
        return Ok(Requester::new(if loopback { "local" } else { "anonymous" }));
    }
    let class = RouteClass::of(req.method(), req.uri().path());
    if class == RouteClass::Public {
        return Ok(Requester::new("anonymous"));
    }
    check_token(&app.auth, req, class).map(Requester::new)
}

fn check_token(auth: &Auth, req: &Request, class: RouteClass) -> Result<String, ApiError> {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(presented) = presented else {
        return Err(err(
            ErrorCode::Unauthenticated,
            "this server needs a token: send `Authorization: Bearer <token>` (the CLI: --token or TASKYARD_TOKEN)",
        ));
    };
    let Some(principal) = auth.verify(presented) else {
        return Err(err(
            ErrorCode::Unauthenticated,
            "the bearer token is not one this server knows; check --token / TASKYARD_TOKEN",
        ));
    };
    if !principal.role.may(class) {
        return Err(err(
            ErrorCode::Forbidden,
            format!(
                "token `{}` has role {}, but this needs {}; ask an admin for a token with that role",
                principal.name,
                principal.role.as_str(),
                class.needs()
            ),
        ));
    }
    Ok(principal.name)
}
