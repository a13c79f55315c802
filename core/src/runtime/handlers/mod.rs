//! The built-in handlers of SPEC §10: sum, wait, fail, flaky, echo, spawn.

use super::handler::{HandlerContext, HandlerError, HandlerResult, Handlers};
use crate::api::{Action, ActionReply};
use crate::model::{RunItem, Status, TaskSpec};
use crate::runtime::Delivery;
use crate::time::Millis;
use serde_json::{Value, json};

pub(super) fn register_all(h: &mut Handlers) {
    h.register("sum", sum)
        .register("wait", wait)
        .register("fail", fail)
        .register("flaky", flaky)
        .register("echo", echo)
        .register("spawn", spawn);
}

/// `{"values":[numbers]}` → `{"sum":n}`; a non-number fails with a clear error.
async fn sum(ctx: HandlerContext) -> HandlerResult {
    let Some(values) = ctx.conf.get("values").and_then(Value::as_array) else {
        return Err(HandlerError::new(
            "conf.values must be an array of numbers, e.g. {\"values\":[1,2,3]}",
        ));
    };
    let mut total = 0.0;
    for (i, v) in values.iter().enumerate() {
        match v.as_f64() {
            Some(n) => total += n,
            None => {
                return Err(HandlerError::new(format!(
                    "input must be a sequence of numbers: conf.values[{i}] is {v}"
                )));
            }
        }
    }
    let sum = if total.fract() == 0.0 && total.abs() < 9.0e15 {
        json!(total as i64)
    } else {
        json!(total)
    };
    Ok(json!({ "sum": sum }))
}

/// Waits `{"ms":n}` or `{"until":time}`, reporting progress about twenty times.
async fn wait(ctx: HandlerContext) -> HandlerResult {
    let start = ctx.now();
    let until = match (ctx.conf.get("ms"), ctx.conf.get("until")) {
        (Some(ms), _) => start.plus_ms(ms.as_u64().ok_or_else(|| {
            HandlerError::new(format!(
                "conf.ms must be a whole number of milliseconds, not {ms}"
            ))
        })?),
        (None, Some(Value::String(at))) => Millis::parse(at).map_err(HandlerError::new)?,
        _ => {
            return Err(HandlerError::new(
                "give conf.ms (milliseconds) or conf.until (an RFC 3339 time)",
            ));
        }
    };
    let total = until.since(start).max(1);
    let step = (total / 20).max(50);
    loop {
        let now = ctx.now();
        if now >= until {
            break;
        }
        ctx.progress(now.since(start) as f64 / total as f64);
        ctx.sleep_until(now.plus_ms(step).min(until)).await;
    }
    ctx.progress(1.0);
    Ok(json!({ "waited_ms": ctx.now().since(start) }))
}

/// Always fails with `conf.message`.
async fn fail(ctx: HandlerContext) -> HandlerResult {
    let message = ctx
        .conf
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("failed on purpose (builtin:fail)");
    Err(HandlerError::new(message))
}

/// Fails with probability `conf.p`, else sleeps `conf.ms`.
async fn flaky(ctx: HandlerContext) -> HandlerResult {
    let p = ctx.conf.get("p").and_then(Value::as_f64).unwrap_or(0.5);
    let ms = ctx.conf.get("ms").and_then(Value::as_u64).unwrap_or(0);
    if rand::random::<f64>() < p {
        return Err(HandlerError::new(format!(
            "flaked (failure probability {p})"
        )));
    }
    if ms > 0 {
        ctx.sleep(ms).await;
    }
    Ok(json!({ "slept_ms": ms }))
}

/// The result is the conf.
async fn echo(ctx: HandlerContext) -> HandlerResult {
    Ok(ctx.conf)
}

/// Creates `conf.count` children from `conf.child` (a task definition); with
/// `conf.wait` true it waits for them and fails if any of them did not succeed.
async fn spawn(ctx: HandlerContext) -> HandlerResult {
    let count = ctx.conf.get("count").and_then(Value::as_u64).unwrap_or(1);
    let child: TaskSpec =
        serde_json::from_value(ctx.conf.get("child").cloned().unwrap_or(Value::Null))
            .map_err(|e| HandlerError::new(format!("conf.child must be a task definition: {e}")))?;
    let wait = ctx
        .conf
        .get("wait")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut sub = wait.then(|| ctx.engine().subscribe(None));
    let tasks = (0..count)
        .map(|i| {
            let mut spec = child.clone();
            spec.parent = Some(ctx.id);
            // Keyed, so a retried attempt finds its children instead of doubling them.
            spec.key = Some(format!("spawn:{}:{i}", ctx.id));
            RunItem::New(Box::new(spec))
        })
        .collect();
    let ids = match ctx
        .act(Action::Run {
            tasks,
            ignore: false,
        })
        .await
    {
        Ok(ActionReply::Run { tasks }) => tasks,
        Ok(other) => return Err(HandlerError::new(format!("unexpected reply {other:?}"))),
        Err(e) => {
            return Err(HandlerError::new(format!(
                "could not create children: {}",
                e.message
            )));
        }
    };
    ctx.log(format!("spawned {} children", ids.len()));
    let Some(sub) = sub.as_mut() else {
        return Ok(json!({ "children": ids }));
    };
    // Every event wakes this loop, and a progress report is an event: report only a
    // change, or the handler would feed itself events as fast as it can.
    let mut reported = None;
    loop {
        let (done, failed) = ctx.engine().read(|e| {
            let mut done = 0;
            let mut failed = 0;
            for id in &ids {
                match e.record(*id).map(|r| (r.task.status, r.task.outcome)) {
                    Some((Status::Done, Some(crate::model::Outcome::Succeeded))) => done += 1,
                    Some((Status::Done, _)) | None => {
                        done += 1;
                        failed += 1;
                    }
                    _ => {}
                }
            }
            (done, failed)
        });
        if reported != Some(done) {
            reported = Some(done);
            ctx.progress(done as f64 / ids.len().max(1) as f64);
        }
        if done == ids.len() {
            return if failed == 0 {
                Ok(json!({ "children": ids }))
            } else {
                Err(HandlerError {
                    message: format!("{failed} of {} children did not succeed", ids.len()),
                    error: Some(json!({ "children": ids, "failed": failed })),
                })
            };
        }
        if let Delivery::Closed = sub.next().await {
            return Err(HandlerError::new("the engine stopped"));
        }
    }
}
