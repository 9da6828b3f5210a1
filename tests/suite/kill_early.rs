//! `kill -9` in the first milliseconds of `new` (first database creation, `git init`, the
//! `.gitignore`, the first steps), then `resume` (or `new` again when no project was recorded
//! yet): whatever the moment of the kill, the end is a finished project with its `.gitignore`
//! committed, no `.env` or libgit2 probe file in any commit, a database that opens, and every
//! replayed answer counted once. Also the crash states of those edges made by hand.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common::Env;
use crate::common::agent::{Cassette, Run, run, run_command, task_done, write_file};

const NAME: &str = "early";

/// One task whose command makes a `.env` and a `node_modules/` (neither may be committed).
fn cassette() -> Cassette {
    Cassette::new(NAME)
        .spec()
        .architecture("test -f a.txt")
        .plan(&["Files"])
        .tools(vec![
            run_command(
                "printf 'KEY=1\\n' > .env; mkdir -p node_modules/x; echo x > node_modules/x/i.js",
            ),
            write_file("a.txt", "a\n"),
            task_done("a.txt"),
        ])
}

fn new_args(path: &Path) -> Vec<String> {
    ["new", "--replay", path.to_str().unwrap(), "--yes", "--json"]
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

fn go(env: &Env, args: &[String]) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(env, &args, &[])
}

/// Every path of every commit reachable from HEAD.
fn committed_paths(dir: &Path) -> Vec<(String, Vec<String>)> {
    let repo = git2::Repository::open(dir).unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push_head().unwrap();
    walk.map(|id| {
        let commit = repo.find_commit(id.unwrap()).unwrap();
        let mut paths = Vec::new();
        commit
            .tree()
            .unwrap()
            .walk(git2::TreeWalkMode::PreOrder, |root, entry| {
                paths.push(format!("{root}{}", entry.name().unwrap_or("?")));
                git2::TreeWalkResult::Ok
            })
            .unwrap();
        (
            commit.summary().ok().flatten().unwrap_or("").to_string(),
            paths,
        )
    })
    .collect()
}

fn is_probe(path: &str) -> bool {
    samocoder::workspace::git::is_libgit2_probe_name(path.rsplit('/').next().unwrap_or(path))
}

/// The invariants of a finished project, whatever happened before.
fn check_finished(env: &Env, c: &Cassette, last: &Run, what: &str) {
    assert_eq!(last.code, 0, "{what}: {}", last.describe());
    let dir = env.work().join(NAME);
    assert!(
        dir.join(".gitignore").is_file(),
        "{what}: .gitignore missing"
    );
    let commits = committed_paths(&dir);
    assert!(!commits.is_empty(), "{what}: no commit");
    for (summary, paths) in &commits {
        assert!(
            !paths
                .iter()
                .any(|p| p == ".env" || p.starts_with("node_modules") || is_probe(p)),
            "{what}: commit {summary:?} holds {paths:?}"
        );
    }
    assert!(
        commits[0].1.iter().any(|p| p == ".gitignore"),
        "{what}: .gitignore not committed"
    );
    let projects = env.cmd().args(["projects"]).output().unwrap();
    assert!(
        projects.status.success(),
        "{what}: the database does not open"
    );
    let usage = env.cmd().args(["usage", "--json"]).output().unwrap();
    assert!(usage.status.success(), "{what}: usage failed");
    let v: Value = serde_json::from_slice(&usage.stdout).unwrap();
    assert_eq!(
        v["totals"]["requests"],
        c.len(),
        "{what}: calls counted: {v}"
    );
    assert_eq!(v["totals"]["ok"], c.len(), "{what}: calls counted: {v}");
}

/// Runs `new` until the cassette ends after the spec: a project recorded, its repository
/// made, no commit yet.
fn after_the_spec(env: &Env) {
    let first = Cassette::new(NAME)
        .spec()
        .write(&env.root.path().join("spec.jsonl"));
    let r = go(env, &new_args(&first));
    assert_ne!(
        r.code,
        0,
        "the cassette ends after the spec: {}",
        r.describe()
    );
}

/// Regression: a kill between `git init` and writing `.gitignore` lost it for good, and later
/// checkpoints committed `.env` and `node_modules/`.
#[test]
fn regression_a_kill_between_git_init_and_the_gitignore_lost_it_for_good() {
    let env = Env::new();
    let c = cassette();
    after_the_spec(&env);
    let dir = env.work().join(NAME);
    // The state that kill left: a repository without a commit, and no `.gitignore`.
    std::fs::remove_file(dir.join(".gitignore")).unwrap();
    assert!(git2::Repository::open(&dir).unwrap().head().is_err());
    let path = c.write(&env.root.path().join("c.jsonl"));
    let r = go(&env, &resume_args(&path));
    check_finished(&env, &c, &r, "resume");
    assert_eq!(
        std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
        samocoder::workspace::DEFAULT_GITIGNORE
    );
    assert!(
        !r.of_type("user_edits")
            .iter()
            .any(|e| e.to_string().contains(".gitignore")),
        "samocoder's own .gitignore was taken for the user's edit: {}",
        r.describe()
    );
}

/// Regression: libgit2's `_git2_*` probe file, left by a kill during `git init`, was
/// committed in task 1. A user's file that only starts the same way is theirs.
#[test]
fn regression_libgit2_probe_file_left_by_a_killed_init_was_committed_in_task_1() {
    let env = Env::new();
    let c = cassette();
    after_the_spec(&env);
    let dir = env.work().join(NAME);
    std::fs::write(dir.join("_git2_abc123"), "").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("testing", dir.join("_git2_0123456789abcdef")).unwrap();
    std::fs::write(dir.join("_git2_notes.txt"), "mine\n").unwrap();
    let path = c.write(&env.root.path().join("c.jsonl"));
    let r = go(&env, &resume_args(&path));
    check_finished(&env, &c, &r, "resume");
    assert!(std::fs::symlink_metadata(dir.join("_git2_abc123")).is_err());
    assert!(std::fs::symlink_metadata(dir.join("_git2_0123456789abcdef")).is_err());
    assert_eq!(
        std::fs::read_to_string(dir.join("_git2_notes.txt")).unwrap(),
        "mine\n"
    );
    assert!(
        committed_paths(&dir)[0]
            .1
            .iter()
            .any(|p| p == "_git2_notes.txt")
    );
}

/// Kills `new` after each delay of a sweep over its first ~150 ms, then carries on.
#[test]
fn kill_9_in_the_first_milliseconds_always_recovers() {
    let c = cassette();
    let delays_ms = [0u64, 5, 12, 20, 28, 34, 38, 42, 46, 55, 80, 150];
    // Two at a time: the machine has two cores, and each case is two or three processes.
    std::thread::scope(|scope| {
        for pair in delays_ms.chunks(2) {
            let handles: Vec<_> = pair
                .iter()
                .map(|&ms| {
                    let c = &c;
                    scope.spawn(move || kill_and_recover(c, ms))
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
        }
    });
}

fn kill_and_recover(c: &Cassette, ms: u64) {
    let env = Env::new();
    let path = c.write(&env.root.path().join("c.jsonl"));
    let mut child = env
        .std_cmd()
        .args(new_args(&path))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    let _ = child.kill();
    child.wait().unwrap();
    let what = format!("killed after {ms} ms");
    // No project recorded yet (killed before or during the first database write): `new` again.
    let recorded = env.home().join("samocoder.db").exists()
        && env
            .cmd()
            .args(["show", NAME])
            .output()
            .unwrap()
            .status
            .success();
    let dir = env.work().join(NAME);
    // What the kill interrupted, for whoever reads the test's output (not asserted: it
    // depends on the machine's load).
    eprintln!(
        "{what}: database {}, project {}, .git {}, .gitignore {}, commits {}",
        env.home().join("samocoder.db").exists(),
        recorded,
        dir.join(".git").exists(),
        dir.join(".gitignore").exists(),
        git2::Repository::open(&dir)
            .ok()
            .and_then(|r| r.head().ok().map(|_| "some"))
            .unwrap_or("none"),
    );
    let last = if recorded {
        go(&env, &resume_args(&path))
    } else {
        go(&env, &new_args(&path))
    };
    check_finished(&env, c, &last, &what);
}
