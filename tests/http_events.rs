//! `GET /api/v1/events`: ids, replay after `since` and `Last-Event-ID`, `reset` when the
//! client asks for more than the server keeps, keep-alives.

mod http_common;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use http_common::Server;
use serde_json::{Value, json};
use std::time::Duration;

type Events = std::pin::Pin<
    Box<
        dyn futures::Stream<
                Item = Result<
                    eventsource_stream::Event,
                    eventsource_stream::EventStreamError<reqwest::Error>,
                >,
            > + Send,
    >,
>;

async fn open(s: &Server, query: &str, last_event_id: Option<&str>) -> Events {
    let mut req = reqwest::Client::new().get(format!("{}/api/v1/events{query}", s.url));
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    Box::pin(resp.bytes_stream().eventsource())
}

async fn next(events: &mut Events) -> eventsource_stream::Event {
    tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("no event within 10 s")
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn replays_after_since_and_last_event_id_then_goes_live() {
    let s = Server::start(&["--no-examples"]);
    s.put_definition(json!({"name":"ext","executor":"external"}))
        .await;
    let ids = s.run(json!([{"name":"ext"},{"name":"ext"}])).await;
    let last = s.seq_at_least(3).await;

    let mut events = open(&s, "?since=0", None).await;
    let mut seqs = Vec::new();
    for _ in 0..last {
        let e = next(&mut events).await;
        let data: Value = serde_json::from_str(&e.data).unwrap();
        assert_eq!(e.id, data["seq"].to_string());
        assert_eq!(e.event, data["type"].as_str().unwrap());
        seqs.push(data["seq"].as_u64().unwrap());
    }
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());

    // Live: a new change arrives on the open stream.
    s.act(json!({"action":"cancel","tasks":[ids[0]]})).await;
    let e = next(&mut events).await;
    assert_eq!(e.event, "task-status");
    let data: Value = serde_json::from_str(&e.data).unwrap();
    assert_eq!(data["id"], ids[0]);
    assert_eq!(data["to"], "done");
    assert_eq!(data["outcome"], "canceled");

    // Resuming with Last-Event-ID gets exactly what came after it.
    let mut resumed = open(&s, "", Some(&(last - 1).to_string())).await;
    let e = next(&mut resumed).await;
    assert_eq!(e.id, last.to_string());
    let e = next(&mut resumed).await;
    assert_eq!(e.event, "task-status");
}

#[tokio::test]
async fn a_client_too_far_behind_gets_a_reset() {
    let s = Server::start(&["--no-examples", "--event-history", "4"]);
    s.put_definition(json!({"name":"ext","executor":"external"}))
        .await;
    for _ in 0..5 {
        s.run(json!([{"name":"ext"}])).await;
    }
    let last = s.seq_at_least(6).await;
    let mut events = open(&s, "?since=0", None).await;
    let e = next(&mut events).await;
    assert_eq!(e.event, "reset");
    let data: Value = serde_json::from_str(&e.data).unwrap();
    assert!(data["last_seq"].as_u64().unwrap() <= last);
    // A seq from the future (the server lost events it once sent) also resets.
    let mut events = open(&s, &format!("?since={}", last + 100), None).await;
    let e = next(&mut events).await;
    assert_eq!(e.event, "reset");
    assert_eq!(e.id, last.to_string());
    // ... and the stream goes on live.
    s.run(json!([{"name":"ext"}])).await;
    let e = next(&mut events).await;
    assert_eq!(e.event, "task-created");
}

#[tokio::test]
async fn quiet_streams_get_keep_alives() {
    let s = Server::start(&["--no-examples", "--sse-keep-alive-ms", "50"]);
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/events", s.url))
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&chunk).contains(": keep-alive"));
}
