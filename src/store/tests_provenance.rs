//! The provenance log, adoptions and the ledger averages.

use rusqlite::Connection;

use super::*;
use crate::provenance::{CommandRecord, Record, RunEvent, RunRecord};

fn command(c: &str) -> Record {
    Record::Command(CommandRecord {
        command: c.into(),
        purpose: Some("test".into()),
        approval: "auto".into(),
        disposition: Some("ran".into()),
        sandbox: Some("none".into()),
        exit_code: Some(0),
        timed_out: false,
        duration_ms: 5,
        backfilled: false,
    })
}

#[test]
fn forgetting_a_project_keeps_its_log_and_the_calls_of_its_runs() {
    let t = temp();
    let store = t.open();
    let p = project(&store, "todo");
    let r = run(&store, Some(p.id));
    store
        .append_provenance(&p, Some(r.id), Some("1.1"), &command("pytest"))
        .unwrap();
    let mut c = call(Some(p.id), Some(0.5), None);
    c.run_id = Some(r.id);
    store.record_llm_call(&c).unwrap();
    store
        .record_command(&NewCommand {
            project_id: p.id,
            run_id: Some(r.id),
            task_id: None,
            command: "pytest".into(),
            approval: Approval::Auto,
            exit_code: Some(0),
            timed_out: false,
            duration_ms: 5,
            output: "ok".into(),
            sandbox: None,
        })
        .unwrap();
    let key = ProjectKey::from(&p);
    assert_eq!(store.provenance(&key).unwrap().len(), 1);
    assert!(store.forgotten_projects("todo").unwrap().is_empty());

    store.delete_project(p.id, &json!({})).unwrap();
    assert!(
        store.list_commands(p.id).unwrap().is_empty(),
        "the commands table cascades"
    );
    let log = store.provenance(&key).unwrap();
    assert_eq!(log.len(), 1, "the log is kept");
    assert_eq!(log[0].task.as_deref(), Some("1.1"));
    let forgotten = store.forgotten_projects("TODO").unwrap();
    assert_eq!(forgotten.len(), 1);
    assert_eq!(forgotten[0].created_at, p.created_at);
    let ledger = store.ledger(None, &[r.id]).unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].cost_usd, Some(0.5));

    // A new project with the same name (and maybe the same id) has a log of its own.
    t.clock.advance(10);
    let again = project(&store, "todo");
    assert!(
        store
            .provenance(&ProjectKey::from(&again))
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.forgotten_projects("todo").unwrap().len(), 1);
}

#[test]
fn the_provenance_log_is_append_only() {
    let t = temp();
    let store = t.open();
    let p = project(&store, "a");
    let other = project(&store, "b");
    store
        .append_provenance(&p, None, None, &command("x"))
        .unwrap();
    for sql in [
        "UPDATE provenance SET detail = '{}'".to_string(),
        "UPDATE provenance SET kind = 'run'".to_string(),
        format!("UPDATE provenance SET project_id = {}", other.id),
        "DELETE FROM provenance".to_string(),
    ] {
        let r = store.read(|db| Ok(db.conn().execute(&sql, [])?));
        assert!(r.is_err(), "{sql} was allowed");
    }
}

#[test]
fn the_migration_backfills_the_history_of_existing_projects() {
    let t = temp();
    std::fs::create_dir_all(t.path.parent().unwrap()).unwrap();
    {
        let mut conn = Connection::open(&t.path).unwrap();
        // The schema before this migration.
        migrations::migrate(&mut conn, 4, &t.path).unwrap();
        conn.execute_batch(
            "INSERT INTO projects (id, name, dir, created_at, updated_at) VALUES (1, 'old', '/tmp/old', 5, 5);
             INSERT INTO runs (id, project_id, command, started_at, finished_at, status, exit_code, pid)
                 VALUES (1, 1, 'new', 10, 90, 'ok', 0, 1);
             INSERT INTO tasks (id, project_id, iteration, ordinal, title, status, checkpoint, created_at, updated_at)
                 VALUES (1, 1, 1, 1, 'First', 'done', 'abc123', 20, 50),
                        (2, 1, 2, 1, 'First', 'done', 'abc123', 60, 60);
             INSERT INTO commands (project_id, run_id, task_id, command, approval, exit_code, duration_ms, created_at)
                 VALUES (1, 1, 1, 'make test', 'auto', 0, 7, 40);",
        )
        .unwrap();
    }
    let store = t.open();
    let p = store.get_project("old").unwrap();
    let log = store.provenance(&ProjectKey::from(&p)).unwrap();
    let kinds: Vec<&str> = log.iter().map(|e| e.record.kind()).collect();
    assert_eq!(kinds, ["run", "command", "checkpoint", "run"], "{log:#?}");
    assert!(matches!(
        &log[3].record,
        Record::Run(RunRecord { event: RunEvent::Finished, status: Some(s), backfilled: true, .. }) if s == "done"
    ));
    assert_eq!(log[1].task.as_deref(), Some("1.1"));
}

#[test]
fn adoptions_record_the_branch_and_where_to_switch_back() {
    let t = temp();
    let store = t.open();
    let p = project(&store, "repo");
    let a = store
        .insert_adoption(&NewAdoption {
            project_id: p.id,
            base_branch: Some("main".into()),
            base_commit: "abc".into(),
            branch: "samocoder/repo-1".into(),
            initialized: false,
        })
        .unwrap();
    assert_eq!(a.return_to, None);
    assert!(a.user_changes.is_empty());
    store
        .set_adoption_checkout(p.id, Some("refs/heads/main"), &["notes.txt".into()])
        .unwrap();
    let a = store.adoption(p.id).unwrap().unwrap();
    assert_eq!(a.return_to.as_deref(), Some("refs/heads/main"));
    assert_eq!(a.user_changes, ["notes.txt"]);
    store
        .set_adoption_branch(p.id, "samocoder/from-task-2")
        .unwrap();
    assert_eq!(
        store.adoption(p.id).unwrap().unwrap().branch,
        "samocoder/from-task-2"
    );
    let other = project(&store, "other");
    assert_eq!(store.adoption(other.id).unwrap(), None);
    store.delete_project(p.id, &json!({})).unwrap();
    assert_eq!(store.adoption(p.id).unwrap(), None);
}

#[test]
fn the_ledger_averages_count_live_calls_only() {
    let t = temp();
    let store = t.open();
    assert_eq!(
        store.estimate_basis().unwrap(),
        crate::estimate::Basis::default()
    );
    let p = project(&store, "p");
    for (role, provider) in [
        ("coder", "openai"),
        ("coder", "openai"),
        ("coder", "replay"),
        ("planner", "openai"),
    ] {
        let mut c = call(Some(p.id), Some(0.1), None);
        c.role = role.into();
        c.provider = provider.into();
        store.record_llm_call(&c).unwrap();
    }
    let task = store
        .insert_task(&NewTask {
            project_id: p.id,
            iteration: 1,
            ordinal: 1,
            title: "t".into(),
            goal: "g".into(),
            files: vec![],
            verify: None,
        })
        .unwrap();
    store
        .set_task_status(task.id, TaskStatus::Done, None)
        .unwrap();
    let b = store.estimate_basis().unwrap();
    assert_eq!(b.projects, 1);
    assert_eq!(b.tasks, 1);
    assert_eq!(
        b.task_calls.get("coder"),
        Some(&2),
        "the replayed call is not counted"
    );
    assert_eq!(b.roles["coder"].calls, 2);
    assert_eq!(b.roles["coder"].input_tokens, 100.0);
    assert_eq!((b.plans, b.planned_tasks), (1, 1));
    let spent = store.project_cost_between(p.id, 0, None).unwrap();
    assert_eq!(spent.calls, 4);
    let none = store
        .project_cost_between(p.id, t.clock.now_ms() + 1, None)
        .unwrap();
    assert_eq!(none.calls, 0);
}
