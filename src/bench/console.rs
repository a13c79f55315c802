//! `taskyard bench console`: the console over a local engine holding `--tasks` tasks.
//!
//! 1. Frame time: state→buffer of a 200×50 screen while moving through the table.
//! 2. Filter and sort over every task, as `/` and `s` ask the engine for them.
//! 3. Under load: the real event loop (on its own thread, a test backend for a screen)
//!    while the engine completes tasks as fast as a feeder can give them: frames/s,
//!    key-to-frame latency, the console thread's CPU share.
//! 4. Resident memory with the tasks loaded, and what the console adds.

use clap::Args;
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use futures::StreamExt;
use parking_lot::Mutex;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use taskyard::console::harness::Harness;
use taskyard::console::keymap::Keymap;
use taskyard::console::state::{App, Options};
use taskyard::console::theme::Theme;
use taskyard::source::Source;
use taskyard::source::local::LocalSource;
use taskyard_core::api::{Action, Requester};
use taskyard_core::model::{Definition, EventKind, ExecutorKind, RunItem, Status, TaskSpec};
use taskyard_core::runtime::{Delivery, EngineHandle, RuntimeBuilder};

#[derive(Args, Debug)]
pub struct ConsoleBench {
    /// Tasks in the engine.
    #[arg(long, default_value_t = 1_000_000)]
    tasks: usize,
    /// Frames to time.
    #[arg(long, default_value_t = 600)]
    frames: usize,
    /// Seconds of the load phase.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Tasks per second the feeder aims at during the load phase.
    #[arg(long, default_value_t = 50_000)]
    rate: usize,
    /// Print one JSON line instead of text.
    #[arg(long)]
    json: bool,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// CPU time of the calling thread: what a frame costs whatever else the machine runs.
fn thread_cpu() -> Duration {
    super::cpu_time(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// Current resident set size in MiB (Linux).
fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU seconds (user + system) of `/proc/<which>/stat`, e.g. `thread-self` or `self`.
fn cpu_seconds(which: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{which}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command: state is field 3, utime 14 and stime 15 (in USER_HZ, 100/s).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn options(source: &dyn Source) -> anyhow::Result<Options> {
    Ok(Options {
        mode: source.mode(),
        read_only: false,
        keymap: Keymap::default(),
        theme: Theme::named("dark").map_err(anyhow::Error::msg)?,
        utc_offset_s: 0,
        workload: None,
    })
}

async fn fill(engine: &EngineHandle, n: usize) -> anyhow::Result<()> {
    let who = Requester::new("bench");
    let mut created = 0;
    while created < n {
        let batch = 10_000.min(n - created);
        let tasks = (created..created + batch)
            .map(|i| {
                let mut s = TaskSpec::new(if i % 3 == 0 { "import" } else { "job" });
                s.thread = Some(format!("t{}", i % 100));
                s.priority = (i % 10) as i32;
                s.desc = Some(format!("batch {i}"));
                RunItem::New(Box::new(s))
            })
            .collect();
        engine
            .act(
                Action::Run {
                    tasks,
                    ignore: false,
                },
                who.clone(),
            )
            .await?;
        created += batch;
    }
    Ok(())
}

pub async fn run(args: ConsoleBench) -> anyhow::Result<()> {
    anyhow::ensure!(args.tasks > 0, "--tasks must be at least 1");
    anyhow::ensure!(args.frames > 0, "--frames must be at least 1");
    let workspaces = tempfile::tempdir()?;
    let rss_start = rss_mib();

    // --- 1. a million tasks, and frames over them -------------------------------------
    let engine = RuntimeBuilder::new()
        .workspace_root(workspaces.path().to_path_buf())
        .start()?;
    for name in ["job", "import"] {
        // External: nothing claims them, so the million stay put while we measure.
        engine
            .put_definition(Definition::new(name, ExecutorKind::External))
            .await?;
    }
    let filled = Instant::now();
    fill(&engine, args.tasks).await?;
    let fill_s = filled.elapsed().as_secs_f64();
    let rss_engine = rss_mib();

    let source: Arc<dyn Source> = Arc::new(LocalSource::new(engine.clone()));
    let mut h = Harness::new(source.clone(), options(&*source)?, 200, 50).await;
    let mut frames = Vec::with_capacity(args.frames);
    let mut frames_cpu = Vec::with_capacity(args.frames);
    for i in 0..args.frames {
        // Move as an operator would: mostly line by line, now and then a page.
        let key = match i % 20 {
            0 => "pgdn",
            10 => "ctrl-u",
            _ if (i / 40) % 2 == 0 => "j",
            _ => "k",
        };
        h.keys(&[key]).await;
        let app = &h.app;
        let (started, cpu) = (Instant::now(), thread_cpu());
        h.terminal
            .draw(|f| taskyard::console::view::render(app, f))
            .map_err(|e| match e {})?;
        frames.push(started.elapsed());
        frames_cpu.push(thread_cpu().saturating_sub(cpu));
    }
    frames.sort();
    frames_cpu.sort();
    let rss_console = rss_mib();

    // --- 2. filter and sort over every task --------------------------------------------
    // Each through the command line (`:filter`, `:sort`), timed from Enter to the page
    // shown, five times; between two, an untimed reset to the default view.
    let mut ops = Vec::new();
    for (what, line) in [
        ("filter thread:t42", "filter thread:t42"),
        (
            "filter status:ready batch 99",
            "filter status:ready batch 99",
        ),
        ("filter !name:job", "filter !name:job"),
        ("sort priority desc", "sort priority desc"),
        ("sort created_at asc", "sort created_at asc"),
        ("sort updated_at desc", "sort updated_at desc"),
        ("sort name asc", "sort name asc"),
        ("sort thread asc", "sort thread asc"),
        ("sort status desc", "sort status desc"),
    ] {
        let mut times = Vec::new();
        for _ in 0..5 {
            h.keys(&[":"]).await;
            h.type_text("filter").await;
            h.keys(&["enter", ":"]).await;
            h.type_text("sort id desc").await;
            h.keys(&["enter", ":"]).await;
            h.type_text(line).await;
            let started = Instant::now();
            h.keys(&["enter"]).await;
            times.push(started.elapsed());
        }
        times.sort();
        ops.push((what.to_string(), pct(&times, 0.5), h.app.tasks.total));
    }
    let worst_op = ops.iter().map(|(_, d, _)| *d).max().unwrap_or_default();
    drop(h);
    engine.shutdown().await;

    // --- 3. the real loop while the engine works hard ----------------------------------
    let load = load_phase(&args, workspaces.path()).await?;
    let rss_peak = super::peak_rss_mib();

    let median = pct(&frames, 0.5);
    let p99 = pct(&frames, 0.99);
    if args.json {
        println!(
            "{}",
            json!({
                "scenario": "console",
                "tasks": args.tasks,
                "screen": "200x50",
                "fill_seconds": fill_s,
                "frame_ms": { "median": ms(median), "p99": ms(p99), "max": ms(*frames.last().unwrap_or(&Duration::ZERO)), "frames": frames.len() },
                "frame_cpu_ms": { "median": ms(pct(&frames_cpu, 0.5)), "p99": ms(pct(&frames_cpu, 0.99)) },
                "query_ms": ops.iter().map(|(w, d, n)| json!({"op": w, "ms": ms(*d), "matching": n})).collect::<Vec<_>>(),
                "worst_query_ms": ms(worst_op),
                "load": load,
                "rss_mib": { "start": rss_start, "with_tasks": rss_engine, "with_console": rss_console, "peak": rss_peak },
            })
        );
    } else {
        println!(
            "console over {} tasks (filled in {fill_s:.1} s), 200x50:",
            args.tasks
        );
        println!(
            "  frame state→buffer: median {:.3} ms, p99 {:.3} ms over {} frames (thread CPU: median {:.3} ms, p99 {:.3} ms)",
            ms(median),
            ms(p99),
            frames.len(),
            ms(pct(&frames_cpu, 0.5)),
            ms(pct(&frames_cpu, 0.99))
        );
        for (what, d, n) in &ops {
            println!(
                "  {what:<30} {:>9.1} ms median of 5  ({n} matching)",
                ms(*d)
            );
        }
        println!("  under load: {load}");
        println!(
            "  RSS: {:.0} MiB at start, {:.0} MiB with the tasks, {:.0} MiB with the console; peak {:.0} MiB",
            rss_start.unwrap_or(0.0),
            rss_engine.unwrap_or(0.0),
            rss_console.unwrap_or(0.0),
            rss_peak.unwrap_or(0.0)
        );
    }
    Ok(())
}

/// Runs the console's real loop on its own thread for `--seconds` while a feeder keeps
/// the engine completing `builtin:echo` tasks; returns the figures as JSON.
async fn load_phase(
    args: &ConsoleBench,
    root: &std::path::Path,
) -> anyhow::Result<serde_json::Value> {
    let engine = RuntimeBuilder::new()
        .workspace_root(root.join("load"))
        .event_history(1_000_000)
        .start()?;
    let mut echo = Definition::new("echo", ExecutorKind::Builtin("echo".into()));
    echo.allowed_retry_count = 0;
    echo.retention_ms = 5_000;
    engine.put_definition(echo).await?;

    // The feeder: batches of 1,000, paced to the asked rate.
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let engine = engine.clone();
        let stop = stop.clone();
        let rate = args.rate.max(1);
        tokio::spawn(async move {
            let who = Requester::new("bench");
            let batch = 1_000usize;
            let every = Duration::from_secs_f64(batch as f64 / rate as f64);
            let mut next = tokio::time::Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let tasks = (0..batch)
                    .map(|_| RunItem::New(Box::new(TaskSpec::new("echo"))))
                    .collect();
                let _ = engine
                    .act(
                        Action::Run {
                            tasks,
                            ignore: false,
                        },
                        who.clone(),
                    )
                    .await;
                next += every;
                tokio::time::sleep_until(next).await;
            }
        })
    };

    // Completions are counted from the event stream: retention cleans done tasks after
    // 5 s, so the count of done tasks would understate a run longer than that.
    let completed = Arc::new(AtomicU64::new(0));
    let counter = {
        let completed = completed.clone();
        let mut events = engine.subscribe(None);
        tokio::spawn(async move {
            loop {
                match events.next().await {
                    Delivery::Events(batch) => {
                        let done = batch
                            .iter()
                            .filter(|e| {
                                matches!(
                                    e.kind,
                                    EventKind::TaskStatus {
                                        to: Status::Done,
                                        ..
                                    }
                                )
                            })
                            .count();
                        completed.fetch_add(done as u64, Ordering::Relaxed);
                    }
                    // Fell behind the event history: the count would be short; say so.
                    Delivery::Reset => completed.store(u64::MAX, Ordering::Relaxed),
                    Delivery::Closed => break,
                }
            }
        })
    };

    let source: Arc<dyn Source> = Arc::new(LocalSource::new(engine.clone()));
    let options = options(&*source)?;
    let seconds = args.seconds.max(1);
    let done_before = completed.load(Ordering::Relaxed);
    let started = Instant::now();
    let console = std::thread::spawn(move || console_thread(source, options, seconds));
    let figures = tokio::task::spawn_blocking(move || console.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the console thread panicked"))??;
    let done_after = completed.load(Ordering::Relaxed);
    anyhow::ensure!(
        done_after != u64::MAX && done_before != u64::MAX,
        "the completion counter fell behind the event stream; the figure would be wrong"
    );
    let completed_per_s = (done_after - done_before) as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = feeder.await;
    engine.shutdown().await;
    counter.abort();
    let mut figures = figures;
    figures["engine_completions_per_s"] = json!(completed_per_s.round());
    Ok(figures)
}

/// The console loop on a runtime of its own, so its CPU time is this thread's.
fn console_thread(
    source: Arc<dyn Source>,
    options: Options,
    seconds: u64,
) -> anyhow::Result<serde_json::Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(200, 50))
            .map_err(|e| match e {})?;
        // Keys: `j`/`k` every 100 ms; the time each is taken by the loop is noted, and
        // the next frame drawn after it gives its latency.
        let (key_tx, key_rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, TermEvent)>();
        let taken: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let keys = {
            let taken = taken.clone();
            tokio_stream_of(key_rx).map(move |(sent, ev)| {
                taken.lock().push(sent);
                Ok(ev)
            })
        };
        let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
        let frames = Arc::new(AtomicU64::new(0));
        let draw_total = Arc::new(Mutex::new(Vec::<Duration>::new()));
        let on_frame = {
            let taken = taken.clone();
            let latencies = latencies.clone();
            let frames = frames.clone();
            let draw_total = draw_total.clone();
            move |at: tokio::time::Instant, took: Duration| {
                frames.fetch_add(1, Ordering::Relaxed);
                draw_total.lock().push(took);
                let at = at.into_std();
                for sent in taken.lock().drain(..) {
                    latencies.lock().push(at.saturating_duration_since(sent));
                }
            }
        };
        let key_task = tokio::spawn(async move {
            let mut down = true;
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let code = if down { KeyCode::Char('j') } else { KeyCode::Char('k') };
                down = !down;
                let ev = TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE));
                if key_tx.send((Instant::now(), ev)).is_err() {
                    break;
                }
            }
        });
        let cpu_start = cpu_seconds("thread-self");
        let proc_start = cpu_seconds("self");
        let started = Instant::now();
        let app = App::new(options);
        taskyard::console::runner::run_with(
            &mut terminal,
            keys,
            tokio::time::sleep(Duration::from_secs(seconds)),
            source,
            app,
            on_frame,
        )
        .await?;
        let wall = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds("thread-self").zip(cpu_start).map(|(b, a)| b - a);
        let proc_cpu = cpu_seconds("self").zip(proc_start).map(|(b, a)| b - a);
        key_task.abort();
        let mut lat = latencies.lock().clone();
        lat.sort();
        let mut draws = draw_total.lock().clone();
        draws.sort();
        let frames = frames.load(Ordering::Relaxed);
        Ok(json!({
            "seconds": wall,
            "frames_per_s": (frames as f64 / wall * 10.0).round() / 10.0,
            "frame_ms_median": ms(pct(&draws, 0.5)),
            "frame_ms_p99": ms(pct(&draws, 0.99)),
            "keys": lat.len(),
            "key_to_frame_ms": { "median": ms(pct(&lat, 0.5)), "p99": ms(pct(&lat, 0.99)), "max": ms(*lat.last().unwrap_or(&Duration::ZERO)) },
            "console_thread_cpu_share": cpu.map(|c| (c / wall * 1000.0).round() / 1000.0),
            "process_cpu_share": proc_cpu.map(|c| (c / wall * 1000.0).round() / 1000.0),
        }))
    })
}

/// An mpsc receiver as a stream.
fn tokio_stream_of<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> impl futures::Stream<Item = T> + Unpin {
    Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}
