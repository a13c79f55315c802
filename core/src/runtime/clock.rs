//! The runtime's clock. The engine never reads time; the runtime asks its clock and
//! passes `now` in. Tests use [`ManualClock`] and move time by hand.

use crate::time::Millis;
use futures::future::BoxFuture;
use std::sync::Arc;
use tokio::sync::watch;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Millis;
    /// Completes once `now() >= at`.
    fn sleep_until(&self, at: Millis) -> BoxFuture<'static, ()>;
}

/// Wall-clock time.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        Millis::from_datetime(chrono::Utc::now())
    }

    fn sleep_until(&self, at: Millis) -> BoxFuture<'static, ()> {
        let wait = at.since(self.now());
        Box::pin(tokio::time::sleep(std::time::Duration::from_millis(wait)))
    }
}

/// Time that moves only when told to; sleepers wake when it passes their moment.
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<watch::Sender<Millis>>,
}

impl ManualClock {
    pub fn new(start: Millis) -> ManualClock {
        ManualClock {
            now: Arc::new(watch::Sender::new(start)),
        }
    }

    pub fn advance(&self, ms: u64) {
        self.now.send_modify(|t| *t = t.plus_ms(ms));
    }

    pub fn set(&self, at: Millis) {
        self.now.send_replace(at);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: Millis) -> BoxFuture<'static, ()> {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            // An error means the clock is gone: nothing will ever wake us, so park forever
            // rather than spin.
            if rx.wait_for(|now| *now >= at).await.is_err() {
                futures::future::pending::<()>().await;
            }
        })
    }
}
