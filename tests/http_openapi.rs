//! The OpenAPI document served at /api/v1/openapi.json matches the real routes: every
//! documented operation is answered (not 404 `not-found`, not 405), and the methods it
//! does not document on a documented path are 405.

mod http_common;

use http_common::Server;
use serde_json::Value;

#[tokio::test]
async fn every_documented_operation_exists_and_nothing_else() {
    let s = Server::start(&[]);
    let (status, doc) = s.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(
        doc,
        serde_json::from_str::<Value>(include_str!("../docs/openapi.json")).unwrap()
    );
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 15);
    for (path, item) in paths {
        let concrete = path.replace("{id}", "1").replace("{name}", "openapi-probe");
        let documented: Vec<String> = item.as_object().unwrap().keys().cloned().collect();
        for method in ["get", "post", "put", "delete", "patch"] {
            let body = (method != "get" && method != "delete").then(|| b"{}".to_vec());
            let upper = method.to_uppercase();
            let (status, _, bytes) = if path == "/api/v1/events" {
                // A stream: the status and headers are enough.
                let resp = reqwest::Client::new()
                    .request(
                        reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                        format!("{}{concrete}", s.url),
                    )
                    .send()
                    .await
                    .unwrap();
                (resp.status().as_u16(), resp.headers().clone(), Vec::new())
            } else {
                s.raw(&upper, &concrete, body, None).await
            };
            let reply: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if documented.iter().any(|m| m == method) {
                assert_ne!(
                    status, 405,
                    "{method} {path} is documented but not served: {reply}"
                );
                assert_ne!(
                    reply["error"]["code"], "not-found",
                    "{method} {path}: {reply}"
                );
            } else {
                assert_eq!(
                    status, 405,
                    "{method} {path} is served but not documented: {reply}"
                );
            }
        }
    }
}
