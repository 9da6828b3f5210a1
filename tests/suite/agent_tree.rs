//! What the user's own files do to a run: large binaries and dependency folders stay out of
//! checkpoints (and the run says so), and paths git cannot hold are refused before any
//! checkpoint depends on them.

use std::path::Path;

use crate::common::Env;
use crate::common::agent::{Cassette, run, task_done, write_file};

fn head_paths(dir: &Path, rev: &str) -> Vec<String> {
    let repo = git2::Repository::open(dir).unwrap();
    let tree = repo.revparse_single(rev).unwrap().peel_to_tree().unwrap();
    let mut out = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |root, e| {
        if e.kind() == Some(git2::ObjectType::Blob) {
            out.push(format!("{root}{}", e.name().unwrap()));
        }
        git2::TreeWalkResult::Ok
    })
    .unwrap();
    out.sort();
    out
}

/// Regression: the first checkpoint committed everything the user had put in the directory,
/// a 200 MB binary included, without a word.
#[test]
fn regression_the_first_checkpoint_took_a_large_user_binary_silently() {
    let env = Env::new();
    let dir = env.work().join("big");
    std::fs::create_dir_all(dir.join("web/node_modules/dep")).unwrap();
    // The user's own .gitignore, which names neither the binary nor node_modules.
    std::fs::write(dir.join(".gitignore"), "*.log\n").unwrap();
    std::fs::write(dir.join("model.bin"), vec![1u8; 6 * 1024 * 1024]).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    std::fs::write(dir.join("web/node_modules/dep/index.js"), "x\n").unwrap();
    let c = Cassette::new("big")
        .spec()
        .architecture("test -f app.sh")
        .plan(&["App"])
        .tools(vec![write_file("app.sh", "echo hi\n")])
        .tools(vec![task_done("app")]);
    let path = c.write(&env.root.path().join("c.jsonl"));
    let r = run(
        &env,
        &["new", "--replay", path.to_str().unwrap(), "--yes", "--json"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    // The directory is adopted: its files go into a base commit on `main`, by the rules of a
    // checkpoint, and the warning says what stayed out.
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("left out"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r.describe());
    assert!(
        warnings[0].contains("model.bin (6.0 MB)"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("web/node_modules/"), "{}", warnings[0]);
    assert_eq!(head_paths(&dir, "main"), [".gitignore", "notes.txt"]);
    // samocoder's branch adds only its own file: the binary never goes in.
    assert_eq!(
        head_paths(&dir, "samocoder/big-1"),
        [".gitignore", "app.sh", "notes.txt"]
    );
    // The binary is still there, untouched.
    assert_eq!(
        std::fs::metadata(dir.join("model.bin")).unwrap().len(),
        6 << 20
    );
}

/// Regression: a path nested deeper than libgit2 can walk was written, and the checkpoint
/// failed after every model call of the task had been paid.
#[test]
fn regression_a_path_too_deep_for_git_failed_the_checkpoint_after_the_calls_were_paid() {
    let env = Env::new();
    let deep = format!("{}x.txt", "d/".repeat(100));
    let c = Cassette::new("deep")
        .spec()
        .architecture("test -f ok.txt")
        .plan(&["Deep"])
        .tools(vec![write_file(&deep, "x\n")])
        .tools(vec![write_file("ok.txt", "ok\n")])
        .tools(vec![task_done("ok")]);
    let path = c.write(&env.root.path().join("c.jsonl"));
    let r = run(
        &env,
        &["new", "--replay", path.to_str().unwrap(), "--yes", "--json"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let refused: Vec<_> = r
        .of_type("tool_call")
        .into_iter()
        .filter(|e| e["ok"] == false)
        .collect();
    assert_eq!(refused.len(), 1, "{}", r.describe());
    assert!(
        refused[0]["error"]
            .as_str()
            .unwrap()
            .contains("nested 100 directories deep"),
        "{}",
        refused[0]
    );
    let dir = env.work().join("deep");
    assert!(!dir.join("d").exists());
    assert!(head_paths(&dir, "HEAD").contains(&"ok.txt".to_string()));
}
