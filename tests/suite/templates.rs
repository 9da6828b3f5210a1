//! `samocoder templates` and the starter templates themselves: each renders and its own test
//! command passes.

use std::path::{Path, PathBuf};
use std::process::Command;

use samocoder::templates::{self, ProjectVars};

use serde_json::json;

use crate::common::agent::{Cassette, Run, call, run, task_done};
use crate::common::{self, Env};

#[test]
fn lists_starters_for_humans_and_as_json() {
    let env = Env::new();
    let out = env.cmd().arg("templates").output().unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(text.starts_with("NAME"), "{text}");
    for name in ["python-cli", "node-http", "rust-cli", "static-web"] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    let out = env.cmd().args(["--json", "templates"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v.as_array().unwrap();
    assert!(list.len() >= 4);
    for s in list {
        for key in [
            "name",
            "description",
            "stack",
            "language",
            "install",
            "test",
        ] {
            assert!(s[key].is_string(), "{key} missing in {s}");
        }
    }
}

/// Where `tool` is on PATH, if anywhere.
fn on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

fn run_test_command(starter: &str, cmd: &str, dir: &Path, scratch: &Path) {
    let tool = cmd.split_whitespace().next().unwrap();
    if on_path(tool).is_none() {
        println!("note: skipping the {starter} tests: {tool} is not on PATH");
        return;
    }
    let mut command = Command::new("sh");
    command.arg("-c").arg(cmd).current_dir(dir);
    if tool == "cargo" {
        command
            .env("CARGO_TARGET_DIR", scratch.join("cargo-target"))
            .env("CARGO_NET_OFFLINE", "true")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET_DIR");
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{starter}: `{cmd}` failed\nstdout:\n{}\nstderr:\n{}",
        common::stdout(&out),
        common::stderr(&out)
    );
}

#[test]
fn every_starter_renders_and_its_tests_pass() {
    let scratch = tempfile::tempdir().unwrap();
    // Quotes, backslashes and markup in user text must not break any generated file.
    let vars = ProjectVars::new(
        "Demo \"Quoted\" <App>",
        "Says \"hi\" with a \\ backslash, <b>tags</b> & {{ braces }}",
    )
    .unwrap();
    for starter in templates::list_starters().unwrap() {
        let dir = scratch.path().join(&starter.name);
        std::fs::create_dir(&dir).unwrap();
        let ws = samocoder::workspace::Workspace::open(&dir).unwrap();
        let rendered = templates::render_starter(&starter.name, &ws, &vars).unwrap();
        assert!(!rendered.files.is_empty());
        assert!(
            !rendered
                .files
                .iter()
                .any(|f| f.to_string_lossy().contains("{{")
                    || f.extension().is_some_and(|e| e == "jinja")),
            "{:?}",
            rendered.files
        );
        run_test_command(&starter.name, &rendered.test, &dir, scratch.path());
        // A second render into the same directory (a run killed before the architecture was
        // saved) finds its own files and changes nothing; a file changed since is the user's,
        // and the render refuses and changes nothing.
        let again = templates::render_starter(&starter.name, &ws, &vars).unwrap();
        assert_eq!(again.files, rendered.files);
        let changed = dir.join(&rendered.files[0]);
        std::fs::write(&changed, "the user's version\n").unwrap();
        assert!(templates::render_starter(&starter.name, &ws, &vars).is_err());
        assert_eq!(
            std::fs::read_to_string(&changed).unwrap(),
            "the user's version\n"
        );
    }
}

const STARTER_PROJECT: &str = "starter-app";

/// A run that picks the `python-cli` starter, then one task that only says it is done.
fn starter_cassette() -> Cassette {
    Cassette::new(STARTER_PROJECT)
        .spec()
        .tools(vec![call(
            "submit_architecture",
            json!({"stack": "python3", "template": "python-cli", "dependencies": [],
                   "install_command": null, "test_command": "true", "notes": "the starter"}),
        )])
        .plan(&["Scaffold"])
        .tools(vec![task_done("the starter is in place")])
}

fn starter_warnings(r: &Run) -> Vec<String> {
    r.of_type("warning")
        .iter()
        .filter_map(|w| w["message"].as_str())
        .filter(|m| m.contains("starter"))
        .map(String::from)
        .collect()
}

/// Regression: every run warned "starter template `python-cli` not used: .gitignore already
/// exists", because samocoder had written that `.gitignore` itself a moment earlier.
#[test]
fn regression_starter_template_was_never_applied_because_of_samocoders_own_gitignore() {
    let env = Env::new();
    let path = starter_cassette().write(&env.root.path().join("c.jsonl"));
    let r = run(
        &env,
        &["new", "--replay", path.to_str().unwrap(), "--yes", "--json"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(
        starter_warnings(&r).is_empty(),
        "{:?}",
        starter_warnings(&r)
    );
    let dir = env.work().join(STARTER_PROJECT);
    let ignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    assert!(
        ignore.starts_with(samocoder::workspace::DEFAULT_GITIGNORE),
        "{ignore}"
    );
    assert!(ignore.contains("*.py[cod]"), "{ignore}");
    let repo = git2::Repository::open(&dir).unwrap();
    let task1 = repo.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(task1.summary().unwrap(), Some("Task 1: Scaffold"));
    assert_eq!(task1.parent_count(), 0, "task 1 is the first commit");
    let tree = task1.tree().unwrap();
    for file in [
        ".gitignore",
        "pyproject.toml",
        "README.md",
        "starter_app/__init__.py",
        "starter_app/cli.py",
        "tests/test_cli.py",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
        assert!(
            tree.get_path(Path::new(file)).is_ok(),
            "{file} not committed in task 1"
        );
    }
    let blob = tree
        .get_path(Path::new(".gitignore"))
        .unwrap()
        .to_object(&repo)
        .unwrap();
    assert_eq!(blob.as_blob().unwrap().content(), ignore.as_bytes());
}

/// The user's own `.gitignore` (here: edited between the spec and the architecture) is never
/// overwritten or merged: the starter is not applied, and the warning names the file and says
/// what to do.
#[test]
fn a_users_own_gitignore_is_kept_byte_for_byte_and_the_starter_is_not_applied() {
    let env = Env::new();
    let full = starter_cassette();
    let spec_only = Cassette::new(STARTER_PROJECT).spec();
    let first = spec_only.write(&env.root.path().join("spec.jsonl"));
    let r = run(
        &env,
        &[
            "new",
            "--replay",
            first.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_ne!(
        r.code,
        0,
        "the cassette ends after the spec: {}",
        r.describe()
    );
    let dir = env.work().join(STARTER_PROJECT);
    let mine = "# mine\n*.log\n.env\n";
    std::fs::write(dir.join(".gitignore"), mine).unwrap();
    let path = full.write(&env.root.path().join("c.jsonl"));
    let r = run(
        &env,
        &[
            "resume",
            STARTER_PROJECT,
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let warnings = starter_warnings(&r);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(".gitignore") && warnings[0].contains("empty directory"),
        "{}",
        warnings[0]
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
        mine
    );
    assert!(!dir.join("pyproject.toml").exists());
}
