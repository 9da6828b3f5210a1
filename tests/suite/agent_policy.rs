//! Command approval and the refusals of `new` before anything runs: `--approve never` records
//! commands without running them; no terminal and no `--yes`/`--approve` is a usage error; a
//! directory with the user's files is adopted, never overwritten; project names are unique.

use crate::common::agent::{Cassette, count, run, run_command, task_done, write_file};
use crate::common::{Env, stderr};

fn cassette(name: &str) -> Cassette {
    Cassette::new(name)
        .spec()
        .architecture("touch tests-ran.txt")
        .plan(&["Do it"])
        .tools(vec![
            write_file("a.txt", "a\n"),
            run_command("touch command-ran.txt"),
        ])
        .tools(vec![task_done("done")])
}

#[test]
fn approve_never_records_commands_without_running_them() {
    let env = Env::new();
    let path = cassette("never").write(&env.root.path().join("c.jsonl"));
    let r = run(
        &env,
        &[
            "new",
            "--replay",
            path.to_str().unwrap(),
            "--approve",
            "never",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let dir = env.work().join("never");
    assert!(dir.join("a.txt").is_file());
    assert!(!dir.join("command-ran.txt").exists());
    assert!(!dir.join("tests-ran.txt").exists());
    let commands = r.of_type("command_finished");
    assert_eq!(commands.len(), 2, "{}", r.describe());
    assert!(commands.iter().all(|c| c["disposition"] == "recorded"));
    // The tests did not run: `tests_run` says so (it used to say `"passed": true`).
    let tests = r.of_type("tests_run");
    assert_eq!(tests.len(), 1, "{}", r.describe());
    assert_eq!(tests[0]["status"], "not_run");
    assert_eq!(tests[0]["passed"], false);
    assert!(
        tests[0]["reason"]
            .as_str()
            .unwrap()
            .contains("policy never"),
        "{}",
        r.describe()
    );
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM commands WHERE approval = 'recorded' AND exit_code IS NULL"
        ),
        2
    );
}

#[test]
fn no_terminal_without_yes_or_approve_is_a_usage_error_naming_yes() {
    let env = Env::new();
    let path = cassette("notty").write(&env.root.path().join("c.jsonl"));
    let out = env
        .cmd()
        .args(["new", "--replay", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert!(!env.work().join("notty").exists(), "nothing was created");

    // The same for resume.
    let out = env
        .cmd()
        .args(["resume", "notty", "--replay", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
}

/// Regression (issue 9): `new --force` on a directory with the user's files overwrote their
/// `SPEC.md` and swept their files into samocoder's "Task 1" commit on their own branch. Such a
/// directory is now adopted: its files are committed as they are in a commit named for what it
/// is, samocoder works on its own branch, and the directory is left as it was.
#[test]
fn regression_force_on_a_directory_with_the_users_files_adopts_it_instead_of_overwriting() {
    let env = Env::new();
    let path = cassette("full").write(&env.root.path().join("c.jsonl"));
    let dir = env.work().join("full");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mine.txt"), "mine\n").unwrap();
    std::fs::write(dir.join("SPEC.md"), "# my spec\n").unwrap();
    let r = run(
        &env,
        &[
            "new",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--force",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(
        r.stderr.contains("--force is no longer needed"),
        "{}",
        r.stderr
    );
    assert_eq!(env.read(dir.join("mine.txt")), "mine\n");
    assert_eq!(
        env.read(dir.join("SPEC.md")),
        "# my spec\n",
        "the user's SPEC.md is kept"
    );
    assert!(
        !dir.join("a.txt").exists(),
        "samocoder's work is on its branch"
    );
    let repo = git2::Repository::open(&dir).unwrap();
    assert_eq!(repo.head().unwrap().shorthand().unwrap(), "main");
    let main = repo.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(
        main.summary().unwrap(),
        Some("Existing files, as they were before samocoder (adopted)")
    );
    let ours = repo
        .revparse_single("samocoder/full-1")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    assert_eq!(ours.summary().unwrap(), Some("Task 1: Do it"));
    assert_eq!(ours.parent_id(0).unwrap(), main.id());
    assert!(ours.tree().unwrap().get_name("a.txt").is_some());
}

#[test]
fn a_duplicate_project_name_is_refused() {
    let env = Env::new();
    let path = cassette("twice").write(&env.root.path().join("c.jsonl"));
    let r = run(
        &env,
        &["new", "--replay", path.to_str().unwrap(), "--yes", "--json"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let other = env.work().join("elsewhere");
    let out = env
        .cmd()
        .args([
            "new",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--dir",
            other.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("resume twice"), "{}", stderr(&out));
    assert!(!other.exists());
    // Names are unique ignoring case.
    let out = env
        .cmd()
        .args([
            "new",
            "TWICE",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--dir",
            other.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(count(&env, "SELECT COUNT(*) FROM projects"), 1);
}
