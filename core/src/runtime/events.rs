//! Event fan-out: a broadcast of committed event batches that a slow subscriber cannot
//! stall (it lags and is told to resync), and a ring of recent events for replay.

use crate::model::Event;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast;

pub type EventBatch = Arc<Vec<Event>>;

/// What a subscriber receives next.
#[derive(Debug)]
pub enum Delivery {
    Events(EventBatch),
    /// Events were missed (the subscriber fell behind, or asked for events older than
    /// the server keeps): re-read state, then carry on.
    Reset,
    /// The engine stopped.
    Closed,
}

pub(super) struct EventHub {
    tx: broadcast::Sender<EventBatch>,
    recent: Mutex<Recent>,
}

struct Recent {
    batches: VecDeque<EventBatch>,
    events: usize,
    capacity: usize,
    /// The seq of the last event published (0 before any).
    last_seq: u64,
}

impl EventHub {
    pub fn new(capacity: usize, last_seq: u64) -> EventHub {
        EventHub {
            tx: broadcast::channel(1024).0,
            recent: Mutex::new(Recent {
                batches: VecDeque::new(),
                events: 0,
                capacity,
                last_seq,
            }),
        }
    }

    pub fn publish(&self, batch: EventBatch) {
        if batch.is_empty() {
            return;
        }
        let mut recent = self.recent.lock();
        recent.last_seq = batch.last().map_or(recent.last_seq, |e| e.seq);
        recent.events += batch.len();
        recent.batches.push_back(batch.clone());
        while recent.events > recent.capacity && recent.batches.len() > 1 {
            if let Some(old) = recent.batches.pop_front() {
                recent.events -= old.len();
            }
        }
        // Publishing under the lock keeps replay and live delivery gap-free.
        let _ = self.tx.send(batch);
    }

    /// Subscribes; with `since`, first replays every kept event after it (or resets).
    pub fn subscribe(&self, since: Option<u64>) -> Subscription {
        let recent = self.recent.lock();
        let rx = self.tx.subscribe();
        let mut pending = VecDeque::new();
        if let Some(since) = since
            && since < recent.last_seq
        {
            let oldest = recent
                .batches
                .front()
                .and_then(|b| b.first())
                .map_or(recent.last_seq + 1, |e| e.seq);
            if since + 1 < oldest {
                pending.push_back(Delivery::Reset);
            } else {
                let replay: Vec<Event> = recent
                    .batches
                    .iter()
                    .flat_map(|b| b.iter())
                    .filter(|e| e.seq > since)
                    .cloned()
                    .collect();
                pending.push_back(Delivery::Events(Arc::new(replay)));
            }
        }
        Subscription {
            pending,
            rx,
            last_seq: since.unwrap_or(recent.last_seq),
        }
    }

    pub fn last_seq(&self) -> u64 {
        self.recent.lock().last_seq
    }
}

/// A live view of the event stream.
pub struct Subscription {
    pending: VecDeque<Delivery>,
    rx: broadcast::Receiver<EventBatch>,
    last_seq: u64,
}

impl Subscription {
    pub async fn next(&mut self) -> Delivery {
        if let Some(d) = self.pending.pop_front() {
            if let Delivery::Events(b) = &d
                && let Some(e) = b.last()
            {
                self.last_seq = e.seq;
            }
            return d;
        }
        loop {
            match self.rx.recv().await {
                Ok(batch) => {
                    let fresh: Vec<Event> = if batch.first().is_some_and(|e| e.seq <= self.last_seq)
                    {
                        batch
                            .iter()
                            .filter(|e| e.seq > self.last_seq)
                            .cloned()
                            .collect()
                    } else {
                        return self.deliver(batch);
                    };
                    if !fresh.is_empty() {
                        return self.deliver(Arc::new(fresh));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => return Delivery::Reset,
                Err(broadcast::error::RecvError::Closed) => return Delivery::Closed,
            }
        }
    }

    fn deliver(&mut self, batch: EventBatch) -> Delivery {
        if let Some(e) = batch.last() {
            self.last_seq = e.seq;
        }
        Delivery::Events(batch)
    }

    /// The seq of the last event delivered.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }
}
