//! Tests of what keeps the store's cost flat as a project grows: the file stat cache (only
//! changed rows written, old databases migrate), the roll-up behind costs and reports, and the
//! indexes that remain on `llm_calls` (each serves a query).

use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::Connection;

use super::migrations::{self, MIGRATIONS};
use super::*;
use crate::clock::FakeClock;
use crate::workspace::{FileStat, FileState, Scope, TreeChanges};

fn open(clock: &FakeClock) -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = Store::open(&path, Arc::new(clock.clone())).unwrap();
    (dir, path, store)
}

fn project(store: &Store, name: &str) -> i64 {
    store
        .create_project(&NewProject {
            name: name.into(),
            dir: PathBuf::from(format!("/tmp/{name}")),
            description: String::new(),
            template: None,
            budget_usd: None,
        })
        .unwrap()
        .id
}

fn state(path: &str, hash: char, stat: Option<FileStat>) -> FileState {
    FileState {
        path: path.into(),
        sha256: hash.to_string().repeat(64),
        size: 3,
        stat,
    }
}

fn stat(mtime_ns: i64) -> FileStat {
    FileStat {
        size: 3,
        mtime_ns,
        ctime_ns: mtime_ns + 1,
        inode: u64::MAX - 7,
    }
}

fn updated_at(store: &Store, pid: i64) -> Vec<(String, i64)> {
    store
        .list_files(pid)
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.updated_at))
        .collect()
}

#[test]
fn tree_changes_write_only_what_changed_and_round_trip_the_stat() {
    let clock = FakeClock::new(1_000);
    let (_d, _p, store) = open(&clock);
    let pid = project(&store, "p");
    let first = TreeChanges {
        added: vec![state("a", 'a', Some(stat(5))), state("b", 'b', None)],
        ..TreeChanges::default()
    };
    store.apply_tree_changes(pid, &first).unwrap();
    let mut states = store.file_states(pid).unwrap();
    states.sort_by(|x, y| x.path.cmp(&y.path));
    assert_eq!(
        states, first.added,
        "the inode survives as a signed integer"
    );
    clock.set(2_000);
    // Nothing changed: nothing written.
    store
        .apply_tree_changes(pid, &TreeChanges::default())
        .unwrap();
    assert_eq!(
        updated_at(&store, pid),
        [("a".into(), 1_000), ("b".into(), 1_000)]
    );
    // A refresh only caches the stat; a change rewrites the row; a removal deletes it.
    let next = TreeChanges {
        modified: vec![state("a", 'c', None)],
        refreshed: vec![state("b", 'b', Some(stat(9)))],
        ..TreeChanges::default()
    };
    store.apply_tree_changes(pid, &next).unwrap();
    assert_eq!(
        updated_at(&store, pid),
        [("a".into(), 2_000), ("b".into(), 1_000)]
    );
    let b = store
        .file_states(pid)
        .unwrap()
        .into_iter()
        .find(|f| f.path == "b")
        .unwrap();
    assert_eq!(b.stat, Some(stat(9)));
    store
        .apply_tree_changes(
            pid,
            &TreeChanges {
                removed: vec!["a".into()],
                ..TreeChanges::default()
            },
        )
        .unwrap();
    assert_eq!(updated_at(&store, pid), [("b".into(), 1_000)]);
}

#[test]
fn records_of_scopes_are_read_by_key_range() {
    let clock = FakeClock::new(1_000);
    let (_d, _p, store) = open(&clock);
    let pid = project(&store, "p");
    let paths = [
        "a", "src/a", "src/b/c", "src0", "src-x/y", "srcs/z", "x/src/q",
    ];
    let added = paths.iter().map(|p| state(p, 'a', None)).collect();
    store
        .apply_tree_changes(
            pid,
            &TreeChanges {
                added,
                ..TreeChanges::default()
            },
        )
        .unwrap();
    let got = |scopes: &[Scope]| -> Vec<String> {
        store
            .file_states_in(pid, scopes)
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect()
    };
    let scope = |dir: &str, recursive| Scope {
        dir: dir.into(),
        recursive,
    };
    assert_eq!(got(&[scope("src", false)]), ["src/a"]);
    assert_eq!(got(&[scope("src", true)]), ["src/a", "src/b/c"]);
    assert_eq!(got(&[scope("", false)]), ["a", "src0"]);
    assert_eq!(got(&[scope("", true)]).len(), paths.len());
    assert_eq!(
        got(&[scope("src/b", true), scope("src", true), scope("x", false)]),
        ["src/a", "src/b/c"]
    );
    assert!(got(&[]).is_empty());
}

#[test]
fn a_write_clears_the_cached_stat_and_a_refresh_never_overwrites_a_newer_hash() {
    let clock = FakeClock::new(1_000);
    let (_d, _p, store) = open(&clock);
    let pid = project(&store, "p");
    let old = state("a", 'a', Some(stat(5)));
    store
        .apply_tree_changes(
            pid,
            &TreeChanges {
                added: vec![old.clone()],
                ..TreeChanges::default()
            },
        )
        .unwrap();
    store.upsert_file(pid, "a", &"d".repeat(64), 4).unwrap();
    let now = store.file_states(pid).unwrap();
    assert_eq!(
        now[0].stat, None,
        "the next scan must read what the tool wrote"
    );
    // A refresh computed against the old hash must not bring the old stat back.
    store
        .refresh_file_stats(
            pid,
            &TreeChanges {
                refreshed: vec![old],
                ..TreeChanges::default()
            },
        )
        .unwrap();
    assert_eq!(store.file_states(pid).unwrap()[0].stat, None);
    assert!(store.has_files(pid).unwrap());
    assert!(!store.has_files(pid + 1).unwrap());
}

#[test]
fn files_recorded_before_the_stat_cache_keep_their_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        // The schema just before the migration that added the stat cache.
        let cache = MIGRATIONS
            .iter()
            .position(|m| m.contains("ADD COLUMN mtime_ns"))
            .unwrap();
        migrations::migrate(&mut conn, cache as i64, &path).unwrap();
        conn.execute_batch(
            "INSERT INTO projects (name, dir, created_at, updated_at) VALUES ('old', '/tmp/old', 1, 1);
             INSERT INTO files (project_id, path, sha256, size, updated_at)
             VALUES (1, 'src/main.py', printf('%.64c', 'e'), 12, 1);",
        )
        .unwrap();
    }
    let store = Store::open(&path, Arc::new(FakeClock::new(5))).unwrap();
    let mut want = state("src/main.py", 'e', None);
    want.size = 12;
    assert_eq!(store.file_states(1).unwrap(), [want]);
}

/// Seeds calls of two projects (and none) over three days.
fn seed(store: &Store, clock: &FakeClock, projects: [i64; 2]) {
    for i in 0..90_i64 {
        clock.set(1_700_000_000_000 + i * 3_000_000);
        store
            .record_llm_call(&NewLlmCall {
                project_id: (i % 5 != 0).then_some(projects[(i % 2) as usize]),
                role: ["coder", "planner"][(i % 2) as usize].into(),
                provider: "openai".into(),
                model: ["m1", "m2", "m3"][(i % 3) as usize].into(),
                input_tokens: 100 + i as u64,
                output_tokens: 20,
                cost_usd: (i % 9 != 0).then_some(0.25),
                ..NewLlmCall::default()
            })
            .unwrap();
    }
}

/// Per-project sums from the roll-up and from the calls themselves.
fn both_ways(store: &Store) -> (Vec<UsageGroupSums>, Vec<UsageGroupSums>) {
    let f = UsageFilter::default();
    let mut daily = store
        .read(|db| {
            db.usage_sums(
                UsageSpan::Days {
                    from: None,
                    to: None,
                },
                UsageGroup::Project,
                &f,
            )
        })
        .unwrap();
    let mut calls = store
        .read(|db| {
            db.usage_sums(
                UsageSpan::Calls {
                    since_ms: None,
                    until_ms: None,
                },
                UsageGroup::Project,
                &f,
            )
        })
        .unwrap();
    daily.sort_by(|a, b| a.0.cmp(&b.0));
    calls.sort_by(|a, b| a.0.cmp(&b.0));
    (daily, calls)
}

#[test]
fn rollup_follows_updates_and_deletes() {
    let clock = FakeClock::new(1_700_000_000_000);
    let (_d, _p, store) = open(&clock);
    let ps = [project(&store, "a"), project(&store, "b")];
    seed(&store, &clock, ps);
    store.delete_project(ps[0], &serde_json::json!({})).unwrap();
    store
        .read(|db| {
            Ok(db
                .conn
                .execute("DELETE FROM llm_calls WHERE id % 3 = 0", [])?)
        })
        .unwrap();
    let (daily, calls) = both_ways(&store);
    assert_eq!(daily.len(), 2, "project b and no project: {daily:?}");
    for ((dk, d), (ck, c)) in daily.iter().zip(&calls) {
        assert_eq!(dk, ck);
        assert!((d.known_cost_usd - c.known_cost_usd).abs() < 1e-9);
        assert_eq!(
            (d.requests, d.unknown_cost_calls, d.input_tokens),
            (c.requests, c.unknown_cost_calls, c.input_tokens)
        );
    }
    // The forgotten project's calls moved to "no project" (0).
    assert_eq!(daily[0].0.0, "0");
}

#[test]
fn project_costs_and_the_project_list_read_the_rollup() {
    let clock = FakeClock::new(1_700_000_000_000);
    let (_d, _p, store) = open(&clock);
    let ps = [project(&store, "a"), project(&store, "b")];
    seed(&store, &clock, ps);
    let before = store.project_cost(ps[0]).unwrap();
    assert!(before.calls > 0 && before.cost_usd > 0.0 && before.unknown_cost_calls > 0);
    let listed = store.list_projects().unwrap();
    // Take the calls away behind the roll-up's back: what is reported must not change.
    store
        .read(|db| {
            db.conn
                .execute_batch("DROP TRIGGER llm_usage_daily_delete; DELETE FROM llm_calls;")?;
            Ok(())
        })
        .unwrap();
    assert_eq!(store.project_cost(ps[0]).unwrap(), before);
    assert_eq!(store.list_projects().unwrap(), listed);
    let a = listed.iter().find(|p| p.project.id == ps[0]).unwrap();
    assert_eq!(a.cost.calls, before.calls);
    assert_eq!(a.cost.unknown_cost_calls, before.unknown_cost_calls);
}

fn plan(store: &Store, sql: &str) -> String {
    store
        .read(|db| {
            let mut stmt = db.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(3))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?.join("; "))
        })
        .unwrap()
}

#[test]
fn every_index_on_llm_calls_serves_a_query_that_needs_it() {
    let clock = FakeClock::new(1);
    let (_d, _p, store) = open(&clock);
    let indexes: Vec<(String, String)> = store
        .read(|db| {
            let mut stmt = db.conn.prepare(
                "SELECT name, IFNULL(sql, '') FROM sqlite_schema
                 WHERE type = 'index' AND tbl_name = 'llm_calls' ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .unwrap();
    let names: Vec<&str> = indexes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "llm_calls_created",
            "llm_calls_project",
            "llm_calls_run",
            "llm_calls_step",
            "sqlite_autoindex_llm_calls_1",
        ]
    );
    // No covering columns: each index holds the key its queries search by, nothing more.
    for (name, sql) in &indexes {
        let columns = sql.split('(').nth(1).unwrap_or("").split(',').count();
        let want = if name == "llm_calls_project" { 2 } else { 1 };
        assert!(columns <= want, "{name} is wider than its key: {sql}");
    }
    // usage's partial days at the ends of a range.
    let p = plan(
        &store,
        "SELECT provider, COUNT(*) FROM llm_calls WHERE created_at >= 1 AND created_at < 2 GROUP BY 1",
    );
    assert!(p.contains("llm_calls_created"), "{p}");
    // Forgetting a project sets its calls' project_id to NULL.
    let p = plan(&store, "SELECT id FROM llm_calls WHERE project_id = 7");
    assert!(p.contains("llm_calls_project"), "{p}");
    // `usage --project P --since ...`: the partial days of one project, a range in its rows.
    let p = plan(
        &store,
        "SELECT COUNT(*) FROM llm_calls WHERE project_id = 7 AND created_at >= 1 AND created_at < 2",
    );
    assert!(
        p.contains("llm_calls_project (project_id=? AND created_at>? AND created_at<?)"),
        "{p}"
    );
    // A run's cost (budgets) and deleting steps (ON DELETE SET NULL).
    let p = plan(
        &store,
        "SELECT TOTAL(cost_usd) FROM llm_calls WHERE run_id = 7",
    );
    assert!(p.contains("llm_calls_run"), "{p}");
    let p = plan(&store, "SELECT id FROM llm_calls WHERE step_id = 7");
    assert!(p.contains("llm_calls_step"), "{p}");
}
