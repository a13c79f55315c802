//! The scripting CLI of SPEC §11: one subcommand per action and read, all on the typed
//! client. Exit codes: 0 ok, 1 the server refused (its message on stderr) or could not be
//! reached, 2 usage (clap's own, and bad values found after parsing).

mod args;
mod output;
mod watch;

pub use args::Command;

use anyhow::Context as _;
use args::{Conn, RefArgs};
use clap::error::ErrorKind;
use serde_json::{Value, json};
use std::io::Read as _;
use taskyard::client::{Client, DEFAULT_SERVER};
use taskyard_core::api::{Action, TaskQuery};
use taskyard_core::model::{RunItem, Schedule, TaskRef, TaskSpec};
use taskyard_core::time::Millis;

/// A usage error found after parsing: printed like clap's, exit code 2.
pub fn usage(message: impl std::fmt::Display) -> ! {
    clap::Error::raw(ErrorKind::ValueValidation, format!("{message}\n")).exit()
}

impl Conn {
    pub fn client(&self) -> anyhow::Result<Client> {
        let server = self.server.as_deref().unwrap_or(DEFAULT_SERVER);
        Client::new(server, self.token.clone()).map_err(|e| usage(e))
    }
}

/// Prints the reply as JSON (with `--json`) or as text.
fn emit(conn: &Conn, value: &Value, text: impl FnOnce() -> String) {
    if conn.json {
        println!("{value}");
    } else {
        let t = text();
        if !t.is_empty() {
            println!("{t}");
        }
    }
}

/// `12`, `ref:42` (or `ref:1,2`), `query:<filter>`.
pub fn parse_ref(text: &str) -> Result<TaskRef, String> {
    if let Some(refs) = text.strip_prefix("ref:") {
        let ids: Result<Vec<i64>, _> = refs.split(',').map(|r| r.trim().parse()).collect();
        return ids
            .map(TaskRef::Ref)
            .map_err(|_| format!("`{text}`: ref ids are whole numbers, e.g. ref:42 or ref:1,2"));
    }
    if let Some(filter) = text.strip_prefix("query:") {
        return Ok(TaskRef::Query(filter.to_string()));
    }
    text.parse().map(TaskRef::Id).map_err(|_| {
        format!("`{text}` is not a task reference; use an id (12), ref:42 or query:<filter>")
    })
}

fn refs(args: &RefArgs) -> Vec<TaskRef> {
    args.refs
        .iter()
        .map(|r| parse_ref(r).unwrap_or_else(|e| usage(e)))
        .collect()
}

/// `--conf JSON`, `--conf @FILE`, `--conf @-` (stdin).
fn read_conf(text: &str) -> Value {
    let source = match text.strip_prefix('@') {
        Some("-") => {
            let mut s = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut s) {
                usage(format!("--conf @-: cannot read standard input: {e}"));
            }
            s
        }
        Some(path) => std::fs::read_to_string(path)
            .unwrap_or_else(|e| usage(format!("--conf @{path}: cannot read the file: {e}"))),
        None => text.to_string(),
    };
    serde_json::from_str(&source).unwrap_or_else(|e| {
        usage(format!(
            "--conf is not valid JSON ({e}); e.g. --conf '{{\"values\":[1,2]}}'"
        ))
    })
}

fn ids_text(ids: &[u64]) -> String {
    if ids.is_empty() {
        "-".into()
    } else {
        ids.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The objects of a JSON file that holds one object or an array of them.
fn read_json_items<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
) -> Result<Vec<T>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    let items = match value {
        Value::Array(items) => items,
        one => vec![one],
    };
    items
        .into_iter()
        .map(|v| serde_json::from_value(v).map_err(|e| format!("{}: {e}", path.display())))
        .collect()
}

/// Runs one scripting subcommand; `root` is the whole command (for completions).
pub async fn run(command: Command, root: clap::Command) -> anyhow::Result<()> {
    match command {
        Command::Run(a) => run_task(a).await,
        Command::Cancel(a) => {
            let action = Action::Cancel {
                tasks: refs(&a),
                ignore: a.ignore,
            };
            act(&a.conn, &action).await
        }
        Command::Clean(a) => {
            let action = Action::Clean {
                tasks: refs(&a),
                ignore: a.ignore,
            };
            act(&a.conn, &action).await
        }
        Command::Destroy(a) => {
            if a.ignore {
                usage("destroy takes no --ignore: it acts whatever the state");
            }
            let action = Action::Destroy { tasks: refs(&a) };
            act(&a.conn, &action).await
        }
        Command::Conclude(a) => {
            let result = a.result.as_deref().map(read_conf);
            let action = Action::Conclude {
                task: a.id,
                delay: a.delay,
                result,
            };
            act(&a.conn, &action).await
        }
        Command::Pause(a) => {
            let until = a
                .until
                .as_deref()
                .map(|t| Millis::parse(t).unwrap_or_else(|e| usage(format!("--until: {e}"))));
            let action = Action::Pause {
                threads: a.threads,
                until,
            };
            act(&a.conn, &action).await
        }
        Command::Resume(a) => {
            let action = Action::Resume {
                threads: a.threads,
                continue_: a.continue_,
            };
            act(&a.conn, &action).await
        }
        Command::List(a) => list(a).await,
        Command::Show(a) => {
            let client = a.conn.client()?;
            let detail = client.task(a.id).await?;
            let value = serde_json::to_value(&detail)?;
            emit(&a.conn, &value, || output::detail(&detail));
            Ok(())
        }
        Command::Log(a) => watch::log(a).await,
        Command::Threads(conn) => {
            let threads = conn.client()?.threads().await?;
            emit(&conn, &json!({ "threads": threads }), || {
                output::threads(&threads)
            });
            Ok(())
        }
        Command::Defs(conn) => {
            let defs = conn.client()?.definitions().await?;
            emit(&conn, &json!({ "definitions": defs }), || {
                output::definitions(&defs)
            });
            Ok(())
        }
        Command::Def(args::DefCommand::Apply(a)) => {
            let defs = crate::server::read_definition_files(&a.files)
                .map_err(|e| usage(format!("{e:#}")))?;
            let client = a.conn.client()?;
            let mut applied = Vec::new();
            for def in defs {
                let name = def.name.clone();
                let def = client
                    .put_definition(&def)
                    .await
                    .with_context(|| format!("definition `{name}`"))?;
                if !a.conn.json {
                    println!("applied {}", def.name);
                }
                applied.push(def);
            }
            if a.conn.json {
                println!("{}", json!({ "definitions": applied }));
            }
            Ok(())
        }
        Command::Schedules(conn) => {
            let rows = conn.client()?.schedules().await?;
            emit(&conn, &json!({ "schedules": rows }), || {
                output::schedules(&rows)
            });
            Ok(())
        }
        Command::Schedule(args::ScheduleCommand::Apply(a)) => {
            let mut schedules = Vec::new();
            for file in &a.files {
                schedules.extend(read_json_items::<Schedule>(file).unwrap_or_else(|e| usage(e)));
            }
            let client = a.conn.client()?;
            let mut applied = Vec::new();
            for schedule in schedules {
                let name = schedule.name.clone();
                let row = client
                    .put_schedule(&schedule)
                    .await
                    .with_context(|| format!("schedule `{name}`"))?;
                if !a.conn.json {
                    let next = row
                        .next_fire_at
                        .map_or("never".to_string(), |t| t.to_string());
                    println!("applied {} (next firing {next})", row.schedule.name);
                }
                applied.push(row);
            }
            if a.conn.json {
                println!("{}", json!({ "schedules": applied }));
            }
            Ok(())
        }
        Command::Completions(a) => {
            let mut root = root;
            clap_complete::generate(a.shell, &mut root, "taskyard", &mut std::io::stdout());
            Ok(())
        }
    }
}

async fn act(conn: &Conn, action: &Action) -> anyhow::Result<()> {
    let reply = conn.client()?.act(action).await?;
    let value = serde_json::to_value(&reply)?;
    emit(conn, &value, || output::action_reply(&reply));
    Ok(())
}

async fn run_task(a: args::RunArgs) -> anyhow::Result<()> {
    let execute_at = match (a.delay, &a.at) {
        (Some(ms), None) => Some(Millis::from_datetime(chrono::Utc::now()).plus_ms(ms)),
        (None, Some(at)) => Some(Millis::parse(at).unwrap_or_else(|e| usage(format!("--at: {e}")))),
        _ => None,
    };
    let spec = TaskSpec {
        name: a.name.clone(),
        conf: a.conf.as_deref().map(read_conf),
        key: a.key.clone(),
        parent: a.parent,
        thread: a.thread.clone(),
        auto: a.auto,
        archive: a.archive,
        open: a.open,
        desc: a.desc.clone(),
        priority: a.priority,
        timeout: a.timeout,
        ref_id: a.ref_id,
        execute_at,
        hold: a.hold,
    };
    let client = a.conn.client()?;
    let action = Action::Run {
        tasks: vec![RunItem::New(Box::new(spec))],
        ignore: false,
    };
    if !a.wait {
        return act(&a.conn, &action).await;
    }
    watch::run_and_wait(&client, &a.conn, &action).await
}

async fn list(a: args::ListArgs) -> anyhow::Result<()> {
    let mut terms: Vec<String> = Vec::new();
    if let Some(f) = &a.filter {
        terms.push(f.clone());
    }
    for (field, value) in [
        ("status", &a.status),
        ("thread", &a.thread),
        ("name", &a.name),
    ] {
        if let Some(v) = value {
            terms.push(format!("{field}:\"{v}\""));
        }
    }
    if let Some(q) = &a.query {
        terms.push(q.clone());
    }
    let sort = match &a.sort {
        None => taskyard_core::api::SortKey::Id,
        Some(s) => taskyard_core::api::SortKey::parse(s).unwrap_or_else(|| {
            usage(format!(
                "--sort {s}: use one of {}",
                taskyard_core::api::SortKey::ALL
                    .map(|k| k.as_str())
                    .join(", ")
            ))
        }),
    };
    let mut query = TaskQuery {
        filter: terms.join(" "),
        sort,
        order: if a.desc {
            taskyard_core::api::SortOrder::Desc
        } else {
            taskyard_core::api::SortOrder::Asc
        },
        offset: 0,
        limit: a.limit.clamp(1, 1000),
        after: None,
    };
    let client = a.conn.client()?;
    let mut tasks = Vec::new();
    let mut total;
    loop {
        let page = client.tasks(&query).await?;
        total = page.total;
        tasks.extend(page.tasks);
        match page.next {
            Some(next) if a.all => query.after = Some(next),
            _ => break,
        }
    }
    let shown = tasks.len();
    let value = json!({ "tasks": tasks, "total": total });
    emit(&a.conn, &value, || output::task_table(&tasks, shown, total));
    Ok(())
}
