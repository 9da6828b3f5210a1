//! Global behaviour of the command tree: help, version, exit codes, completions, man page.

use crate::common::{self, Env};

#[test]
fn help_for_the_root_and_every_subcommand() {
    let env = Env::new();
    let root = samocoder::cli::command();
    let mut paths: Vec<Vec<String>> = vec![vec![]];
    fn walk(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            let mut p = prefix.clone();
            p.push(sub.get_name().to_string());
            out.push(p.clone());
            walk(sub, p, out);
        }
    }
    walk(&root, vec![], &mut paths);
    assert!(paths.len() > 2);
    for p in paths {
        let out = env.cmd().args(&p).arg("--help").output().unwrap();
        assert!(
            out.status.success(),
            "help for {p:?} failed: {}",
            common::stderr(&out)
        );
        assert!(common::stdout(&out).contains("Usage:"), "{p:?}");
    }
}

#[test]
fn unknown_flag_is_usage_error_exit_2() {
    let env = Env::new();
    env.cmd().arg("--no-such-flag").assert().code(2);
}

#[test]
fn completions_and_man_page_render() {
    let env = Env::new();
    let out = env.cmd().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    assert!(common::stdout(&out).contains("_samocoder"));
    let out = env.cmd().arg("man").output().unwrap();
    assert!(out.status.success());
    assert!(common::stdout(&out).contains(".TH samocoder"));
}

#[test]
fn broken_pipe_on_stdout_is_not_an_error() {
    let env = Env::new();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("samocoder"))
        .args(["completions", "zsh"])
        .env("SAMOCODER_HOME", env.home())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(!common::stderr(&out).contains("panicked"));
}

/// `samocoder budget`: a project's own cap can be set, shown and cleared; bad amounts exit 2.
#[test]
fn a_project_budget_can_be_set_shown_and_cleared() {
    use crate::common::agent::{Cassette, run, task_done, write_file};
    let env = Env::new();
    let c = Cassette::new("capped")
        .spec()
        .architecture("true")
        .plan(&["One"])
        .tools(vec![write_file("a.txt", "a\n"), task_done("a")]);
    let path = c.write(&env.root.path().join("c.jsonl"));
    let r = run(
        &env,
        &["new", "--replay", path.to_str().unwrap(), "--yes"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let budget = |args: &[&str]| {
        let out = env.cmd().arg("budget").args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, _) = budget(&["capped"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("no budget"), "{out}");
    let (code, out, _) = budget(&["capped", "2.5"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("budget $2.50"), "{out}");
    let (code, out, _) = budget(&["capped", "--json"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["budget_usd"], 2.5);
    for bad in ["0", "-1", "nan", "1e20"] {
        let (code, _, err) = budget(&["capped", "--", bad]);
        assert_eq!(code, Some(2), "{bad}: {err}");
    }
    let (code, out, _) = budget(&["capped", "--clear"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("no budget"), "{out}");
    let (code, _, err) = budget(&["nosuch", "1"]);
    assert_eq!(code, Some(2), "{err}");
}
