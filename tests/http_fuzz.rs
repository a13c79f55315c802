//! Fuzzing the action and executor parsers over real HTTP: arbitrary bytes and arbitrary
//! JSON (biased towards the real shapes) never get a 5xx or kill the server, and a refused
//! request changes nothing (tasks, threads and definitions read the same before and
//! after). The server runs nothing in the background: its only definition is external,
//! with no timeout that could fire during the test.

mod http_common;

use http_common::Server;
use proptest::prelude::*;
use serde_json::{Value, json};

const ENDPOINTS: [&str; 6] = [
    "/api/v1/actions",
    "/api/v1/executor/poll",
    "/api/v1/executor/start",
    "/api/v1/executor/notify",
    "/api/v1/executor/success",
    "/api/v1/executor/fail",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (0u64..5).prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z:\\- ]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("run"),
            Just("cancel"),
            Just("clean"),
            Just("destroy"),
            Just("conclude"),
            Just("pause"),
            Just("resume"),
            Just("ref"),
            Just("query"),
            Just("ext"),
            Just("00000000-0000-4000-8000-000000000000"),
            Just("status:ready"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("action"),
        Just("tasks"),
        Just("task"),
        Just("ignore"),
        Just("threads"),
        Just("until"),
        Just("continue"),
        Just("delay"),
        Just("result"),
        Just("name"),
        Just("conf"),
        Just("hold"),
        Just("type"),
        Just("ref"),
        Just("filter"),
        Just("id"),
        Just("exec_id"),
        Just("executor"),
        Just("definitions"),
        Just("max"),
        Just("wait_ms"),
        Just("progress"),
        Just("log"),
        Just("error"),
        Just("message"),
        Just("bogus"),
    ]
    .prop_map(str::to_string)
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check(
    rt: &tokio::runtime::Runtime,
    s: &Server,
    path: &str,
    body: Vec<u8>,
) -> Result<(), TestCaseError> {
    rt.block_on(async {
        let before = s.state().await;
        let (status, _, bytes) = s.raw("POST", path, Some(body), None).await;
        prop_assert!(
            status < 500,
            "{path} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        let reply: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status >= 400 {
            prop_assert!(reply["error"]["code"].is_string(), "{path}: no error body");
            prop_assert!(
                s.state().await == before,
                "{} refused with {} but changed state",
                path,
                reply
            );
        }
        Ok(())
    })
}

fn server() -> (tokio::runtime::Runtime, Server) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = Server::start(&["--no-examples", "--storage", "memory"]);
    rt.block_on(async {
        s.put_definition(json!({
            "name": "ext",
            "executor": "external",
            "requested_to_start_timeout_ms": 3_600_000,
            "in_progress_timeout_ms": 3_600_000
        }))
        .await;
        s.run(json!([{"name":"ext"},{"name":"ext","hold":true}]))
            .await;
    });
    (rt, s)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_refused_cleanly(
        body in prop::collection::vec(any::<u8>(), 0..256),
        endpoint in 0..ENDPOINTS.len(),
    ) {
        thread_local!(static SERVER: (tokio::runtime::Runtime, Server) = server());
        SERVER.with(|(rt, s)| check(rt, s, ENDPOINTS[endpoint], body))?;
    }

    #[test]
    fn arbitrary_json_never_breaks_the_server(body in value(), endpoint in 0..ENDPOINTS.len()) {
        thread_local!(static SERVER: (tokio::runtime::Runtime, Server) = server());
        let bytes = serde_json::to_vec(&body).unwrap();
        SERVER.with(|(rt, s)| check(rt, s, ENDPOINTS[endpoint], bytes))?;
    }
}

#[test]
fn the_server_is_healthy_after_garbage() {
    let (rt, s) = server();
    rt.block_on(async {
        for body in [&b"\x00\x01"[..], b"{{{{", b"[", b"null", b"\"\\ud800\""] {
            for path in ENDPOINTS {
                let (status, _, _) = s.raw("POST", path, Some(body.to_vec()), None).await;
                assert!((400..500).contains(&status));
            }
        }
        s.assert_healthy().await;
    });
}
