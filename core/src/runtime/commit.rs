//! Committing the driver's batches, and only then acknowledging them (SPEC §8).
//!
//! Storage that commits at memory speed is committed inline. Storage that waits for the
//! disk gets a writer thread (group commit): the driver hands it each batch with what to
//! do once it is durable (replies, events to publish) and goes on applying the next
//! commands; the writer commits everything that accumulated while the previous
//! transaction ran in one transaction, then runs those follow-ups in order. A burst of
//! requests costs one fsync, not one each, and the driver applies the next batch while
//! the disk works.
//!
//! Except when the driver has nothing else to do: a batch that finds the writer idle, no
//! command waiting and no handler running is committed by the driver itself (telling
//! tokio, which moves the thread's other tasks elsewhere meanwhile). A lone request then
//! skips two thread handoffs: sequential in-process runs went from ~9k/s to ~15k/s
//! without fsync, and from 0.40× to 0.52× the fsync rate with it. But when commands
//! arrive during such a commit, the caller was not alone: they wait for it instead of
//! being applied meanwhile, and moving tokio's tasks off the thread is dear under load.
//! The driver then leaves the next batches to the writer. Measured over HTTP
//! (interleaved runs, 2 cores): 16 concurrent clients went from ~17k/s to ~23k/s and
//! the 8-worker drain from ~12.5k/s to ~14.5k/s against committing inline whenever idle.
//!
//! A failed commit leaves the engine's memory ahead of its storage, which no later commit
//! can repair: every commit after it is refused (inline or on the writer), so nothing
//! more is acknowledged, and taskyard must be restarted (it recovers from what was
//! committed).

use crate::error::Error;
use crate::storage::{Batch, Storage};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What to do once a batch is committed; gets the commit's error if it failed.
pub(super) type After = Box<dyn FnOnce(Option<&Error>) + Send>;

/// Batches handed to the writer and not yet committed, at most: beyond it the driver
/// waits, its commands pile up, and its next batch is simply bigger. Enough that the
/// driver keeps going through a long commit (measured: 8 stalled it noticeably).
const IN_FLIGHT: usize = 64;

/// Commit attempts before the writer gives up (short, transient errors only).
const ATTEMPTS: u32 = 3;

struct Work {
    batch: Batch,
    after: After,
    _permit: OwnedSemaphorePermit,
}

pub(super) struct Committer {
    store: Arc<Store>,
    writer: Option<Writer>,
}

/// The storage, and the first commit error: once a commit failed, every later one is
/// refused (wherever it is committed).
struct Store {
    storage: Arc<dyn Storage>,
    broken: OnceLock<Error>,
    /// Batches handed to the writer and not yet committed.
    queued: AtomicUsize,
    /// Held while follow-ups run, so those of an inline commit never overtake those of
    /// the writer's last commit (replies and events stay in commit order).
    following: parking_lot::Mutex<()>,
}

struct Writer {
    /// On a multi-threaded runtime, the driver may block its thread on a commit.
    may_block: bool,
    tx: Option<mpsc::Sender<Work>>,
    slots: Arc<Semaphore>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Leave to hand the writer one more batch.
pub(super) struct Slot(Option<OwnedSemaphorePermit>);

impl Committer {
    pub fn new(storage: Arc<dyn Storage>) -> Committer {
        let group = storage.group_commit();
        let store = Arc::new(Store {
            storage,
            broken: OnceLock::new(),
            queued: AtomicUsize::new(0),
            following: parking_lot::Mutex::new(()),
        });
        if !group {
            return Committer {
                store,
                writer: None,
            };
        }
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("taskyard-writer".into())
            .spawn({
                let store = store.clone();
                move || write_loop(&store, rx)
            });
        let writer = match spawned {
            Ok(thread) => Some(Writer {
                may_block: tokio::runtime::Handle::try_current().is_ok_and(|h| {
                    h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
                }),
                tx: Some(tx),
                slots: Arc::new(Semaphore::new(IN_FLIGHT)),
                thread: Some(thread),
            }),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the writer thread; committing inline");
                None
            }
        };
        Committer { store, writer }
    }

    /// Waits until the writer may take another batch.
    pub async fn reserve(&self) -> Slot {
        match &self.writer {
            None => Slot(None),
            Some(w) => Slot(w.slots.clone().acquire_owned().await.ok()),
        }
    }

    /// Commits `batch`, then runs `after`: here and now without a writer, or when `alone`
    /// is given (no command waits for the driver; it tells whether one has arrived since)
    /// and the writer is idle; on the writer otherwise. Returns whether commands arrived
    /// while the driver committed itself: they waited for it.
    pub fn submit(
        &self,
        slot: Slot,
        batch: Batch,
        after: After,
        alone: Option<&dyn Fn() -> bool>,
    ) -> bool {
        let Some(w) = &self.writer else {
            let err = self.store.commit(std::slice::from_ref(&batch));
            after(err.as_ref());
            return false;
        };
        let Some(permit) = slot.0 else {
            after(Some(&stopped()));
            return false;
        };
        // The writer has committed everything it was given, so committing here keeps the
        // order; `following` keeps the follow-ups in that order too.
        if let Some(arrived) = alone
            && w.may_block
            && self.store.queued.load(Ordering::SeqCst) == 0
        {
            // Tokio moves this worker's other tasks to another thread meanwhile.
            return tokio::task::block_in_place(|| {
                let err = self.store.commit(std::slice::from_ref(&batch));
                // Asked before the replies go out: the next command of whoever waited
                // for this one does not count.
                let crowded = arrived();
                let _order = self.store.following.lock();
                after(err.as_ref());
                crowded
            });
        }
        self.store.queued.fetch_add(1, Ordering::SeqCst);
        let work = Work {
            batch,
            after,
            _permit: permit,
        };
        let refused = match w.tx.as_ref() {
            Some(tx) => tx.send(work).err().map(|mpsc::SendError(work)| work),
            None => Some(work),
        };
        if let Some(work) = refused {
            self.store.queued.fetch_sub(1, Ordering::SeqCst);
            (work.after)(Some(&stopped()));
        }
        false
    }

    /// Lets the writer finish what it has, and waits for it.
    pub fn finish(&mut self) {
        if let Some(w) = &mut self.writer {
            w.tx.take();
            if let Some(t) = w.thread.take()
                && t.join().is_err()
            {
                tracing::error!("the writer thread panicked");
            }
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        // Closing the channel is enough: the writer drains it and exits on its own.
        if let Some(w) = &mut self.writer {
            w.tx.take();
        }
    }
}

impl Store {
    /// Commits `batches` (retrying short, transient errors) unless an earlier commit
    /// failed; returns the error to answer with, if any.
    fn commit(&self, batches: &[Batch]) -> Option<Error> {
        if let Some(e) = self.broken.get() {
            return Some(e.clone());
        }
        if batches.iter().all(Batch::is_empty) {
            return None;
        }
        let mut wait = Duration::from_millis(10);
        for attempt in 1..=ATTEMPTS {
            match self.storage.commit(batches) {
                Ok(()) => return None,
                Err(e) if attempt == ATTEMPTS => {
                    tracing::error!(error = %e, "storage commit failed; nothing more is acknowledged until taskyard restarts");
                    return Some(self.broken.get_or_init(|| not_saved(&e)).clone());
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "storage commit failed; retrying");
                    std::thread::sleep(wait);
                    wait *= 10;
                }
            }
        }
        None
    }
}

fn stopped() -> Error {
    Error::internal("the engine's writer has stopped; restart taskyard")
}

fn not_saved(e: &Error) -> Error {
    Error::internal(format!(
        "the change could not be saved ({}); it is not acknowledged; restart taskyard, which recovers everything acknowledged before",
        e.message
    ))
}

/// Records in a committed group above which freeing them is left to another thread
/// (it takes a while; below, the handoff costs more than the freeing).
const FREE_ELSEWHERE: usize = 256;

fn write_loop(store: &Store, rx: mpsc::Receiver<Work>) {
    let (dropper, to_drop) = mpsc::channel::<Vec<Batch>>();
    let _ = std::thread::Builder::new()
        .name("taskyard-free".into())
        .spawn(move || to_drop.into_iter().for_each(drop));
    let mut batches = Vec::new();
    let mut afters = Vec::new();
    let mut permits = Vec::new();
    while let Ok(first) = rx.recv() {
        // Everything that arrived while the previous transaction ran goes in this one.
        let mut next = Some(first);
        while let Some(w) = next {
            batches.push(w.batch);
            afters.push(w.after);
            permits.push(w._permit);
            next = rx.try_recv().ok();
        }
        let failed = store.commit(&batches);
        // Idle before the replies go out: whoever a reply wakes finds the writer idle.
        let order = store.following.lock();
        store.queued.fetch_sub(batches.len(), Ordering::SeqCst);
        for after in afters.drain(..) {
            after(failed.as_ref());
        }
        drop(order);
        permits.clear();
        let records: usize = batches.iter().map(|b| b.records.len()).sum();
        if records < FREE_ELSEWHERE {
            batches.clear();
            continue;
        }
        let done = std::mem::take(&mut batches);
        if let Err(mpsc::SendError(done)) = dropper.send(done) {
            drop(done);
        }
    }
}
