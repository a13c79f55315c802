//! Committing the driver's batches, and only then acknowledging them (SPEC §8).
//!
//! Storage that commits at memory speed is committed inline. Storage that waits for the
//! disk gets a writer thread (group commit): the driver hands it each batch with what to
//! do once it is durable (replies, events to publish) and goes on applying the next
//! commands; the writer commits everything that accumulated while the previous
//! transaction ran in one transaction, then runs those follow-ups in order. The driver is
//! never blocked on an fsync, and a burst of requests costs one fsync, not one each.
//!
//! A failed commit leaves the engine's memory ahead of its storage, which no later commit
//! can repair: the writer then refuses everything after it, so nothing more is
//! acknowledged, and taskyard must be restarted (it recovers from what was committed).

use crate::error::Error;
use crate::storage::{Batch, Storage};
use std::sync::Arc;
use std::sync::mpsc;
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

pub(super) struct Committer(Mode);

enum Mode {
    Inline(Arc<dyn Storage>),
    Writer {
        tx: Option<mpsc::Sender<Work>>,
        slots: Arc<Semaphore>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
}

/// Leave to hand the writer one more batch.
pub(super) struct Slot(Option<OwnedSemaphorePermit>);

impl Committer {
    pub fn new(storage: Arc<dyn Storage>) -> Committer {
        if !storage.group_commit() {
            return Committer(Mode::Inline(storage));
        }
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("taskyard-writer".into())
            .spawn({
                let storage = storage.clone();
                move || write_loop(storage, rx)
            });
        match spawned {
            Ok(thread) => Committer(Mode::Writer {
                tx: Some(tx),
                slots: Arc::new(Semaphore::new(IN_FLIGHT)),
                thread: Some(thread),
            }),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the writer thread; committing inline");
                Committer(Mode::Inline(storage))
            }
        }
    }

    /// Waits until the writer may take another batch.
    pub async fn reserve(&self) -> Slot {
        match &self.0 {
            Mode::Inline(_) => Slot(None),
            Mode::Writer { slots, .. } => Slot(slots.clone().acquire_owned().await.ok()),
        }
    }

    /// Commits `batch`, then runs `after` (at once when inline, on the writer otherwise).
    pub fn submit(&self, slot: Slot, batch: Batch, after: After) {
        match &self.0 {
            Mode::Inline(storage) => {
                let err = if batch.is_empty() {
                    None
                } else {
                    storage
                        .commit(std::slice::from_ref(&batch))
                        .err()
                        .map(|e| not_saved(&e))
                };
                after(err.as_ref());
            }
            Mode::Writer { tx, .. } => {
                let Some(permit) = slot.0 else {
                    after(Some(&stopped()));
                    return;
                };
                let work = Work {
                    batch,
                    after,
                    _permit: permit,
                };
                let sent = tx.as_ref().map(|tx| tx.send(work));
                if let Some(Err(mpsc::SendError(work))) = sent {
                    (work.after)(Some(&stopped()));
                }
            }
        }
    }

    /// Lets the writer finish what it has, and waits for it.
    pub fn finish(&mut self) {
        if let Mode::Writer { tx, thread, .. } = &mut self.0 {
            tx.take();
            if let Some(t) = thread.take()
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
        if let Mode::Writer { tx, .. } = &mut self.0 {
            tx.take();
        }
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

fn write_loop(storage: Arc<dyn Storage>, rx: mpsc::Receiver<Work>) {
    let (dropper, to_drop) = mpsc::channel::<Vec<Batch>>();
    let _ = std::thread::Builder::new()
        .name("taskyard-free".into())
        .spawn(move || to_drop.into_iter().for_each(drop));
    let mut failed: Option<Error> = None;
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
        if failed.is_none() {
            failed = commit_with_retries(storage.as_ref(), &batches);
        }
        for after in afters.drain(..) {
            after(failed.as_ref());
        }
        permits.clear();
        // Freeing a group's records takes a while; another thread can do it.
        let done = std::mem::take(&mut batches);
        if let Err(mpsc::SendError(done)) = dropper.send(done) {
            drop(done);
        }
    }
}

fn commit_with_retries(storage: &dyn Storage, batches: &[Batch]) -> Option<Error> {
    let mut wait = Duration::from_millis(10);
    for attempt in 1..=ATTEMPTS {
        match storage.commit(batches) {
            Ok(()) => return None,
            Err(e) if attempt == ATTEMPTS => {
                tracing::error!(error = %e, "storage commit failed; nothing more is acknowledged until taskyard restarts");
                return Some(not_saved(&e));
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
