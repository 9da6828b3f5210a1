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
