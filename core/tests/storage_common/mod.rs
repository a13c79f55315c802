//! A pure engine on SQLite storage, with time passed by hand: commit what the engine
//! did, "crash" (drop everything), reopen and restore. What the runtime does around a
//! commit, without tokio, so recovery can be tested step by step.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use taskyard_core::api::{
    Action, ActionReply, ExecRef, FailRequest, NotifyRequest, PollRequest, Requester,
    SuccessRequest,
};
use taskyard_core::engine::{Engine, EngineConfig, PollOutcome};
use taskyard_core::model::{
    Definition, ExecutorKind, RunItem, Status, Task, TaskId, TaskSpec, ThreadRow,
};
use taskyard_core::storage::{Batch, SqliteOptions, SqliteStorage, Storage, Synchronous};
use taskyard_core::time::Millis;

pub const T0: Millis = Millis(1_795_000_000_000);

pub struct Rig {
    pub engine: Engine,
    pub storage: SqliteStorage,
    pub dir: PathBuf,
    pub now: Millis,
    /// Seq of the last event committed.
    pub last_seq: u64,
}

pub fn options() -> SqliteOptions {
    // The tests check what is committed, not that the disk keeps it: skip the fsyncs.
    SqliteOptions {
        synchronous: Synchronous::Off,
        ..SqliteOptions::default()
    }
}

impl Rig {
    pub fn open(dir: &Path, now: Millis) -> Rig {
        let storage = SqliteStorage::open(dir, options()).expect("open");
        let mut engine = Engine::new(EngineConfig::default());
        engine.set_track_records(true);
        engine
            .restore(storage.load().expect("load"), now)
            .expect("restore");
        let mut rig = Rig {
            engine,
            storage,
            dir: dir.to_path_buf(),
            now,
            last_seq: 0,
        };
        rig.commit();
        rig
    }

    /// Drains the engine and commits, like one driver step.
    pub fn commit(&mut self) -> Batch {
        let changes = self.engine.drain();
        if let Some(e) = changes.events.last() {
            self.last_seq = e.seq;
        }
        let batch = Batch {
            events: std::sync::Arc::new(changes.events),
            records: changes.records,
            next_id: changes.next_id,
            next_seq: changes.next_seq,
        };
        self.storage
            .commit(std::slice::from_ref(&batch))
            .expect("commit");
        batch
    }

    /// Drops the engine and the store without any goodbye (what was committed is all
    /// that is left), then reopens at `now`.
    pub fn restart(self, now: Millis) -> Rig {
        let dir = self.dir.clone();
        drop(self);
        Rig::open(&dir, now)
    }

    pub fn advance(&mut self, ms: u64) {
        self.now = self.now.plus_ms(ms);
        self.engine.tick(self.now);
        self.commit();
    }

    pub fn def(&mut self, def: Definition) {
        self.engine
            .put_definition(def, self.now)
            .expect("definition");
        self.commit();
    }

    pub fn act(&mut self, action: Action) -> ActionReply {
        let reply = self
            .engine
            .apply(action, &Requester::new("test"), self.now)
            .expect("action");
        self.engine.tick(self.now);
        self.commit();
        reply
    }

    pub fn run(&mut self, spec: TaskSpec) -> TaskId {
        match self.act(Action::Run {
            tasks: vec![RunItem::New(Box::new(spec))],
            ignore: false,
        }) {
            ActionReply::Run { tasks } => tasks[0],
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// Claims up to `max` tasks of `def` for `executor`.
    pub fn poll(&mut self, executor: &str, def: &str, max: u32) -> Vec<Task> {
        let req = PollRequest {
            executor: executor.into(),
            definitions: vec![def.into()],
            max,
            wait_ms: 0,
        };
        let out = match self.engine.poll(&req, 0, self.now).expect("poll") {
            PollOutcome::Claimed(t) => t,
            PollOutcome::Parked(_) => Vec::new(),
        };
        self.commit();
        out
    }

    pub fn start(&mut self, t: &Task) -> Task {
        let r = self.engine.start(&exec(t), self.now).expect("start");
        self.commit();
        r
    }

    pub fn succeed(&mut self, t: &Task) -> Task {
        let r = self
            .engine
            .succeed(
                SuccessRequest {
                    id: t.id,
                    exec_id: t.exec_id.expect("exec id"),
                    result: Some(serde_json::json!({"ok": t.id})),
                },
                self.now,
            )
            .expect("succeed");
        self.commit();
        r
    }

    pub fn fail(&mut self, t: &Task) -> Task {
        let r = self
            .engine
            .fail(
                FailRequest {
                    id: t.id,
                    exec_id: t.exec_id.expect("exec id"),
                    error: None,
                    message: Some("it broke".into()),
                },
                self.now,
            )
            .expect("fail");
        self.commit();
        r
    }

    pub fn notify(&mut self, t: &Task, line: &str) -> taskyard_core::Result<()> {
        let r = self.engine.notify(
            &NotifyRequest {
                id: t.id,
                exec_id: t.exec_id.expect("exec id"),
                progress: None,
                log: Some(vec![line.to_string()]),
            },
            self.now,
        );
        self.commit();
        r.map(drop)
    }

    pub fn task(&self, id: TaskId) -> Task {
        self.engine.task_view(id, self.now).expect("task exists")
    }

    pub fn status(&self, id: TaskId) -> Status {
        self.task(id).status
    }

    pub fn thread(&self, name: &str) -> ThreadRow {
        self.engine.thread(name)
    }
}

pub fn exec(t: &Task) -> ExecRef {
    ExecRef {
        id: t.id,
        exec_id: t.exec_id.expect("exec id"),
    }
}

pub fn builtin(name: &str, retries: u32) -> Definition {
    let mut d = Definition::new(name, ExecutorKind::Builtin("echo".into()));
    d.allowed_retry_count = retries;
    d.retry_delay_ms = 1_000;
    d
}

pub fn external(name: &str, retries: u32) -> Definition {
    let mut d = Definition::new(name, ExecutorKind::External);
    d.allowed_retry_count = retries;
    d.retry_delay_ms = 1_000;
    d
}

pub fn on_thread(name: &str, thread: &str) -> TaskSpec {
    let mut s = TaskSpec::new(name);
    s.thread = Some(thread.into());
    s
}
