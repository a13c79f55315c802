//! The scripting CLI (SPEC §11), as the real binary against a real server: every
//! subcommand, `--json`, exit codes 0/1/2, the server's message on stderr.

mod http_common;

use assert_cmd::Command;
use http_common::{BIN, Server};
use serde_json::Value;

fn cli(s: &Server) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("TASKYARD_SERVER", &s.url)
        .env_remove("TASKYARD_TOKEN");
    cmd
}

fn json_out(cmd: &mut Command) -> Value {
    let out = cmd
        .arg("--json")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

#[test]
fn run_show_list_log_and_wait() {
    let s = Server::start(&[]);
    let out = cli(&s)
        .args(["run", "sum", "--conf", r#"{"values":[2,3]}"#, "--wait"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("succeeded {\"sum\":5}"), "{text}");

    let reply = json_out(
        cli(&s)
            .args([
                "run",
                "echo",
                "--conf",
                "@-",
                "--thread",
                "lane",
                "--priority",
                "-3",
                "--key",
                "k1",
                "--ref-id",
                "42",
                "--desc",
                "hello",
                "--hold",
            ])
            .write_stdin(r#"{"a":1}"#),
    );
    let id = reply["tasks"][0].as_u64().unwrap();
    let task = json_out(cli(&s).args(["show", &id.to_string()]));
    assert_eq!(task["conf"]["a"], 1);
    assert_eq!(task["thread"], "lane");
    assert_eq!(task["priority"], -3);
    assert_eq!(task["key"], "k1");
    assert_eq!(task["ref_id"], 42);
    assert_eq!(task["status"], "created");
    let text = cli(&s)
        .args(["show", &id.to_string()])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(text).unwrap().contains("hello"));

    let list = json_out(cli(&s).args(["list", "--status", "created", "--thread", "lane"]));
    assert_eq!(list["total"], 1);
    assert_eq!(list["tasks"][0]["id"], id);
    let list = json_out(cli(&s).args(["list", "-q", "hello", "--limit", "1", "--all"]));
    assert_eq!(list["tasks"].as_array().unwrap().len(), 1);
    let text = cli(&s)
        .arg("list")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("ID") && text.contains("lane"), "{text}");

    let log = cli(&s)
        .args(["log", "1"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let log = String::from_utf8(log).unwrap();
    assert!(log.contains("in-progress → done"), "{log}");
    // A concluded task: --follow prints and ends.
    cli(&s).args(["log", "1", "--follow"]).assert().success();

    // --wait on a failing task: exit 1 with the reason.
    let out = cli(&s)
        .args(["run", "fail", "--conf", r#"{"message":"boom"}"#, "--wait"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("boom"));
}

#[test]
fn actions_on_references() {
    let s = Server::start(&[]);
    let a = json_out(cli(&s).args(["run", "echo", "--hold", "--ref-id", "7"]))["tasks"][0]
        .as_u64()
        .unwrap();
    let b = json_out(cli(&s).args(["run", "echo", "--hold", "--ref-id", "7"]))["tasks"][0]
        .as_u64()
        .unwrap();
    let reply = json_out(cli(&s).args(["cancel", "ref:7"]));
    assert_eq!(reply["canceled"], serde_json::json!([a, b]));
    // Concluded now: cancel again is refused (exit 1, message on stderr) unless --ignore.
    let out = cli(&s)
        .args(["cancel", &a.to_string()])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("task-concluded") && stderr.contains("ignore"),
        "{stderr}"
    );
    let reply = json_out(cli(&s).args(["cancel", &a.to_string(), "--ignore"]));
    assert_eq!(reply["ignored"], serde_json::json!([a]));
    let reply = json_out(cli(&s).args(["clean", &a.to_string()]));
    assert_eq!(reply["cleaned"], serde_json::json!([a]));
    let c = json_out(cli(&s).args(["run", "echo", "--hold"]))["tasks"][0]
        .as_u64()
        .unwrap();
    let reply = json_out(cli(&s).args(["destroy", &c.to_string(), "query:status:done"]));
    let mut destroyed: Vec<u64> = reply["destroyed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    destroyed.sort();
    assert_eq!(destroyed, vec![b, c]);
    let d = json_out(cli(&s).args(["run", "echo", "--hold"]))["tasks"][0]
        .as_u64()
        .unwrap();
    let reply = json_out(cli(&s).args(["conclude", &d.to_string(), "--result", r#"{"x":1}"#]));
    assert_eq!(reply["task"], d);

    let reply = json_out(cli(&s).args(["pause", "lane", "--until", "2999-01-01T00:00:00Z"]));
    assert_eq!(reply["threads"][0]["paused"], true);
    let threads = json_out(cli(&s).arg("threads"));
    assert_eq!(threads["threads"][0]["name"], "lane");
    let reply = json_out(cli(&s).args(["resume", "lane", "--continue"]));
    assert_eq!(reply["threads"][0]["paused"], false);
}

#[test]
fn definitions_schedules_and_completions() {
    let s = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("defs.json");
    std::fs::write(
        &file,
        r#"[{"name":"scan","executor":"external"},{"name":"scan2","executor":"external","allowed_retry_count":0}]"#,
    )
    .unwrap();
    let out = cli(&s)
        .args(["def", "apply"])
        .arg(&file)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(out).unwrap().contains("applied scan2"));
    let defs = json_out(cli(&s).arg("defs"));
    assert!(
        defs["definitions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "scan")
    );
    std::fs::write(&file, r#"{"name":"bad","executor":"lambda"}"#).unwrap();
    cli(&s).args(["def", "apply"]).arg(&file).assert().code(2);

    let sched = dir.path().join("nightly.json");
    std::fs::write(
        &sched,
        r#"{"name":"nightly","cron":"@daily","task":{"name":"sum","conf":{"values":[1]}}}"#,
    )
    .unwrap();
    cli(&s)
        .args(["schedule", "apply"])
        .arg(&sched)
        .assert()
        .success();
    let rows = json_out(cli(&s).arg("schedules"));
    assert_eq!(rows["schedules"][0]["name"], "nightly");

    let out = Command::new(BIN)
        .args(["completions", "bash"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(out).unwrap().contains("taskyard"));
}

#[test]
fn usage_errors_exit_2_and_refusals_exit_1() {
    let s = Server::start(&[]);
    cli(&s).args(["run"]).assert().code(2);
    cli(&s)
        .args(["run", "sum", "--conf", "{nope"])
        .assert()
        .code(2);
    cli(&s)
        .args(["run", "sum", "--delay", "5", "--at", "2030-01-01T00:00:00Z"])
        .assert()
        .code(2);
    cli(&s).args(["cancel", "twelve"]).assert().code(2);
    cli(&s)
        .args(["pause", "t", "--until", "tomorrow"])
        .assert()
        .code(2);
    cli(&s).args(["completions", "tcsh-9"]).assert().code(2);
    let out = cli(&s)
        .args(["run", "nope"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown-definition") && stderr.contains("nope"),
        "{stderr}"
    );
    let out = cli(&s)
        .args(["show", "9999"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    // An unreachable server is exit 1 with a hint.
    let out = Command::new(BIN)
        .args(["list", "--server", "http://127.0.0.1:9"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"));
}

#[test]
fn tokens_are_sent() {
    let s = Server::start_with(&[], &[("TASKYARD_TOKEN", "s3cret")], None);
    let out = cli(&s).arg("list").assert().code(1).get_output().clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unauthenticated"));
    cli(&s)
        .args(["list", "--token", "s3cret"])
        .assert()
        .success();
    cli(&s)
        .arg("list")
        .env("TASKYARD_TOKEN", "s3cret")
        .assert()
        .success();
}
