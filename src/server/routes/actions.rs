//! `POST /api/v1/actions` (SPEC §5): parse, hand to the engine, reply what it did.

use super::{App, Caller};
use crate::server::error::ApiResult;
use crate::server::extract::{Body, parse_json};
use crate::server::reply::{Reply, reply};
use axum::Extension;
use axum::extract::State;
use serde::Deserialize;
use taskyard_core::ErrorCode;
use taskyard_core::api::{Action, ActionReply};
use taskyard_core::model::RunItem;

pub async fn act(
    State(app): State<App>,
    Extension(Caller(who)): Extension<Caller>,
    Body(body): Body,
) -> ApiResult<Reply<ActionReply>> {
    let action = match serde_json::from_slice::<RunBody>(&body) {
        Ok(run) => Action::Run {
            tasks: run.tasks,
            ignore: run.ignore,
        },
        // Anything else, and every error, goes through the one canonical parse.
        Err(_) => parse_json(&body, ErrorCode::InvalidAction, "the action")?,
    };
    Ok(reply(app.engine.act(action, who).await?))
}

/// The exact shape of [`Action::Run`], parsed directly: `Action` is internally tagged, so
/// serde buffers the whole body as an untyped tree before looking at it, which was most
/// of the cost of a `run` of 1,000 tasks. Only ever accepts what `Action` accepts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    #[allow(dead_code)]
    action: RunTag,
    tasks: Vec<RunItem>,
    #[serde(default)]
    ignore: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RunTag {
    Run,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct parse accepts exactly the bodies `Action` accepts as a run, with the
    /// same result; everything else falls through to the canonical parse.
    #[test]
    fn the_direct_run_parse_agrees_with_action() {
        let bodies = [
            r#"{"action":"run","tasks":[{"name":"sum","conf":{"values":[1]}},12]}"#,
            r#"{"tasks":[{"name":"sum"}],"ignore":true,"action":"run"}"#,
            r#"{"action":"run","tasks":[]}"#,
            r#"{"action":"run","tasks":[{"type":"ref","ref":[1,2]}]}"#,
            r#"{"action":"run","tasks":[{"name":"sum"}],"extra":1}"#,
            r#"{"action":"run","action":"run","tasks":[]}"#,
            r#"{"action":"Run","tasks":[]}"#,
            r#"{"action":"cancel","tasks":[12]}"#,
            r#"{"action":"run","tasks":[{"name":"sum","nope":1}]}"#,
            r#"{"action":"run","tasks":{}}"#,
            r#"{"action":"run"}"#,
            r#"{"action":"run","tasks":[],"ignore":"yes"}"#,
        ];
        for body in bodies {
            let canonical = serde_json::from_str::<Action>(body).ok();
            let direct = serde_json::from_str::<RunBody>(body)
                .ok()
                .map(|r| Action::Run {
                    tasks: r.tasks,
                    ignore: r.ignore,
                });
            if let Some(direct) = direct {
                assert_eq!(Some(direct), canonical, "{body}");
            } else {
                assert!(!matches!(canonical, Some(Action::Run { .. })), "{body}");
            }
        }
    }
}
