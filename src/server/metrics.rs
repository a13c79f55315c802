//! `GET /metrics`: the engine's counts and the server's own request counters in the
//! Prometheus text format (version 0.0.4).

use axum::http::Method;
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use taskyard_core::api::Stats;

/// (method, status, answers) of one route template.
type RouteCounts = Vec<(Method, u16, u64)>;

/// Counters the server keeps about itself.
#[derive(Default)]
pub struct Metrics {
    /// Route template → its counts; looked up by `&str`, so counting an answer
    /// allocates nothing once its route has been seen.
    requests: Mutex<FxHashMap<String, RouteCounts>>,
    pub sse_clients: AtomicI64,
    pub long_polls: AtomicI64,
}

/// Adds one to a gauge for as long as it lives.
pub struct GaugeGuard<'a>(&'a AtomicI64);

impl<'a> GaugeGuard<'a> {
    pub fn new(gauge: &'a AtomicI64) -> GaugeGuard<'a> {
        gauge.fetch_add(1, Ordering::Relaxed);
        GaugeGuard(gauge)
    }
}

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn record(&self, method: &Method, route: &str, status: u16) {
        let mut requests = self.requests.lock();
        let counts = match requests.get_mut(route) {
            Some(counts) => counts,
            None => requests.entry(route.to_string()).or_default(),
        };
        match counts
            .iter_mut()
            .find(|(m, s, _)| *s == status && m == method)
        {
            Some((_, _, n)) => *n += 1,
            None => counts.push((method.clone(), status, 1)),
        }
    }

    pub fn render(&self, stats: &Stats, last_seq: u64) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP taskyard_tasks Tasks not yet cleaned, by status.\n# TYPE taskyard_tasks gauge"
        );
        for (status, n) in &stats.by_status {
            let _ = writeln!(out, "taskyard_tasks{{status=\"{}\"}} {n}", escape(status));
        }
        let _ = writeln!(
            out,
            "# HELP taskyard_tasks_done Concluded tasks not yet cleaned, by outcome.\n# TYPE taskyard_tasks_done gauge"
        );
        for (outcome, n) in &stats.by_outcome {
            let _ = writeln!(
                out,
                "taskyard_tasks_done{{outcome=\"{}\"}} {n}",
                escape(outcome)
            );
        }
        let _ = writeln!(
            out,
            "# HELP taskyard_definition_tasks Tasks by definition and status.\n# TYPE taskyard_definition_tasks gauge"
        );
        for (def, counts) in &stats.by_definition {
            for (status, n) in &counts.by_status {
                let _ = writeln!(
                    out,
                    "taskyard_definition_tasks{{definition=\"{}\",status=\"{}\"}} {n}",
                    escape(def),
                    escape(status)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP taskyard_completions_per_second Tasks concluded per second, recent average.\n# TYPE taskyard_completions_per_second gauge\ntaskyard_completions_per_second {}",
            stats.completions_per_s
        );
        let _ = writeln!(
            out,
            "# HELP taskyard_queue_latency_ms Time from ready to claimed over the last minute.\n# TYPE taskyard_queue_latency_ms gauge\ntaskyard_queue_latency_ms{{quantile=\"0.5\"}} {}\ntaskyard_queue_latency_ms{{quantile=\"0.99\"}} {}",
            stats.queue_latency_ms.p50, stats.queue_latency_ms.p99
        );
        let _ = writeln!(
            out,
            "# HELP taskyard_workers External workers seen.\n# TYPE taskyard_workers gauge\ntaskyard_workers {}",
            stats.workers.len()
        );
        let _ = writeln!(
            out,
            "# HELP taskyard_events_last_seq Sequence number of the last committed event.\n# TYPE taskyard_events_last_seq counter\ntaskyard_events_last_seq {last_seq}"
        );
        let _ = writeln!(
            out,
            "# HELP taskyard_sse_clients Open event streams.\n# TYPE taskyard_sse_clients gauge\ntaskyard_sse_clients {}",
            self.sse_clients.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP taskyard_long_polls Executor polls waiting for a task.\n# TYPE taskyard_long_polls gauge\ntaskyard_long_polls {}",
            self.long_polls.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP taskyard_http_requests_total HTTP requests answered, by route and status.\n# TYPE taskyard_http_requests_total counter"
        );
        let mut rows: Vec<(String, String, u16, u64)> = Vec::new();
        let requests = self.requests.lock();
        for (route, counts) in requests.iter() {
            for (method, status, n) in counts {
                rows.push((method.to_string(), route.clone(), *status, *n));
            }
        }
        drop(requests);
        rows.sort_unstable();
        for (method, route, status, n) in rows {
            let _ = writeln!(
                out,
                "taskyard_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(&method),
                escape(&route)
            );
        }
        out
    }
}
