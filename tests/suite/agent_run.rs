//! `samocoder new` end to end with replayed cassettes: the shipped todo example (files, its own
//! tests, git history, usage rows, `--json` events), the fix loop and its cap, and output cut
//! by the token limit.

use std::path::PathBuf;

use crate::common::Env;
use crate::common::agent::{
    Cassette, count, git_log, run, run_command, task_done, tree, write_file,
};

pub fn todo_cassette() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/todo/cassette.jsonl")
}

/// Answers in a cassette file (lines that are not comments or blank).
pub fn answers_in(path: &std::path::Path) -> i64 {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count() as i64
}

#[test]
fn the_todo_example_builds_tests_green_and_checkpoints() {
    let env = Env::new();
    let cassette = todo_cassette();
    let r = run(
        &env,
        &[
            "new",
            "--replay",
            cassette.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let end = r.finished();
    assert_eq!(end["status"], "done");
    assert_eq!(end["exit_code"], 0);
    assert_eq!(end["tasks_done"], 2);
    assert_eq!(end["tasks_total"], 2);
    assert_eq!(r.events[0]["type"], "run_started");

    // The fix loop ran once and converged.
    let fixes = r.of_type("fix_attempt");
    assert_eq!(fixes.len(), 1, "{}", r.describe());
    let tests: Vec<bool> = r
        .of_type("tests_run")
        .iter()
        .map(|e| e["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(tests, [true, false, true]);

    let dir = env.work().join("todo");
    let files = tree(&dir);
    for f in [
        "SPEC.md",
        "todo/__init__.py",
        "todo/store.py",
        "todo/cli.py",
        "todo/__main__.py",
        "tests/test_store.py",
        "tests/test_cli.py",
    ] {
        assert!(files.contains_key(f), "{f} missing: {:?}", files.keys());
    }
    assert!(
        String::from_utf8_lossy(&files["todo/cli.py"]).contains("item['text']"),
        "the fix was applied"
    );

    // The project's own tests pass.
    let out = std::process::Command::new("python3")
        .args(["-m", "unittest"])
        .current_dir(&dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(
        git_log(&dir),
        ["Task 1: Todo storage", "Task 2: Command-line interface"]
    );
    // The work tree is clean after the last checkpoint.
    let repo = git2::Repository::open(&dir).unwrap();
    let dirty = repo
        .statuses(None)
        .unwrap()
        .iter()
        .filter(|s| !s.status().is_ignored())
        .map(|s| s.path().unwrap_or_default().to_string())
        .collect::<Vec<_>>();
    assert!(dirty.is_empty(), "uncommitted: {dirty:?}");

    // One usage row per answer, all from the cassette.
    let answers = answers_in(&cassette);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM llm_calls"), answers);
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM llm_calls WHERE provider = 'replay' AND outcome = 'ok'"
        ),
        answers
    );
    assert_eq!(end["model_calls"], answers);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM tasks"), 2);

    let projects = env.cmd().args(["projects", "--json"]).output().unwrap();
    let text = String::from_utf8_lossy(&projects.stdout);
    assert!(projects.status.success(), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let todo = v
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == "todo"))
        .unwrap_or_else(|| panic!("no todo in {text}"));
    assert_eq!(todo["status"], "done", "{text}");
}

/// A task whose tests always fail the same way.
fn never_converges() -> Cassette {
    Cassette::new("stuck")
        .spec()
        .architecture("sh check.sh")
        .plan(&["Make check.sh pass"])
        .tools(vec![write_file(
            "check.sh",
            "echo 'FAIL: expected 2, got 3'; exit 1\n",
        )])
        .tools(vec![task_done("first try")])
        .tools(vec![run_command("true")])
        .tools(vec![task_done("second try")])
        .tools(vec![run_command("true")])
        .tools(vec![task_done("third try")])
}

#[test]
fn a_fix_loop_that_never_converges_stops_at_the_third_identical_failure_and_resume_retries() {
    let env = Env::new();
    let stuck = never_converges();
    let path = stuck.write(&env.root.path().join("stuck.jsonl"));
    let r = run(
        &env,
        &["new", "--replay", path.to_str().unwrap(), "--yes", "--json"],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.describe());
    let end = r.finished();
    assert_eq!(end["status"], "failed");
    assert_eq!(end["exit_code"], 1);
    let fixes = r.of_type("fix_attempt");
    assert_eq!(fixes.len(), 3, "{}", r.describe());
    assert_eq!(
        fixes
            .iter()
            .map(|f| f["repeated"] == true)
            .collect::<Vec<_>>(),
        [false, true, true]
    );
    let finished = r.of_type("task_finished");
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0]["status"], "failed");
    assert!(
        finished[0]["reason"]
            .as_str()
            .unwrap()
            .contains("three times"),
        "{}",
        r.describe()
    );
    // Every answer was used and no more were asked for.
    assert_eq!(end["model_calls"], stuck.len());
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM projects WHERE status = 'failed'"
        ),
        1
    );
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM tasks WHERE status = 'failed'"),
        1
    );
    assert!(git_log(&env.work().join("stuck")).is_empty());

    // Resume with a cassette that goes on from there and fixes it.
    let fixed = stuck
        .clone()
        .tools(vec![write_file("check.sh", "echo ok\n")])
        .tools(vec![task_done("fixed the check")]);
    let path = fixed.write(&env.root.path().join("fixed.jsonl"));
    let r = run(
        &env,
        &[
            "resume",
            "stuck",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(r.finished()["status"], "done");
    assert_eq!(r.finished()["tasks_done"], 1);
    assert_eq!(
        git_log(&env.work().join("stuck")),
        ["Task 1: Make check.sh pass"]
    );
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM llm_calls"),
        fixed.len() as i64
    );
    assert_eq!(count(&env, "SELECT COUNT(*) FROM tasks"), 1);
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM projects WHERE status = 'done'"),
        1
    );
}

#[test]
fn the_fix_loop_stops_at_max_fix_attempts_when_failures_differ() {
    let env = Env::new();
    // Each attempt fails differently (the output names the attempt), so only the cap stops it.
    let c = Cassette::new("capped")
        .spec()
        .architecture("sh check.sh")
        .plan(&["Make check.sh pass"])
        .tools(vec![write_file(
            "check.sh",
            "echo 'wrong answer A'; exit 1\n",
        )])
        .tools(vec![task_done("a")])
        .tools(vec![write_file(
            "check.sh",
            "echo 'wrong answer B'; exit 1\n",
        )])
        .tools(vec![task_done("b")]);
    let path = c.write(&env.root.path().join("c.jsonl"));
    let r = run(
        &env,
        &[
            "-c",
            "limits.max_fix_attempts=1",
            "new",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.describe());
    assert_eq!(r.finished()["status"], "failed");
    let reason = r.of_type("task_finished")[0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("after 1 fix attempts"), "{reason}");
    assert_eq!(r.finished()["model_calls"], c.len());
}

#[test]
fn output_cut_by_the_token_limit_is_never_written() {
    let env = Env::new();
    let c = Cassette::new("cut")
        .spec()
        .architecture("test -f notes.txt")
        .plan(&["Write the notes"])
        .answer(serde_json::json!({
            "tool_calls": [write_file("notes.txt", "first half of a long fi")],
            "finish": "truncated",
            "usage": {"input_tokens": 1000, "output_tokens": 4096},
        }))
        .tools(vec![write_file("notes.txt", "the whole file\n")])
        .tools(vec![task_done("notes written")]);
    let path = c.write(&env.root.path().join("cut.jsonl"));
    let r = run(
        &env,
        &["new", "--replay", path.to_str().unwrap(), "--yes", "--json"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let dir = env.work().join("cut");
    assert_eq!(env.read(dir.join("notes.txt")), "the whole file\n");
    // Only one write happened: the complete one.
    let writes = r.of_type("file_written");
    assert_eq!(writes.len(), 1, "{}", r.describe());
    assert_eq!(writes[0]["bytes"], 15);
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM llm_calls WHERE outcome = 'truncated'"
        ),
        1
    );
}

/// Regression: unusable planning answers were counted over all runs, so after three of them
/// every `resume` failed at once instead of giving the model fresh tries.
#[test]
fn regression_unusable_spec_answers_stop_the_run_but_resume_tries_again() {
    use crate::common::agent::call;
    let env = Env::new();
    let bad = || call("submit_spec", serde_json::json!({"spec_markdown": "  "}));
    let c = Cassette::new("vague")
        .tools(vec![bad()])
        .tools(vec![bad()])
        .tools(vec![bad()]);
    let path = c.write(&env.root.path().join("bad.jsonl"));
    let r = run(
        &env,
        &["new", "--replay", path.to_str().unwrap(), "--yes", "--json"],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.describe());
    assert!(
        r.finished()["message"]
            .as_str()
            .unwrap()
            .contains("the spec gave no usable submit_spec call in 3 tries"),
        "{}",
        r.describe()
    );

    let good = c
        .spec()
        .architecture("true")
        .plan(&["Write it"])
        .tools(vec![write_file("a.txt", "a\n"), task_done("wrote a")]);
    let path = good.write(&env.root.path().join("good.jsonl"));
    let r = run(
        &env,
        &[
            "resume",
            "vague",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(r.finished()["tasks_done"], 1);
}

/// `write_files` has each file written by its own model call; with a cassette the calls run
/// one at a time so the answers keep their order, even with `--jobs 4`.
#[test]
fn write_files_gets_each_file_from_its_own_writer_call() {
    let env = Env::new();
    let c = two_writers("writers");
    let path = c.write(&env.root.path().join("c.jsonl"));
    let r = run(
        &env,
        &[
            "new",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--json",
            "--jobs",
            "4",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let dir = env.work().join("writers");
    assert_eq!(
        std::fs::read_to_string(dir.join("a.txt")).unwrap(),
        "alpha\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("b.txt")).unwrap(),
        "beta\n"
    );
    let writers: Vec<_> = r
        .of_type("model_call_started")
        .into_iter()
        .filter(|e| e["role"] == "writer")
        .collect();
    assert_eq!(writers.len(), 2);
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM llm_calls WHERE role = 'writer'"),
        2
    );
}

/// A run that stops between two writers of one `write_files` call resumes with the second
/// writer only: the first file's answer is saved and not asked (or paid) for again.
#[test]
fn a_stop_between_writers_resumes_without_asking_the_first_writer_again() {
    let env = Env::new();
    let full = two_writers("halfway");
    let mut short = full.clone();
    short.lines.truncate(5);
    let path = short.write(&env.root.path().join("short.jsonl"));
    let r = run(
        &env,
        &[
            "new",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--json",
            "--jobs",
            "2",
        ],
        &[],
    );
    assert_eq!(
        r.code,
        2,
        "the cassette runs out at the second writer: {}",
        r.describe()
    );
    let path = full.write(&env.root.path().join("full.jsonl"));
    let r = run(
        &env,
        &[
            "resume",
            "halfway",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let dir = env.work().join("halfway");
    assert_eq!(
        std::fs::read_to_string(dir.join("a.txt")).unwrap(),
        "alpha\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("b.txt")).unwrap(),
        "beta\n"
    );
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM llm_calls WHERE outcome = 'ok'"),
        full.len() as i64
    );
    assert_eq!(
        r.finished()["model_calls"],
        2,
        "only the second writer and task_done: {}",
        r.describe()
    );
}

fn two_tasks(name: &str) -> Cassette {
    Cassette::new(name)
        .spec()
        .architecture("test -f a.txt")
        .plan(&["Write a", "Write b"])
        .tools(vec![write_file("a.txt", "a\n"), task_done("a")])
        .tools(vec![write_file("b.txt", "b\n"), task_done("b")])
}

/// `resume --from-task N` goes back to the checkpoint before task N on a new branch, keeps the
/// old branch and every task, and does task N again; a bad N is refused (exit 2) unchanged.
#[test]
fn from_task_redoes_tasks_on_a_new_branch_and_refuses_a_bad_task_number() {
    let env = Env::new();
    let c = two_tasks("redo");
    let path = c.write(&env.root.path().join("c.jsonl"));
    let r = run(
        &env,
        &["new", "--replay", path.to_str().unwrap(), "--yes", "--json"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let dir = env.work().join("redo");
    for bad in ["0", "3", "1"] {
        let r = run(
            &env,
            &["resume", "redo", "--from-task", bad, "--yes", "--json"],
            &[],
        );
        assert_eq!(r.code, 2, "--from-task {bad}: {}", r.describe());
    }
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM tasks"),
        2,
        "a refused restart changes nothing"
    );

    // An uncommitted change of the user's is kept, and the run says where.
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    let again = c
        .clone()
        .tools(vec![write_file("b.txt", "b again\n"), task_done("b again")]);
    let path = again.write(&env.root.path().join("again.jsonl"));
    let r = run(
        &env,
        &[
            "resume",
            "redo",
            "--from-task",
            "2",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(
        std::fs::read_to_string(dir.join("b.txt")).unwrap(),
        "b again\n"
    );
    let restarted = r.of_type("restarted");
    assert_eq!(restarted.len(), 1, "{}", r.describe());
    assert_eq!(restarted[0]["tasks"], 1);
    assert!(restarted[0]["kept_changes"].is_string(), "{}", r.describe());
    // Regression: the restart showed `[2/1]` and "3/3 tasks" for a two-task plan.
    let started = r.of_type("task_started");
    assert_eq!(
        (started[0]["index"].clone(), started[0]["total"].clone()),
        (2.into(), 2.into())
    );
    assert_eq!(
        (
            r.finished()["tasks_done"].clone(),
            r.finished()["tasks_total"].clone()
        ),
        (2.into(), 2.into())
    );
    // The plan is copied whole: tasks 1 (done) and 2 (redone) in a new iteration.
    assert_eq!(count(&env, "SELECT COUNT(*) FROM tasks"), 4);

    // Regression: a second `--from-task 2` said "tasks 1 to 1", and `--from-task 1` went
    // back to the checkpoint after task 2 instead of before task 1.
    let twice = again
        .clone()
        .tools(vec![write_file("b.txt", "b twice\n"), task_done("b twice")]);
    let path = twice.write(&env.root.path().join("twice.jsonl"));
    let r = run(
        &env,
        &[
            "resume",
            "redo",
            "--from-task",
            "2",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(
        std::fs::read_to_string(dir.join("b.txt")).unwrap(),
        "b twice\n"
    );
    let r = run(
        &env,
        &["resume", "redo", "--from-task", "1", "--yes", "--json"],
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.describe());
    assert!(
        r.stderr.contains("no checkpoint before the first task"),
        "{}",
        r.stderr
    );
    let branches = std::process::Command::new("git")
        .args(["branch", "--format=%(refname:short)"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let branches = String::from_utf8_lossy(&branches.stdout).to_string();
    assert!(branches.lines().any(|b| b == "main"), "{branches}");
    assert!(
        branches
            .lines()
            .any(|b| b.starts_with("samocoder/from-task-2-")),
        "{branches}"
    );
    let main_log = std::process::Command::new("git")
        .args(["log", "--format=%s", "main"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let main_log: Vec<String> = String::from_utf8_lossy(&main_log.stdout)
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        main_log.len(),
        3,
        "the old branch keeps its history and the user's change: {main_log:?}"
    );
    assert!(
        main_log[0].starts_with("Work in progress before restoring"),
        "{main_log:?}"
    );
}

/// A change request while tasks are still open is refused (exit 2): finish them first.
#[test]
fn a_change_request_with_open_tasks_is_refused() {
    let env = Env::new();
    let mut c = two_tasks("open");
    c.lines.truncate(4);
    let path = c.write(&env.root.path().join("c.jsonl"));
    let r = run(
        &env,
        &["new", "--replay", path.to_str().unwrap(), "--yes", "--json"],
        &[],
    );
    assert_eq!(
        r.code,
        2,
        "the cassette runs out in task 2: {}",
        r.describe()
    );
    let r = run(
        &env,
        &[
            "resume",
            "open",
            "-d",
            "more",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.describe());
    assert!(
        r.finished()["message"]
            .as_str()
            .unwrap()
            .contains("unfinished tasks"),
        "{}",
        r.describe()
    );
}

/// Bad flags of `new` are refused with exit 2 before anything is created.
#[test]
fn bad_run_flags_exit_2_and_create_nothing() {
    let env = Env::new();
    let path = todo_cassette();
    let replay = path.to_str().unwrap();
    let cases: [&[&str]; 7] = [
        &["--jobs", "0"],
        &["--max-cost=-1"],
        &["--max-cost", "0"],
        &["--template", "no-such-starter"],
        &["--model", "gpt-4.1"],
        &["--model", "nosuch:m"],
        &["--route", "nosuch"],
    ];
    for extra in cases {
        let mut args = vec!["new", "--replay", replay, "--yes"];
        args.extend_from_slice(extra);
        let r = run(&env, &args, &[]);
        assert_eq!(r.code, 2, "{extra:?}: {}", r.describe());
        assert_eq!(
            r.stderr.trim().lines().count(),
            1,
            "{extra:?}: one line: {}",
            r.stderr
        );
    }
    assert!(
        !env.home().join("samocoder.db").exists()
            || count(&env, "SELECT COUNT(*) FROM projects") == 0
    );
    assert!(!env.work().join("todo").exists());
}

/// Regression: `new --dir / --force` and `--dir ~ --force` ran `git init` and wrote a
/// `.gitignore` in `/` and the home directory, and a `--dir` in samocoder's own data directory
/// was taken (its export then shipped the database). They are refused, nothing written.
#[test]
fn regression_new_refuses_the_root_the_home_and_samocoders_own_directories() {
    let env = Env::new();
    let path = todo_cassette();
    let home = env.root.path().to_path_buf(); // the test's HOME
    let own = env.home(); // SAMOCODER_HOME
    std::fs::create_dir_all(&own).unwrap();
    let inside_own = own.join("projects/todo");
    for (dir, why) in [
        (PathBuf::from("/"), "root of the file system"),
        (home.clone(), "your home directory"),
        (own.clone(), "samocoder's own files"),
        (inside_own.clone(), "samocoder's own files"),
    ] {
        let r = run(
            &env,
            &[
                "new",
                "--replay",
                path.to_str().unwrap(),
                "--yes",
                "--force",
                "--dir",
                dir.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(r.code, 2, "{}: {}", dir.display(), r.describe());
        assert!(r.stderr.contains(why), "{}: {}", dir.display(), r.stderr);
    }
    assert!(!home.join(".git").exists());
    assert!(!home.join(".gitignore").exists());
    assert!(!own.join(".git").exists());
    assert!(!inside_own.exists());
}

/// A task whose files come from two writers of one `write_files` call.
fn two_writers(name: &str) -> Cassette {
    use crate::common::agent::call;
    use serde_json::json;
    Cassette::new(name)
        .spec()
        .architecture("grep -q alpha a.txt && grep -q beta b.txt")
        .plan(&["Two files"])
        .tools(vec![call(
            "write_files",
            json!({"files": [{"path": "a.txt", "instructions": "the word alpha"},
                             {"path": "b.txt", "instructions": "the word beta"}]}),
        )])
        .tools(vec![call("submit_file", json!({"content": "alpha\n"}))])
        .tools(vec![call("submit_file", json!({"content": "beta\n"}))])
        .tools(vec![task_done("two files")])
}
