//! The sandbox's synthetic workload (SPEC §10): tasks of the built-in definitions on the
//! threads and at the rates a TOML file gives (`assets/sandbox.toml` by default), so a
//! fresh console has something to watch. `W` starts and stops it.

use anyhow::{Context, bail, ensure};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use taskyard_core::api::{Action, Requester};
use taskyard_core::model::{RunItem, TaskSpec, validate_thread_name};
use taskyard_core::runtime::EngineHandle;

/// The default workload, built into the binary.
pub const DEFAULT_WORKLOAD: &str = include_str!("../assets/sandbox.toml");

/// Who the sandbox's tasks are requested by (SPEC §1 `requester`).
pub const REQUESTER: &str = "sandbox";

/// Most tasks one stream creates per tick, so a mistyped rate cannot flood the engine.
const MAX_PER_TICK: usize = 1_000;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    #[serde(default = "default_tick_ms")]
    pub tick_ms: u64,
    #[serde(default)]
    pub stream: Vec<StreamSpec>,
    /// Schedules registered at start (SPEC §4), so the schedules view has something.
    #[serde(default)]
    pub schedule: Vec<taskyard_core::model::Schedule>,
}

fn default_tick_ms() -> u64 {
    200
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    pub name: String,
    #[serde(default)]
    pub threads: Vec<String>,
    pub rate: f64,
    #[serde(default)]
    pub conf: Option<toml::Table>,
    #[serde(default)]
    pub ms: Option<[u64; 2]>,
    #[serde(default)]
    pub values: Option<[u32; 2]>,
    #[serde(default)]
    pub priority: Option<[i32; 2]>,
    #[serde(default)]
    pub delayed: f64,
    #[serde(default)]
    pub delay_ms: Option<[u64; 2]>,
    #[serde(default)]
    pub desc: Option<String>,
    #[serde(default)]
    pub auto: bool,
}

impl WorkloadSpec {
    /// Parses and checks a workload; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<WorkloadSpec> {
        let spec: WorkloadSpec =
            toml::from_str(text).with_context(|| format!("{origin} is not a valid workload"))?;
        spec.check()
            .with_context(|| format!("{origin} is not a valid workload"))?;
        Ok(spec)
    }

    pub fn load(path: &Path) -> anyhow::Result<WorkloadSpec> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the workload file {}", path.display()))?;
        WorkloadSpec::parse(&text, &path.display().to_string())
    }

    pub fn builtin() -> anyhow::Result<WorkloadSpec> {
        WorkloadSpec::parse(DEFAULT_WORKLOAD, "assets/sandbox.toml")
    }

    fn check(&self) -> anyhow::Result<()> {
        ensure!(
            (10..=10_000).contains(&self.tick_ms),
            "tick_ms is {}; give 10 to 10000 milliseconds",
            self.tick_ms
        );
        for (i, s) in self.stream.iter().enumerate() {
            let at = format!("stream {} (`{}`)", i + 1, s.name);
            ensure!(
                s.rate.is_finite() && s.rate > 0.0 && s.rate <= 10_000.0,
                "{at}: rate is {}; give tasks per second between 0 and 10000, e.g. rate = 0.5",
                s.rate
            );
            ensure!(
                (0.0..=1.0).contains(&s.delayed),
                "{at}: delayed is {}; give a share between 0 and 1",
                s.delayed
            );
            if s.delayed > 0.0 && s.delay_ms.is_none() {
                bail!("{at}: delayed is set but delay_ms is not; add e.g. delay_ms = [1000, 5000]");
            }
            for (field, lo, hi) in [
                ("ms", s.ms.map(|r| r[0] as i64), s.ms.map(|r| r[1] as i64)),
                (
                    "values",
                    s.values.map(|r| r[0] as i64),
                    s.values.map(|r| r[1] as i64),
                ),
                (
                    "priority",
                    s.priority.map(|r| r[0] as i64),
                    s.priority.map(|r| r[1] as i64),
                ),
                (
                    "delay_ms",
                    s.delay_ms.map(|r| r[0] as i64),
                    s.delay_ms.map(|r| r[1] as i64),
                ),
            ] {
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    ensure!(
                        lo <= hi,
                        "{at}: {field} is [{lo}, {hi}]; give [min, max] with min ≤ max"
                    );
                }
            }
            for t in &s.threads {
                validate_thread_name(t).map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
            }
        }
        Ok(())
    }

    /// Every definition the workload names, to check against the engine's.
    pub fn definition_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .stream
            .iter()
            .map(|s| s.name.as_str())
            .chain(self.schedule.iter().map(|s| s.task.name.as_str()))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// A running workload generator; dropping every handle does not stop it, `stop` does.
pub struct Workload {
    running: AtomicBool,
    stopped: AtomicBool,
}

impl Workload {
    /// Starts generating on the current tokio runtime; `running` says whether it starts
    /// creating tasks at once.
    pub fn spawn(engine: EngineHandle, spec: WorkloadSpec, running: bool) -> Arc<Workload> {
        let w = Arc::new(Workload {
            running: AtomicBool::new(running),
            stopped: AtomicBool::new(false),
        });
        tokio::spawn(generate(engine, spec, w.clone()));
        w
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    pub fn set_running(&self, on: bool) {
        self.running.store(on, Ordering::Relaxed);
    }

    /// Ends the generator for good.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }
}

struct StreamState {
    spec: StreamSpec,
    conf: Value,
    /// Tasks owed: the rate times the time elapsed, minus what was created.
    owed: f64,
    count: u64,
    next_thread: usize,
}

async fn generate(engine: EngineHandle, spec: WorkloadSpec, w: Arc<Workload>) {
    let mut rng = SmallRng::from_os_rng();
    let mut streams: Vec<StreamState> = spec
        .stream
        .into_iter()
        .map(|s| StreamState {
            conf: s
                .conf
                .as_ref()
                .and_then(|c| serde_json::to_value(c).ok())
                .unwrap_or_else(|| json!({})),
            // Frequent streams start at once, so the screen is alive on the first tick;
            // rare ones (failures) come in their own time.
            owed: if s.rate >= 0.5 {
                1.0
            } else {
                rng.random::<f64>() * 0.5
            },
            spec: s,
            count: 0,
            next_thread: 0,
        })
        .collect();
    let who = Requester::new(REQUESTER);
    let mut ticker = tokio::time::interval(Duration::from_millis(spec.tick_ms));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = Instant::now();
    while !w.stopped.load(Ordering::Relaxed) {
        ticker.tick().await;
        let elapsed = last.elapsed().as_secs_f64();
        last = Instant::now();
        if !w.is_running() {
            continue;
        }
        let now = engine.now();
        let mut tasks = Vec::new();
        for s in &mut streams {
            s.owed += s.spec.rate * elapsed;
            let n = (s.owed.floor() as usize).min(MAX_PER_TICK);
            s.owed -= n as f64;
            s.owed = s.owed.min(MAX_PER_TICK as f64);
            for _ in 0..n {
                tasks.push(RunItem::New(Box::new(make_task(s, &mut rng, now))));
            }
        }
        if tasks.is_empty() {
            continue;
        }
        let action = Action::Run {
            tasks,
            ignore: false,
        };
        if let Err(e) = engine.act(action, who.clone()).await {
            // A workload the engine refuses (e.g. an edited definition) is not worth
            // stopping the console for: log it to the console's log file and go on.
            tracing::warn!("the sandbox workload's tasks were refused: {e}");
        }
    }
}

fn make_task(s: &mut StreamState, rng: &mut SmallRng, now: taskyard_core::Millis) -> TaskSpec {
    s.count += 1;
    let mut spec = TaskSpec::new(s.spec.name.clone());
    let mut conf = s.conf.clone();
    if let Value::Object(map) = &mut conf {
        if let Some([lo, hi]) = s.spec.ms {
            map.insert("ms".into(), json!(rng.random_range(lo..=hi)));
        }
        if let Some([lo, hi]) = s.spec.values {
            let n = rng.random_range(lo..=hi);
            let values: Vec<i64> = (0..n).map(|_| rng.random_range(-100..=1000)).collect();
            map.insert("values".into(), json!(values));
        }
    }
    spec.conf = Some(conf);
    if !s.spec.threads.is_empty() {
        spec.thread = Some(s.spec.threads[s.next_thread % s.spec.threads.len()].clone());
        s.next_thread += 1;
    }
    if let Some([lo, hi]) = s.spec.priority {
        spec.priority = rng.random_range(lo..=hi);
    }
    if s.spec.delayed > 0.0
        && rng.random_bool(s.spec.delayed)
        && let Some([lo, hi]) = s.spec.delay_ms
    {
        spec.execute_at = Some(now.plus_ms(rng.random_range(lo..=hi)));
    }
    spec.desc = s
        .spec
        .desc
        .as_ref()
        .map(|d| d.replace("{n}", &s.count.to_string()));
    spec.auto = s.spec.auto;
    spec
}

/// A sandbox engine on SQLite under `data` (workspaces in `data/workspaces`), the
/// built-in definitions registered, the workload's generator started (creating tasks at
/// once when `running`).
pub async fn start(
    workload: WorkloadSpec,
    running: bool,
    data: &Path,
) -> anyhow::Result<(EngineHandle, Arc<Workload>)> {
    std::fs::create_dir_all(data)
        .with_context(|| format!("cannot create the data directory {}", data.display()))?;
    let storage = taskyard_core::storage::SqliteStorage::open(data, Default::default())
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let builder = taskyard_core::runtime::RuntimeBuilder::new()
        .storage(Arc::new(storage))
        .workspace_root(taskyard_core::storage::workspaces_dir(data));
    let engine = builder
        .start()
        .map_err(|e| anyhow::anyhow!("cannot start the sandbox engine: {}", e.message))?;
    let defs = crate::assets::definitions()?;
    for name in workload.definition_names() {
        if !defs.iter().any(|d| d.name == name) {
            let names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
            bail!(
                "the workload creates `{name}` tasks, but there is no such definition; use one of: {}",
                names.join(", ")
            );
        }
    }
    for def in defs {
        let name = def.name.clone();
        engine
            .put_definition(def)
            .await
            .map_err(|e| anyhow::anyhow!("cannot register the definition `{name}`: {e}"))?;
    }
    for schedule in &workload.schedule {
        engine.put_schedule(schedule.clone()).await.map_err(|e| {
            anyhow::anyhow!("the workload's schedule `{}`: {}", schedule.name, e.message)
        })?;
    }
    let w = Workload::spawn(engine.clone(), workload, running);
    Ok((engine, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_workload_parses() {
        let spec = WorkloadSpec::builtin().unwrap();
        assert!(spec.stream.len() >= 5);
        let defs = crate::assets::definitions().unwrap();
        for name in spec.definition_names() {
            assert!(defs.iter().any(|d| d.name == name), "{name}");
        }
    }

    #[test]
    fn bad_workloads_are_refused_with_the_reason() {
        let err = WorkloadSpec::parse("[[stream]]\nname='sum'\nrate=-1\n", "w.toml").unwrap_err();
        assert!(format!("{err:#}").contains("rate is -1"), "{err:#}");
        let err = WorkloadSpec::parse("[[stream]]\nname='sum'\nrate=1\nms=[5,1]\n", "w.toml")
            .unwrap_err();
        assert!(format!("{err:#}").contains("min ≤ max"), "{err:#}");
        let err = WorkloadSpec::parse("[[stream]]\nname='sum'\nrate=1\nthreads=['a b']\n", "w")
            .unwrap_err();
        assert!(format!("{err:#}").contains("contains ` `"), "{err:#}");
        let err = WorkloadSpec::parse("[[stream]]\nname='sum'\nrat=1\n", "w").unwrap_err();
        assert!(format!("{err:#}").contains("rat"), "{err:#}");
    }
}
