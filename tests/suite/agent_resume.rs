//! `kill -9` at chosen points of a run, then `resume --replay <same cassette>`: the same final
//! tree as an uninterrupted run, no duplicated usage rows, tasks or checkpoints.
//!
//! The kill points are made precise with commands that sleep only when `E2E_SLOW` names them
//! (the variable reaches the child; the resumed run does not set it), and with a fake provider
//! whose first token is slow for a kill while a model call is in flight.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::Env;
use crate::common::agent::{
    Cassette, count, git_log, run, run_and_kill, run_command, task_done, tree, write_file,
};
use crate::common::fake_provider::{FakeProvider, Timing};

const NAME: &str = "kills";

/// Two tasks; task 1 runs a command before writing anything, then writes a and b, runs a
/// command, writes c; the test command checks a and c.
fn cassette() -> Cassette {
    Cassette::new(NAME)
        .spec()
        .architecture(r#"[ "$E2E_SLOW" = verify ] && sleep 5; test -f a.txt && test -f c.txt"#)
        .plan(&["First files", "Second file"])
        .tools(vec![run_command(
            r#"[ "$E2E_SLOW" = before ] && sleep 5; echo start"#,
        )])
        .tools(vec![
            write_file("a.txt", "a\n"),
            write_file("b.txt", "b\n"),
            run_command(r#"[ "$E2E_SLOW" = mid ] && sleep 5; echo middle"#),
            write_file("c.txt", "c\n"),
        ])
        .tools(vec![task_done("a, b and c")])
        .tools(vec![write_file("d.txt", "d\n"), task_done("d")])
}

/// `E2E_SLOW` reaches the commands only because it is passed through explicitly: the child
/// environment is an allow-list.
fn new_args(path: &Path) -> Vec<String> {
    [
        "-c",
        r#"exec.env_passthrough=["E2E_SLOW"]"#,
        "new",
        "--replay",
        path.to_str().unwrap(),
        "--yes",
        "--json",
    ]
    .map(String::from)
    .to_vec()
}

fn resume_args(path: &Path) -> Vec<String> {
    [
        "resume",
        NAME,
        "--replay",
        path.to_str().unwrap(),
        "--yes",
        "--json",
    ]
    .map(String::from)
    .to_vec()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The tree of an uninterrupted run.
fn reference(c: &Cassette) -> BTreeMap<String, Vec<u8>> {
    let env = Env::new();
    let path = c.write(&env.root.path().join("c.jsonl"));
    let r = run(&env, &strs(&new_args(&path)), &[]);
    assert_eq!(r.code, 0, "{}", r.describe());
    tree(&env.work().join(NAME))
}

/// Resumes after a kill and checks the result against the uninterrupted run.
fn resume_and_check(env: &Env, c: &Cassette, path: &Path, want: &BTreeMap<String, Vec<u8>>) {
    let r = run(env, &strs(&resume_args(path)), &[]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(r.finished()["status"], "done");
    let dir = env.work().join(NAME);
    let got = tree(&dir);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    assert!(got == *want, "file contents differ after resume");
    assert_eq!(
        count(env, "SELECT COUNT(*) FROM llm_calls WHERE outcome = 'ok'"),
        c.len() as i64,
        "usage rows"
    );
    assert_eq!(count(env, "SELECT COUNT(*) FROM tasks"), 2);
    assert_eq!(
        count(env, "SELECT COUNT(*) FROM tasks WHERE status = 'done'"),
        2
    );
    assert_eq!(
        git_log(&dir),
        ["Task 1: First files", "Task 2: Second file"]
    );
}

fn kill_then_resume(slow: Option<&str>, stop: impl FnMut(&Value) -> bool, delay_ms: u64) -> Env {
    let c = cassette();
    let want = reference(&c);
    let env = Env::new();
    let path = c.write(&env.root.path().join("c.jsonl"));
    let vars: Vec<(&str, &str)> = slow.map(|s| ("E2E_SLOW", s)).into_iter().collect();
    run_and_kill(
        &env,
        &strs(&new_args(&path)),
        &vars,
        stop,
        Duration::from_millis(delay_ms),
    );
    resume_and_check(&env, &c, &path, &want);
    env
}

#[test]
fn kill_during_a_task_before_any_file_write() {
    let mut answers = 0;
    kill_then_resume(
        Some("before"),
        |e| {
            answers += (e["type"] == "model_call_finished") as u32;
            answers == 4
        },
        300,
    );
}

/// Regression: a killed run's project showed `running` forever.
#[test]
fn regression_a_killed_runs_project_shows_interrupted_not_running() {
    let c = cassette();
    let want = reference(&c);
    let env = Env::new();
    let path = c.write(&env.root.path().join("c.jsonl"));
    run_and_kill(
        &env,
        &strs(&new_args(&path)),
        &[("E2E_SLOW", "mid")],
        |e| e["type"] == "file_written" && e["path"] == "b.txt",
        Duration::from_millis(100),
    );
    let out = env.cmd().args(["projects", "--json"]).output().unwrap();
    let projects: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(projects[0]["status"], "interrupted", "{projects:?}");
    let out = env
        .cmd()
        .args(["show", projects[0]["name"].as_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("interrupted"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    resume_and_check(&env, &c, &path, &want);
}

#[test]
fn kill_mid_task_after_some_writes() {
    let c = cassette();
    let want = reference(&c);
    let env = Env::new();
    let path = c.write(&env.root.path().join("c.jsonl"));
    run_and_kill(
        &env,
        &strs(&new_args(&path)),
        &[("E2E_SLOW", "mid")],
        |e| e["type"] == "file_written" && e["path"] == "b.txt",
        Duration::from_millis(300),
    );
    let dir = env.work().join(NAME);
    assert!(dir.join("b.txt").is_file() && !dir.join("c.txt").exists());
    resume_and_check(&env, &c, &path, &want);
}

#[test]
fn kill_during_the_test_run() {
    kill_then_resume(
        Some("verify"),
        |e| e["type"] == "tool_call" && e["name"] == "task_done",
        300,
    );
}

#[test]
fn kill_between_tasks() {
    kill_then_resume(None, |e| e["type"] == "task_finished" && e["index"] == 1, 0);
}

#[test]
fn kill_after_every_few_events_always_resumes_to_the_same_tree() {
    let c = cassette();
    let want = reference(&c);
    for k in (1..30).step_by(4) {
        let env = Env::new();
        let path = c.write(&env.root.path().join("c.jsonl"));
        let mut seen = 0;
        run_and_kill(
            &env,
            &strs(&new_args(&path)),
            &[],
            |_| {
                seen += 1;
                seen == k
            },
            Duration::ZERO,
        );
        resume_and_check(&env, &c, &path, &want);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_the_spec_call_then_resume_from_the_cassette() {
    let c = cassette();
    let want = reference(&c);
    let server = FakeProvider::start().await;
    server.set_timing(Timing {
        ttft_ms: 10_000,
        tokens_per_s: 0.0,
    });
    let env = Env::new();
    env.write_config(&format!(
        "[providers.fake]\nkind = \"openai\"\nbase_url = \"{}\"\n",
        server.base_url()
    ));
    let path = c.write(&env.root.path().join("c.jsonl"));
    run_and_kill(
        &env,
        &[
            "new",
            NAME,
            "-d",
            "kill test",
            "--model",
            "fake:m1",
            "--yes",
            "--json",
        ],
        &[],
        |e| e["type"] == "model_call_started" && e["role"] == "spec",
        Duration::from_millis(300),
    );
    assert_eq!(server.requests().len(), 1, "the spec call was in flight");
    assert!(!env.work().join(NAME).join("SPEC.md").exists());
    resume_and_check(&env, &c, &path, &want);
}

/// Regression: a run that stopped after a planning answer was accepted but before it was
/// applied asked the model again on resume (paying twice, and derailing a replay).
#[test]
fn regression_resume_after_an_accepted_spec_was_not_applied_asks_no_new_answer() {
    let c = cassette();
    let want = reference(&c);
    let env = Env::new();
    let path = c.write(&env.root.path().join("c.jsonl"));
    // A file size limit below the spec's size makes its write fail after it was accepted.
    let mut args = new_args(&path);
    args.extend(["-c".into(), "limits.max_file_bytes=10".into()]);
    let r = run(&env, &strs(&args), &[]);
    assert_ne!(r.code, 0, "{}", r.describe());
    assert_eq!(r.finished()["model_calls"], 1);
    assert!(!env.work().join(NAME).join("SPEC.md").exists());
    resume_and_check(&env, &c, &path, &want);
}

/// Regression: a kill while git was creating the project's repository left a `.git` without
/// HEAD, and every later run failed with "could not find repository".
#[test]
fn regression_kill_during_git_init_left_a_project_that_could_not_resume() {
    let c = cassette();
    let want = reference(&c);
    let env = Env::new();
    let path = c.write(&env.root.path().join("c.jsonl"));
    let dir = env.work().join(NAME);
    std::fs::create_dir_all(dir.join(".git/hooks")).unwrap();
    std::fs::write(dir.join(".git/description"), "Unnamed repository\n").unwrap();
    let mut args = new_args(&path);
    args.push("--force".into());
    let r = run(&env, &strs(&args), &[]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(tree(&dir), want);
}

/// Kills the run while task 1 runs its middle command (a and b written, c not yet).
fn kill_mid_task(env: &Env, c: &Cassette) -> std::path::PathBuf {
    let path = c.write(&env.root.path().join("c.jsonl"));
    run_and_kill(
        env,
        &strs(&new_args(&path)),
        &[("E2E_SLOW", "mid")],
        |e| e["type"] == "file_written" && e["path"] == "b.txt",
        Duration::from_millis(300),
    );
    path
}

/// Regression: the `.gitignore` samocoder writes with the repository was reported as the
/// user's edit on resume.
#[test]
fn regression_gitignore_made_by_samocoder_was_reported_as_a_user_edit() {
    let env = Env::new();
    let c = cassette();
    let path = kill_mid_task(&env, &c);
    let r = run(&env, &strs(&resume_args(&path)), &[]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(r.of_type("user_edits").is_empty(), "{}", r.describe());
}

/// Regression: a resumed task put the note about the user's edits between the last answer's
/// tool calls and their results, so the calls still pending were never run (and the
/// conversation sent to the model was invalid).
#[test]
fn regression_a_user_edit_note_on_resume_dropped_the_pending_tool_calls() {
    let env = Env::new();
    let c = cassette();
    let want = reference(&c);
    let path = kill_mid_task(&env, &c);
    let dir = env.work().join(NAME);
    std::fs::write(dir.join("b.txt"), "changed by the user\n").unwrap();
    let r = run(&env, &strs(&resume_args(&path)), &[]);
    assert_eq!(r.code, 0, "{}", r.describe());
    let edits = r.of_type("user_edits");
    assert_eq!(edits.len(), 1, "{}", r.describe());
    assert_eq!(edits[0]["modified"], serde_json::json!(["b.txt"]));
    // The pending command and write ran before the next answer was asked for.
    let types: Vec<&str> = r
        .events
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    let first_call = types
        .iter()
        .position(|t| *t == "model_call_started")
        .unwrap();
    let c_written = r
        .events
        .iter()
        .position(|e| e["type"] == "file_written" && e["path"] == "c.txt")
        .unwrap_or(usize::MAX);
    assert!(c_written < first_call, "{}", r.describe());
    let mut want = want;
    want.insert("b.txt".into(), b"changed by the user\n".to_vec());
    assert_eq!(tree(&dir), want);
}

/// Regression: a kill during an atomic write left its `.samocoder-tmp-*` file in the project,
/// and the resumed run committed it with the next checkpoint.
#[test]
fn regression_a_torn_temporary_file_from_a_killed_write_ended_up_in_the_checkpoint() {
    let env = Env::new();
    let c = cassette();
    let want = reference(&c);
    let path = kill_mid_task(&env, &c);
    let dir = env.work().join(NAME);
    // What a kill between the temporary write and its rename leaves behind.
    std::fs::write(dir.join(".samocoder-tmp-Ab12Cd"), "c\n").unwrap();
    resume_and_check(&env, &c, &path, &want);
    let repo = git2::Repository::open(&dir).unwrap();
    let head = repo.head().unwrap().peel_to_tree().unwrap();
    assert!(head.get_name(".samocoder-tmp-Ab12Cd").is_none());
}

/// Regression: a kill during a git commit left `.git/refs/heads/main.lock` (or `index.lock`),
/// and every later run failed with "failed to lock file".
#[test]
fn regression_a_git_lock_left_by_a_killed_commit_blocked_every_later_run() {
    let c = cassette();
    let want = reference(&c);
    let env = Env::new();
    let path = c.write(&env.root.path().join("c.jsonl"));
    kill_mid_task(&env, &c);
    let dir = env.work().join(NAME);
    std::fs::write(dir.join(".git/index.lock"), "").unwrap();
    std::fs::create_dir_all(dir.join(".git/refs/heads")).unwrap();
    std::fs::write(dir.join(".git/refs/heads/main.lock"), "").unwrap();
    resume_and_check(&env, &c, &path, &want);
    assert!(!dir.join(".git/index.lock").exists());
}

/// Regression: a replayed answer whose usage row was written but whose step was not saved (a
/// kill in between) was served again on resume and counted twice.
#[test]
fn regression_a_replayed_answer_served_again_after_a_kill_was_counted_twice() {
    let c = cassette();
    let want = reference(&c);
    let env = Env::new();
    let path = c.write(&env.root.path().join("c.jsonl"));
    let r = run(&env, &strs(&new_args(&path)), &[]);
    assert_eq!(r.code, 0, "{}", r.describe());
    // Undo everything after the last answer was recorded, as a kill right after the usage
    // row was written (before the answer's step was saved) would have left it.
    let db = rusqlite::Connection::open(env.home().join("samocoder.db")).unwrap();
    db.execute_batch(
        "DELETE FROM steps WHERE seq >= (SELECT MAX(seq) FROM steps WHERE kind = 'model_turn');
         UPDATE tasks SET status = 'in_progress', checkpoint = NULL WHERE ordinal = 2;
         UPDATE projects SET status = 'paused';",
    )
    .unwrap();
    drop(db);
    let dir = env.work().join(NAME);
    std::fs::remove_file(dir.join("d.txt")).unwrap();
    resume_and_check(&env, &c, &path, &want);
}

/// A second `resume` of a project that another process is working on is refused (exit 2)
/// instead of both writing to it.
#[test]
fn a_project_being_worked_on_is_not_resumed_twice_at_once() {
    let c = cassette();
    let env = Env::new();
    let path = c.write(&env.root.path().join("c.jsonl"));
    kill_mid_task(&env, &c);
    let id = count(&env, "SELECT id FROM projects");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(env.home().join("locks").join(format!("project-{id}.lock")))
        .unwrap();
    lock.try_lock().unwrap();
    let r = run(&env, &strs(&resume_args(&path)), &[]);
    assert_eq!(r.code, 2, "{}", r.describe());
    assert!(
        r.stderr.contains("another samocoder process"),
        "{}",
        r.describe()
    );
}

/// Regression: a file made by the model's own command in the middle of a task was reported as
/// the user's edit when the run was resumed after a stop.
#[test]
fn regression_files_made_by_the_models_commands_were_reported_as_user_edits() {
    let c = Cassette::new(NAME)
        .spec()
        .architecture("test -f made.txt")
        .plan(&["Make a file"])
        .tools(vec![run_command("echo x > made.txt")])
        .tools(vec![run_command(
            r#"[ "$E2E_SLOW" = yes ] && sleep 5; true"#,
        )])
        .tools(vec![task_done("made it")]);
    let env = Env::new();
    let path = c.write(&env.root.path().join("c.jsonl"));
    run_and_kill(
        &env,
        &strs(&new_args(&path)),
        &[("E2E_SLOW", "yes")],
        |e| e["type"] == "command_finished" && e["command"] == "echo x > made.txt",
        Duration::from_millis(500),
    );
    let r = run(&env, &strs(&resume_args(&path)), &[]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(r.of_type("user_edits").is_empty(), "{}", r.describe());
}

/// Regression: replayed answers were keyed by project id and answer position; ids are reused
/// after `rm`, so a new project replayed under the old id had every usage row dropped as a
/// duplicate ("0 model calls").
#[test]
fn regression_a_replay_after_rm_records_the_new_projects_calls() {
    let env = Env::new();
    let c = Cassette::new("again")
        .spec()
        .architecture("true")
        .plan(&["One"])
        .tools(vec![write_file("a.txt", "a\n"), task_done("a")]);
    let path = c.write(&env.root.path().join("c.jsonl"));
    let new = || {
        run(
            &env,
            &["new", "--replay", path.to_str().unwrap(), "--yes", "--json"],
            &[],
        )
    };
    let r = new();
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(r.finished()["model_calls"], 4);
    let out = env.cmd().args(["rm", "again", "--yes"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    std::fs::remove_dir_all(env.work().join("again")).unwrap();
    let r = new();
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(r.finished()["model_calls"], 4, "{}", r.describe());
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM llm_calls WHERE project_id IS NOT NULL"
        ),
        4
    );
}
