//! `samocoder files`, `show` and `export PROJECT` on a project built offline by the replay
//! example (examples/todo/cassette.jsonl).

use std::path::PathBuf;

use serde_json::Value;

use crate::common::{Env, stderr, stdout};

/// Builds the todo example project under the scratch directory; returns its directory.
pub fn todo_project(env: &Env) -> PathBuf {
    let cassette = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/todo/cassette.jsonl");
    let out = env
        .cmd()
        .args(["new", "--yes", "--replay"])
        .arg(&cassette)
        .output()
        .unwrap();
    assert!(out.status.success(), "new failed: {}", stderr(&out));
    env.work().join("todo")
}

#[test]
fn tree_lists_files_with_sizes_and_hides_ignored_ones() {
    let env = Env::new();
    let dir = todo_project(&env);
    std::fs::write(dir.join("notes.tmp"), "scratch").unwrap();
    let gi = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    std::fs::write(dir.join(".gitignore"), format!("{gi}\n*.tmp\n")).unwrap();
    let out = env.cmd().args(["files", "todo"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("  todo/\n"), "{text}");
    assert!(text.contains("    store.py  ("), "{text}");
    assert!(text.contains(" lines)"), "{text}");
    assert!(!text.contains("notes.tmp"), "{text}");
    assert!(!text.contains(".git/"), "{text}");

    let out = env
        .cmd()
        .args(["files", "todo", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = v["files"].as_array().unwrap();
    let store = files.iter().find(|f| f["path"] == "todo/store.py").unwrap();
    assert!(store["size"].as_u64().unwrap() > 0);
    assert!(store["lines"].as_u64().unwrap() > 0);
    assert!(files.iter().all(|f| f["path"] != "notes.tmp"));

    let out = env
        .cmd()
        .args(["files", "todo", "tests", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dir"], "tests");
    assert!(
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["path"].as_str().unwrap().starts_with("tests/"))
    );
}

#[test]
fn a_file_path_shows_its_contents_and_refuses_what_it_cannot_show() {
    let env = Env::new();
    let dir = todo_project(&env);
    let out = env
        .cmd()
        .args(["files", "todo", "todo/store.py"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        std::fs::read_to_string(dir.join("todo/store.py")).unwrap()
    );

    let out = env
        .cmd()
        .args(["files", "todo", "todo/store.py", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["path"], "todo/store.py");
    assert!(v["content"].as_str().unwrap().contains("def "));

    std::fs::write(dir.join("logo.png"), [0x89, b'P', b'N', b'G', 0, 0, 1]).unwrap();
    std::fs::write(dir.join("big.txt"), "x".repeat(2 * 1024 * 1024)).unwrap();
    for (path, needle) in [
        ("logo.png", "not a text file"),
        ("big.txt", "more than the 1.0 MB"),
        ("../outside.txt", "refused"),
        ("/etc/passwd", "refused"),
        (".git/config", "refused"),
        ("missing.py", "no file `missing.py`"),
    ] {
        let out = env.cmd().args(["files", "todo", path]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{path}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{path}: {}", stderr(&out));
    }
    let out = env.cmd().args(["files", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn show_lists_spec_tasks_checkpoints_git_log_and_budget() {
    let env = Env::new();
    todo_project(&env);
    env.write_config("[budget]\nper_project_usd = 2.5\n");
    let out = env.cmd().args(["show", "todo"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "Spec:",
        "Tasks:       2 of 2 done",
        "Todo storage",
        "Checkpoints:",
        "Git log (last",
        "Task 1: Todo storage",
        "$2.5000",
        "(budget.per_project_usd)",
    ] {
        assert!(text.contains(needle), "missing {needle}: {text}");
    }
    let out = env.cmd().args(["show", "todo", "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cps = v["checkpoints"].as_array().unwrap();
    assert_eq!(cps.len(), 2);
    let log = v["git_log"].as_array().unwrap();
    let commits: Vec<&str> = log.iter().map(|c| c["commit"].as_str().unwrap()).collect();
    for c in cps {
        assert!(commits.contains(&c["commit"].as_str().unwrap()), "{v}");
    }
    assert_eq!(v["effective_budget_usd"], 2.5);
    assert_eq!(v["tasks"].as_array().unwrap().len(), 2);
}
