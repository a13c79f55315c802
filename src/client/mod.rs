//! A typed client of the HTTP API (SPEC §6, §7): every endpoint, and the event stream with
//! reconnect and resume ([`events`]). The CLI, the worker, the benchmarks and the
//! console's remote mode all go through it.

pub mod events;

pub use events::{EventStream, StreamItem};

use axum::body::Bytes;
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use taskyard_core::api::{
    Action, ActionReply, ExecRef, FailRequest, NotifyReply, NotifyRequest, PollRequest, SortKey,
    SortOrder, Stats, SuccessRequest, TaskPage, TaskQuery,
};
use taskyard_core::model::{
    Definition, LogPage, Outcome, Schedule, ScheduleRow, Status, Task, TaskDetail, TaskId,
    ThreadRow,
};
use taskyard_core::{Error, ErrorCode};
use uuid::Uuid;

/// The default server address (`taskyard serve` listens here).
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:7571";

/// What can go wrong talking to a server.
#[derive(Clone, Debug)]
pub enum ClientError {
    /// The server answered with an error body (or a status without one).
    Api { status: u16, error: Error },
    /// The server could not be reached, or the connection broke.
    Transport(String),
    /// The server answered something this client does not understand.
    Decode(String),
}

impl ClientError {
    /// The engine's error code, if the server answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api { error, .. } => Some(error.code),
            _ => None,
        }
    }

    /// Worth retrying as is: the server was unreachable, or is overloaded.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Transport(_) => true,
            ClientError::Api { status, .. } => *status == 429 || *status == 502 || *status == 503,
            ClientError::Decode(_) => false,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Api { error, .. } => write!(f, "{} ({})", error.message, error.code),
            ClientError::Transport(e) => write!(f, "{e}"),
            ClientError::Decode(e) => write!(f, "unexpected answer from the server: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// A client of one server; cheap to clone (connections are pooled).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    /// The endpoints called per task, parsed once: parsing a URL is a visible part of a
    /// small call's cost.
    hot: Arc<HotUrls>,
}

struct HotUrls {
    actions: Url,
    poll: Url,
    start: Url,
    notify: Url,
    success: Url,
    fail: Url,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the token.
        f.debug_struct("Client").field("base", &self.base).finish()
    }
}

/// What an executor call's reply says about the task, without the rest of it (conf,
/// result, times...): for callers that only need the claim and its state, decoding a
/// whole task is a visible part of a call's cost. Unknown fields are skipped.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Receipt {
    pub id: TaskId,
    pub status: Status,
    #[serde(default)]
    pub outcome: Option<Outcome>,
    pub attempt: u32,
    #[serde(default)]
    pub exec_id: Option<Uuid>,
}

/// Requests that are not long polls or streams give up after this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl Client {
    /// A client of the server at `base` (`http://host:port`), with an optional token.
    pub fn new(base: &str, token: Option<String>) -> Result<Client> {
        Client::build(base, token, false)
    }

    /// Like [`Client::new`], but speaking HTTP/2 over cleartext (h2c, prior knowledge),
    /// which `taskyard serve` accepts: every call shares one connection, so many calls in
    /// flight cost no extra connections and their frames share syscalls. Only for a
    /// direct connection to taskyard (a proxy in between may speak HTTP/1.1 only).
    pub fn new_http2(base: &str, token: Option<String>) -> Result<Client> {
        Client::build(base, token, true)
    }

    fn build(base: &str, token: Option<String>, http2: bool) -> Result<Client> {
        let base = base.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Transport(format!(
                "server address `{base}` must start with http:// (e.g. {DEFAULT_SERVER})"
            )));
        }
        if base.starts_with("https://") {
            return Err(ClientError::Transport(format!(
                "server address `{base}`: this build speaks plain HTTP only; put TLS in a proxy in front and use http:// to reach it locally"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .pool_max_idle_per_host(256);
        builder = if http2 {
            builder.http2_prior_knowledge()
        } else {
            // reqwest only ever retries HTTP/2 refusals; over HTTP/1.1 its retry layer
            // would just copy every request's headers in case.
            builder.retry(reqwest::retry::never().max_retries_per_request(0))
        };
        let http = builder
            .build()
            .map_err(|e| ClientError::Transport(format!("cannot build an HTTP client: {e}")))?;
        let parse = |path: &str| {
            Url::parse(&format!("{base}{path}")).map_err(|e| {
                ClientError::Transport(format!(
                    "server address `{base}` is not a valid URL ({e}); e.g. {DEFAULT_SERVER}"
                ))
            })
        };
        let hot = HotUrls {
            actions: parse("/api/v1/actions")?,
            poll: parse("/api/v1/executor/poll")?,
            start: parse("/api/v1/executor/start")?,
            notify: parse("/api/v1/executor/notify")?,
            success: parse("/api/v1/executor/success")?,
            fail: parse("/api/v1/executor/fail")?,
        };
        Ok(Client {
            http,
            base,
            token: token.filter(|t| !t.is_empty()),
            hot: Arc::new(hot),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url> {
        let mut url = format!("{}{path}", self.base);
        if !query.is_empty() {
            let encoded = serde_urlencoded::to_string(query).unwrap_or_default();
            url.push('?');
            url.push_str(&encoded);
        }
        Url::parse(&url).map_err(|e| ClientError::Transport(format!("bad request URL {url}: {e}")))
    }

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        let req = self.http.request(method, url);
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    fn transport(&self, e: reqwest::Error) -> ClientError {
        if e.is_connect() {
            ClientError::Transport(format!(
                "cannot reach the server at {} (is `taskyard serve` running? set --server or TASKYARD_SERVER)",
                self.base
            ))
        } else if e.is_timeout() {
            ClientError::Transport(format!(
                "the server at {} did not answer in time",
                self.base
            ))
        } else {
            ClientError::Transport(format!("talking to {}: {e}", self.base))
        }
    }

    /// Sends one request (with a JSON body if given) and returns the body of a
    /// successful answer; an error answer becomes [`ClientError::Api`].
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&(impl Serialize + ?Sized)>,
        timeout: Duration,
    ) -> Result<Bytes> {
        let mut req = self.request(method, url).timeout(timeout);
        if let Some(body) = body {
            let body = serde_json::to_vec(body).map_err(|e| ClientError::Decode(e.to_string()))?;
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let resp = req.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.transport(e))?;
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(api_error(status, &bytes))
        }
    }

    /// [`Client::send`], then the answer decoded as `T`.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&(impl Serialize + ?Sized)>,
        timeout: Duration,
    ) -> Result<T> {
        let bytes = self.send(method, url, body, timeout).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    async fn post<T: DeserializeOwned>(
        &self,
        url: &Url,
        body: &(impl Serialize + ?Sized),
    ) -> Result<T> {
        self.call(Method::POST, url.clone(), Some(body), REQUEST_TIMEOUT)
            .await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T> {
        let url = self.url(path, query)?;
        self.call(Method::GET, url, NO_BODY, REQUEST_TIMEOUT).await
    }

    /// PUT or DELETE of one named definition or schedule (`kind` is the collection).
    async fn named<T: DeserializeOwned>(
        &self,
        method: Method,
        kind: &str,
        name: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T> {
        let url = self.url(&format!("/api/v1/{kind}/{}", encode_segment(name)), &[])?;
        self.call(method, url, body, REQUEST_TIMEOUT).await
    }

    // --- actions ----------------------------------------------------------------------

    pub async fn act(&self, action: &Action) -> Result<ActionReply> {
        self.post(&self.hot.actions, action).await
    }

    // --- executor protocol --------------------------------------------------------------

    /// `poll`; a long poll (`wait_ms` > 0) gets a timeout long enough to wait it out.
    pub async fn poll(&self, req: &PollRequest) -> Result<Vec<Task>> {
        self.poll_as(req).await
    }

    /// [`Client::poll`], each claimed task decoded as `R` (e.g. [`Receipt`]).
    pub async fn poll_as<R: DeserializeOwned>(&self, req: &PollRequest) -> Result<Vec<R>> {
        #[derive(serde::Deserialize)]
        struct Reply<R> {
            tasks: Vec<R>,
        }
        let timeout = REQUEST_TIMEOUT + Duration::from_millis(req.wait_ms);
        let reply: Reply<R> = self
            .call(Method::POST, self.hot.poll.clone(), Some(req), timeout)
            .await?;
        Ok(reply.tasks)
    }

    pub async fn start(&self, call: ExecRef) -> Result<Task> {
        self.start_as(call).await
    }

    /// [`Client::start`], the reply decoded as `R` (e.g. [`Receipt`]).
    pub async fn start_as<R: DeserializeOwned>(&self, call: ExecRef) -> Result<R> {
        self.post(&self.hot.start, &call).await
    }

    pub async fn notify(&self, req: &NotifyRequest) -> Result<NotifyReply> {
        self.post(&self.hot.notify, req).await
    }

    pub async fn succeed(&self, req: &SuccessRequest) -> Result<Task> {
        self.succeed_as(req).await
    }

    /// [`Client::succeed`], the reply decoded as `R` (e.g. [`Receipt`]).
    pub async fn succeed_as<R: DeserializeOwned>(&self, req: &SuccessRequest) -> Result<R> {
        self.post(&self.hot.success, req).await
    }

    pub async fn fail(&self, req: &FailRequest) -> Result<Task> {
        self.post(&self.hot.fail, req).await
    }

    // --- reads --------------------------------------------------------------------------

    /// A window of tasks; `query.filter` is the filter language of SPEC §5.
    pub async fn tasks(&self, query: &TaskQuery) -> Result<TaskPage> {
        let mut params: Vec<(&str, String)> = Vec::new();
        if !query.filter.is_empty() {
            params.push(("filter", query.filter.clone()));
        }
        if query.sort != SortKey::Id {
            params.push(("sort", query.sort.as_str().to_string()));
        }
        if query.order == SortOrder::Desc {
            params.push(("order", "desc".into()));
        }
        if query.offset > 0 {
            params.push(("offset", query.offset.to_string()));
        }
        params.push(("limit", query.limit.to_string()));
        if let Some(after) = &query.after {
            params.push(("after", after.clone()));
        }
        self.get("/api/v1/tasks", &params).await
    }

    pub async fn task(&self, id: TaskId) -> Result<TaskDetail> {
        self.get(&format!("/api/v1/tasks/{id}"), &[]).await
    }

    pub async fn log(&self, id: TaskId, after: u64, limit: usize) -> Result<LogPage> {
        self.get(
            &format!("/api/v1/tasks/{id}/log"),
            &[("after", after.to_string()), ("limit", limit.to_string())],
        )
        .await
    }

    pub async fn threads(&self) -> Result<Vec<ThreadRow>> {
        #[derive(serde::Deserialize)]
        struct Reply {
            threads: Vec<ThreadRow>,
        }
        let r: Reply = self.get("/api/v1/threads", &[]).await?;
        Ok(r.threads)
    }

    pub async fn definitions(&self) -> Result<Vec<Definition>> {
        #[derive(serde::Deserialize)]
        struct Reply {
            definitions: Vec<Definition>,
        }
        let r: Reply = self.get("/api/v1/definitions", &[]).await?;
        Ok(r.definitions)
    }

    pub async fn definition(&self, name: &str) -> Result<Definition> {
        self.get(
            &format!("/api/v1/definitions/{}", encode_segment(name)),
            &[],
        )
        .await
    }

    pub async fn put_definition(&self, def: &Definition) -> Result<Definition> {
        self.named(Method::PUT, "definitions", &def.name, Some(def))
            .await
    }

    pub async fn delete_definition(&self, name: &str) -> Result<Definition> {
        self.named(Method::DELETE, "definitions", name, NO_BODY)
            .await
    }

    pub async fn schedules(&self) -> Result<Vec<ScheduleRow>> {
        #[derive(serde::Deserialize)]
        struct Reply {
            schedules: Vec<ScheduleRow>,
        }
        let r: Reply = self.get("/api/v1/schedules", &[]).await?;
        Ok(r.schedules)
    }

    pub async fn schedule(&self, name: &str) -> Result<ScheduleRow> {
        self.get(&format!("/api/v1/schedules/{}", encode_segment(name)), &[])
            .await
    }

    pub async fn put_schedule(&self, schedule: &Schedule) -> Result<ScheduleRow> {
        self.named(Method::PUT, "schedules", &schedule.name, Some(schedule))
            .await
    }

    pub async fn delete_schedule(&self, name: &str) -> Result<Schedule> {
        self.named(Method::DELETE, "schedules", name, NO_BODY).await
    }

    pub async fn stats(&self) -> Result<Stats> {
        self.get("/api/v1/stats", &[]).await
    }

    pub async fn health(&self) -> Result<Value> {
        self.get("/healthz", &[]).await
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> Result<String> {
        let url = self.url("/metrics", &[])?;
        let body = self
            .send(Method::GET, url, NO_BODY, REQUEST_TIMEOUT)
            .await?;
        String::from_utf8(body.to_vec()).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// The event stream, from after `since` (or from now), reconnecting and resuming by
    /// itself.
    pub fn events(&self, since: Option<u64>) -> EventStream {
        EventStream::new(self.clone(), since)
    }
}

/// Percent-encodes one path segment.
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Turns an error answer into [`ClientError::Api`], with or without a proper error body.
fn api_error(status: StatusCode, body: &[u8]) -> ClientError {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        error: Error,
    }
    match serde_json::from_slice::<Wrapper>(body) {
        Ok(w) => ClientError::Api {
            status: status.as_u16(),
            error: w.error,
        },
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            ClientError::Api {
                status: status.as_u16(),
                error: Error::new(
                    ErrorCode::Internal,
                    format!(
                        "the server answered {status}{}{}",
                        if text.is_empty() { "" } else { ": " },
                        text.chars().take(200).collect::<String>()
                    ),
                ),
            }
        }
    }
}

/// The `body` of a request without one.
const NO_BODY: Option<&()> = None;
