//! The crash test (SPEC §8: `kill -9` at any moment loses no acknowledged change).
//!
//! A child process (this test binary again, running `crash_child`) drives a workload on
//! a data dir: thousands of keyed tasks, planned failures and retries, open tasks
//! concluded with a delay, threads locked by failures and continued, threads paused by
//! hand or `until`. It prints every acknowledged change: each published (so committed)
//! event and each action reply. The parent kills it with SIGKILL at random moments,
//! then opens the data dir itself and checks that every acknowledged change is stored;
//! handlers record start and end in marker files so that two runs of a task, or of two
//! tasks of one thread, at once are caught. Finally a child runs the workload to its
//! end.
//!
//! `TASKYARD_CRASH_SEED=n` replays the kill moments of a failed run.

use rand::{Rng, SeedableRng, rngs::SmallRng};
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use taskyard_core::api::{Action, ActionReply, Requester};
use taskyard_core::model::{
    Definition, EventKind, ExecutorKind, LogKind, RunItem, Status, TaskId, TaskSpec,
};
use taskyard_core::runtime::{
    Delivery, EngineHandle, HandlerContext, HandlerError, HandlerResult, Handlers, RuntimeBuilder,
};
use taskyard_core::storage::{SqliteOptions, SqliteStorage, Storage, workspaces_dir};

const TASKS: usize = 2_000;
const CHUNK: usize = 40;
const LANES: usize = 8;
const ENV_DIR: &str = "TASKYARD_CRASH_DIR";

// --- the child --------------------------------------------------------------------------

/// Runs only as the child process (when `TASKYARD_CRASH_DIR` is set); a no-op otherwise.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(ENV_DIR) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(child(PathBuf::from(dir)));
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Notes that a task (and its thread) runs; a second run at once is a violation.
struct Running(Vec<PathBuf>);

impl Running {
    fn enter(dir: &Path, names: Vec<String>) -> Running {
        let mut held = Vec::new();
        for name in names {
            let path = dir.join(&name);
            match std::fs::File::create_new(&path) {
                Ok(_) => held.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    say(&format!("VIOLATION {name} runs twice at once"));
                }
                Err(e) => say(&format!("VIOLATION cannot mark {name}: {e}")),
            }
        }
        Running(held)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

async fn job(ctx: HandlerContext) -> HandlerResult {
    let markers = PathBuf::from(std::env::var_os(ENV_DIR).unwrap_or_default()).join("running");
    let mut names = vec![format!("task-{}", ctx.id)];
    if let Some(lane) = ctx.conf.get("lane").and_then(|l| l.as_str()) {
        names.push(format!("thread-{lane}"));
    }
    let _running = Running::enter(&markers, names);
    let ms = ctx.conf.get("ms").and_then(|v| v.as_u64()).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    let fail = ctx.conf.get("fail").and_then(|v| v.as_u64()).unwrap_or(0);
    if u64::from(ctx.attempt) <= fail {
        return Err(HandlerError::new(format!(
            "planned failure {}",
            ctx.attempt
        )));
    }
    Ok(json!({"attempt": ctx.attempt}))
}

fn spec(i: usize) -> TaskSpec {
    let strict = i % 50 == 7;
    let mut s = TaskSpec::new(if strict { "strict" } else { "job" });
    s.key = Some(format!("w-{i}"));
    let mut conf = json!({"i": i, "ms": i % 3});
    let lane = (i.is_multiple_of(3) || strict).then(|| format!("lane-{}", i % LANES));
    if let Some(lane) = &lane {
        conf["lane"] = json!(lane);
        s.thread = Some(lane.clone());
    }
    if strict {
        conf["fail"] = json!(2); // locks its thread twice before it succeeds
    } else if i.is_multiple_of(7) {
        conf["fail"] = json!(1); // one retry
    }
    s.open = i % 3 == 2 && !strict;
    s.conf = Some(conf);
    s
}

async fn child(dir: PathBuf) {
    let markers = dir.join("running");
    // Every earlier process is dead: whatever it marked as running is not.
    let _ = std::fs::remove_dir_all(&markers);
    std::fs::create_dir_all(&markers).unwrap();
    let storage = SqliteStorage::open(&dir, SqliteOptions::default()).unwrap();
    let mut handlers = Handlers::new();
    handlers.register("job", job);
    let engine = RuntimeBuilder::new()
        .storage(Arc::new(storage))
        .handlers(handlers)
        .workspace_root(workspaces_dir(&dir))
        .start()
        .unwrap();
    // Print every committed event, in order, as it is published.
    let mut sub = engine.subscribe(Some(engine.last_seq()));
    tokio::spawn(async move {
        loop {
            match sub.next().await {
                Delivery::Events(batch) => {
                    for e in batch.iter() {
                        print_event(e);
                    }
                }
                Delivery::Reset => say("RESET"),
                Delivery::Closed => break,
            }
        }
    });
    for (name, retries) in [("job", 2), ("strict", 0)] {
        let mut d = Definition::new(name, ExecutorKind::Builtin("job".into()));
        d.allowed_retry_count = retries;
        d.retry_delay_ms = 20;
        engine.put_definition(d).await.unwrap();
    }
    say("READY");
    supervise(&engine).await;
    engine.shutdown().await;
    say("COMPLETE");
}

fn print_event(e: &taskyard_core::model::Event) {
    match &e.kind {
        EventKind::ThreadUpdated { thread } => say(&format!(
            "th {} {} {} {} {}",
            e.seq,
            thread.name,
            u8::from(thread.paused),
            thread.locked_by.map_or("-".into(), |i| i.to_string()),
            thread.paused_until.map_or("-".into(), |t| t.0.to_string()),
        )),
        kind => {
            if let (Some(id), Some(entry)) = (kind.task_id(), kind.log_entry()) {
                let to = entry.to.map_or("-", |s| s.as_str());
                say(&format!(
                    "ev {} {id} {} {to} {}",
                    e.seq, entry.seq, entry.message
                ));
            } else {
                say(&format!("ev {} - - - -", e.seq));
            }
        }
    }
}

/// Submits the tasks a chunk at a time (keyed: after a restart the first chunks are
/// duplicates that create nothing), continues locked threads, concludes open tasks with
/// a delay, pauses threads, until every task is done.
async fn supervise(engine: &EngineHandle) {
    let who = Requester::new("crash-test");
    let mut next = 0;
    let mut round = 0u64;
    loop {
        round += 1;
        if next < TASKS {
            let end = (next + CHUNK).min(TASKS);
            let tasks = (next..end)
                .map(|i| RunItem::New(Box::new(spec(i))))
                .collect();
            let reply = engine
                .act(
                    Action::Run {
                        tasks,
                        ignore: false,
                    },
                    who.clone(),
                )
                .await
                .unwrap();
            if let ActionReply::Run { tasks } = reply {
                let ids: Vec<String> = tasks.iter().map(|t| t.to_string()).collect();
                say(&format!("ack run {next} {}", ids.join(" ")));
            }
            next = end;
        }
        let now = engine.now();
        let (locked, paused_by_hand, awaiting, done) = engine.read(|e| {
            let threads = e.threads();
            let locked: Vec<String> = threads
                .iter()
                .filter(|t| t.locked_by.is_some())
                .map(|t| t.name.clone())
                .collect();
            let by_hand: Vec<String> = threads
                .iter()
                .filter(|t| {
                    t.locked_by.is_none()
                        && t.paused_until.is_none()
                        && t.paused_by.as_deref() == Some("crash-test")
                        && t.paused_at.is_some_and(|at| at.plus_ms(40) <= now)
                })
                .map(|t| t.name.clone())
                .collect();
            let awaiting: Vec<TaskId> = e
                .records()
                .filter(|r| r.task.awaiting_conclude && r.task.conclude_at.is_none())
                .map(|r| r.id())
                .collect();
            let done = e
                .records()
                .filter(|r| r.task.status == Status::Done)
                .count();
            (locked, by_hand, awaiting, done)
        });
        for t in locked {
            let continued = engine
                .act(
                    Action::Resume {
                        threads: vec![t.clone()],
                        continue_: true,
                    },
                    who.clone(),
                )
                .await;
            if continued.is_ok() {
                say(&format!("ack resume {t}"));
            }
        }
        for t in paused_by_hand {
            let resumed = engine
                .act(
                    Action::Resume {
                        threads: vec![t.clone()],
                        continue_: false,
                    },
                    who.clone(),
                )
                .await;
            if resumed.is_ok() {
                say(&format!("ack resume {t}"));
            }
        }
        for id in awaiting {
            let r = engine
                .act(
                    Action::Conclude {
                        task: id,
                        delay: 30,
                        result: None,
                    },
                    who.clone(),
                )
                .await;
            if r.is_ok() {
                say(&format!("ack conclude {id}"));
            }
        }
        if round.is_multiple_of(15) {
            let lane = format!("lane-{}", round % LANES as u64);
            let until = round.is_multiple_of(30).then(|| now.plus_ms(60));
            let r = engine
                .act(
                    Action::Pause {
                        threads: vec![lane.clone()],
                        until,
                    },
                    who.clone(),
                )
                .await;
            if r.is_ok() {
                say(&format!("ack pause {lane}"));
            }
        }
        if next >= TASKS && done >= TASKS {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// --- the parent -------------------------------------------------------------------------

struct ChildProc {
    child: Child,
    lines: Receiver<String>,
}

fn spawn_child(dir: &Path) -> ChildProc {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(ENV_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    ChildProc { child, lines: rx }
}

/// What the parent saw acknowledged.
#[derive(Default)]
struct Acked {
    /// Log entries by task: entry seq → (`to` or "-", message).
    entries: HashMap<TaskId, HashMap<u64, (String, String)>>,
    concluded: Vec<TaskId>,
    /// Last acknowledged row of each thread: (paused, locked_by, paused_until).
    threads: HashMap<String, (bool, Option<TaskId>, Option<i64>)>,
    last_seq: u64,
    /// Whether every event since the last resync was seen (no gap, no reset).
    contiguous: bool,
    violations: Vec<String>,
    events_seen: usize,
}

impl Acked {
    fn take(&mut self, line: &str) {
        let mut parts = line.splitn(6, ' ');
        match parts.next() {
            Some("ev") => {
                let seq: u64 = parts.next().unwrap().parse().unwrap();
                self.seq(seq);
                let id = parts.next().unwrap();
                if id == "-" {
                    return;
                }
                let id: TaskId = id.parse().unwrap();
                let entry: u64 = parts.next().unwrap().parse().unwrap();
                let to = parts.next().unwrap().to_string();
                let message = parts.next().unwrap_or("").to_string();
                self.entries
                    .entry(id)
                    .or_default()
                    .insert(entry, (to, message));
            }
            Some("th") => {
                let seq: u64 = parts.next().unwrap().parse().unwrap();
                self.seq(seq);
                let name = parts.next().unwrap().to_string();
                let paused = parts.next().unwrap() == "1";
                let locked = parts.next().unwrap().parse().ok();
                let until = parts.next().unwrap().parse().ok();
                self.threads.insert(name, (paused, locked, until));
            }
            Some("ack") if parts.next() == Some("conclude") => {
                self.concluded.push(parts.next().unwrap().parse().unwrap());
            }
            Some("RESET") => self.contiguous = false,
            Some(v) if v.starts_with("VIOLATION") => self.violations.push(line.to_string()),
            _ => {}
        }
    }

    fn seq(&mut self, seq: u64) {
        if seq != self.last_seq + 1 {
            self.contiguous = false;
        }
        self.last_seq = self.last_seq.max(seq);
        self.events_seen += 1;
    }
}

/// Opens the data dir (the child is dead) and checks that everything acknowledged is
/// there; then takes the stored state as the new baseline for threads.
fn verify(dir: &Path, acked: &mut Acked) -> (u64, u64) {
    let storage = SqliteStorage::open(dir, SqliteOptions::default()).unwrap();
    let loaded = storage.load().unwrap();
    let stored_seq = loaded.next_seq - 1;
    assert!(
        stored_seq >= acked.last_seq,
        "event seq {} was acknowledged, storage ends at {stored_seq}",
        acked.last_seq
    );
    let threads = loaded.threads.clone();
    let next_id = loaded.next_id;
    let mut records = HashMap::new();
    for r in loaded.records {
        let r = r.unwrap();
        records.insert(r.id(), r);
    }
    for (id, entries) in &acked.entries {
        let rec = records
            .get(id)
            .unwrap_or_else(|| panic!("task {id} was acknowledged and is not stored"));
        assert!(*id < next_id);
        let max = entries.keys().max().copied().unwrap_or(0);
        assert!(
            rec.log_seq >= max,
            "task {id}: log {max} acknowledged, record at {}",
            rec.log_seq
        );
        let log = storage.read_log(*id, 0, 100_000).unwrap().entries;
        for (seq, (to, message)) in entries {
            let e = log
                .iter()
                .find(|e| e.seq == *seq)
                .unwrap_or_else(|| panic!("task {id}: acknowledged log entry {seq} is lost"));
            assert_eq!(&e.message, message, "task {id} entry {seq}");
            let stored_to = e.to.map_or("-", |s| s.as_str());
            assert_eq!(stored_to, to, "task {id} entry {seq}");
            if e.kind == LogKind::Log {
                assert_eq!(to, "-");
            }
        }
    }
    for id in &acked.concluded {
        let rec = &records[id];
        assert!(
            rec.task.conclude_at.is_some() || rec.task.status == Status::Done,
            "task {id}: an acknowledged delayed conclusion is lost"
        );
    }
    let unacked = stored_seq - acked.last_seq;
    if acked.contiguous && unacked == 0 {
        // Nothing committed beyond what was seen: threads must be exactly as acknowledged.
        for (name, (paused, locked, until)) in &acked.threads {
            let stored = threads.iter().find(|t| &t.name == name);
            match stored {
                Some(t) => {
                    assert_eq!(t.paused, *paused, "thread {name} paused");
                    assert_eq!(t.locked_by, *locked, "thread {name} locked");
                    assert_eq!(t.paused_until.map(|m| m.0), *until, "thread {name} until");
                }
                None => assert!(
                    !paused && locked.is_none(),
                    "thread {name}: acknowledged paused/locked, not stored"
                ),
            }
        }
    }
    // Storage is the truth from here on (it holds at least what was acknowledged).
    acked.threads = threads
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                (t.paused, t.locked_by, t.paused_until.map(|m| m.0)),
            )
        })
        .collect();
    acked.last_seq = stored_seq;
    acked.contiguous = true;
    storage.close();
    (stored_seq, unacked)
}

/// Reads lines until `until` says stop or the deadline passes.
fn read_until(
    p: &ChildProc,
    acked: &mut Acked,
    deadline: Instant,
    mut until: impl FnMut(&str, &Acked) -> bool,
) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match p.lines.recv_timeout(left) {
            Ok(line) => {
                acked.take(&line);
                if until(&line, acked) {
                    return true;
                }
            }
            Err(RecvTimeoutError::Timeout) => return false,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}

#[test]
fn kill_9_at_random_moments_loses_nothing_acknowledged() {
    if std::env::var_os(ENV_DIR).is_some() {
        return; // we are a child
    }
    let seed: u64 = std::env::var("TASKYARD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("crash test seed {seed} (TASKYARD_CRASH_SEED={seed} replays it)");
    let mut rng = SmallRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut acked = Acked {
        contiguous: true,
        ..Acked::default()
    };
    let kills = 8;
    for round in 0..kills {
        let mut p = spawn_child(dir.path());
        let ready = read_until(
            &p,
            &mut acked,
            Instant::now() + Duration::from_secs(30),
            |l, _| l == "READY",
        );
        if !ready {
            // Say which: it died (its stderr is above) or it was too slow.
            let status = p.child.try_wait();
            let _ = p.child.kill();
            panic!(
                "round {round}: the child did not print READY within 30 s; its exit status: {status:?}"
            );
        }
        // Let some work be acknowledged, then kill at a random moment after that.
        let want = acked.events_seen + rng.random_range(50..1_500);
        let started = Instant::now();
        read_until(
            &p,
            &mut acked,
            Instant::now() + Duration::from_secs(20),
            |l, a| l == "COMPLETE" || a.events_seen >= want,
        );
        // Right after an acknowledgement the next commit is usually in flight: half the
        // kills land there, the others a little later.
        if rng.random_bool(0.5) {
            std::thread::sleep(Duration::from_micros(rng.random_range(0..10_000)));
        }
        p.child.kill().unwrap(); // SIGKILL
        p.child.wait().unwrap();
        while let Ok(line) = p.lines.recv_timeout(Duration::from_secs(5)) {
            acked.take(&line);
        }
        assert!(acked.violations.is_empty(), "{:?}", acked.violations);
        let seen = acked.last_seq;
        let (stored, unacked) = verify(dir.path(), &mut acked);
        eprintln!(
            "kill {round}: after {:.0} ms of work, acknowledged up to event {seen}, stored up to {stored} ({unacked} committed but not yet acknowledged)",
            started.elapsed().as_secs_f64() * 1e3
        );
    }

    // Then the workload runs to its end.
    let mut p = spawn_child(dir.path());
    let complete = read_until(
        &p,
        &mut acked,
        Instant::now() + Duration::from_secs(120),
        |l, _| l == "COMPLETE",
    );
    if !complete {
        let _ = p.child.kill();
    }
    let status = p.child.wait().unwrap();
    assert!(
        complete && status.success(),
        "the workload did not complete"
    );
    assert!(acked.violations.is_empty(), "{:?}", acked.violations);
    verify(dir.path(), &mut acked);
    let storage = SqliteStorage::open(dir.path(), SqliteOptions::default()).unwrap();
    let loaded = storage.load().unwrap();
    let mut keys = std::collections::HashSet::new();
    for r in loaded.records {
        let r = r.unwrap();
        assert_eq!(r.task.status, Status::Done, "task {} not done", r.id());
        assert!(
            keys.insert(r.task.key.clone()),
            "key {:?} twice",
            r.task.key
        );
    }
    assert_eq!(keys.len(), TASKS, "every task exactly once");
    assert!(loaded.threads.iter().all(|t| t.locked_by.is_none()));
}
