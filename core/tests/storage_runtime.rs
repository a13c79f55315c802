//! The runtime on durable storage: replies wait for the commit, under load the driver
//! does not wait for the writer, alone it commits itself, batches that pile up during a
//! commit go in one transaction, a failed
//! commit acknowledges nothing, and a restart through the runtime brings everything
//! back, including the workspaces it must still clean.

use futures::FutureExt;
use parking_lot::{Condvar, Mutex};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use taskyard_core::Millis;
use taskyard_core::api::{Action, ActionReply, Requester};
use taskyard_core::error::{ErrorCode, Result};
use taskyard_core::model::{
    Definition, ExecutorKind, LogPage, Outcome, ReasonType, RunItem, Status, TaskId, TaskRef,
    TaskSpec,
};
use taskyard_core::runtime::{
    Delivery, EngineHandle, HandlerContext, HandlerResult, Handlers, ManualClock, RuntimeBuilder,
};
use taskyard_core::storage::{
    Batch, Loaded, SqliteOptions, SqliteStorage, Storage, Synchronous, workspaces_dir,
};

const T0: Millis = Millis(1_795_000_000_000);

fn options() -> SqliteOptions {
    SqliteOptions {
        synchronous: Synchronous::Off,
        ..SqliteOptions::default()
    }
}

/// SQLite behind a gate: a commit can be held until the test lets it through, or made to
/// fail; every commit call records how many batches it merged.
struct Gated {
    inner: SqliteStorage,
    held: Mutex<bool>,
    opened: Condvar,
    fail: Mutex<bool>,
    calls: Mutex<Vec<usize>>,
    /// Per commit: whether the writer thread made it (else the driver, inline).
    on_writer: Mutex<Vec<bool>>,
    entered: std::sync::atomic::AtomicUsize,
}

impl Gated {
    fn new(dir: &Path) -> Arc<Gated> {
        Arc::new(Gated {
            inner: SqliteStorage::open(dir, options()).unwrap(),
            held: Mutex::new(false),
            opened: Condvar::new(),
            fail: Mutex::new(false),
            calls: Mutex::new(Vec::new()),
            on_writer: Mutex::new(Vec::new()),
            entered: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Holds commits until the guard is dropped (also when the test fails meanwhile, so
    /// a failure reports instead of hanging on the held commit).
    fn hold(&self) -> Held<'_> {
        *self.held.lock() = true;
        Held(self)
    }
}

struct Held<'a>(&'a Gated);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        *self.0.held.lock() = false;
        self.0.opened.notify_all();
    }
}

impl Storage for Gated {
    fn wants_records(&self) -> bool {
        true
    }
    fn group_commit(&self) -> bool {
        true
    }
    fn load(&self) -> Result<Loaded> {
        self.inner.load()
    }
    fn commit(&self, batches: &[Batch]) -> Result<()> {
        self.entered
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut held = self.held.lock();
        while *held {
            self.opened.wait(&mut held);
        }
        drop(held);
        self.calls.lock().push(batches.len());
        self.on_writer
            .lock()
            .push(std::thread::current().name() == Some("taskyard-writer"));
        if *self.fail.lock() {
            return Err(taskyard_core::Error::internal("the disk is on fire"));
        }
        self.inner.commit(batches)
    }
    fn read_log(&self, id: TaskId, after: u64, limit: usize) -> Result<LogPage> {
        self.inner.read_log(id, after, limit)
    }
    fn close(&self) {
        self.inner.close()
    }
}

fn run_action(n: usize) -> Action {
    Action::Run {
        tasks: (0..n)
            .map(|_| RunItem::New(Box::new(TaskSpec::new("ext"))))
            .collect(),
        ignore: false,
    }
}

async fn start(
    storage: Arc<dyn Storage>,
    clock: &ManualClock,
    handlers: Handlers,
    root: &Path,
) -> EngineHandle {
    RuntimeBuilder::new()
        .clock(Arc::new(clock.clone()))
        .storage(storage)
        .handlers(handlers)
        .workspace_root(root.to_path_buf())
        .start()
        .unwrap()
}

/// Waits (without sleeping) until the engine, not storage, shows task `id`.
async fn until_applied(engine: &EngineHandle, id: TaskId) {
    let wait = async {
        while engine.read(|e| e.record(id).is_none()) {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("applied");
}

/// Waits until the storage has entered more than `calls` commits.
async fn commit_entered(gated: &Gated, calls: usize) {
    let entered = async {
        while gated.entered.load(std::sync::atomic::Ordering::SeqCst) <= calls {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), entered)
        .await
        .expect("a commit began");
}

/// The engine, with definition `ext` committed; when `busy`, a handler is also running
/// (task 1, forever), so the driver hands every commit to the writer thread.
async fn gated_engine(dir: &Path, busy: bool) -> (Arc<Gated>, EngineHandle) {
    let clock = ManualClock::new(T0);
    let gated = Gated::new(dir);
    let engine = start(gated.clone(), &clock, handlers(), dir).await;
    engine
        .put_definition(Definition::new("ext", ExecutorKind::External))
        .await
        .unwrap();
    if busy {
        engine
            .put_definition(Definition::new(
                "hang",
                ExecutorKind::Builtin("hang".into()),
            ))
            .await
            .unwrap();
        let mut hung = TaskSpec::new("hang");
        hung.conf = Some(json!({"hang": true}));
        let run = Action::Run {
            tasks: vec![RunItem::New(Box::new(hung))],
            ignore: false,
        };
        engine.act(run, Requester::new("t")).await.unwrap();
        wait_status(&engine, 1, Status::InProgress).await;
        // Its workspace is made (the handler's last word to the driver) before it hangs.
        let made = dir.join("1").join("attempt-1");
        let wait = async {
            while !made.exists() {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .expect("the handler made its workspace");
    }
    engine.sync().await;
    (gated, engine)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_the_driver_applies_while_the_writer_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (gated, engine) = gated_engine(dir.path(), true).await;
    let first_calls = gated.calls.lock().len();
    // Task 1 is the running handler's.
    let id = |n: TaskId| n + 1;

    let held = gated.hold();
    let who = Requester::new("t");
    let mut a = Box::pin(engine.act(run_action(1), who.clone()));
    assert!((&mut a).now_or_never().is_none());
    commit_entered(&gated, first_calls).await;
    // The writer now sits in A's commit; the driver goes on applying B and C.
    let mut b = Box::pin(engine.act(run_action(2), who.clone()));
    assert!((&mut b).now_or_never().is_none());
    until_applied(&engine, id(3)).await;
    let mut c = Box::pin(engine.act(run_action(3), who.clone()));
    assert!((&mut c).now_or_never().is_none());
    until_applied(&engine, id(6)).await;
    // D is applied only once C was handed to the writer.
    let d = engine.act(run_action(1), who.clone());
    let mut d = Box::pin(d);
    assert!((&mut d).now_or_never().is_none());
    until_applied(&engine, id(7)).await;
    assert!(
        (&mut a).now_or_never().is_none(),
        "no reply before its commit"
    );
    assert!(
        (&mut b).now_or_never().is_none(),
        "no reply before its commit"
    );
    let seen_before = engine.last_seq();

    drop(held);
    let replies = [
        a.await.unwrap(),
        b.await.unwrap(),
        c.await.unwrap(),
        d.await.unwrap(),
    ];
    assert!(
        matches!(&replies[2], ActionReply::Run { tasks } if tasks == &vec![id(4), id(5), id(6)])
    );
    assert!(
        engine.last_seq() > seen_before,
        "events published after the commit"
    );
    let calls = gated.calls.lock()[first_calls..].to_vec();
    assert_eq!(calls[0], 1, "A alone: {calls:?}");
    assert!(calls[1] >= 2, "B and C were committed together: {calls:?}");
    assert_eq!(calls.iter().sum::<usize>(), 4);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alone_the_driver_commits_itself_until_commands_pile_up_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let (gated, engine) = gated_engine(dir.path(), false).await;
    let who = Requester::new("t");
    // One request at a time: each is committed by the driver.
    let before = gated.on_writer.lock().len();
    for _ in 0..3 {
        engine.act(run_action(1), who.clone()).await.unwrap();
    }
    assert_eq!(gated.on_writer.lock()[before..], [false; 3], "inline");
    let first_calls = gated.calls.lock().len();
    let writer_calls = |g: &Gated| g.calls.lock().len();

    let held = gated.hold();
    let mut a = Box::pin(engine.act(run_action(1), who.clone()));
    assert!((&mut a).now_or_never().is_none());
    commit_entered(&gated, first_calls).await;
    // The driver itself sits in A's commit: B, C and D wait for it, unapplied.
    let mut rest: Vec<_> = [2, 3, 1]
        .into_iter()
        .map(|n| Box::pin(engine.act(run_action(n), who.clone())))
        .collect();
    for r in &mut rest {
        assert!(r.now_or_never().is_none(), "no reply before its commit");
    }
    assert!(
        engine.read(|e| e.record(5).is_none()),
        "B waits for A's commit"
    );
    assert!(
        (&mut a).now_or_never().is_none(),
        "no reply before its commit"
    );
    assert_eq!(
        writer_calls(&gated),
        first_calls,
        "A's commit has not returned"
    );

    drop(held);
    assert!(matches!(a.await.unwrap(), ActionReply::Run { tasks } if tasks == vec![4]));
    let mut ids = Vec::new();
    for r in rest {
        let ActionReply::Run { tasks } = r.await.unwrap() else {
            panic!("a run reply")
        };
        ids.extend(tasks);
    }
    assert_eq!(ids, [5, 6, 7, 8, 9, 10]);
    let calls = gated.calls.lock()[first_calls..].to_vec();
    assert_eq!(calls, [1, 1], "two commits: A, then B, C and D together");
    // B, C and D waited for A's inline commit: the driver was not alone after all, and
    // leaves the next batches to the writer, even a lone one.
    engine.act(run_action(1), who.clone()).await.unwrap();
    let on_writer = gated.on_writer.lock()[first_calls..].to_vec();
    assert_eq!(on_writer, [false, true, true], "A inline, then the writer");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_acknowledges_nothing_from_then_on() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let gated = Gated::new(dir.path());
    let engine = start(gated.clone(), &clock, Handlers::new(), dir.path()).await;
    engine
        .put_definition(Definition::new("ext", ExecutorKind::External))
        .await
        .unwrap();
    engine.sync().await;
    let seq = engine.last_seq();
    *gated.fail.lock() = true;
    let err = engine
        .act(run_action(1), Requester::new("t"))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Internal);
    assert!(err.message.contains("could not be saved"), "{err}");
    assert!(err.message.contains("restart taskyard"), "{err}");
    // Even once the disk recovers, later changes build on one that was lost: refused.
    *gated.fail.lock() = false;
    let err = engine
        .act(run_action(1), Requester::new("t"))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Internal);
    assert_eq!(engine.last_seq(), seq, "nothing was announced");
    engine.shutdown().await;
    drop(engine);

    // What was committed is what a restart sees.
    let storage = Arc::new(SqliteStorage::open(dir.path(), options()).unwrap());
    let engine = start(storage, &clock, Handlers::new(), dir.path()).await;
    assert_eq!(engine.counts().by_status.values().sum::<u64>(), 0);
    assert_eq!(engine.definitions().len(), 1);
    engine.shutdown().await;
}

/// Holds its first attempt forever; later attempts write a file and succeed.
async fn first_attempt_hangs(ctx: HandlerContext) -> HandlerResult {
    let dir = ctx.workspace().await?;
    tokio::fs::write(dir.join(format!("attempt-{}", ctx.attempt)), b"x").await?;
    if ctx.attempt == 1 && ctx.conf.get("hang").is_some() {
        futures::future::pending::<()>().await;
    }
    Ok(json!({"attempt": ctx.attempt}))
}

fn handlers() -> Handlers {
    let mut h = Handlers::new();
    h.register("hang", first_attempt_hangs);
    h
}

async fn wait_status(engine: &EngineHandle, id: TaskId, status: Status) {
    let mut sub = engine.subscribe(None);
    let wait = async {
        loop {
            if engine.task(id).is_some_and(|t| t.status == status) {
                engine.sync().await;
                return;
            }
            if let Delivery::Closed = sub.next().await {
                panic!("engine stopped");
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("task {id} never reached {status}"));
}

async fn gone(path: &Path) {
    let wait = async {
        while path.exists() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("{} still exists", path.display()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_through_the_runtime_recovers_and_still_cleans_workspaces() {
    let dir = tempfile::tempdir().unwrap();
    let root = workspaces_dir(dir.path());
    let clock = ManualClock::new(T0);
    let open = || Arc::new(SqliteStorage::open(dir.path(), options()).unwrap());
    let engine = start(open(), &clock, handlers(), &root).await;
    let mut def = Definition::new("hang", ExecutorKind::Builtin("hang".into()));
    def.allowed_retry_count = 1;
    def.retry_delay_ms = 1_000;
    engine.put_definition(def).await.unwrap();
    let mut hung = TaskSpec::new("hang");
    hung.conf = Some(json!({"hang": true}));
    let mut kept = TaskSpec::new("hang");
    kept.archive = true;
    let ids = match engine
        .act(
            Action::Run {
                tasks: vec![RunItem::New(Box::new(hung)), RunItem::New(Box::new(kept))],
                ignore: false,
            },
            Requester::new("t"),
        )
        .await
        .unwrap()
    {
        ActionReply::Run { tasks } => tasks,
        other => panic!("{other:?}"),
    };
    let (hung, kept) = (ids[0], ids[1]);
    wait_status(&engine, kept, Status::Done).await;
    let hung_file = root.join(hung.to_string()).join("attempt-1");
    let wait = async {
        while !hung_file.exists() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap();
    let seq = engine.last_seq();
    engine.shutdown().await;
    drop(engine);
    // Left by a task the store never heard of (the process died before committing it).
    std::fs::create_dir_all(root.join("999")).unwrap();
    std::fs::create_dir_all(root.join("notes")).unwrap();

    let engine = start(open(), &clock, handlers(), &root).await;
    engine.sync().await;
    let t = engine.task_detail(hung).unwrap();
    assert_eq!(t.task.status, Status::Waiting, "interrupted, retry pending");
    assert_eq!(
        t.attempts[0].reason.as_ref().unwrap().kind,
        ReasonType::Interrupted
    );
    assert!(
        engine.last_seq() > seq,
        "the recovery was announced after the old events"
    );
    gone(&root.join("999")).await;
    assert!(
        root.join("notes").exists(),
        "only <id>/ directories are ours"
    );
    assert!(root.join(kept.to_string()).join("attempt-1").exists());

    clock.advance(1_000);
    wait_status(&engine, hung, Status::Done).await;
    let t = engine.task(hung).unwrap();
    assert_eq!(t.outcome, Some(Outcome::Succeeded));
    gone(&root.join(hung.to_string())).await;
    // The archived workspace found at start is deleted when its task is cleaned.
    engine
        .act(
            Action::Clean {
                tasks: vec![TaskRef::Id(kept)],
                ignore: false,
            },
            Requester::new("t"),
        )
        .await
        .unwrap();
    gone(&root.join(kept.to_string())).await;
    engine.shutdown().await;
}
