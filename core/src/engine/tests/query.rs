//! Reading the engine: windowed queries with filters, sorting and keyset pagination;
//! counts and stats.

use super::*;
use crate::api::{SortKey, SortOrder, TaskPage, TaskQuery};
use serde_json::json;

fn q(filter: &str, sort: SortKey, order: SortOrder, limit: usize) -> TaskQuery {
    TaskQuery {
        filter: filter.into(),
        sort,
        order,
        offset: 0,
        limit,
        after: None,
    }
}

fn page(h: &H, query: &TaskQuery) -> TaskPage {
    h.e.query(query, h.now).expect("query accepted")
}

/// Every id the query yields, page by page through `next`.
fn all_pages(h: &H, mut query: TaskQuery) -> (Vec<TaskId>, u64) {
    let mut out = Vec::new();
    let mut total = None;
    for _ in 0..100 {
        let p = page(h, &query);
        assert!(p.tasks.len() <= query.limit);
        assert!(total.is_none_or(|t| t == p.total), "total is stable");
        total = Some(p.total);
        out.extend(p.tasks.iter().map(|t| t.id));
        match p.next {
            Some(next) => {
                assert!(!p.tasks.is_empty());
                query.after = Some(next);
            }
            None => return (out, total.unwrap_or(0)),
        }
    }
    panic!("pagination does not end");
}

/// Ten tasks: priorities 0..4 repeating, names a/b alternating, some on threads.
fn ten(h: &mut H) -> Vec<TaskId> {
    let specs = (0..10)
        .map(|i| TaskSpec {
            name: if i % 2 == 0 { "a" } else { "b" }.into(),
            priority: i % 4,
            thread: (i % 3 == 0).then(|| format!("t{}", i % 2)),
            conf: Some(json!({ "i": i })),
            desc: Some(format!("task number {i}")),
            ..TaskSpec::default()
        })
        .collect();
    let ids = h.run(specs);
    h.advance(1);
    ids
}

#[test]
fn keyset_pages_by_id_cover_every_task_once() {
    let mut h = H::new(vec![ext("a"), ext("b")]);
    let ids = ten(&mut h);
    for limit in [1, 3, 10, 11] {
        let (got, total) = all_pages(&h, q("", SortKey::Id, SortOrder::Asc, limit));
        assert_eq!((got.clone(), total), (ids.clone(), 10), "limit {limit}");
        let (got, _) = all_pages(&h, q("", SortKey::Id, SortOrder::Desc, limit));
        let mut rev = ids.clone();
        rev.reverse();
        assert_eq!(got, rev);
        let (got, total) = all_pages(&h, q("name:a", SortKey::Id, SortOrder::Asc, limit));
        let want: Vec<_> = ids.iter().copied().step_by(2).collect();
        assert_eq!((got, total), (want, 5));
    }
    let p = page(&h, &q("", SortKey::Id, SortOrder::Asc, 10));
    assert_eq!(p.next, None, "an exact last page has no next");
}

#[test]
fn keyset_pages_by_other_keys_follow_the_sort_with_id_as_tie_break() {
    let mut h = H::new(vec![ext("a"), ext("b")]);
    ten(&mut h);
    h.claim("a");
    for sort in SortKey::ALL {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let full = page(&h, &q("", sort, order, 1000));
            let want: Vec<_> = full.tasks.iter().map(|t| t.id).collect();
            let key = |t: &Task| -> (String, i64) {
                match sort {
                    SortKey::Id => (String::new(), t.id as i64),
                    SortKey::Priority => (String::new(), i64::from(t.priority)),
                    SortKey::CreatedAt => (String::new(), t.created_at.0),
                    SortKey::UpdatedAt => (String::new(), t.updated_at.0),
                    SortKey::Name => (t.name.to_string(), 0),
                    SortKey::Thread => (t.thread.as_deref().unwrap_or("").to_string(), 0),
                    SortKey::Status => (String::new(), t.status.index() as i64),
                }
            };
            for w in full.tasks.windows(2) {
                let (a, b) = ((key(&w[0]), w[0].id), (key(&w[1]), w[1].id));
                match order {
                    SortOrder::Asc => assert!(a < b, "{sort:?}: {a:?} before {b:?}"),
                    SortOrder::Desc => assert!(a > b, "{sort:?} desc: {a:?} before {b:?}"),
                }
            }
            for limit in [1, 4] {
                let (got, total) = all_pages(&h, q("", sort, order, limit));
                assert_eq!((&got, total), (&want, 10), "{sort:?} {order:?} {limit}");
            }
        }
    }
}

#[test]
fn status_sorts_in_lifecycle_order() {
    let mut h = H::new(vec![ext("a")]);
    let done = h.run1(spec("a"));
    h.ok(cancel(&[done]));
    let held = h.run1(TaskSpec {
        hold: true,
        ..spec("a")
    });
    let ready = h.run1(spec("a"));
    let p = page(&h, &q("", SortKey::Status, SortOrder::Asc, 10));
    assert_eq!(poll_ids(&p.tasks), vec![held, ready, done]);
}

#[test]
fn offset_skips_rows_after_the_cursor() {
    let mut h = H::new(vec![ext("a"), ext("b")]);
    let ids = ten(&mut h);
    for (filter, sort) in [
        ("", SortKey::Id),
        ("name:a", SortKey::Id),
        ("", SortKey::Priority),
    ] {
        let all = page(&h, &q(filter, sort, SortOrder::Asc, 1000));
        let all: Vec<_> = poll_ids(&all.tasks);
        // Without a cursor.
        let p = page(
            &h,
            &TaskQuery {
                offset: 2,
                ..q(filter, sort, SortOrder::Asc, 2)
            },
        );
        assert_eq!(poll_ids(&p.tasks), all[2..4], "{filter} {sort:?}");
        // With a cursor: the offset counts from the cursor.
        let first = page(&h, &q(filter, sort, SortOrder::Asc, 1));
        let p = page(
            &h,
            &TaskQuery {
                offset: 2,
                after: first.next.clone(),
                ..q(filter, sort, SortOrder::Asc, 2)
            },
        );
        assert_eq!(
            poll_ids(&p.tasks),
            all[3..5],
            "{filter} {sort:?} with cursor"
        );
        assert_eq!(p.total as usize, all.len());
        assert_eq!(p.next.is_some(), all.len() > 5, "{filter} {sort:?}");
    }
    assert_eq!(ids.len(), 10);
}

#[test]
fn filters_select_and_the_page_shows_blocked_by() {
    let mut h = H::new(vec![ext("a"), ext("b")]);
    let ids = ten(&mut h);
    let p = page(&h, &q("conf.i:4", SortKey::Id, SortOrder::Asc, 10));
    assert_eq!(poll_ids(&p.tasks), vec![ids[4]]);
    let p = page(&h, &q("NUMBER !name:a", SortKey::Id, SortOrder::Asc, 10));
    assert_eq!(p.total, 5);
    let p = page(&h, &q("thread:t0", SortKey::Id, SortOrder::Asc, 10));
    assert_eq!(poll_ids(&p.tasks), vec![ids[0], ids[6]]);
    // Task 6 has the higher priority: the thread offers it, task 0 waits behind it.
    assert_eq!(
        p.tasks[0].blocked_by,
        Some(crate::model::BlockedBy::ThreadBusy)
    );
    assert_eq!(
        p.tasks[1].blocked_by,
        Some(crate::model::BlockedBy::NoExecutor)
    );
    let p = page(&h, &q("age>1s", SortKey::Id, SortOrder::Asc, 10));
    assert_eq!(p.total, 0);
    h.advance(1_000);
    let p = page(&h, &q("age>1s", SortKey::Id, SortOrder::Asc, 10));
    assert_eq!(p.total, 10);
}

#[test]
fn bad_queries_are_refused() {
    let mut h = H::new(vec![ext("a")]);
    h.run1(spec("a"));
    for query in [
        q("colour:red", SortKey::Id, SortOrder::Asc, 10),
        q("", SortKey::Id, SortOrder::Asc, 0),
        q("", SortKey::Id, SortOrder::Asc, 1001),
        TaskQuery {
            after: Some("nonsense".into()),
            ..q("", SortKey::Id, SortOrder::Asc, 10)
        },
        TaskQuery {
            after: Some("[1]".into()),
            ..q("", SortKey::Name, SortOrder::Asc, 10)
        },
    ] {
        let e = h.e.query(&query, h.now).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidQuery, "{query:?}");
    }
}

#[test]
fn counts_and_stats_follow_every_change() {
    let mut h = H::new(vec![ext("a"), ext("b")]);
    h.run(vec![
        on("t", spec("a")),
        spec("a"),
        spec("b"),
        TaskSpec {
            hold: true,
            ..spec("b")
        },
    ]);
    h.advance(100);
    let t = h.claim("a");
    h.start(&t).unwrap();
    h.succeed(&t, None).unwrap();
    h.claim("a");
    let counts = h.e.counts();
    assert_eq!(counts.by_status["created"], 1);
    assert_eq!(counts.by_status["ready"], 1);
    assert_eq!(counts.by_status["requested"], 1);
    assert_eq!(counts.by_status["done"], 1);
    assert_eq!(counts.by_outcome["succeeded"], 1);
    let stats = h.e.stats(h.now);
    assert_eq!(stats.by_status, counts.by_status);
    assert_eq!(stats.by_definition["a"].by_status["done"], 1);
    assert_eq!(stats.by_definition["b"].by_status["ready"], 1);
    assert_eq!(stats.by_thread["t"].by_status["done"], 1);
    assert!(stats.by_thread["t"].by_outcome.is_empty());
    assert_eq!(stats.completions_per_s, 0.1);
    assert_eq!(stats.queue_latency_ms.p50, 100.0);
    h.advance(70_000);
    let stats = h.e.stats(h.now);
    assert_eq!(stats.completions_per_s, 0.0);
    assert_eq!(stats.queue_latency_ms.p99, 0.0);
}

#[test]
fn a_huge_offset_is_an_empty_page() {
    let mut h = H::new(vec![ext("a"), ext("b")]);
    ten(&mut h);
    for (filter, sort) in [
        ("", SortKey::Id),
        ("name:a", SortKey::Id),
        ("", SortKey::Name),
    ] {
        let first = page(&h, &q(filter, sort, SortOrder::Asc, 1));
        for after in [None, first.next] {
            let p = page(
                &h,
                &TaskQuery {
                    offset: usize::MAX,
                    after,
                    ..q(filter, sort, SortOrder::Asc, 5)
                },
            );
            assert!(p.tasks.is_empty() && p.next.is_none(), "{filter} {sort:?}");
            assert!(p.total > 0);
        }
    }
}

#[test]
fn every_window_is_the_slice_of_the_full_order() {
    let mut h = H::new(vec![Definition::new("a", ExecutorKind::External)]);
    let specs = (0..300)
        .map(|i| TaskSpec {
            name: "a".into(),
            priority: (i * 7) % 5,
            thread: (i % 4 != 0).then(|| format!("t{}", (i * 13) % 6)),
            desc: Some(format!("row {i}")),
            ..TaskSpec::default()
        })
        .collect();
    h.run(specs);
    h.advance(1);
    for sort in SortKey::ALL {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for filter in ["", "!thread:t1"] {
                let full: Vec<TaskId> = page(&h, &q(filter, sort, order, 1000))
                    .tasks
                    .iter()
                    .map(|t| t.id)
                    .collect();
                for (offset, limit) in [(0, 1), (0, 7), (5, 10), (100, 37), (290, 20), (299, 5)] {
                    let mut query = q(filter, sort, order, limit);
                    query.offset = offset;
                    let p = page(&h, &query);
                    let got: Vec<TaskId> = p.tasks.iter().map(|t| t.id).collect();
                    let want: Vec<TaskId> = full.iter().skip(offset).take(limit).copied().collect();
                    assert_eq!(got, want, "{sort:?} {order:?} `{filter}` {offset}+{limit}");
                    assert_eq!(p.total as usize, full.len());
                    assert_eq!(p.next.is_some(), offset + limit < full.len());
                }
            }
        }
    }
}

#[test]
fn text_terms_match_ids_by_their_digits() {
    let mut h = H::new(vec![Definition::new("a", ExecutorKind::External)]);
    h.run((0..120).map(|_| TaskSpec::new("a")).collect());
    let ids = |filter: &str| -> Vec<TaskId> {
        page(&h, &q(filter, SortKey::Id, SortOrder::Asc, 1000))
            .tasks
            .iter()
            .map(|t| t.id)
            .collect()
    };
    assert_eq!(
        ids("11"),
        vec![11, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119]
    );
    assert_eq!(ids("120"), vec![120]);
    assert!(ids("1x").is_empty());
    assert_eq!(ids("!1").len(), 120 - ids("1").len());
}
