//! The runtime around the engine: handlers, cancellation, workspaces, heartbeats, long
//! polls and the event stream. Time is a ManualClock; waiting is on events, never sleeps.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use taskyard_core::api::{Action, ActionReply, PollRequest, Requester};
use taskyard_core::model::{
    Definition, EventKind, ExecutorKind, Outcome, ReasonType, RunItem, Status, Task, TaskId,
    TaskRef, TaskSpec,
};
use taskyard_core::runtime::{
    Delivery, EngineHandle, HandlerContext, HandlerError, HandlerResult, Handlers, ManualClock,
    RuntimeBuilder,
};
use taskyard_core::{ErrorCode, Millis};

const T0: Millis = Millis(1_700_000_000_000);

struct Rig {
    engine: EngineHandle,
    clock: ManualClock,
    _dir: tempfile::TempDir,
}

async fn rig_with(handlers: Handlers, defs: Vec<Definition>) -> Rig {
    let clock = ManualClock::new(T0);
    let dir = tempfile::tempdir().unwrap();
    let engine = RuntimeBuilder::new()
        .clock(Arc::new(clock.clone()))
        .handlers(handlers)
        .workspace_root(dir.path().join("workspaces"))
        .event_history(64)
        .start()
        .unwrap();
    for def in defs {
        engine.put_definition(def).await.unwrap();
    }
    Rig {
        engine,
        clock,
        _dir: dir,
    }
}

fn def(name: &str, handler: &str, retries: u32) -> Definition {
    let mut d = Definition::new(name, ExecutorKind::Builtin(handler.into()));
    d.allowed_retry_count = retries;
    d.retry_delay_ms = 1_000;
    d
}

async fn run(engine: &EngineHandle, spec: TaskSpec) -> TaskId {
    match engine
        .act(
            Action::Run {
                tasks: vec![RunItem::New(Box::new(spec))],
                ignore: false,
            },
            Requester::new("test"),
        )
        .await
        .unwrap()
    {
        ActionReply::Run { tasks } => tasks[0],
        other => panic!("unexpected reply {other:?}"),
    }
}

fn spec(name: &str, conf: Value) -> TaskSpec {
    let mut s = TaskSpec::new(name);
    s.conf = Some(conf);
    s
}

/// Waits (on events, with a hang guard) until the task reaches `status`.
async fn wait_for(engine: &EngineHandle, id: TaskId, status: Status) -> Task {
    let mut sub = engine.subscribe(None);
    let guard = async {
        loop {
            if let Some(t) = engine.task(id)
                && t.status == status
            {
                return t;
            }
            if let Delivery::Closed = sub.next().await {
                panic!("engine stopped");
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), guard)
        .await
        .unwrap_or_else(|_| panic!("task {id} never reached {status}"))
}

#[tokio::test]
async fn echo_and_sum_run_to_success() {
    let rig = rig_with(
        Handlers::builtin(),
        vec![def("echo", "echo", 0), def("sum", "sum", 0)],
    )
    .await;
    let e = run(&rig.engine, spec("echo", json!({"a": 1}))).await;
    let s = run(&rig.engine, spec("sum", json!({"values": [1, 2, 3.5]}))).await;
    let e = wait_for(&rig.engine, e, Status::Done).await;
    let s = wait_for(&rig.engine, s, Status::Done).await;
    assert_eq!(e.outcome, Some(Outcome::Succeeded));
    assert_eq!(e.result, Some(json!({"a": 1}).into()));
    assert_eq!(s.result, Some(json!({"sum": 6.5}).into()));
    let detail = rig.engine.task_detail(s.id).unwrap();
    assert_eq!(detail.attempts.len(), 1);
    assert_eq!(&*detail.attempts[0].executor, "builtin");
}

#[tokio::test]
async fn a_failing_handler_fails_the_task_with_its_message() {
    let rig = rig_with(Handlers::builtin(), vec![def("sum", "sum", 0)]).await;
    let id = run(&rig.engine, spec("sum", json!({"values": [1, "x"]}))).await;
    let t = wait_for(&rig.engine, id, Status::Done).await;
    assert_eq!(t.outcome, Some(Outcome::Failed));
    let reason = t.outcome_reason.unwrap();
    assert_eq!(reason.kind, ReasonType::FailedByExecutor);
    assert!(reason.message.contains("values[1]"), "{}", reason.message);
}

#[tokio::test]
async fn failures_retry_after_the_delay_on_the_engine_clock() {
    let rig = rig_with(Handlers::builtin(), vec![def("fail", "fail", 1)]).await;
    let id = run(&rig.engine, spec("fail", json!({"message": "boom"}))).await;
    let t = wait_for(&rig.engine, id, Status::Waiting).await;
    assert_eq!(t.retry_count, 1);
    rig.clock.advance(1_000);
    let t = wait_for(&rig.engine, id, Status::Done).await;
    assert_eq!(t.attempt, 2);
    assert_eq!(&*t.outcome_reason.unwrap().message, "boom");
}

async fn panics(_ctx: HandlerContext) -> HandlerResult {
    panic!("kaboom at step 3")
}

#[tokio::test]
async fn a_panicking_handler_becomes_handler_panicked() {
    let mut handlers = Handlers::new();
    handlers.register("panics", panics);
    let rig = rig_with(handlers, vec![def("p", "panics", 0)]).await;
    let id = run(&rig.engine, TaskSpec::new("p")).await;
    let t = wait_for(&rig.engine, id, Status::Done).await;
    let reason = t.outcome_reason.unwrap();
    assert_eq!(reason.kind, ReasonType::HandlerPanicked);
    assert!(
        reason.message.contains("kaboom at step 3"),
        "{}",
        reason.message
    );
}

/// Sends on drop, so a test can see the handler's future was dropped (cancelled).
struct DropSignal(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

#[tokio::test]
async fn cancel_stops_the_running_handler() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let slot = Arc::new(parking_lot::Mutex::new(Some(tx)));
    let mut handlers = Handlers::new();
    handlers.register("forever", move |_ctx: HandlerContext| {
        let signal = DropSignal(slot.lock().take());
        async move {
            let _signal = signal;
            futures::future::pending::<()>().await;
            Ok(Value::Null)
        }
    });
    let rig = rig_with(handlers, vec![def("forever", "forever", 0)]).await;
    let id = run(&rig.engine, TaskSpec::new("forever")).await;
    wait_for(&rig.engine, id, Status::InProgress).await;
    let reply = rig
        .engine
        .act(
            Action::Cancel {
                tasks: vec![TaskRef::Id(id)],
                ignore: false,
            },
            Requester::new("alice"),
        )
        .await
        .unwrap();
    assert!(matches!(reply, ActionReply::Cancel { canceled, .. } if canceled == vec![id]));
    tokio::time::timeout(Duration::from_secs(20), rx)
        .await
        .expect("the handler was dropped")
        .unwrap();
    let t = rig.engine.task(id).unwrap();
    assert_eq!(t.outcome, Some(Outcome::Canceled));
    assert_eq!(t.outcome_reason.unwrap().data, json!({"by": "alice"}));
}

/// Sleeps 10 s on the engine clock without reporting anything.
async fn silent(ctx: HandlerContext) -> HandlerResult {
    ctx.sleep(10_000).await;
    Ok(Value::Null)
}

#[tokio::test]
async fn in_process_attempts_are_heartbeated_while_they_run() {
    let mut d = def("silent", "silent", 0);
    d.in_progress_timeout_ms = 2_000;
    let mut handlers = Handlers::new();
    handlers.register("silent", silent);
    let rig = rig_with(handlers, vec![d]).await;
    let id = run(&rig.engine, TaskSpec::new("silent")).await;
    wait_for(&rig.engine, id, Status::InProgress).await;
    // Move time in steps shorter than the heartbeat timeout, as a real clock would.
    for _ in 0..20 {
        rig.clock.advance(500);
        rig.engine.sync().await;
        tokio::task::yield_now().await;
    }
    let t = wait_for(&rig.engine, id, Status::Done).await;
    assert_eq!(
        t.outcome,
        Some(Outcome::Succeeded),
        "{:?}",
        t.outcome_reason
    );
    let log = rig.engine.log(id, 0, 1000).unwrap();
    assert!(
        log.entries
            .iter()
            .any(|e| e.kind == taskyard_core::model::LogKind::Transition),
        "transitions are logged"
    );
}

async fn writes_a_file(ctx: HandlerContext) -> HandlerResult {
    let dir = ctx.workspace().await?;
    tokio::fs::write(dir.join("out.txt"), b"hello").await?;
    ctx.log("wrote out.txt");
    let hold = ctx
        .conf
        .get("hold")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if hold {
        futures::future::pending::<()>().await;
    }
    Ok(json!({"file": "out.txt"}))
}

#[tokio::test]
async fn workspaces_are_listed_and_deleted_unless_archived() {
    let mut handlers = Handlers::new();
    handlers.register("files", writes_a_file);
    let rig = rig_with(handlers, vec![def("files", "files", 0)]).await;
    let root = rig.engine.workspace_root().to_path_buf();

    let held = run(&rig.engine, spec("files", json!({"hold": true}))).await;
    wait_for(&rig.engine, held, Status::InProgress).await;
    // The file appears once the handler got there; wait on its log line.
    let mut sub = rig.engine.subscribe(None);
    while rig
        .engine
        .task_detail(held)
        .unwrap()
        .workspace_files
        .is_empty()
    {
        let _ = tokio::time::timeout(Duration::from_secs(20), sub.next())
            .await
            .expect("log line");
    }
    assert_eq!(
        rig.engine.task_detail(held).unwrap().workspace_files,
        vec!["out.txt"]
    );

    let plain = run(&rig.engine, spec("files", json!({}))).await;
    let mut archived = spec("files", json!({}));
    archived.archive = true;
    let archived = run(&rig.engine, archived).await;
    wait_for(&rig.engine, plain, Status::Done).await;
    wait_for(&rig.engine, archived, Status::Done).await;
    rig.engine.sync().await;
    let gone = async {
        while root.join(plain.to_string()).exists() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), gone)
        .await
        .expect("workspace removed");
    assert!(
        root.join(archived.to_string()).join("out.txt").exists(),
        "archived workspace kept"
    );

    rig.engine
        .act(
            Action::Clean {
                tasks: vec![TaskRef::Id(archived)],
                ignore: false,
            },
            Requester::new("test"),
        )
        .await
        .unwrap();
    let gone = async {
        while root.join(archived.to_string()).exists() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), gone)
        .await
        .expect("cleaned workspace removed");
}

#[tokio::test]
async fn spawn_creates_children_and_waits_for_them() {
    let rig = rig_with(
        Handlers::builtin(),
        vec![def("spawn", "spawn", 0), def("echo", "echo", 0)],
    )
    .await;
    let id = run(
        &rig.engine,
        spec(
            "spawn",
            json!({"count": 3, "child": {"name": "echo", "conf": {"x": 1}}, "wait": true}),
        ),
    )
    .await;
    let t = wait_for(&rig.engine, id, Status::Done).await;
    assert_eq!(
        t.outcome,
        Some(Outcome::Succeeded),
        "{:?}",
        t.outcome_reason
    );
    let detail = rig.engine.task_detail(id).unwrap();
    assert_eq!(detail.children.len(), 3);
    for c in detail.children {
        let child = rig.engine.task(c).unwrap();
        assert_eq!(child.parent, Some(id));
        assert_eq!(&*child.requester, format!("task:{id}"));
        assert_eq!(child.outcome, Some(Outcome::Succeeded));
    }
}

#[tokio::test]
async fn a_waiting_spawn_reports_progress_only_when_it_changes() {
    let rig = rig_with(
        Handlers::builtin(),
        vec![def("spawn", "spawn", 0), def("echo", "echo", 0)],
    )
    .await;
    rig.engine
        .put_definition(Definition::new("job", ExecutorKind::External))
        .await
        .unwrap();
    let mut sub = rig.engine.subscribe(None);
    // Children nobody runs: the spawn waits, while other work makes events.
    let id = run(
        &rig.engine,
        spec(
            "spawn",
            json!({"count": 2, "child": {"name": "job"}, "wait": true}),
        ),
    )
    .await;
    wait_for(&rig.engine, id, Status::InProgress).await;
    for _ in 0..20 {
        run(&rig.engine, spec("echo", json!({}))).await;
    }
    rig.engine.sync().await;
    let mut progress = 0;
    while let Some(d) = futures::FutureExt::now_or_never(sub.next()) {
        match d {
            Delivery::Events(batch) => {
                progress += batch
                    .iter()
                    .filter(
                        |e| matches!(&e.kind, EventKind::TaskProgress { id: p, .. } if *p == id),
                    )
                    .count();
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(progress <= 1, "{progress} progress events for no progress");
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_a_task_is_ready() {
    let ext = Definition::new("import", ExecutorKind::External);
    let rig = rig_with(Handlers::builtin(), vec![ext]).await;
    let engine = rig.engine.clone();
    let poll = tokio::spawn(async move {
        engine
            .poll(PollRequest {
                executor: "w1".into(),
                definitions: vec!["import".into()],
                max: 5,
                wait_ms: 30_000,
            })
            .await
    });
    rig.engine.sync().await;
    assert!(!poll.is_finished());
    let id = run(&rig.engine, TaskSpec::new("import")).await;
    let tasks = poll.await.unwrap().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].id, id);
    assert_eq!(tasks[0].status, Status::Requested);
    assert!(tasks[0].exec_id.is_some());

    // Nothing to claim: the poll answers empty at its deadline on the engine clock.
    let engine = rig.engine.clone();
    let empty = tokio::spawn(async move {
        engine
            .poll(PollRequest {
                executor: "w1".into(),
                definitions: vec!["import".into()],
                max: 1,
                wait_ms: 1_000,
            })
            .await
    });
    rig.engine.sync().await;
    rig.clock.advance(1_000);
    assert!(empty.await.unwrap().unwrap().is_empty());
}

#[tokio::test]
async fn subscribers_replay_after_a_seq_or_reset_when_too_far_behind() {
    let rig = rig_with(
        Handlers::new(),
        vec![Definition::new("x", ExecutorKind::External)],
    )
    .await;
    let first = rig.engine.last_seq();
    let mut spec1 = TaskSpec::new("x");
    spec1.hold = true;
    let id = run(&rig.engine, spec1).await;
    let mut sub = rig.engine.subscribe(Some(first));
    match sub.next().await {
        Delivery::Events(batch) => {
            assert!(batch.iter().all(|e| e.seq > first));
            assert!(
                batch.iter().any(
                    |e| matches!(&e.kind, EventKind::TaskCreated { task, .. } if task.id == id)
                )
            );
        }
        other => panic!("expected a replay, got {other:?}"),
    }
    // The history keeps 64 events: push well past it and ask for the beginning.
    for _ in 0..100 {
        let mut s = TaskSpec::new("x");
        s.hold = true;
        run(&rig.engine, s).await;
    }
    let mut old = rig.engine.subscribe(Some(first));
    assert!(matches!(old.next().await, Delivery::Reset));
}

#[tokio::test]
async fn a_definition_naming_a_missing_handler_is_refused() {
    let rig = rig_with(Handlers::builtin(), vec![]).await;
    let err = rig
        .engine
        .put_definition(def("x", "teleport", 0))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidDefinition);
    assert!(
        err.message.contains("teleport") && err.message.contains("echo"),
        "{}",
        err.message
    );
    let _ = HandlerError::new("unused");
}
