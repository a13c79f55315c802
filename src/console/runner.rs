//! The event loop: one `tokio::select!` that takes keys first, then replies, then
//! events and ticks, and draws only when something changed, at most 30 frames a second.
//! Effects run in their own tasks, so no I/O ever happens on the input path.

use crate::console::effect::perform;
use crate::console::inbox::Inbox;
use crate::console::state::{App, Effect, Msg};
use crate::console::view;
use crate::source::Source;
use crossterm::event::{Event as TermEvent, EventStream};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// At most 30 frames a second.
pub const FRAME: Duration = Duration::from_millis(33);
/// How often stale data is re-read and the clock moves.
const TICK: Duration = Duration::from_millis(200);
/// The log pane takes new lines at most this often.
const DRAIN: Duration = Duration::from_millis(50);

pub fn spawn_effects(
    source: &Arc<dyn Source>,
    tx: &mpsc::UnboundedSender<Msg>,
    effects: Vec<Effect>,
) {
    for e in effects {
        let source = source.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let msg = perform(&*source, e).await;
            let _ = tx.send(msg);
        });
    }
}

/// Reads the source's event stream into the inbox until it ends.
pub fn spawn_reader(source: &Arc<dyn Source>, inbox: Arc<Inbox>) -> tokio::task::JoinHandle<()> {
    let mut events = source.events(None);
    tokio::spawn(async move {
        while let Some(e) = events.next().await {
            inbox.push(e);
        }
    })
}

fn to_msg(ev: TermEvent) -> Option<Msg> {
    match ev {
        TermEvent::Key(k) => Some(Msg::Key(k)),
        TermEvent::Mouse(m) => Some(Msg::Mouse(m)),
        TermEvent::Resize(w, h) => Some(Msg::Resize(w, h)),
        TermEvent::Paste(text) => Some(Msg::Paste(text)),
        _ => None,
    }
}

/// SIGTERM, SIGHUP or SIGINT.
async fn signalled() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return futures::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The console on a real terminal, until the operator quits or a signal arrives.
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    source: Arc<dyn Source>,
    app: App,
) -> anyhow::Result<()> {
    run_with(
        terminal,
        EventStream::new(),
        signalled(),
        source,
        app,
        |_, _| {},
    )
    .await
}

/// The loop itself, for any backend and key stream; `stop` ends it, `on_frame` hears of
/// every frame drawn (when, and how long state→buffer took). Benchmarks use these.
pub async fn run_with<B, K>(
    terminal: &mut Terminal<B>,
    mut keys: K,
    stop: impl Future<Output = ()>,
    source: Arc<dyn Source>,
    mut app: App,
    mut on_frame: impl FnMut(Instant, Duration),
) -> anyhow::Result<()>
where
    B: Backend,
    K: Stream<Item = std::io::Result<TermEvent>> + Unpin,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let inbox = Arc::new(Inbox::default());
    // Subscribe before the first reads, so nothing falls between them.
    let reader = spawn_reader(&source, inbox.clone());
    let size = terminal
        .size()
        .map_err(|e| anyhow::anyhow!("cannot read the terminal size: {e}"))?;
    let fx = app.start(size.width, size.height, source.now());
    spawn_effects(&source, &tx, fx);

    let mut stop = std::pin::pin!(stop);
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw = Instant::now() - FRAME;
    let mut last_drain = Instant::now();
    let mut drain_at: Option<Instant> = None;

    let result = loop {
        let draw_at = last_draw + FRAME;
        let fx = tokio::select! {
            biased;
            ev = keys.next() => match ev {
                Some(Ok(ev)) => match to_msg(ev) {
                    Some(msg) => app.update(msg),
                    None => Vec::new(),
                },
                Some(Err(e)) => break Err(anyhow::anyhow!("cannot read the terminal: {e}")),
                None => break Ok(()),
            },
            _ = &mut stop => break Ok(()),
            Some(msg) = rx.recv() => app.update(msg),
            _ = inbox.wait(), if drain_at.is_none() => {
                drain_at = Some(last_drain + DRAIN);
                Vec::new()
            }
            _ = tokio::time::sleep_until(drain_at.unwrap_or_else(Instant::now)), if drain_at.is_some() => {
                drain_at = None;
                last_drain = Instant::now();
                app.update(Msg::Events(Box::new(inbox.take())))
            }
            _ = ticker.tick() => app.update(Msg::Tick { now: source.now() }),
            _ = tokio::time::sleep_until(draw_at), if app.dirty => Vec::new(),
        };
        spawn_effects(&source, &tx, fx);
        if app.quit {
            break Ok(());
        }
        if app.dirty && last_draw.elapsed() >= FRAME {
            if app.clear {
                terminal
                    .clear()
                    .map_err(|e| anyhow::anyhow!("cannot clear the terminal: {e}"))?;
                app.clear = false;
            }
            let started = Instant::now();
            terminal
                .draw(|f| view::render(&app, f))
                .map_err(|e| anyhow::anyhow!("cannot draw on the terminal: {e}"))?;
            app.dirty = false;
            last_draw = Instant::now();
            on_frame(last_draw, last_draw - started);
        }
    };
    reader.abort();
    result
}
