//! The external worker as a real process running a real shell command: results, logs,
//! failures, cancel (the command is killed) and a server restart (the worker carries on).

mod http_common;

use http_common::{BIN, Server};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker(url: &str, script: &str) -> Worker {
    let child = Command::new(BIN)
        .args([
            "worker",
            "--definitions",
            "job",
            "--concurrency",
            "2",
            "--executor",
            "w-test",
            "--server",
            url,
        ])
        .args(["--", "sh", "-c", script])
        .env_remove("TASKYARD_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Worker(child)
}

const SCRIPT: &str = r#"
conf=$(cat)
case "$conf" in
  *fail*) echo "about to fail" >&2; echo "disk full" >&2; exit 3 ;;
  *hang*) echo $$ > "$TASKYARD_PIDFILE"; echo "hanging" >&2; sleep 60 & wait ;;
  *gate*) echo "waiting for the gate" >&2; while [ ! -e "$TASKYARD_GATE" ]; do sleep 0.05; done ;;
esac
echo "got $conf attempt $TASKYARD_ATTEMPT" >&2
echo "{\"id\": $TASKYARD_TASK_ID}"
"#;

async fn job_definition(s: &Server) {
    s.put_definition(json!({"name":"job","executor":"external","allowed_retry_count":0}))
        .await;
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[tokio::test]
async fn runs_shell_commands_reports_failures_and_stops_canceled_ones() {
    let s = Server::start(&[]);
    job_definition(&s).await;
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    // SAFETY: set before the worker starts; tests in this file do not read it concurrently.
    unsafe { std::env::set_var("TASKYARD_PIDFILE", &pidfile) };
    let _w = worker(&s.url, SCRIPT);

    let ok = s.run(json!([{"name":"job","conf":{"n":1}}])).await[0];
    let task = s.wait_task(ok, "done", |t| t["status"] == "done").await;
    assert_eq!(task["outcome"], "succeeded", "{task}");
    assert_eq!(task["result"], json!({"id": ok}));
    assert_eq!(task["executor"], "w-test");
    let (_, log) = s.get(&format!("/api/v1/tasks/{ok}/log")).await;
    let lines: Vec<String> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        lines.iter().any(|l| l == r#"got {"n":1} attempt 1"#),
        "{lines:?}"
    );

    let bad = s.run(json!([{"name":"job","conf":{"mode":"fail"}}])).await[0];
    let task = s.wait_task(bad, "done", |t| t["status"] == "done").await;
    assert_eq!(task["outcome"], "failed");
    let message = task["outcome_reason"]["message"].as_str().unwrap();
    assert!(
        message.contains("exited with code 3") && message.contains("disk full"),
        "{message}"
    );
    assert_eq!(task["error"]["exit_code"], 3);
    assert!(
        task["error"]["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("about to fail")
    );

    let hang = s.run(json!([{"name":"job","conf":{"mode":"hang"}}])).await[0];
    s.wait_task(hang, "in progress", |t| t["status"] == "in-progress")
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid: i32 = loop {
        if let Ok(text) = std::fs::read_to_string(&pidfile)
            && let Ok(pid) = text.trim().parse()
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "the command never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(alive(pid));
    s.act(json!({"action":"cancel","tasks":[hang]})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "the canceled command {pid} is still running"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.task(hang).await["outcome"], "canceled");
}

#[tokio::test]
async fn survives_a_server_restart() {
    let s = Server::start(&[]);
    job_definition(&s).await;
    let _w = worker(&s.url, SCRIPT);
    let first = s.run(json!([{"name":"job"}])).await[0];
    s.wait_task(first, "done", |t| t["status"] == "done").await;

    let port = s.port();
    let data = s.stop();
    // Same address, fresh (memory) engine: the worker must find it by itself.
    let s = Server::start_in(data, &[], &[], Some(&format!("127.0.0.1:{port}")));
    job_definition(&s).await;
    let id = s
        .run(json!([{"name":"job","conf":{"after":"restart"}}]))
        .await[0];
    let task = s.wait_task(id, "done", |t| t["status"] == "done").await;
    assert_eq!(task["outcome"], "succeeded", "{task}");
    assert_eq!(task["executor"], "w-test");
}
