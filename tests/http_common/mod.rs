//! Shared by the HTTP, CLI and worker tests: a real `taskyard serve` on 127.0.0.1:0 and
//! small request helpers. Waiting is always for a condition, with a deadline.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_taskyard");

pub struct Server {
    child: Child,
    pub url: String,
    pub data: tempfile::TempDir,
    pub token: Option<String>,
    http: reqwest::Client,
}

impl Server {
    pub fn start(args: &[&str]) -> Server {
        Server::start_with(args, &[], None)
    }

    /// Starts `taskyard serve` with extra arguments and environment; `listen` defaults to
    /// an ephemeral loopback port.
    pub fn start_with(args: &[&str], env: &[(&str, &str)], listen: Option<&str>) -> Server {
        let data = tempfile::tempdir().unwrap();
        Server::start_in(data, args, env, listen)
    }

    pub fn start_in(
        data: tempfile::TempDir,
        args: &[&str],
        env: &[(&str, &str)],
        listen: Option<&str>,
    ) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--listen")
            .arg(listen.unwrap_or("127.0.0.1:0"))
            .arg("--data")
            .arg(data.path())
            .args(args)
            .env_remove("TASKYARD_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut token = None;
        for (k, v) in env {
            cmd.env(k, v);
            if *k == "TASKYARD_TOKEN" {
                token = Some(v.to_string());
            }
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Server {
            child,
            url,
            data,
            token,
            http: reqwest::Client::new(),
        }
    }

    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Stops the server (SIGTERM) and waits for it; returns its data directory.
    pub fn stop(mut self) -> tempfile::TempDir {
        terminate(&mut self.child);
        std::mem::replace(&mut self.data, tempfile::tempdir().unwrap())
    }

    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token.or(self.token.as_deref()) {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.bytes().await.unwrap().to_vec())
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| serde_json::to_vec(&b).unwrap());
        let (status, _, bytes) = self.raw(method, path, body, None).await;
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body)).await
    }

    /// Posts an action that must succeed; returns its reply.
    pub async fn act(&self, body: Value) -> Value {
        let (status, reply) = self.post("/api/v1/actions", body.clone()).await;
        assert_eq!(status, 200, "{body} -> {reply}");
        reply
    }

    /// Creates tasks; returns their ids.
    pub async fn run(&self, tasks: Value) -> Vec<u64> {
        let reply = self
            .act(serde_json::json!({"action":"run","tasks":tasks}))
            .await;
        reply["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    }

    pub async fn task(&self, id: u64) -> Value {
        let (status, task) = self.get(&format!("/api/v1/tasks/{id}")).await;
        assert_eq!(status, 200, "{task}");
        task
    }

    /// Waits until the task satisfies `ok`, or panics after 20 s.
    pub async fn wait_task(&self, id: u64, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let task = self.task(id).await;
            if ok(&task) {
                return task;
            }
            assert!(
                Instant::now() < deadline,
                "task {id} never got {what}: {task}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn put_definition(&self, def: Value) {
        let name = def["name"].as_str().unwrap().to_string();
        let (status, reply) = self
            .call("PUT", &format!("/api/v1/definitions/{name}"), Some(def))
            .await;
        assert_eq!(status, 200, "{reply}");
    }

    /// Waits until every event up to `seq` is published (events go out just after the
    /// reply that made them), then returns the last seq.
    pub async fn seq_at_least(&self, seq: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let now = self.last_seq().await;
            if now >= seq {
                return now;
            }
            assert!(
                Instant::now() < deadline,
                "events stuck at {now}, want {seq}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Everything a request could change, as the read API shows it.
    pub async fn state(&self) -> Value {
        let (_, tasks) = self.get("/api/v1/tasks?limit=1000").await;
        let (_, threads) = self.get("/api/v1/threads").await;
        let (_, defs) = self.get("/api/v1/definitions").await;
        let (_, schedules) = self.get("/api/v1/schedules").await;
        serde_json::json!([tasks, threads, defs, schedules])
    }

    /// The seq of the last published event, from /metrics.
    pub async fn last_seq(&self) -> u64 {
        let (status, _, body) = self.raw("GET", "/metrics", None, None).await;
        assert_eq!(status, 200);
        let text = String::from_utf8(body).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("taskyard_events_last_seq "))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    pub async fn assert_healthy(&self) {
        let (status, body) = self.get("/healthz").await;
        assert_eq!(status, 200);
        assert_eq!(body["ok"], true);
    }
}

pub fn terminate(child: &mut Child) {
    #[cfg(unix)]
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    #[cfg(not(unix))]
    let _ = child.kill();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts an error reply: status, code, and a non-empty message.
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], want_code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.len() > 10),
        "{body}"
    );
}
