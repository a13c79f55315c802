//! The HTTP API over real HTTP: every action, every error code of SPEC §5/§7 with its
//! status, limits, pagination, stats and metrics. After each refusal the server is still
//! healthy and nothing changed.

mod http_common;

use http_common::{Server, assert_error};
use serde_json::{Value, json};

#[tokio::test]
async fn actions_reply_in_their_documented_shapes() {
    let s = Server::start(&[]);
    // run: a new task, a held one released by reference, a re-run of a concluded one.
    let ids = s
        .run(
            json!([{"name":"sum","conf":{"values":[1,2]},"ref_id":7}, {"name":"echo","hold":true}]),
        )
        .await;
    assert_eq!(ids.len(), 2);
    let done = s.wait_task(ids[0], "done", |t| t["status"] == "done").await;
    assert_eq!(done["result"], json!({"sum":3}));
    assert_eq!(done["requester"], "local");
    assert_eq!(s.task(ids[1]).await["status"], "created");
    let released = s.run(json!([ids[1]])).await;
    assert_eq!(released, vec![ids[1]]);
    let rerun = s.run(json!([{"type":"ref","ref":[7]}])).await;
    assert_eq!(rerun.len(), 1);
    assert_eq!(s.task(rerun[0]).await["rerun_of"], ids[0]);

    // conclude
    let open = s.run(json!([{"name":"echo","hold":true}])).await[0];
    let reply = s
        .act(json!({"action":"conclude","task":open,"delay":0,"result":{"x":1}}))
        .await;
    assert_eq!(reply["task"], open);
    assert!(reply["conclude_at"].is_string());

    // cancel with a cascade
    let parent = s.run(json!([{"name":"echo","hold":true}])).await[0];
    let child = s
        .run(json!([{"name":"echo","hold":true,"parent":parent}]))
        .await[0];
    let reply = s.act(json!({"action":"cancel","tasks":[parent]})).await;
    assert_eq!(
        reply,
        json!({"canceled":[parent],"cascaded":[child],"ignored":[]})
    );
    let canceled = s.task(parent).await;
    assert_eq!(canceled["outcome"], "canceled");
    assert_eq!(canceled["outcome_reason"]["data"]["by"], "local");

    // clean, destroy
    let reply = s
        .act(json!({"action":"clean","tasks":[parent, child],"ignore":false}))
        .await;
    assert_eq!(reply, json!({"cleaned":[parent, child],"ignored":[]}));
    let live = s.run(json!([{"name":"echo","hold":true}])).await[0];
    let reply = s.act(json!({"action":"destroy","tasks":[live]})).await;
    assert_eq!(reply, json!({"destroyed":[live]}));
    let (status, body) = s.get(&format!("/api/v1/tasks/{live}")).await;
    assert_error(status, &body, 404, "task-not-found");

    // pause, resume
    let reply = s
        .act(json!({"action":"pause","threads":["lane"],"until":"2999-01-01T00:00:00Z"}))
        .await;
    assert_eq!(reply["threads"][0]["name"], "lane");
    assert_eq!(reply["threads"][0]["paused"], true);
    assert_eq!(reply["threads"][0]["paused_by"], "local");
    let (_, threads) = s.get("/api/v1/threads").await;
    assert_eq!(threads["threads"][0]["name"], "lane");
    let reply = s
        .act(json!({"action":"resume","threads":["lane"],"continue":true}))
        .await;
    assert_eq!(reply["threads"][0]["paused"], false);
    assert_eq!(reply["continued"], json!([]));
}

#[tokio::test]
async fn every_refusal_has_its_code_and_changes_nothing() {
    let s = Server::start(&[
        "--max-tasks-per-run",
        "3",
        "--max-conf-bytes",
        "64",
        "--max-body",
        "4096",
    ]);
    s.put_definition(json!({"name":"ext","executor":"external","queue_capacity":1}))
        .await;
    let held = s.run(json!([{"name":"echo","hold":true}])).await[0];
    let done = s.run(json!([{"name":"sum","conf":{"values":[1]}}])).await[0];
    s.wait_task(done, "done", |t| t["status"] == "done").await;
    let queued = s.run(json!([{"name":"ext"}])).await[0];
    let before = s.state().await;

    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "unknown field",
            json!({"action":"run","tasks":[{"name":"sum","prio":1}]}),
            400,
            "invalid-action",
        ),
        (
            "unknown action",
            json!({"action":"explode"}),
            400,
            "invalid-action",
        ),
        (
            "wrong type",
            json!({"action":"cancel","tasks":"all"}),
            400,
            "invalid-action",
        ),
        ("not an object", json!([1, 2]), 400, "invalid-action"),
        (
            "bad conf",
            json!({"action":"run","tasks":[{"name":"sum","conf":{"values":1}}]}),
            400,
            "invalid-conf",
        ),
        (
            "bad thread",
            json!({"action":"pause","threads":["no spaces"]}),
            400,
            "invalid-name",
        ),
        (
            "unknown definition",
            json!({"action":"run","tasks":[{"name":"nope"}]}),
            400,
            "unknown-definition",
        ),
        (
            "missing parent",
            json!({"action":"run","tasks":[{"name":"echo","parent":99999}]}),
            400,
            "parent-not-found",
        ),
        (
            "bad delay",
            json!({"action":"conclude","task":held,"delay":99999}),
            400,
            "invalid-delay",
        ),
        (
            "too many tasks",
            json!({"action":"run","tasks":[{"name":"echo"},{"name":"echo"},{"name":"echo"},{"name":"echo"}]}),
            400,
            "limit-exceeded",
        ),
        (
            "conf too big",
            json!({"action":"run","tasks":[{"name":"echo","conf":{"x":"y".repeat(100)}}]}),
            400,
            "limit-exceeded",
        ),
        (
            "bad filter",
            json!({"action":"cancel","tasks":[{"type":"query","filter":"status:nope"}]}),
            400,
            "invalid-query",
        ),
        (
            "unknown task",
            json!({"action":"cancel","tasks":[424242],"ignore":true}),
            404,
            "task-not-found",
        ),
        (
            "concluded",
            json!({"action":"cancel","tasks":[done]}),
            409,
            "task-concluded",
        ),
        (
            "not concluded",
            json!({"action":"clean","tasks":[held]}),
            409,
            "task-not-concluded",
        ),
        (
            "active",
            json!({"action":"run","tasks":[queued]}),
            409,
            "task-active",
        ),
        (
            "queue full",
            json!({"action":"run","tasks":[{"name":"ext"}]}),
            429,
            "queue-full",
        ),
    ];
    for (what, body, status, code) in cases {
        let (got, reply) = s.post("/api/v1/actions", body).await;
        assert_eq!(got, status, "{what}: {reply}");
        assert_error(got, &reply, status, code);
    }
    assert!(s.state().await == before, "a refused action changed state");

    // Bodies that are not JSON at all.
    let raw_cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("malformed", b"{\"action\":".to_vec(), 400, "invalid-json"),
        ("non-UTF-8", vec![0xff, 0xfe, 0x7b], 400, "invalid-json"),
        ("empty", Vec::new(), 400, "invalid-json"),
        ("too large", vec![b' '; 8192], 413, "body-too-large"),
    ];
    for (what, body, status, code) in raw_cases {
        for path in [
            "/api/v1/actions",
            "/api/v1/executor/poll",
            "/api/v1/executor/fail",
        ] {
            let (got, _, bytes) = s.raw("POST", path, Some(body.clone()), None).await;
            let reply: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(got, status, "{what} on {path}: {reply}");
            assert_error(got, &reply, status, code);
        }
    }
    // queue-full says when to retry.
    let (_, headers, _) = s
        .raw(
            "POST",
            "/api/v1/actions",
            Some(br#"{"action":"run","tasks":[{"name":"ext"}]}"#.to_vec()),
            None,
        )
        .await;
    assert_eq!(headers["retry-after"], "1");

    // Definitions.
    let (status, reply) = s.get("/api/v1/definitions/nope").await;
    assert_error(status, &reply, 404, "definition-not-found");
    let (status, reply) = s
        .call(
            "PUT",
            "/api/v1/definitions/x",
            Some(json!({"executor":"lambda"})),
        )
        .await;
    assert_error(status, &reply, 400, "invalid-definition");
    let (status, reply) = s
        .call(
            "PUT",
            "/api/v1/definitions/x",
            Some(json!({"name":"y","executor":"external"})),
        )
        .await;
    assert_error(status, &reply, 400, "invalid-definition");
    let (status, reply) = s.call("DELETE", "/api/v1/definitions/ext", None).await;
    assert_error(status, &reply, 409, "definition-in-use");

    // Routes and methods.
    let (status, reply) = s.get("/api/v2/tasks").await;
    assert_error(status, &reply, 404, "not-found");
    let (status, reply) = s.call("DELETE", "/api/v1/tasks", None).await;
    assert_error(status, &reply, 405, "method-not-allowed");
    let (status, reply) = s.call("GET", "/api/v1/actions", None).await;
    assert_error(status, &reply, 405, "method-not-allowed");

    // Queries.
    for path in [
        "/api/v1/tasks?limit=0",
        "/api/v1/tasks?limit=1001",
        "/api/v1/tasks?limit=ten",
        "/api/v1/tasks?sort=colour",
        "/api/v1/tasks?order=up",
        "/api/v1/tasks?status=finished",
        "/api/v1/tasks?outcome=meh",
        "/api/v1/tasks?filter=%22open",
        "/api/v1/tasks?after=garbage",
        "/api/v1/tasks?colour=red",
        "/api/v1/tasks/abc",
        "/api/v1/tasks/1/log?limit=0",
        "/api/v1/events?since=-1",
    ] {
        let (status, reply) = s.get(path).await;
        assert_error(status, &reply, 400, "invalid-query");
    }
    let (status, reply) = s.get("/api/v1/tasks/424242/log").await;
    assert_error(status, &reply, 404, "task-not-found");

    assert!(s.state().await == before, "a refused request changed state");
    s.assert_healthy().await;
}

#[tokio::test]
async fn executor_calls_are_fenced() {
    let s = Server::start(&[]);
    s.put_definition(
        json!({"name":"ext","executor":"external","allowed_retry_count":1,"retry_delay_ms":0}),
    )
    .await;
    let id = s.run(json!([{"name":"ext","conf":{"n":1}}])).await[0];
    let (status, reply) = s
        .post(
            "/api/v1/executor/poll",
            json!({"executor":"w1","definitions":["ext"],"max":10}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let task = &reply["tasks"][0];
    assert_eq!(task["id"], id);
    assert_eq!(task["status"], "requested");
    let exec = task["exec_id"].clone();

    let (status, reply) = s
        .post("/api/v1/executor/start", json!({"id":id,"exec_id":exec}))
        .await;
    assert_eq!(
        (status, reply["status"].clone()),
        (200, json!("in-progress"))
    );
    let (status, reply) = s
        .post(
            "/api/v1/executor/notify",
            json!({"id":id,"exec_id":exec,"progress":0.5,"log":["half way"]}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert!(reply["deadline"].is_string());
    let (status, reply) = s
        .post(
            "/api/v1/executor/notify",
            json!({"id":id,"exec_id":exec,"progress":2.0}),
        )
        .await;
    assert_error(status, &reply, 400, "invalid-action");
    let (status, reply) = s
        .post(
            "/api/v1/executor/notify",
            json!({"id":id,"exec_id":exec,"log":["x".repeat(9000)]}),
        )
        .await;
    assert_error(status, &reply, 400, "limit-exceeded");

    // Failing with a retry left: the attempt is over, its exec_id is stale.
    let (status, reply) = s
        .post(
            "/api/v1/executor/fail",
            json!({"id":id,"exec_id":exec,"message":"disk full","error":{"code":28}}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["retry_count"], 1);
    for call in ["start", "notify", "success", "fail"] {
        let (status, reply) = s
            .post(
                &format!("/api/v1/executor/{call}"),
                json!({"id":id,"exec_id":exec}),
            )
            .await;
        assert_error(status, &reply, 409, "stale-execution");
    }
    let (status, reply) = s
        .post(
            "/api/v1/executor/start",
            json!({"id":99999,"exec_id":"00000000-0000-4000-8000-000000000000"}),
        )
        .await;
    assert_error(status, &reply, 404, "task-not-found");
    let (status, reply) = s
        .post(
            "/api/v1/executor/start",
            json!({"id":id,"exec_id":"not-a-uuid"}),
        )
        .await;
    assert_error(status, &reply, 400, "invalid-action");

    // The retry is claimed and succeeds.
    let task = s
        .wait_task(id, "ready again", |t| t["status"] == "ready")
        .await;
    assert_eq!(task["attempt"], 1);
    let (_, reply) = s
        .post(
            "/api/v1/executor/poll",
            json!({"executor":"w1","definitions":["ext"]}),
        )
        .await;
    let exec2 = reply["tasks"][0]["exec_id"].clone();
    assert_ne!(exec2, exec);
    let (status, reply) = s
        .post(
            "/api/v1/executor/success",
            json!({"id":id,"exec_id":exec2,"result":{"ok":1}}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["outcome"], "succeeded");
    let detail = s.task(id).await;
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(
        detail["attempts"][0]["reason"]["type"],
        "failed-by-executor"
    );
    let (_, log) = s.get(&format!("/api/v1/tasks/{id}/log")).await;
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["message"] == "half way")
    );

    // A canceled task tells its worker to stop.
    let id = s.run(json!([{"name":"ext"}])).await[0];
    let (_, reply) = s
        .post(
            "/api/v1/executor/poll",
            json!({"executor":"w1","definitions":["ext"]}),
        )
        .await;
    let exec = reply["tasks"][0]["exec_id"].clone();
    s.act(json!({"action":"cancel","tasks":[id]})).await;
    let (status, reply) = s
        .post("/api/v1/executor/notify", json!({"id":id,"exec_id":exec}))
        .await;
    assert_error(status, &reply, 409, "task-canceled");

    // Bad polls.
    for body in [
        json!({"executor":"w1","definitions":["ext"],"max":0}),
        json!({"executor":"w1","definitions":["ext"],"wait_ms":60001}),
        json!({"executor":"w1","definitions":["sum"]}),
        json!({"executor":"w1","definitions":["ext"],"colour":1}),
    ] {
        let (status, reply) = s.post("/api/v1/executor/poll", body).await;
        assert!(status == 400, "{reply}");
    }
    let (status, reply) = s
        .post(
            "/api/v1/executor/poll",
            json!({"executor":"w1","definitions":["nope"]}),
        )
        .await;
    assert_error(status, &reply, 400, "unknown-definition");
    s.assert_healthy().await;
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_a_task_is_ready() {
    let s = std::sync::Arc::new(Server::start(&[]));
    s.put_definition(json!({"name":"ext","executor":"external"}))
        .await;
    let poller = {
        let s = s.clone();
        tokio::spawn(async move {
            s.post(
                "/api/v1/executor/poll",
                json!({"executor":"w1","definitions":["ext"],"max":5,"wait_ms":30000}),
            )
            .await
        })
    };
    // Wait until the poll is parked, then give it something.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, _, m) = s.raw("GET", "/metrics", None, None).await;
        if String::from_utf8(m)
            .unwrap()
            .contains("taskyard_long_polls 1")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the poll never parked"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let started = std::time::Instant::now();
    let id = s.run(json!([{"name":"ext"}])).await[0];
    let (status, reply) = poller.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(reply["tasks"][0]["id"], id);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    // With nothing to claim it ends empty at its deadline.
    let (status, reply) = s
        .post(
            "/api/v1/executor/poll",
            json!({"executor":"w1","definitions":["ext"],"wait_ms":50}),
        )
        .await;
    assert_eq!((status, reply), (200, json!({"tasks":[]})));
}

#[tokio::test]
async fn keyset_pages_by_id_are_exact_under_concurrent_inserts() {
    let s = Server::start(&[]);
    let tasks: Vec<Value> = (0..25)
        .map(|_| json!({"name":"echo","hold":true}))
        .collect();
    let first = s.run(Value::Array(tasks.clone())).await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            None => "/api/v1/tasks?limit=10&status=created".to_string(),
            Some(a) => format!(
                "/api/v1/tasks?limit=10&status=created&after={}",
                urlencode(a)
            ),
        };
        let (status, page) = s.get(&path).await;
        assert_eq!(status, 200, "{page}");
        for t in page["tasks"].as_array().unwrap() {
            seen.push(t["id"].as_u64().unwrap());
        }
        if seen.len() == 10 {
            // Inserts between pages land after the cursor and are seen once.
            s.run(Value::Array(tasks[..5].to_vec())).await;
        }
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
    }
    let mut want = first.clone();
    want.extend(first.last().unwrap() + 1..=first.last().unwrap() + 5);
    assert_eq!(seen, want);

    // Descending by priority with a filter and a total.
    let (_, page) = s
        .get("/api/v1/tasks?sort=priority&order=desc&limit=5&name=echo")
        .await;
    assert_eq!(page["total"], 30);
    assert_eq!(page["tasks"].as_array().unwrap().len(), 5);
    let (_, page) = s
        .get("/api/v1/tasks?filter=status%3Acreated%20name%3Aecho&limit=1000")
        .await;
    assert_eq!(page["total"], 30);
    assert_eq!(page["next"], Value::Null);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn stats_metrics_health_and_definitions() {
    let s = Server::start(&[]);
    let id = s
        .run(json!([{"name":"sum","conf":{"values":[1]},"thread":"t1"}]))
        .await[0];
    s.wait_task(id, "done", |t| t["status"] == "done").await;
    let (status, stats) = s.get("/api/v1/stats").await;
    assert_eq!(status, 200);
    for key in [
        "by_status",
        "by_outcome",
        "by_definition",
        "by_thread",
        "completions_per_s",
        "queue_latency_ms",
        "workers",
    ] {
        assert!(stats.get(key).is_some(), "{key} missing: {stats}");
    }
    assert_eq!(stats["by_outcome"]["succeeded"], 1);
    assert_eq!(stats["by_definition"]["sum"]["by_status"]["done"], 1);
    assert!(stats["queue_latency_ms"]["p99"].is_number());
    let (_, headers, body) = s.raw("GET", "/metrics", None, None).await;
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("taskyard_tasks{status=\"done\"} 1"), "{text}");
    assert!(text.contains("# TYPE taskyard_http_requests_total counter"));
    // Answers are counted by route template; unknown routes as `unmatched`.
    assert!(
        text.contains(
            "taskyard_http_requests_total{method=\"GET\",route=\"/api/v1/stats\",status=\"200\"} 1"
        ),
        "{text}"
    );
    let (status, _) = s.get("/api/v1/nowhere").await;
    assert_eq!(status, 404);
    let (_, _, body) = s.raw("GET", "/metrics", None, None).await;
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains(
            "taskyard_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"
        ),
        "{text}"
    );
    let (status, health) = s.get("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(health["ok"], true);
    assert!(health["version"].is_string());

    let (_, defs) = s.get("/api/v1/definitions").await;
    assert!(
        defs["definitions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "sum")
    );
    // PUT without a name takes the path's; GET and DELETE it.
    let (status, def) = s
        .call(
            "PUT",
            "/api/v1/definitions/scan",
            Some(json!({"executor":"external"})),
        )
        .await;
    assert_eq!(status, 200, "{def}");
    assert_eq!(def["allowed_retry_count"], 2);
    let (status, def) = s.get("/api/v1/definitions/scan").await;
    assert_eq!((status, def["name"].clone()), (200, json!("scan")));
    let (status, _) = s.call("DELETE", "/api/v1/definitions/scan", None).await;
    assert_eq!(status, 200);
    let (status, reply) = s.get("/api/v1/definitions/scan").await;
    assert_error(status, &reply, 404, "definition-not-found");
}

#[tokio::test]
async fn schedules_are_registered_listed_and_deleted() {
    let s = Server::start(&[]);
    let (status, row) = s
        .call(
            "PUT",
            "/api/v1/schedules/nightly",
            Some(json!({"cron":"0 2 * * *","timezone":"UTC","task":{"name":"sum","conf":{"values":[1]}}})),
        )
        .await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["name"], "nightly");
    assert!(row["next_fire_at"].is_string());
    let (_, list) = s.get("/api/v1/schedules").await;
    assert_eq!(list["schedules"][0]["name"], "nightly");
    let (status, row) = s.get("/api/v1/schedules/nightly").await;
    assert_eq!((status, row["cron"].clone()), (200, json!("0 2 * * *")));
    for body in [
        json!({"cron":"61 * * * *","task":{"name":"sum"}}),
        json!({"cron":"@daily","timezone":"Mars/Olympus","task":{"name":"sum"}}),
        json!({"cron":"@daily","task":{"name":"sum"},"colour":1}),
        json!({"name":"other","cron":"@daily","task":{"name":"sum"}}),
    ] {
        let (status, reply) = s.call("PUT", "/api/v1/schedules/bad", Some(body)).await;
        assert_error(status, &reply, 400, "invalid-schedule");
    }
    let (status, _) = s.call("DELETE", "/api/v1/schedules/nightly", None).await;
    assert_eq!(status, 200);
    let (status, reply) = s.get("/api/v1/schedules/nightly").await;
    assert_error(status, &reply, 404, "schedule-not-found");
    let (status, reply) = s.call("DELETE", "/api/v1/schedules/nightly", None).await;
    assert_error(status, &reply, 404, "schedule-not-found");
}

/// The server also accepts HTTP/2 over cleartext (prior knowledge), which the benchmark's
/// and any direct client may use to share one connection between many calls.
#[tokio::test]
async fn the_server_speaks_h2c_too() {
    use taskyard::client::Client;
    use taskyard_core::api::{Action, ActionReply};
    use taskyard_core::model::{RunItem, TaskSpec};
    let server = Server::start(&["--storage", "memory"]);
    let client = Client::new_http2(&server.url, None).unwrap();
    let mut spec = TaskSpec::new("sum");
    spec.conf = Some(json!({"values": [1, 2]}));
    let reply = client
        .act(&Action::Run {
            tasks: vec![RunItem::New(Box::new(spec))],
            ignore: false,
        })
        .await
        .unwrap();
    let ActionReply::Run { tasks } = reply else {
        panic!("not a run reply: {reply:?}");
    };
    assert_eq!(client.task(tasks[0]).await.unwrap().task.id, tasks[0]);
    server.assert_healthy().await;
}

/// The typed client's executor calls can decode their replies as a small `Receipt`
/// instead of a whole task; the calls and their effects are the same.
#[tokio::test]
async fn executor_replies_decode_as_receipts() {
    use taskyard::client::{Client, Receipt};
    use taskyard_core::api::{ExecRef, PollRequest, SuccessRequest};
    use taskyard_core::model::{Outcome, Status};
    let s = Server::start(&["--storage", "memory"]);
    s.put_definition(json!({"name":"ext","executor":"external"}))
        .await;
    let id = s.run(json!([{"name":"ext"}])).await[0];
    let client = Client::new(&s.url, None).unwrap();
    let req = PollRequest {
        executor: "w1".into(),
        definitions: vec!["ext".into()],
        max: 10,
        wait_ms: 0,
    };
    let polled: Vec<Receipt> = client.poll_as(&req).await.unwrap();
    assert_eq!(polled.len(), 1);
    assert_eq!((polled[0].id, polled[0].status), (id, Status::Requested));
    let exec = ExecRef {
        id,
        exec_id: polled[0].exec_id.unwrap(),
    };
    let started: Receipt = client.start_as(exec).await.unwrap();
    assert_eq!((started.status, started.attempt), (Status::InProgress, 1));
    let done: Receipt = client
        .succeed_as(&SuccessRequest {
            id,
            exec_id: exec.exec_id,
            result: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (done.status, done.outcome),
        (Status::Done, Some(Outcome::Succeeded))
    );
    // A refused call is still the server's error, whatever the reply type.
    let refused = client.start_as::<Receipt>(exec).await.unwrap_err();
    assert!(
        matches!(
            refused,
            taskyard::client::ClientError::Api { status: 409, .. }
        ),
        "{refused:?}"
    );
    s.assert_healthy().await;
}
