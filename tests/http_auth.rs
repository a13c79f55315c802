//! Auth (SPEC §7): every role on every route class, missing and wrong tokens, the
//! requester a token gives, and the refusal to serve a non-loopback address without auth.

mod http_common;

use http_common::{BIN, Server, assert_error};
use serde_json::json;

const AUTH: &str = r#"
[[token]]
name = "vic"
role = "viewer"
token = "viewer-token"

[[token]]
name = "olga"
role = "operator"
token = "operator-token"

[[token]]
name = "eddie"
role = "executor"
token = "executor-token"

[[token]]
name = "ada"
role = "admin"
# sha256("admin-token")
token_sha256 = "ad1dc7fb04c3de2b6c2e8df8e6b3d2e0000000000000000000000000000000000"
"#;

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.toml");
    let text = AUTH.replace(
        "ad1dc7fb04c3de2b6c2e8df8e6b3d2e0000000000000000000000000000000000",
        &sha256_hex("admin-token"),
    );
    std::fs::write(&path, text).unwrap();
    let s = Server::start(&["--auth", path.to_str().unwrap()]);
    std::mem::forget(dir); // the server read it at start; keep the path valid anyway
    s
}

#[tokio::test]
async fn every_role_on_every_route_class() {
    let s = start();
    // (method, path, body) per route class.
    let read = [
        ("GET", "/api/v1/tasks", None),
        ("GET", "/api/v1/threads", None),
        ("GET", "/api/v1/definitions", None),
        ("GET", "/api/v1/stats", None),
        ("GET", "/metrics", None),
    ];
    let operate = [(
        "POST",
        "/api/v1/actions",
        Some(json!({"action":"pause","threads":["t"]})),
    )];
    let execute = [(
        "POST",
        "/api/v1/executor/poll",
        Some(json!({"executor":"w","definitions":["import"]})),
    )];
    let admin = [(
        "PUT",
        "/api/v1/definitions/scan",
        Some(json!({"executor":"external"})),
    )];
    let roles = [
        ("viewer-token", [true, false, false, false]),
        ("operator-token", [true, true, false, false]),
        ("executor-token", [true, false, true, false]),
        ("admin-token", [true, true, true, true]),
    ];
    for (token, allowed) in roles {
        let classes: [&[(&str, &str, Option<serde_json::Value>)]; 4] =
            [&read, &operate, &execute, &admin];
        for (class, routes) in classes.iter().enumerate() {
            for (method, path, body) in routes.iter() {
                let body = body.as_ref().map(|b| serde_json::to_vec(b).unwrap());
                let (status, _, bytes) = s.raw(method, path, body, Some(token)).await;
                if allowed[class] {
                    assert_eq!(
                        status,
                        200,
                        "{token} {method} {path}: {}",
                        String::from_utf8_lossy(&bytes)
                    );
                } else {
                    let reply: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    assert_error(status, &reply, 403, "forbidden");
                }
            }
        }
    }
    // No token, a wrong token, a malformed header: 401 everywhere but /healthz.
    for auth in [None, Some("Bearer nope"), Some("Basic dXNlcjpwdw==")] {
        let mut req = reqwest::Client::new().get(format!("{}/api/v1/tasks", s.url));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        assert!(resp.headers().contains_key("www-authenticate"));
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated");
    }
    let resp = reqwest::get(format!("{}/healthz", s.url)).await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = reqwest::get(format!("{}/api/v1/openapi.json", s.url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Unknown routes need a token too; with one they are 404.
    let (status, _, _) = s.raw("GET", "/nope", None, Some("nope")).await;
    assert_eq!(status, 401);
    let (status, _, _) = s.raw("GET", "/nope", None, Some("viewer-token")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_token_name_is_the_requester() {
    let s = start();
    let body =
        serde_json::to_vec(&json!({"action":"run","tasks":[{"name":"echo","hold":true}]})).unwrap();
    let (status, _, bytes) = s
        .raw(
            "POST",
            "/api/v1/actions",
            Some(body),
            Some("operator-token"),
        )
        .await;
    assert_eq!(status, 200);
    let reply: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let id = reply["tasks"][0].as_u64().unwrap();
    let (_, _, bytes) = s
        .raw(
            "GET",
            &format!("/api/v1/tasks/{id}"),
            None,
            Some("viewer-token"),
        )
        .await;
    let task: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(task["requester"], "olga");
}

#[tokio::test]
async fn taskyard_token_is_one_admin_token() {
    let s = Server::start_with(&[], &[("TASKYARD_TOKEN", "s3cret")], None);
    let (status, reply) = s
        .call(
            "PUT",
            "/api/v1/definitions/scan",
            Some(json!({"executor":"external"})),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let (status, _, _) = s.raw("GET", "/api/v1/tasks", None, Some("wrong")).await;
    assert_eq!(status, 401);
}

#[test]
fn refuses_a_public_address_without_auth() {
    let out = std::process::Command::new(BIN)
        .args(["serve", "--listen", "0.0.0.0:0", "--data"])
        .arg(tempfile::tempdir().unwrap().path())
        .env_remove("TASKYARD_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("without auth") && stderr.contains("--insecure"),
        "{stderr}"
    );
}

#[test]
fn refuses_a_bad_auth_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.toml");
    std::fs::write(
        &path,
        "[[token]]\nname = \"x\"\nrole = \"root\"\ntoken = \"t\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--auth"])
        .arg(&path)
        .arg("--data")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("root"));
}
