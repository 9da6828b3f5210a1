//! Unit tests of the store: migrations, refusals that leave files untouched, idempotency,
//! transactions and cascades.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::Connection;
use serde_json::json;

use super::migrations::{self, MIGRATIONS};
use super::*;
use crate::clock::FakeClock;
use crate::exit::{Exit, ExitStatus};

struct T {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: FakeClock,
}

fn temp() -> T {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("samocoder.db");
    T {
        _dir: dir,
        path,
        clock: FakeClock::new(1_700_000_000_000),
    }
}

impl T {
    fn open(&self) -> Store {
        Store::open(&self.path, Arc::new(self.clock.clone())).unwrap()
    }
}

fn project(store: &Store, name: &str) -> Project {
    store
        .create_project(&NewProject {
            name: name.into(),
            dir: PathBuf::from(format!("/tmp/{name}")),
            description: format!("{name} app"),
            template: None,
            budget_usd: Some(2.0),
        })
        .unwrap()
}

fn run(store: &Store, project_id: Option<i64>) -> Run {
    store
        .start_run(&NewRun {
            project_id,
            command: "new".into(),
            max_cost_usd: None,
            pid: 42,
        })
        .unwrap()
}

fn call(project_id: Option<i64>, cost: Option<f64>, key: Option<&str>) -> NewLlmCall {
    NewLlmCall {
        project_id,
        role: "coder".into(),
        provider: "openai".into(),
        model: "gpt-x".into(),
        input_tokens: 100,
        output_tokens: 20,
        cost_usd: cost,
        call_key: key.map(str::to_string),
        ..NewLlmCall::default()
    }
}

/// The schema as SQLite reports it, for comparing databases.
fn schema(path: &Path) -> Vec<(String, String)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, COALESCE(sql, '') FROM sqlite_schema ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn opens_an_empty_path_creating_dir_wal_and_latest_version() {
    let t = temp();
    let store = t.open();
    assert!(t.path.exists());
    store
        .read(|db| {
            let mode: String = db
                .conn()
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            assert_eq!(mode, "wal");
            let fk: i64 = db
                .conn()
                .query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
            assert_eq!(fk, 1);
            assert_eq!(migrations::user_version(db.conn())?, SCHEMA_VERSION);
            Ok(())
        })
        .unwrap();
    drop(store);
    // Reopening is a no-op.
    let before = schema(&t.path);
    t.open();
    assert_eq!(schema(&t.path), before);
}

/// Every earlier schema version (0..latest) migrates to the same schema as a fresh database,
/// keeping its rows. A new migration is covered by this test without changing it.
#[test]
fn migrates_from_every_earlier_version() {
    let fresh = temp();
    fresh.open();
    let want = schema(&fresh.path);
    for k in 0..MIGRATIONS.len() as i64 {
        let t = temp();
        std::fs::create_dir_all(t.path.parent().unwrap()).unwrap();
        {
            let mut conn = Connection::open(&t.path).unwrap();
            migrations::migrate(&mut conn, k, &t.path).unwrap();
            assert_eq!(migrations::user_version(&conn).unwrap(), k);
            if k >= 1 {
                conn.execute(
                    "INSERT INTO projects (name, dir, created_at, updated_at)
                     VALUES ('old', '/tmp/old', 1, 1)",
                    [],
                )
                .unwrap();
            }
        }
        let store = t.open();
        assert_eq!(schema(&t.path), want, "migrating from version {k}");
        if k >= 1 {
            assert_eq!(store.get_project("old").unwrap().dir, Path::new("/tmp/old"));
        }
    }
}

/// Calls recorded before schema 5 keep their exact roll-up (rebuilt by migration 5 with the
/// price split) and have no price table named.
#[test]
fn migration_5_rebuilds_the_rollup_from_the_calls() {
    let t = temp();
    std::fs::create_dir_all(t.path.parent().unwrap()).unwrap();
    {
        let mut conn = Connection::open(&t.path).unwrap();
        migrations::migrate(&mut conn, 2, &t.path).unwrap();
        for (i, (source, cost)) in [
            ("table", Some(0.5)),
            ("unknown", None),
            ("table", Some(0.25)),
        ]
        .into_iter()
        .enumerate()
        {
            conn.execute(
                "INSERT INTO llm_calls (role, provider, model, outcome, input_tokens, cost_usd,
                    cost_source, created_at) VALUES ('coder', 'openai', 'gpt-4o', 'ok', 10, ?1, ?2, ?3)",
                rusqlite::params![cost, source, 1_000 + i as i64],
            )
            .unwrap();
        }
    }
    let store = t.open();
    store
        .record_llm_call(&NewLlmCall {
            role: "coder".into(),
            provider: "openrouter".into(),
            model: "x/y".into(),
            cost_usd: Some(0.2),
            cost_source: Some(crate::store::CostSource::Provider),
            price_table: Some("models.dev 1.0.398".into()),
            table_cost_usd: Some(0.1),
            ..NewLlmCall::default()
        })
        .unwrap();
    let rows: Vec<(String, String, i64, f64, i64, i64, i64)> = store
        .read(|db| {
            let mut st = db.conn().prepare(
                "SELECT provider, cost_source || '/' || price_table, requests, cost_usd,
                        unknown_cost_calls, checked_calls, disagreeing_calls
                 FROM llm_usage_daily ORDER BY provider, cost_source",
            )?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .unwrap();
    assert_eq!(
        rows,
        vec![
            ("openai".into(), "table/".into(), 2, 0.75, 0, 0, 0),
            ("openai".into(), "unknown/".into(), 1, 0.0, 1, 0, 0),
            (
                "openrouter".into(),
                "provider/models.dev 1.0.398".into(),
                1,
                0.2,
                0,
                1,
                1
            ),
        ]
    );
}

#[test]
fn refuses_a_database_from_the_future_without_touching_it() {
    let t = temp();
    std::fs::create_dir_all(t.path.parent().unwrap()).unwrap();
    {
        let conn = Connection::open(&t.path).unwrap();
        conn.execute_batch("CREATE TABLE projects (id INTEGER); PRAGMA user_version = 99;")
            .unwrap();
    }
    let before = std::fs::read(&t.path).unwrap();
    let err = Store::open(&t.path, Arc::new(t.clock.clone())).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    assert_eq!(err.exit(), Exit::Usage);
    assert!(err.to_string().contains(&t.path.display().to_string()));
    assert_eq!(std::fs::read(&t.path).unwrap(), before);
}

#[test]
fn refuses_garbage_truncated_and_foreign_files_without_touching_them() {
    let t = temp();
    t.open();
    drop(t.open());
    // Fold the WAL into the main file so the truncation test cuts real pages.
    Connection::open(&t.path)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
        .unwrap();
    let real = std::fs::read(&t.path).unwrap();
    assert!(real.len() >= 8192);

    let mut garbage = vec![0u8; 5000];
    for (i, b) in garbage.iter_mut().enumerate() {
        *b = (i * 7919 % 251) as u8;
    }
    let page = u16::from_be_bytes([real[16], real[17]]) as usize;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", garbage),
        ("short", b"SQLite".to_vec()),
        ("half header", real[..60].to_vec()),
        ("odd size", real[..real.len() - 100].to_vec()),
        ("missing pages", real[..real.len() - page].to_vec()),
    ];
    for (what, bytes) in cases {
        let u = temp();
        std::fs::create_dir_all(u.path.parent().unwrap()).unwrap();
        std::fs::write(&u.path, &bytes).unwrap();
        let err = Store::open(&u.path, Arc::new(u.clock.clone())).unwrap_err();
        assert_eq!(err.exit(), Exit::Usage, "{what}: {err}");
        assert!(
            err.to_string().contains(&u.path.display().to_string()),
            "{what}: {err}"
        );
        assert_eq!(
            std::fs::read(&u.path).unwrap(),
            bytes,
            "{what} was modified"
        );
    }

    let u = temp();
    std::fs::create_dir_all(u.path.parent().unwrap()).unwrap();
    Connection::open(&u.path)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    let before = std::fs::read(&u.path).unwrap();
    let err = Store::open(&u.path, Arc::new(u.clock.clone())).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
    assert_eq!(std::fs::read(&u.path).unwrap(), before);
}

#[test]
fn processes_opening_and_writing_at_once_all_succeed() {
    let t = temp();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let path = t.path.clone();
            let clock = t.clock.clone();
            std::thread::spawn(move || {
                // Separate connections, as separate processes would have.
                let store = Store::open(&path, Arc::new(clock)).unwrap();
                for j in 0..25 {
                    project(&store, &format!("p{i}-{j}"));
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    let store = t.open();
    assert_eq!(store.list_projects().unwrap().len(), 100);
    let version = store
        .read(|db| Ok(migrations::user_version(db.conn())?))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn open_existing_does_not_create_a_file() {
    let t = temp();
    assert!(
        Store::open_existing(&t.path, Arc::new(t.clock.clone()))
            .unwrap()
            .is_none()
    );
    assert!(!t.path.exists());
}

#[test]
fn project_names_are_validated() {
    for ok in ["a", "todo-app", "v1.2_x", &"x".repeat(64), "123"] {
        validate_name(ok).unwrap();
    }
    for bad in [
        "",
        ".hidden",
        "-flag",
        "a b",
        "a/b",
        "..",
        "é",
        &"x".repeat(65),
    ] {
        let err = validate_name(bad).unwrap_err();
        assert_eq!(err.exit(), Exit::Usage, "{bad}");
    }
}

#[test]
fn projects_create_find_list_and_duplicate() {
    let t = temp();
    let store = t.open();
    let a = project(&store, "alpha");
    assert_eq!(a.status, ProjectStatus::New);
    assert_eq!(a.created_at, 1_700_000_000_000);
    t.clock.advance(1000);
    let b = project(&store, "beta");
    assert_eq!(store.get_project("ALPHA").unwrap().id, a.id);
    assert_eq!(store.get_project(&b.id.to_string()).unwrap().name, "beta");
    let err = store.get_project("gamma").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no project named gamma; see `samocoder projects`"
    );
    let dup = store
        .create_project(&NewProject {
            name: "Alpha".into(),
            dir: "/x".into(),
            description: String::new(),
            template: None,
            budget_usd: None,
        })
        .unwrap_err();
    assert!(matches!(dup, StoreError::ProjectExists { .. }), "{dup}");

    store
        .record_llm_call(&call(Some(a.id), Some(0.25), None))
        .unwrap();
    store
        .record_llm_call(&call(Some(a.id), None, None))
        .unwrap();
    let list = store.list_projects().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].project.name, "alpha");
    assert_eq!(list[0].cost.cost_usd, 0.25);
    assert_eq!(list[0].cost.calls, 2);
    assert!(list[0].cost.has_unknown());
    assert!(!list[1].cost.has_unknown());

    store.set_project_status(a.id, ProjectStatus::Done).unwrap();
    assert_eq!(store.latest_unfinished_project().unwrap().unwrap().id, b.id);
    store
        .set_project_architecture(b.id, &json!({"lang": "python"}))
        .unwrap();
    store.set_project_spec(b.id, "A spec").unwrap();
    let b2 = store.project_by_id(b.id).unwrap();
    assert_eq!(b2.architecture, Some(json!({"lang": "python"})));
    assert_eq!(b2.spec.as_deref(), Some("A spec"));
    let created = store.list_audit(None, 10).unwrap();
    assert_eq!(created.len(), 2);
    assert_eq!(created[0].action, "project.create");
}

#[test]
fn call_key_makes_recording_idempotent() {
    let t = temp();
    let store = t.open();
    let p = project(&store, "p");
    let r = run(&store, Some(p.id));
    let mut c = call(Some(p.id), Some(0.1), Some("run1-step3-attempt1"));
    c.run_id = Some(r.id);
    assert!(store.record_llm_call(&c).unwrap().is_some());
    assert_eq!(store.record_llm_call(&c).unwrap(), None);
    // Calls without a key are all kept.
    let mut k = call(Some(p.id), Some(0.1), None);
    k.run_id = Some(r.id);
    store.record_llm_call(&k).unwrap().unwrap();
    store.record_llm_call(&k).unwrap().unwrap();
    let totals = store.run_cost(r.id).unwrap();
    assert_eq!(totals.calls, 3);
    assert!((totals.cost_usd - 0.3).abs() < 1e-9);
    assert_eq!(totals.input_tokens, 300);
}

#[test]
fn a_runs_unpriced_calls_are_summed_per_model_for_estimates() {
    let t = temp();
    let store = t.open();
    let r1 = run(&store, None);
    let r2 = run(&store, None);
    let mut unpriced = call(None, None, None);
    unpriced.run_id = Some(r1.id);
    unpriced.cache_write_tokens = 5;
    store.record_llm_call(&unpriced).unwrap();
    store.record_llm_call(&unpriced).unwrap();
    let mut other = unpriced.clone();
    other.model = "a-model".into();
    store.record_llm_call(&other).unwrap();
    let mut priced = unpriced.clone();
    priced.cost_usd = Some(0.5);
    store.record_llm_call(&priced).unwrap();
    let mut elsewhere = unpriced.clone();
    elsewhere.run_id = Some(r2.id);
    store.record_llm_call(&elsewhere).unwrap();
    let got = store.read(|db| db.run_unpriced_usage(r1.id)).unwrap();
    let one = |model: &str, calls: i64| crate::store::UnpricedUsage {
        provider: "openai".into(),
        model: model.into(),
        calls,
        input_tokens: 100 * calls,
        output_tokens: 20 * calls,
        cached_tokens: 0,
        cache_write_tokens: 5 * calls,
    };
    assert_eq!(got, vec![one("a-model", 1), one("gpt-x", 2)]);
}

#[test]
fn a_failed_transaction_leaves_nothing() {
    let t = temp();
    let store = t.open();
    let p = project(&store, "p");
    let r = run(&store, Some(p.id));
    let err = store
        .transaction(|db| {
            db.insert_step(&NewStep {
                project_id: p.id,
                run_id: r.id,
                task_id: None,
                thread: "task:1".into(),
                payload: payload(StepKind::ToolCall),
            })?;
            db.upsert_file(p.id, "main.py", &"a".repeat(64), 10)?;
            db.record_llm_call(&call(Some(p.id), Some(1.0), None))?;
            Err::<(), _>(StoreError::Task("stop".into()))
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Task(_)));
    assert!(store.list_steps(p.id, 0, 100).unwrap().is_empty());
    assert!(store.list_files(p.id).unwrap().is_empty());
    assert_eq!(store.project_cost(p.id).unwrap().calls, 0);
    assert_eq!(store.next_seq(p.id).unwrap(), 1);
}

#[test]
fn steps_are_numbered_per_project() {
    let t = temp();
    let store = t.open();
    let a = project(&store, "a");
    let b = project(&store, "b");
    let r = run(&store, None);
    let step = |p: i64| {
        store
            .insert_step(&NewStep {
                project_id: p,
                run_id: r.id,
                task_id: None,
                thread: "task:1".into(),
                payload: payload(StepKind::ModelTurn),
            })
            .unwrap()
            .seq
    };
    assert_eq!(
        [step(a.id), step(a.id), step(b.id), step(a.id)],
        [1, 2, 1, 3]
    );
    let page = store.list_steps(a.id, 1, 10).unwrap();
    assert_eq!(page.iter().map(|s| s.seq).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(store.last_step(a.id).unwrap().unwrap().seq, 3);
}

#[test]
fn thread_steps_and_counts_select_by_thread_and_kind() {
    let t = temp();
    let store = t.open();
    let a = project(&store, "a");
    let b = project(&store, "b");
    let r = run(&store, None);
    let step = |p: i64, kind: StepKind, thread: &str| {
        store
            .insert_step(&NewStep {
                project_id: p,
                run_id: r.id,
                task_id: None,
                thread: thread.into(),
                payload: payload(kind),
            })
            .unwrap()
            .seq
    };
    step(a.id, StepKind::UserInput, "task:1");
    step(a.id, StepKind::ModelTurn, "task:1/write/3/call_1/0");
    step(a.id, StepKind::ModelTurn, "task:1");
    step(b.id, StepKind::ModelTurn, "task:1");
    let seqs: Vec<i64> = store
        .thread_steps(a.id, "task:1")
        .unwrap()
        .iter()
        .map(|s| s.seq)
        .collect();
    assert_eq!(seqs, [1, 3]);
    assert_eq!(store.count_steps(a.id, StepKind::ModelTurn).unwrap(), 2);
    assert_eq!(store.count_steps(b.id, StepKind::UserInput).unwrap(), 0);
}

#[test]
fn tasks_move_through_their_states() {
    let t = temp();
    let store = t.open();
    let p = project(&store, "p");
    let new = |ordinal, title: &str| NewTask {
        project_id: p.id,
        iteration: 1,
        ordinal,
        title: title.into(),
        goal: "g".into(),
        files: vec!["src/main.rs".into()],
        verify: Some("cargo test".into()),
    };
    let t1 = store.insert_task(&new(1, "first")).unwrap();
    store.insert_task(&new(2, "second")).unwrap();
    assert!(store.insert_task(&new(2, "dup")).is_err());
    assert_eq!(store.current_iteration(p.id).unwrap(), 1);
    let started = store.start_task_attempt(t1.id).unwrap();
    assert_eq!(
        (started.status, started.attempts),
        (TaskStatus::InProgress, 1)
    );
    store
        .set_task_status(t1.id, TaskStatus::Failed, Some("test failed"))
        .unwrap();
    assert_eq!(store.next_open_task(p.id).unwrap().unwrap().title, "second");
    store.set_task_checkpoint(t1.id, "abc123").unwrap();
    let got = store.get_task(t1.id).unwrap();
    assert_eq!(got.last_error.as_deref(), Some("test failed"));
    assert_eq!(got.checkpoint.as_deref(), Some("abc123"));
    assert_eq!(got.files, ["src/main.rs"]);
}

#[test]
fn forgetting_a_project_cascades_but_keeps_money_and_audit() {
    let t = temp();
    let store = t.open();
    let p = project(&store, "p");
    let keep = project(&store, "keep");
    let r = run(&store, Some(p.id));
    let task = store
        .insert_task(&NewTask {
            project_id: p.id,
            iteration: 1,
            ordinal: 1,
            title: "t".into(),
            goal: String::new(),
            files: vec![],
            verify: None,
        })
        .unwrap();
    let step = store
        .insert_step(&NewStep {
            project_id: p.id,
            run_id: r.id,
            task_id: Some(task.id),
            thread: "plan-result".into(),
            payload: payload(StepKind::Plan),
        })
        .unwrap();
    let mut c = call(Some(p.id), Some(0.5), Some("k1"));
    c.run_id = Some(r.id);
    c.step_id = Some(step.id);
    let call_id = store.record_llm_call(&c).unwrap().unwrap();
    store.upsert_file(p.id, "a.py", &"b".repeat(64), 3).unwrap();
    store
        .record_command(&NewCommand {
            project_id: p.id,
            run_id: Some(r.id),
            task_id: Some(task.id),
            command: "pytest".into(),
            approval: Approval::Auto,
            exit_code: Some(0),
            timed_out: false,
            duration_ms: 5,
            output: "ok".into(),
            sandbox: Some("workspace-write".into()),
        })
        .unwrap();
    store
        .upsert_file(keep.id, "a.py", &"c".repeat(64), 3)
        .unwrap();

    store
        .delete_project(p.id, &json!({"files_deleted": false}))
        .unwrap();

    assert!(store.find_project("p").unwrap().is_none());
    let count = |sql: &str| -> i64 {
        store
            .read(|db| Ok(db.conn().query_row(sql, [], |r| r.get(0))?))
            .unwrap()
    };
    assert_eq!(count("SELECT COUNT(*) FROM tasks"), 0);
    assert_eq!(count("SELECT COUNT(*) FROM steps"), 0);
    assert_eq!(count("SELECT COUNT(*) FROM commands"), 0);
    assert_eq!(count("SELECT COUNT(*) FROM files"), 1);
    // Money spent stays visible, detached from the forgotten project.
    let kept: (Option<i64>, Option<i64>, Option<i64>, f64) = store
        .read(|db| {
            Ok(db.conn().query_row(
                "SELECT project_id, run_id, step_id, cost_usd FROM llm_calls WHERE id = ?1",
                [call_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?)
        })
        .unwrap();
    assert_eq!(kept, (None, Some(r.id), None, 0.5));
    assert_eq!(store.get_run(r.id).unwrap().project_id, None);
    let audit = store.list_audit(None, 10).unwrap();
    assert_eq!(audit[0].action, "project.forget");
    assert_eq!(audit[0].detail["name"], "p");
    assert_eq!(audit[0].detail["files_deleted"], false);
    assert_eq!(audit[0].detail["cost_usd"], 0.5);
}

#[test]
fn the_audit_log_is_append_only() {
    let t = temp();
    let store = t.open();
    let id = store.append_audit(None, "test", &json!({})).unwrap();
    for sql in [
        "UPDATE audit SET action = 'x'",
        "UPDATE audit SET project_id = 1",
        "DELETE FROM audit",
    ] {
        let r = store.read(|db| Ok(db.conn().execute(sql, [])?));
        assert!(r.is_err(), "{sql} was allowed");
    }
    assert_eq!(store.list_audit(None, 1).unwrap()[0].id, id);
}

#[test]
fn runs_start_and_finish() {
    let t = temp();
    let store = t.open();
    let r = run(&store, None);
    assert_eq!(r.status, RunStatus::Running);
    t.clock.advance(250);
    store
        .finish_run(r.id, RunStatus::from_exit(Exit::Budget), Some(3))
        .unwrap();
    let done = store.get_run(r.id).unwrap();
    assert_eq!(done.status, RunStatus::BudgetExhausted);
    assert_eq!(done.finished_at, Some(r.started_at + 250));
    assert!(matches!(
        store.finish_run(999, RunStatus::Ok, None),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn command_output_is_capped_on_char_boundaries() {
    let long = "é".repeat(100_000);
    let capped = cap_output(&long, 1000);
    assert!(capped.len() < 1100);
    assert!(capped.contains("bytes cut"));
    assert_eq!(cap_output("short", 1000), "short");
}

#[tokio::test]
async fn async_access_runs_off_the_runtime() {
    let t = temp();
    let store = t.open();
    let p = store.run(|s| Ok(project(s, "async"))).await.unwrap();
    let n = store.run(|s| Ok(s.list_projects()?.len())).await.unwrap();
    assert_eq!(n, 1);
    assert_eq!(store.project_cost(p.id).unwrap().calls, 0);
}

proptest::proptest! {
    /// Whatever name is accepted is one safe directory name that is never a flag.
    #[test]
    fn accepted_names_are_safe_path_components(name in "[A-Za-z0-9._/\\\\ -]{0,70}") {
        if validate_name(&name).is_ok() {
            proptest::prop_assert!(!name.is_empty() && name.len() <= 64);
            proptest::prop_assert!(!name.contains(['/', '\\', ' ']));
            proptest::prop_assert!(name != "." && name != "..");
            proptest::prop_assert!(!name.starts_with('-'));
            proptest::prop_assert_eq!(Path::new(&name).components().count(), 1);
        }
    }
}

/// A payload of the given kind, for tests of the step queries.
fn payload(kind: StepKind) -> crate::protocol::StepPayload {
    use crate::protocol::*;
    match kind {
        StepKind::ModelTurn => StepPayload::ModelTurn(ModelTurn {
            role: Role::Coder,
            response: crate::llm::Response::default(),
        }),
        StepKind::ToolCall => StepPayload::ToolCall(ToolResult {
            call_id: "c1".into(),
            name: "write_file".into(),
            target: "a.py".into(),
            result: "wrote a.py".into(),
            is_error: false,
        }),
        StepKind::Plan => StepPayload::Plan(PlanSaved {
            iteration: 1,
            change_request: None,
            restart: None,
        }),
        _ => StepPayload::UserInput(UserInput {
            content: "hi".into(),
        }),
    }
}

#[test]
fn a_step_changed_outside_samocoder_is_an_error_that_names_it() {
    let t = temp();
    let store = t.open();
    let p = project(&store, "p");
    let r = run(&store, None);
    let step = store
        .insert_step(&NewStep {
            project_id: p.id,
            run_id: r.id,
            task_id: None,
            thread: "task:1".into(),
            payload: payload(StepKind::ToolCall),
        })
        .unwrap();
    assert_eq!(
        store.thread_steps(p.id, "task:1").unwrap(),
        std::slice::from_ref(&step)
    );
    store
        .read(|db| {
            db.conn().execute(
                "UPDATE steps SET payload = '{\"call_id\": 1}' WHERE id = ?1",
                [step.id],
            )?;
            Ok(())
        })
        .unwrap();
    let err = store.thread_steps(p.id, "task:1").unwrap_err();
    assert!(
        matches!(err, StoreError::UnreadableStep { id, .. } if id == step.id),
        "{err}"
    );
}

#[test]
fn commands_keep_their_sandbox_and_runs_their_running_command_group() {
    let t = temp();
    let store = t.open();
    let p = project(&store, "sbx");
    let r = run(&store, Some(p.id));
    let new = |sandbox: Option<&str>| NewCommand {
        project_id: p.id,
        run_id: Some(r.id),
        task_id: None,
        command: "true".into(),
        approval: Approval::Auto,
        exit_code: Some(0),
        timed_out: false,
        duration_ms: 1,
        output: String::new(),
        sandbox: sandbox.map(str::to_string),
    };
    store
        .record_command(&new(Some("workspace-write+network")))
        .unwrap();
    store.record_command(&new(None)).unwrap();
    let listed = store.list_commands(p.id).unwrap();
    assert_eq!(
        listed[0].sandbox.as_deref(),
        Some("workspace-write+network")
    );
    assert_eq!(listed[1].sandbox, None);

    assert!(store.command_groups(p.id).unwrap().is_empty());
    store.set_command_group(r.id, Some("4242:7:boot")).unwrap();
    assert_eq!(
        store.command_groups(p.id).unwrap(),
        [(r.id, "4242:7:boot".to_string())]
    );
    store.set_command_group(r.id, None).unwrap();
    assert!(store.command_groups(p.id).unwrap().is_empty());
}

#[path = "tests_provenance.rs"]
mod provenance;
