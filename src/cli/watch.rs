//! The CLI commands that follow the event stream: `log --follow` and `run --wait`. The
//! stream is opened before the state is read, so nothing falls between the two; after a
//! reconnect or a reset the state is read again.

use super::args::{Conn, LogArgs};
use super::output;
use serde_json::json;
use std::collections::BTreeSet;
use taskyard::client::{Client, EventStream, StreamItem};
use taskyard_core::api::{Action, ActionReply};
use taskyard_core::model::{EventKind, Outcome, Status, Task, TaskId};

/// Waits for the first connection; a server that cannot be reached at all is an error.
async fn connected(stream: &mut EventStream) -> anyhow::Result<()> {
    match stream.next().await? {
        StreamItem::Connected => Ok(()),
        StreamItem::Disconnected { error, .. } => Err(anyhow::anyhow!(error)),
        other => Err(anyhow::anyhow!("unexpected first stream item {other:?}")),
    }
}

/// Prints every log entry after `last`, page by page; returns the new `last`.
async fn print_log(client: &Client, id: TaskId, mut last: u64, json: bool) -> anyhow::Result<u64> {
    loop {
        let page = client.log(id, last, 1000).await?;
        for e in &page.entries {
            if e.seq > last {
                print_entry(e, json);
                last = e.seq;
            }
        }
        match page.next {
            Some(next) if !page.entries.is_empty() => last = last.max(next),
            _ => return Ok(last),
        }
    }
}

fn print_entry(e: &taskyard_core::model::LogEntry, json: bool) {
    if json {
        println!("{}", json!(e));
    } else {
        println!("{}", output::log_entry(e));
    }
}

pub async fn log(a: LogArgs) -> anyhow::Result<()> {
    let client = a.conn.client()?;
    let json = a.conn.json;
    if !a.follow {
        print_log(&client, a.id, 0, json).await?;
        return Ok(());
    }
    let mut stream = client.events(None);
    connected(&mut stream).await?;
    let mut last = print_log(&client, a.id, 0, json).await?;
    if client.task(a.id).await?.task.is_done() {
        return Ok(());
    }
    loop {
        match stream.next().await? {
            StreamItem::Event(e) if e.kind.task_id() == Some(a.id) => {
                if let Some(entry) = e.kind.log_entry()
                    && entry.seq > last
                {
                    print_entry(entry, json);
                    last = entry.seq;
                }
                match &e.kind {
                    EventKind::TaskStatus {
                        to: Status::Done, ..
                    } => return Ok(()),
                    EventKind::TaskCleaned { .. } => {
                        eprintln!("taskyard: task {} was cleaned", a.id);
                        return Ok(());
                    }
                    _ => {}
                }
            }
            StreamItem::Event(_) => {}
            StreamItem::Connected | StreamItem::Reset { .. } => {
                last = print_log(&client, a.id, last, json).await?;
                if client.task(a.id).await?.task.is_done() {
                    return Ok(());
                }
            }
            StreamItem::Disconnected {
                error, retry_in, ..
            } => {
                eprintln!("taskyard: lost the event stream ({error}); retrying in {retry_in:?}");
            }
        }
    }
}

/// `run --wait`: runs, then waits until every created task concludes. Exit 1 unless all
/// succeeded.
pub async fn run_and_wait(client: &Client, conn: &Conn, action: &Action) -> anyhow::Result<()> {
    let mut stream = client.events(None);
    connected(&mut stream).await?;
    let ids = match client.act(action).await? {
        ActionReply::Run { tasks } => tasks,
        other => anyhow::bail!("unexpected reply to run: {other:?}"),
    };
    let mut pending: BTreeSet<TaskId> = ids.iter().copied().collect();
    let mut finished: Vec<Task> = Vec::new();
    let mut check = true;
    while !pending.is_empty() {
        if check {
            for id in pending.clone() {
                let task = client.task(id).await?.task;
                if task.is_done() {
                    pending.remove(&id);
                    finished.push(task);
                }
            }
            check = false;
            continue;
        }
        match stream.next().await? {
            StreamItem::Event(e) => match &e.kind {
                EventKind::TaskStatus {
                    id,
                    to: Status::Done,
                    ..
                } if pending.contains(id) => {
                    pending.remove(id);
                    finished.push(client.task(*id).await?.task);
                }
                EventKind::TaskCleaned { id } if pending.contains(id) => {
                    anyhow::bail!("task {id} was cleaned before it concluded")
                }
                _ => {}
            },
            StreamItem::Connected | StreamItem::Reset { .. } => check = true,
            StreamItem::Disconnected {
                error, retry_in, ..
            } => {
                eprintln!("taskyard: lost the event stream ({error}); retrying in {retry_in:?}");
            }
        }
    }
    finished.sort_by_key(|t| t.id);
    if conn.json {
        println!("{}", json!({ "tasks": finished }));
    } else {
        for t in &finished {
            let outcome = t.outcome.map_or("done", Outcome::as_str);
            match &t.result {
                Some(r) => println!("{} {outcome} {r}", t.id),
                None => println!("{} {outcome}", t.id),
            }
        }
    }
    if let Some(bad) = finished
        .iter()
        .find(|t| t.outcome != Some(Outcome::Succeeded))
    {
        let why = bad
            .outcome_reason
            .as_ref()
            .map_or(String::new(), |r| format!(": {}", r.message));
        anyhow::bail!(
            "task {} {}{why}",
            bad.id,
            bad.outcome.map_or("ended", Outcome::as_str)
        );
    }
    Ok(())
}
