//! The actions of SPEC §5 and the definition calls of §4, with every error they return;
//! each refused call is checked (by the harness) to leave the engine untouched.

use super::*;
use crate::model::{BlockedBy, Outcome, ReasonType, RunItem};
use serde_json::json;

fn tree(h: &mut H) -> (TaskId, TaskId, TaskId, TaskId) {
    // 1 ─┬─ 2 ── 3
    //    └─ 4
    let p = h.run1(spec("a"));
    let c = h.run1(TaskSpec {
        parent: Some(p),
        ..spec("a")
    });
    let g = h.run1(TaskSpec {
        parent: Some(c),
        ..spec("a")
    });
    let c2 = h.run1(TaskSpec {
        parent: Some(p),
        ..spec("a")
    });
    (p, c, g, c2)
}

// --- run -------------------------------------------------------------------------------

#[test]
fn run_creates_tasks_with_every_input() {
    let mut h = H::new(vec![ext("a")]);
    let parent = h.run1(spec("a"));
    let input = TaskSpec {
        name: "a".into(),
        conf: Some(json!({"x": 1})),
        key: Some("k".into()),
        parent: Some(parent),
        thread: Some("t".into()),
        auto: true,
        archive: true,
        open: true,
        desc: Some("d".into()),
        priority: 3,
        timeout: Some(9),
        ref_id: Some(-4),
        execute_at: Some(h.at(100)),
        hold: false,
    };
    let id = h.run1(input.clone());
    let t = h.task(id);
    assert_eq!(t.conf, json!({"x": 1}));
    assert_eq!(t.key.as_deref(), Some("k"));
    assert_eq!((t.parent, t.thread.as_deref()), (Some(parent), Some("t")));
    assert!(t.auto && t.archive && t.open && !t.hold);
    assert_eq!(
        (t.desc.as_deref(), t.priority, t.timeout),
        (Some("d"), 3, Some(9))
    );
    assert_eq!((t.ref_id, t.execute_at), (Some(-4), Some(h.at(100))));
    assert_eq!(h.e.task_detail(parent, h.now).unwrap().children, vec![id]);
    let created = h.events.iter().rev().find_map(|e| match &e.kind {
        EventKind::TaskCreated { task, entry } => Some((task.clone(), entry.clone())),
        _ => None,
    });
    let (task, entry) = created.unwrap();
    assert_eq!(task.id, id);
    assert_eq!((entry.seq, entry.to), (1, Some(Status::Waiting)));
}

#[test]
fn run_refuses_bad_inputs_and_creates_nothing() {
    let mut h = H::new(vec![Definition {
        params_schema: Some(json!({
            "type": "object",
            "required": ["values"],
            "properties": {"values": {"type": "array"}}
        })),
        ..ext("sum")
    }]);
    let good = TaskSpec {
        conf: Some(json!({"values": []})),
        ..spec("sum")
    };
    let e = h.err(
        run(vec![good.clone(), spec("nope")]),
        ErrorCode::UnknownDefinition,
    );
    assert!(
        e.message.contains("`nope`") && e.message.contains("sum"),
        "{}",
        e.message
    );
    let e = h.err(
        run(vec![
            good.clone(),
            TaskSpec {
                conf: Some(json!({"values": 3})),
                ..spec("sum")
            },
        ]),
        ErrorCode::InvalidConf,
    );
    assert!(e.message.contains("/values"), "{}", e.message);
    assert!(e.details.is_some());
    h.err(run(vec![spec("sum")]), ErrorCode::InvalidConf);
    let e = h.err(
        run(vec![TaskSpec {
            parent: Some(99),
            ..good.clone()
        }]),
        ErrorCode::ParentNotFound,
    );
    assert_eq!(e.tasks, vec![99]);
    h.err(
        run(vec![on("bad/thread name", good.clone())]),
        ErrorCode::InvalidName,
    );
    let big = TaskSpec {
        conf: Some(json!({"values": [], "blob": "x".repeat(300 * 1024)})),
        ..spec("sum")
    };
    h.err(run(vec![big]), ErrorCode::LimitExceeded);
    assert_eq!(h.e.task_count(), 0);
    h.run1(good);
}

#[test]
fn run_limits_the_tasks_per_action() {
    let mut h = H::with_config(
        EngineConfig {
            max_tasks_per_run: 3,
            ..EngineConfig::default()
        },
        vec![ext("a")],
    );
    let e = h.err(run(vec![spec("a"); 4]), ErrorCode::LimitExceeded);
    assert!(e.message.contains("at most 3"), "{}", e.message);
    assert_eq!(h.run(vec![spec("a"); 3]).len(), 3);
}

#[test]
fn an_idempotency_key_returns_the_existing_task() {
    let mut h = H::new(vec![ext("a"), ext("b")]);
    let keyed = |k: &str| TaskSpec {
        key: Some(k.into()),
        ..spec("a")
    };
    let first = h.run1(keyed("K"));
    let n = h.events.len();
    assert_eq!(h.run(vec![keyed("K")]), vec![first]);
    assert!(h.events_since(n).is_empty(), "a known key creates nothing");
    // The same key twice in one run creates one task.
    let got = h.run(vec![keyed("L"), spec("a"), keyed("L"), keyed("K")]);
    assert_eq!(got[0], got[2]);
    assert_eq!(got[3], first);
    assert_eq!(h.e.task_count(), 3);
    // Keys are per name.
    let other = h.run1(TaskSpec {
        key: Some("K".into()),
        ..spec("b")
    });
    assert_ne!(other, first);
    // A concluded task still owns its key until cleaned.
    h.ok(cancel(&[first]));
    assert_eq!(h.run(vec![keyed("K")]), vec![first]);
    h.ok(Action::Clean {
        tasks: ids(&[first]),
        ignore: false,
    });
    let fresh = h.run1(keyed("K"));
    assert_ne!(fresh, first);
}

#[test]
fn a_duplicate_key_does_not_count_against_the_queue_or_validate() {
    let mut h = H::new(vec![Definition {
        queue_capacity: Some(1),
        ..ext("a")
    }]);
    let k = TaskSpec {
        key: Some("k".into()),
        ..spec("a")
    };
    let id = h.run1(k.clone());
    assert_eq!(h.run(vec![k.clone(), k]), vec![id, id]);
}

#[test]
fn queue_capacity_refuses_a_run_that_would_exceed_it() {
    let mut h = H::new(vec![Definition {
        queue_capacity: Some(3),
        ..ext("a")
    }]);
    let held = h.run1(TaskSpec {
        hold: true,
        ..spec("a")
    });
    h.run(vec![spec("a")]);
    let e = h.err(run(vec![spec("a"), spec("a")]), ErrorCode::QueueFull);
    assert!(e.message.contains("capacity 3"), "{}", e.message);
    assert_eq!(ErrorCode::QueueFull.http_status(), 429);
    let third = h.run1(spec("a"));
    h.err(run(vec![spec("a")]), ErrorCode::QueueFull);
    // Releasing a held task adds nothing; a re-run does.
    h.ok(run_refs(ids(&[held]), false));
    h.ok(cancel(&[third]));
    h.run1(spec("a"));
    h.err(run_refs(ids(&[third]), false), ErrorCode::QueueFull);
    h.ok(cancel(&[held]));
    h.ok(run_refs(ids(&[third]), false));
}

#[test]
fn a_concurrency_limit_caps_claimed_tasks() {
    let mut h = H::new(vec![Definition {
        concurrency_limit: Some(2),
        ..ext("a")
    }]);
    h.poll(&["a"], 1);
    let ids = h.run(vec![spec("a"); 4]);
    let claimed = h.poll(&["a"], 10);
    assert_eq!(
        poll_ids(&claimed),
        vec![ids[0], ids[1]],
        "requested counts too"
    );
    assert_eq!(h.task(ids[2]).blocked_by, Some(BlockedBy::ConcurrencyLimit));
    assert_eq!(h.task(ids[3]).blocked_by, Some(BlockedBy::ConcurrencyLimit));
    h.start(&claimed[0]).unwrap();
    assert!(h.poll(&["a"], 10).is_empty());
    h.succeed(&claimed[0], None).unwrap();
    assert_eq!(h.task(ids[2]).blocked_by, None);
    assert_eq!(poll_ids(&h.poll(&["a"], 10)), vec![ids[2]]);
    // A claim that expires gives its slot back.
    h.advance(10_000);
    assert_eq!(h.poll(&["a"], 10).len(), 2);
}

#[test]
fn a_concurrency_path_limits_per_value() {
    let mut h = H::new(vec![Definition {
        concurrency_limit: Some(1),
        concurrency_path: Some(vec!["conf".into(), "r".into()]),
        ..ext("a")
    }]);
    let of = |r: Value| TaskSpec {
        conf: Some(json!({ "r": r })),
        ..spec("a")
    };
    let ids = h.run(vec![
        of(json!("x")),
        of(json!("x")),
        of(json!("y")),
        spec("a"),
        of(json!(null)),
    ]);
    let claimed = h.poll(&["a"], 10);
    assert_eq!(poll_ids(&claimed), vec![ids[0], ids[2], ids[3]]);
    assert_eq!(h.task(ids[1]).blocked_by, Some(BlockedBy::ConcurrencyLimit));
    assert_eq!(
        h.task(ids[4]).blocked_by,
        Some(BlockedBy::ConcurrencyLimit),
        "a missing value and null are one group"
    );
    h.ok(cancel(&[ids[0]]));
    assert_eq!(poll_ids(&h.poll(&["a"], 10)), vec![ids[1]]);
}

#[test]
fn a_concurrency_path_may_point_outside_conf() {
    let mut h = H::new(vec![Definition {
        concurrency_limit: Some(1),
        concurrency_path: Some(vec!["thread".into()]),
        ..ext("a")
    }]);
    let ids = h.run(vec![
        TaskSpec {
            ref_id: Some(1),
            ..spec("a")
        },
        spec("a"),
        on("t", spec("a")),
    ]);
    assert_eq!(poll_ids(&h.poll(&["a"], 10)), vec![ids[0], ids[2]]);
    // A path whose first key is `conf` only once.
    let mut h = H::new(vec![Definition {
        concurrency_limit: Some(1),
        concurrency_path: Some(vec!["conf".into(), "conf".into()]),
        ..ext("a")
    }]);
    let ids = h.run(vec![
        TaskSpec {
            conf: Some(json!({"conf": 1})),
            ..spec("a")
        },
        TaskSpec {
            conf: Some(json!({"conf": 2})),
            ..spec("a")
        },
    ]);
    assert_eq!(poll_ids(&h.poll(&["a"], 10)), ids);
}

// --- run references ------------------------------------------------------------------

#[test]
fn run_on_an_active_task_is_a_conflict_unless_ignored() {
    let mut h = H::new(vec![ext("a")]);
    let [ready, claimed, held] = h.run(vec![
        spec("a"),
        spec("a"),
        TaskSpec {
            hold: true,
            ..spec("a")
        },
    ])[..] else {
        unreachable!()
    };
    h.claim("a"); // claims `ready`
    let _ = claimed;
    let e = h.err(
        run_refs(ids(&[held, ready, claimed]), false),
        ErrorCode::TaskActive,
    );
    assert_eq!(e.tasks, vec![ready, claimed]);
    assert!(e.message.contains("ignore"), "{}", e.message);
    assert_eq!(h.status(held), Status::Created, "nothing changed");
    let reply = h.ok(run_refs(ids(&[held, ready, claimed]), true));
    assert_eq!(reply, ActionReply::Run { tasks: vec![held] });
    let e = h.err(run_refs(ids(&[77]), true), ErrorCode::TaskNotFound);
    assert_eq!(e.tasks, vec![77]);
}

#[test]
fn a_rerun_copies_the_inputs_but_key_hold_and_execute_at() {
    let mut h = H::new(vec![ext("a")]);
    let parent = h.run1(spec("a"));
    let orig = TaskSpec {
        name: "a".into(),
        conf: Some(json!({"x": [1, 2]})),
        key: Some("k".into()),
        parent: Some(parent),
        thread: Some("t".into()),
        auto: true,
        archive: true,
        open: true,
        desc: Some("d".into()),
        priority: 4,
        timeout: Some(50),
        ref_id: Some(8),
        execute_at: Some(h.at(60_000)),
        hold: true,
    };
    let id = h.run1(orig);
    h.ok(cancel(&[id]));
    let before = h.task(id);
    h.who = Requester::new("bob");
    let ActionReply::Run { tasks } = h.ok(run_refs(ids(&[id]), false)) else {
        panic!()
    };
    assert_eq!(tasks.len(), 1);
    let new = h.task(tasks[0]);
    assert!(new.id > id);
    assert_eq!(new.rerun_of, Some(id));
    assert_eq!(new.status, Status::Ready, "a re-run is immediate");
    assert_eq!((new.key, new.hold, new.execute_at), (None, false, None));
    assert_eq!(new.conf, before.conf);
    assert_eq!(
        (new.parent, new.thread.clone()),
        (Some(parent), before.thread.clone())
    );
    assert_eq!((new.auto, new.archive, new.open), (true, true, true));
    assert_eq!(
        (new.desc, new.priority, new.timeout),
        (before.desc.clone(), 4, Some(50))
    );
    assert_eq!(new.ref_id, Some(8));
    assert_eq!(&*new.requester, "bob");
    assert_eq!(h.task(id), before, "the original stays as it was");
    assert!(h.log(new.id)[0].contains(&format!("re-run of task {id}")));
    assert_eq!(h.e.task_detail(parent, h.now).unwrap().children.len(), 2);
}

#[test]
fn a_rerun_whose_parent_was_cleaned_stands_alone() {
    let mut h = H::new(vec![ext("a")]);
    let parent = h.run1(spec("a"));
    let child = h.run1(TaskSpec {
        parent: Some(parent),
        ..spec("a")
    });
    h.ok(cancel(&[parent]));
    h.ok(Action::Clean {
        tasks: ids(&[parent]),
        ignore: false,
    });
    let ActionReply::Run { tasks } = h.ok(run_refs(ids(&[child]), false)) else {
        panic!()
    };
    assert_eq!(h.task(tasks[0]).parent, None);
}

#[test]
fn a_rerun_is_checked_like_a_new_task() {
    let mut h = H::new(vec![ext("a"), ext("b")]);
    let id = h.run1(spec("a"));
    h.ok(cancel(&[id]));
    h.def(Definition {
        params_schema: Some(json!({"type": "object", "required": ["v"]})),
        ..ext("a")
    });
    let e = h.err(run_refs(ids(&[id]), false), ErrorCode::InvalidConf);
    assert!(
        e.message.contains(&format!("re-run task {id}")),
        "{}",
        e.message
    );
    h.def(ext("a"));
    let b = h.run1(spec("b"));
    h.ok(cancel(&[b]));
    h.call(|e, now| e.delete_definition("b", now)).unwrap();
    h.err(run_refs(ids(&[b]), false), ErrorCode::UnknownDefinition);
}

#[test]
fn run_references_by_ref_and_query() {
    let mut h = H::new(vec![ext("a")]);
    let ids = h.run(vec![
        TaskSpec {
            ref_id: Some(5),
            hold: true,
            ..spec("a")
        },
        TaskSpec {
            ref_id: Some(5),
            hold: true,
            ..spec("a")
        },
        TaskSpec {
            ref_id: Some(6),
            hold: true,
            desc: Some("Nightly".into()),
            ..spec("a")
        },
    ]);
    let reply = h.ok(run_refs(vec![TaskRef::Ref(vec![5, 99])], false));
    assert_eq!(
        reply,
        ActionReply::Run {
            tasks: vec![ids[0], ids[1]]
        }
    );
    let reply = h.ok(run_refs(vec![TaskRef::Ref(vec![])], false));
    assert_eq!(reply, ActionReply::Run { tasks: vec![] });
    let reply = h.ok(run_refs(
        vec![TaskRef::Query("status:created nightly".into())],
        false,
    ));
    assert_eq!(
        reply,
        ActionReply::Run {
            tasks: vec![ids[2]]
        }
    );
    let e = h.err(
        run_refs(vec![TaskRef::Query("status:nope".into())], false),
        ErrorCode::InvalidQuery,
    );
    assert!(e.message.contains("column 1"), "{}", e.message);
}

#[test]
fn a_run_mixing_new_tasks_and_references_replies_in_order() {
    let mut h = H::new(vec![ext("a")]);
    let held = h.run1(TaskSpec {
        hold: true,
        ..spec("a")
    });
    let reply = h.ok(Action::Run {
        tasks: vec![
            RunItem::New(Box::new(spec("a"))),
            RunItem::Existing(TaskRef::Id(held)),
            RunItem::Existing(TaskRef::Id(held)),
            RunItem::New(Box::new(spec("a"))),
        ],
        ignore: false,
    });
    assert_eq!(
        reply,
        ActionReply::Run {
            tasks: vec![2, held, 3]
        }
    );
}

// --- conclude --------------------------------------------------------------------------

#[test]
fn conclude_checks_its_delay_and_task() {
    let mut h = H::new(vec![ext("a")]);
    let id = h.run1(spec("a"));
    let e = h.err(conclude(id, 5_001, None), ErrorCode::InvalidDelay);
    assert!(e.message.contains("0 to 5000"), "{}", e.message);
    h.err(conclude(99, 0, None), ErrorCode::TaskNotFound);
    h.ok(conclude(id, 5_000, None));
    h.ok(conclude(id, 0, None));
    let e = h.err(conclude(id, 0, None), ErrorCode::TaskConcluded);
    assert_eq!(e.tasks, vec![id]);
}

// --- cancel ----------------------------------------------------------------------------

#[test]
fn cancel_concludes_at_once_with_who_asked() {
    let mut h = H::new(vec![ext("a")]);
    let id = h.run1(spec("a"));
    let reply = h.ok(cancel(&[id]));
    assert_eq!(
        reply,
        ActionReply::Cancel {
            canceled: vec![id],
            cascaded: vec![],
            ignored: vec![]
        }
    );
    let t = h.task(id);
    assert_eq!(
        (t.status, t.outcome),
        (Status::Done, Some(Outcome::Canceled))
    );
    let reason = t.outcome_reason.unwrap();
    assert_eq!(reason.kind, ReasonType::Canceled);
    assert_eq!(reason.data, json!({"by": "alice"}));
}

#[test]
fn cancel_refuses_concluded_tasks_unless_ignored() {
    let mut h = H::new(vec![ext("a")]);
    let [a, b] = h.run(vec![spec("a"), spec("a")])[..] else {
        unreachable!()
    };
    h.ok(cancel(&[a]));
    let e = h.err(cancel(&[b, a]), ErrorCode::TaskConcluded);
    assert_eq!(e.tasks, vec![a]);
    assert_eq!(h.status(b), Status::Ready);
    let e = h.err(cancel(&[b, 1234]), ErrorCode::TaskNotFound);
    assert_eq!(e.tasks, vec![1234]);
    let e = h.err(
        Action::Cancel {
            tasks: ids(&[b, 1234]),
            ignore: true,
        },
        ErrorCode::TaskNotFound,
    );
    assert!(e.message.contains("nothing was changed"));
    let reply = h.ok(Action::Cancel {
        tasks: ids(&[a, b, b]),
        ignore: true,
    });
    assert_eq!(
        reply,
        ActionReply::Cancel {
            canceled: vec![b],
            cascaded: vec![],
            ignored: vec![a]
        }
    );
}

#[test]
fn cancel_cascades_to_live_descendants() {
    let mut h = H::new(vec![ext("a")]);
    let (p, c, g, c2) = tree(&mut h);
    let g2 = h.run1(TaskSpec {
        parent: Some(g),
        ..spec("a")
    });
    h.ok(cancel(&[g]));
    let reply = h.ok(cancel(&[p]));
    assert_eq!(
        reply,
        ActionReply::Cancel {
            canceled: vec![p],
            cascaded: vec![c, c2],
            ignored: vec![]
        },
        "a concluded descendant is skipped, and so are its canceled children"
    );
    let _ = g2;
    let reason = h.task(c).outcome_reason.unwrap();
    assert_eq!(reason.kind, ReasonType::ParentCanceled);
    assert_eq!(reason.data.value()["parent"], json!(p));
    assert_eq!(
        h.task(c2).outcome_reason.unwrap().kind,
        ReasonType::ParentCanceled
    );
}

#[test]
fn cancel_reaches_live_tasks_below_a_concluded_child() {
    let mut h = H::new(vec![ext("a")]);
    let (p, c, g, c2) = tree(&mut h);
    h.ok(conclude(c, 0, None));
    let ActionReply::Cancel { cascaded, .. } = h.ok(cancel(&[p])) else {
        panic!()
    };
    assert_eq!(cascaded, vec![g, c2]);
    assert_eq!(h.task(c).outcome, Some(Outcome::Succeeded));
}

#[test]
fn a_referenced_descendant_is_reported_as_canceled() {
    let mut h = H::new(vec![ext("a")]);
    let (p, c, g, c2) = tree(&mut h);
    let reply = h.ok(cancel(&[g, p]));
    assert_eq!(
        reply,
        ActionReply::Cancel {
            canceled: vec![g, p],
            cascaded: vec![c, c2],
            ignored: vec![]
        }
    );
    assert_eq!(h.task(g).outcome_reason.unwrap().kind, ReasonType::Canceled);
    // A child referenced after its parent, too.
    let (p, c, g, c2) = tree(&mut h);
    let ActionReply::Cancel {
        canceled, cascaded, ..
    } = h.ok(cancel(&[p, c]))
    else {
        panic!()
    };
    assert_eq!((canceled, cascaded), (vec![p, c], vec![g, c2]));
    assert_eq!(h.task(c).outcome_reason.unwrap().kind, ReasonType::Canceled);
}

#[test]
fn cancel_by_query_and_ref() {
    let mut h = H::new(vec![ext("a"), ext("b")]);
    let ids = h.run(vec![
        TaskSpec {
            ref_id: Some(1),
            ..spec("a")
        },
        spec("b"),
        spec("a"),
    ]);
    let ActionReply::Cancel { canceled, .. } = h.ok(Action::Cancel {
        tasks: vec![TaskRef::Query("name:a".into()), TaskRef::Ref(vec![1])],
        ignore: false,
    }) else {
        panic!()
    };
    assert_eq!(canceled, vec![ids[0], ids[2]]);
    assert_eq!(h.status(ids[1]), Status::Ready);
}

// --- clean and destroy -------------------------------------------------------------------

#[test]
fn clean_deletes_concluded_tasks_only() {
    let mut h = H::new(vec![ext("a")]);
    let (p, c, g, c2) = tree(&mut h);
    h.ok(cancel(&[c]));
    let e = h.err(
        Action::Clean {
            tasks: ids(&[c, p]),
            ignore: false,
        },
        ErrorCode::TaskNotConcluded,
    );
    assert_eq!(e.tasks, vec![p]);
    let reply = h.ok(Action::Clean {
        tasks: ids(&[c, p, g]),
        ignore: true,
    });
    assert_eq!(
        reply,
        ActionReply::Clean {
            cleaned: vec![c, g],
            ignored: vec![p]
        }
    );
    assert!(h.e.record(c).is_none() && h.e.record(g).is_none());
    assert_eq!(h.e.task_detail(p, h.now).unwrap().children, vec![c2]);
    h.err(
        Action::Clean {
            tasks: ids(&[c]),
            ignore: true,
        },
        ErrorCode::TaskNotFound,
    );
    let cleaned: Vec<TaskId> = h
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::TaskCleaned { id } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(cleaned, vec![c, g]);
}

#[test]
fn destroy_cancels_and_cleans_whatever_the_state() {
    let mut h = H::new(vec![ext("a")]);
    let (p, c, g, c2) = tree(&mut h);
    let done = h.run1(spec("a"));
    h.ok(cancel(&[done]));
    let t = h.claim("a"); // claims p
    assert_eq!(t.id, p);
    let reply = h.ok(Action::Destroy {
        tasks: ids(&[p, done, p]),
    });
    assert_eq!(
        reply,
        ActionReply::Destroy {
            destroyed: vec![p, done]
        }
    );
    assert!(h.e.record(p).is_none() && h.e.record(done).is_none());
    for d in [c, g, c2] {
        let t = h.task(d);
        assert_eq!(
            t.outcome,
            Some(Outcome::Canceled),
            "descendants are canceled"
        );
        assert_eq!(t.outcome_reason.unwrap().kind, ReasonType::ParentCanceled);
    }
    assert_eq!(h.start(&t).unwrap_err().code, ErrorCode::TaskNotFound);
    h.err(
        Action::Destroy { tasks: ids(&[p]) },
        ErrorCode::TaskNotFound,
    );
}

#[test]
fn destroy_frees_the_thread_and_the_key() {
    let mut h = H::new(vec![ext("a")]);
    let id = h.run1(on(
        "t",
        TaskSpec {
            key: Some("k".into()),
            ..spec("a")
        },
    ));
    let next = h.run1(on("t", spec("a")));
    h.claim("a");
    h.ok(Action::Destroy { tasks: ids(&[id]) });
    assert_eq!(h.claim("a").id, next);
    let again = h.run1(TaskSpec {
        key: Some("k".into()),
        ..spec("a")
    });
    assert!(again > next);
}

// --- definitions -----------------------------------------------------------------------

#[test]
fn definitions_are_checked_and_deleted_only_when_unused() {
    let mut h = H::new(vec![ext("a")]);
    let bad = [
        (
            Definition {
                concurrency_limit: Some(0),
                ..ext("x")
            },
            ErrorCode::InvalidDefinition,
        ),
        (
            Definition {
                concurrency_path: Some(vec![]),
                ..ext("x")
            },
            ErrorCode::InvalidDefinition,
        ),
        (
            Definition {
                retry_backoff: 0.0,
                ..ext("x")
            },
            ErrorCode::InvalidDefinition,
        ),
        (
            Definition {
                retry_backoff: f64::NAN,
                ..ext("x")
            },
            ErrorCode::InvalidDefinition,
        ),
        (
            Definition {
                params_schema: Some(json!({"type": 12})),
                ..ext("x")
            },
            ErrorCode::InvalidDefinition,
        ),
        (
            Definition {
                result_schema: Some(json!({"minimum": "a"})),
                ..ext("x")
            },
            ErrorCode::InvalidDefinition,
        ),
        (ext("has space"), ErrorCode::InvalidName),
        (ext(""), ErrorCode::InvalidName),
    ];
    for (def, code) in bad {
        let e = h.call(|e, now| e.put_definition(def, now)).unwrap_err();
        assert_eq!(e.code, code, "{e}");
    }
    let id = h.run1(spec("a"));
    let e = h.call(|e, now| e.delete_definition("a", now)).unwrap_err();
    assert_eq!(e.code, ErrorCode::DefinitionInUse);
    let e = h.call(|e, now| e.delete_definition("zz", now)).unwrap_err();
    assert_eq!(e.code, ErrorCode::DefinitionNotFound);
    h.ok(cancel(&[id]));
    let def = h.call(|e, now| e.delete_definition("a", now)).unwrap();
    assert_eq!(def.name, "a");
    assert!(h.e.definitions().is_empty());
    let last = h.events.last().unwrap();
    assert!(matches!(
        &last.kind,
        EventKind::DefinitionUpdated { definition: None, name } if name == "a"
    ));
    h.err(run(vec![spec("a")]), ErrorCode::UnknownDefinition);
}

#[test]
fn every_error_code_maps_to_its_http_status() {
    use ErrorCode::*;
    for (code, status) in [
        (TaskNotFound, 404),
        (DefinitionNotFound, 404),
        (TaskConcluded, 409),
        (TaskCanceled, 409),
        (TaskNotConcluded, 409),
        (TaskActive, 409),
        (StaleExecution, 409),
        (DefinitionInUse, 409),
        (UnknownDefinition, 400),
        (ParentNotFound, 400),
        (InvalidDelay, 400),
        (InvalidConf, 400),
        (InvalidQuery, 400),
        (InvalidName, 400),
        (InvalidDefinition, 400),
        (InvalidAction, 400),
        (LimitExceeded, 400),
        (QueueFull, 429),
    ] {
        assert_eq!(code.http_status(), status, "{code}");
    }
}
