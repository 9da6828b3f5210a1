//! `samocoder templates` and the starter templates themselves: each renders and its own test
//! command passes.

use std::path::{Path, PathBuf};
use std::process::Command;

use samocoder::templates::{self, ProjectVars};

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
        // A second render into the same directory refuses and changes nothing.
        assert!(templates::render_starter(&starter.name, &ws, &vars).is_err());
    }
}
