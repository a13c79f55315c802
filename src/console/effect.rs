//! Performing effects: the only place the console calls its source. The runner spawns
//! these so the input loop never waits on them; the test harness awaits them inline.

use crate::console::state::{Effect, Msg, Summary};
use crate::source::Source;
use taskyard_core::error::Result;
use taskyard_core::model::{LogEntry, TaskId};

/// Log entries asked for per page, and most pages read for one view.
const LOG_PAGE: usize = 1_000;
const LOG_PAGES: usize = 20;

async fn log_after(source: &dyn Source, id: TaskId, mut after: u64) -> Result<Vec<LogEntry>> {
    let mut entries = Vec::new();
    for _ in 0..LOG_PAGES {
        let page = source.log(id, after, LOG_PAGE).await?;
        entries.extend(page.entries);
        match page.next {
            Some(next) if next > after => after = next,
            _ => break,
        }
    }
    Ok(entries)
}

pub async fn perform(source: &dyn Source, effect: Effect) -> Msg {
    match effect {
        Effect::Query { token, query } => {
            let result = source.query(query.clone()).await;
            Msg::Page {
                token,
                query,
                result,
            }
        }
        Effect::Summary { token } => {
            let result = async {
                Ok(Summary {
                    counts: source.counts().await?,
                    threads: source.threads().await?,
                    schedules: source.schedules().await?,
                })
            }
            .await;
            Msg::Summary { token, result }
        }
        Effect::Definitions => Msg::Definitions(source.definitions().await),
        Effect::Detail { token, id, after } => {
            let result = match source.task(id).await {
                Ok(detail) => log_after(source, id, after)
                    .await
                    .map(|log| Box::new((detail, log))),
                Err(e) => Err(e),
            };
            Msg::Detail { token, id, result }
        }
        Effect::TaskLog { id } => Msg::TaskLog {
            id,
            result: log_after(source, id, 0).await,
        },
        Effect::Act { action, origin } => {
            let result = source.act(action.clone()).await;
            Msg::Acted {
                action,
                origin,
                result,
            }
        }
        Effect::Workload { on } => Msg::Workload(source.set_workload(on).await),
    }
}
