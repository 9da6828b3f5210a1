//! Databases written by samocoder 0.1.0 (tests/fixtures/db-0.1.0) keep working: the schema is
//! migrated, the saved steps are read through the typed payloads, and a paused run carries on
//! from its last saved step.

use std::path::{Path, PathBuf};

use crate::common::Env;
use crate::common::agent::run;

/// Unpacks a fixture into the test's root and points its project at the unpacked directory.
fn unpack(env: &Env, archive: &str, project_dir: &str) -> (PathBuf, PathBuf) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/db-0.1.0");
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(fixtures.join(archive))
        .arg("-C")
        .arg(env.root.path())
        .status()
        .expect("tar runs");
    assert!(status.success());
    let home = env.root.path().join(if archive.starts_with("paused") {
        "home2"
    } else {
        "home"
    });
    let dir = env.root.path().join(project_dir).canonicalize().unwrap();
    let db = rusqlite::Connection::open(home.join("samocoder.db")).unwrap();
    db.execute("UPDATE projects SET dir = ?1", [dir.to_str().unwrap()])
        .unwrap();
    (home, dir)
}

#[test]
fn a_run_paused_by_0_1_0_is_resumed_to_the_end() {
    let env = Env::new();
    let (home, dir) = unpack(&env, "paused-0.1.0.tar.gz", "todo2");
    let cassette = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/todo/cassette.jsonl");
    let r = run(
        &env,
        &[
            "resume",
            "todo",
            "--replay",
            cassette.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[("SAMOCODER_HOME", home.to_str().unwrap())],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let done = r.finished();
    assert_eq!(done["tasks_done"], 2, "{}", r.describe());
    // 8 answers were saved by 0.1.0; only the last two are asked for.
    assert_eq!(
        r.of_type("model_call_finished").len(),
        2,
        "{}",
        r.describe()
    );
    assert_eq!(r.of_type("tests_run").last().unwrap()["status"], "passed");
    assert!(dir.join("todo/cli.py").is_file());
    let db = rusqlite::Connection::open(home.join("samocoder.db")).unwrap();
    let unthreaded: i64 = db
        .query_row("SELECT COUNT(*) FROM steps WHERE thread = ''", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(unthreaded, 0, "every old step got its thread column");
}

#[test]
fn a_project_finished_by_0_1_0_is_shown_with_its_history() {
    let env = Env::new();
    let (home, _dir) = unpack(&env, "done-0.1.0.tar.gz", "todo");
    let vars = [("SAMOCODER_HOME", home.to_str().unwrap())];
    let out = env
        .cmd()
        .args(["show", "todo", "--json"])
        .envs(vars)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let show: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(show["status"], "done", "{show}");
    // A finished project says so instead of running again.
    let r = run(&env, &["resume", "todo", "--yes"], &vars);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("is done"), "{}", r.stderr);
}
