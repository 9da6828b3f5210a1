//! The database as the user meets it: `projects`, `show`, `rm`, and refusals of files that
//! are not (or no longer) a database this samocoder can use, which must stay byte for byte.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use samocoder::clock::SystemClock;
use samocoder::store::{NewLlmCall, NewProject, NewTask, Store, TaskStatus};
use serde_json::Value;

use crate::common::{self, Env};

fn db_path(env: &Env) -> PathBuf {
    env.home().join("samocoder.db")
}

fn store(env: &Env) -> Store {
    Store::open(&db_path(env), Arc::new(SystemClock)).unwrap()
}

/// A project `todo` with a directory, a spec, two tasks (one failed) and two model calls, one
/// of unknown price.
fn seed(env: &Env) -> (Store, PathBuf) {
    let s = store(env);
    let dir = env.work().join("todo");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/main.py"), "print('hi')\n").unwrap();
    let p = s
        .create_project(&NewProject {
            name: "todo".into(),
            dir: dir.clone(),
            description: "a todo CLI".into(),
            template: None,
            budget_usd: Some(1.0),
        })
        .unwrap();
    s.set_project_spec(
        p.id,
        "# Todo\nAdd, list and remove todos.\nStored in a JSON file.",
    )
    .unwrap();
    s.upsert_file(p.id, "src/main.py", &"0".repeat(64), 12)
        .unwrap();
    for (i, title) in ["Write the CLI", "Write the tests"].iter().enumerate() {
        s.insert_task(&NewTask {
            project_id: p.id,
            iteration: 1,
            ordinal: i as i64 + 1,
            title: title.to_string(),
            goal: String::new(),
            files: vec![],
            verify: None,
        })
        .unwrap();
    }
    let tasks = s.list_tasks(p.id).unwrap();
    s.set_task_status(tasks[0].id, TaskStatus::Done, None)
        .unwrap();
    s.set_task_status(
        tasks[1].id,
        TaskStatus::Failed,
        Some("2 tests failed\nmore"),
    )
    .unwrap();
    for cost in [Some(0.12345), None] {
        s.record_llm_call(&NewLlmCall {
            project_id: Some(p.id),
            role: "coder".into(),
            provider: "openai".into(),
            model: "gpt-x".into(),
            cost_usd: cost,
            ..NewLlmCall::default()
        })
        .unwrap();
    }
    (s, dir)
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", common::stdout(out)))
}

#[test]
fn projects_without_a_database_lists_nothing_and_creates_nothing() {
    let env = Env::new();
    let out = env.cmd().arg("projects").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert_eq!(common::stdout(&out), "");
    assert!(common::stderr(&out).contains("No projects yet"));
    let out = env.cmd().args(["projects", "--json"]).output().unwrap();
    assert_eq!(json(&out), serde_json::json!([]));
    assert!(!db_path(&env).exists());
}

#[test]
fn projects_lists_cost_with_unknown_marked() {
    let env = Env::new();
    let (_s, dir) = seed(&env);
    let out = env.cmd().arg("projects").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{text}");
    assert!(lines[1].starts_with("todo "), "{text}");
    assert!(lines[1].contains(&dir.display().to_string()), "{text}");
    assert!(lines[1].contains(" new "), "{text}");
    assert!(lines[1].ends_with("$0.1235 + unknown"), "{text}");

    let out = env.cmd().args(["projects", "--json"]).output().unwrap();
    let v = json(&out);
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["name"], "todo");
    assert_eq!(v[0]["status"], "new");
    assert_eq!(v[0]["cost_usd"], 0.12345);
    assert_eq!(v[0]["cost_unknown"], true);
    assert_eq!(v[0]["calls"], 2);
    assert_eq!(v[0]["dir"], dir.display().to_string());
}

#[test]
fn show_gives_details_and_json() {
    let env = Env::new();
    let (_s, dir) = seed(&env);
    let out = env.cmd().args(["show", "todo"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    for want in [
        &format!("Directory:   {}", dir.display()),
        "Status:      new",
        "Description: a todo CLI",
        "Cost:        $0.1235 + unknown",
        "Budget:      $1.0000, $0.8765 left",
        "Last error:  Write the tests: 2 tests failed",
        "  Add, list and remove todos.",
        "Tasks:       1 of 2 done",
        "done",
        "failed",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let out = env.cmd().args(["show", "todo", "--json"]).output().unwrap();
    let v = json(&out);
    assert_eq!(v["name"], "todo");
    assert_eq!(v["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(v["tasks"][1]["status"], "failed");
    assert_eq!(v["last_error"]["error"], "2 tests failed\nmore");
    assert!((v["budget_left_usd"].as_f64().unwrap() - 0.87655).abs() < 1e-9);
    assert!(v["spec"].as_str().unwrap().starts_with("# Todo"));
}

#[test]
fn unknown_project_is_a_usage_error() {
    let env = Env::new();
    for args in [["show", "nope"], ["rm", "nope"]] {
        let out = env.cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(
            common::stderr(&out).contains("no project named nope; see `samocoder projects`"),
            "{}",
            common::stderr(&out)
        );
    }
    seed(&env);
    let out = env.cmd().args(["show", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn listed(env: &Env) -> usize {
    let out = env.cmd().args(["projects", "--json"]).output().unwrap();
    json(&out).as_array().unwrap().len()
}

#[test]
fn rm_forgets_and_keeps_the_directory_and_the_money() {
    let env = Env::new();
    let (_s, dir) = seed(&env);
    let out = env.cmd().args(["rm", "todo"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("Forgot project todo"));
    assert_eq!(listed(&env), 0);
    assert!(dir.join("src/main.py").exists());
    let s = store(&env);
    let audit = s.list_audit(None, 1).unwrap();
    assert_eq!(audit[0].action, "project.forget");
    assert_eq!(audit[0].detail["files_deleted"], false);
    let usage = samocoder::usage::report(&s, &samocoder::usage::UsageQuery::default()).unwrap();
    assert_eq!(usage.totals.requests, 2);
}

#[test]
fn rm_files_without_yes_and_no_terminal_deletes_nothing() {
    let env = Env::new();
    let (_s, dir) = seed(&env);
    let out = env.cmd().args(["rm", "todo", "--files"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("--yes"),
        "{}",
        common::stderr(&out)
    );
    assert!(dir.join("src/main.py").exists());
    assert_eq!(listed(&env), 1);
}

#[test]
fn rm_files_with_yes_deletes_the_directory() {
    let env = Env::new();
    let (_s, dir) = seed(&env);
    let out = env
        .cmd()
        .args(["rm", "todo", "--files", "--yes", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert_eq!(json(&out)["files_deleted"], true);
    assert!(!dir.exists());
    assert_eq!(listed(&env), 0);
    let audit = store(&env).list_audit(None, 1).unwrap();
    assert_eq!(audit[0].detail["files_deleted"], true);
}

fn project_at(env: &Env, name: &str, dir: &Path) {
    store(env)
        .create_project(&NewProject {
            name: name.into(),
            dir: dir.to_path_buf(),
            description: String::new(),
            template: None,
            budget_usd: None,
        })
        .unwrap();
}

#[test]
fn rm_files_refuses_home_root_missing_and_strange_directories() {
    let env = Env::new();
    let home = env.root.path().to_path_buf(); // HOME in env.cmd()
    let stranger = env.work().join("someone-elses");
    std::fs::create_dir_all(&stranger).unwrap();
    std::fs::write(stranger.join("keep.txt"), "mine").unwrap();
    let cases = [
        ("home", home.clone(), "home directory"),
        ("root", PathBuf::from("/"), "root"),
        ("gone", env.work().join("gone"), "does not exist"),
        ("stranger", stranger.clone(), "does not look like"),
        ("data", env.home(), "samocoder's own files"),
    ];
    for (name, dir, why) in &cases {
        project_at(&env, name, dir);
        let out = env
            .cmd()
            .args(["rm", name, "--files", "--yes"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: {}",
            common::stderr(&out)
        );
        let err = common::stderr(&out);
        assert!(err.contains(why), "{name}: {err}");
        assert!(err.contains("nothing was changed"), "{name}: {err}");
    }
    assert!(home.exists());
    assert!(stranger.join("keep.txt").exists());
    assert_eq!(listed(&env), cases.len());
}

/// Runs every database command against the file and checks: exit 2, the path named, the bytes
/// unchanged.
fn assert_refused(env: &Env, what: &str) {
    let path = db_path(env);
    let before = std::fs::read(&path).unwrap();
    for args in [
        vec!["projects"],
        vec!["projects", "--json"],
        vec!["show", "x"],
        vec!["rm", "x"],
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{what} {args:?}: {}",
            common::stderr(&out)
        );
        let err = common::stderr(&out);
        assert!(err.contains(&path.display().to_string()), "{what}: {err}");
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "{what}: file was modified"
        );
    }
}

#[test]
fn random_bytes_are_refused_untouched() {
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    let bytes: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(db_path(&env), &bytes).unwrap();
    assert_refused(&env, "random bytes");
}

#[test]
fn a_truncated_database_is_refused_untouched() {
    let env = Env::new();
    drop(seed(&env));
    let path = db_path(&env);
    assert!(!Path::new(&format!("{}-wal", path.display())).exists());
    let full = std::fs::read(&path).unwrap();
    let half = full.len() / 2 / 4096 * 4096;
    assert!(half >= 4096);
    std::fs::write(&path, &full[..half]).unwrap();
    assert_refused(&env, "truncated");
}

#[test]
fn a_database_from_a_newer_samocoder_is_refused_untouched() {
    let env = Env::new();
    drop(seed(&env));
    let path = db_path(&env);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA user_version = 9999;")
            .unwrap();
    }
    assert_refused(&env, "future");
    let out = env.cmd().arg("projects").output().unwrap();
    assert!(common::stderr(&out).contains("newer samocoder"));
}

/// Regression: a process killed while it created the database left a hot rollback journal, and
/// every later command failed with "readonly database (776)" (the file was only ever opened
/// read-only to be checked). The journal is rolled back first, as SQLite's own recovery does.
#[test]
fn regression_a_kill_during_the_first_database_creation_is_recovered() {
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    let db = env.home().join("samocoder.db");
    // A write transaction cut off after it spilled pages into the file: a hot journal.
    let script = format!(
        "import sqlite3, os\nc = sqlite3.connect({:?}, isolation_level=None)\nc.execute('PRAGMA cache_size=1')\nc.execute('BEGIN')\nc.execute('CREATE TABLE projects (x)')\nfor i in range(3000):\n    c.execute('INSERT INTO projects VALUES (?)', ('x' * 500,))\nos._exit(0)\n",
        db.to_str().unwrap()
    );
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .status()
        .expect("python3 runs");
    assert!(status.success());
    let journal = env.home().join("samocoder.db-journal");
    assert!(journal.is_file(), "the interrupted write left its journal");
    let out = env.cmd().args(["projects", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!journal.exists());
    let out = env.cmd().args(["usage", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
