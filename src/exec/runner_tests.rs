//! Tests of the real shell runner and the gate (Unix: they use `sh`, `sleep` and /proc-less
//! liveness checks through signal 0).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::kill;
use nix::unistd::Pid;

use super::*;
use crate::config::Env;

fn runner() -> ShellRunner {
    let env: Env = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("OPENAI_API_KEY", "sk-test-secret"),
        ("MY_TOKEN", "t"),
        ("KEEP_ME", "yes"),
    ]
    .into_iter()
    .collect();
    ShellRunner::new(child_env(&env, &["KEEP_ME".into()], &[], false))
        .with_grace(Duration::from_millis(200))
}

fn spec(cmd: &str, timeout_ms: u64) -> CommandSpec {
    CommandSpec::new(cmd, std::env::temp_dir(), Duration::from_millis(timeout_ms))
}

/// True when `pid` is gone (or a zombie waiting for its new parent to reap it).
fn gone(pid: i32) -> bool {
    if kill(Pid::from_raw(pid), None).is_err() {
        return true;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

async fn wait_gone(pid: i32) -> bool {
    for _ in 0..100 {
        if gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn first_pid(output: &str) -> i32 {
    output
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid in {output:?}"))
}

#[tokio::test]
async fn exit_codes_and_interleaved_output() {
    let out = runner()
        .run(spec("echo out; echo err >&2; exit 3", 10_000))
        .await
        .unwrap();
    assert_eq!(out.exit_code, Some(3));
    assert!(!out.success());
    assert_eq!(out.output, "out\nerr\n");
    assert_eq!(
        out.status_line().split(" after").next(),
        Some("exit code 3")
    );
    let ok = runner().run(spec("true", 10_000)).await.unwrap();
    assert!(ok.success() && ok.output.is_empty() && !ok.truncated);
}

#[tokio::test]
async fn stdin_is_empty_and_secrets_are_not_inherited() {
    let out = runner().run(spec("cat; env", 10_000)).await.unwrap();
    assert!(out.success());
    assert!(out.output.contains("KEEP_ME=yes"), "{}", out.output);
    assert!(!out.output.contains("OPENAI_API_KEY") && !out.output.contains("sk-test-secret"));
    assert!(!out.output.contains("MY_TOKEN"));
}

#[tokio::test]
async fn timeout_kills_the_command_and_its_children_quickly() {
    let started = Instant::now();
    let out = runner()
        .run(spec("sleep 30 & echo $!; sleep 30", 300))
        .await
        .unwrap();
    assert!(out.timed_out && !out.success(), "{out:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        wait_gone(first_pid(&out.output)).await,
        "the background sleep survived"
    );
    assert!(out.status_line().starts_with("timed out"));
}

#[tokio::test]
async fn background_servers_are_not_left_behind() {
    let out = runner()
        .run(spec("sleep 100 & echo $!", 10_000))
        .await
        .unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert!(
        wait_gone(first_pid(&out.output)).await,
        "the background sleep survived the command"
    );
}

#[tokio::test]
async fn a_term_ignoring_child_is_killed_after_the_grace() {
    let started = Instant::now();
    let out = runner()
        .run(spec("trap '' TERM; sleep 30 & echo $!; wait", 200))
        .await
        .unwrap();
    assert!(out.timed_out);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(wait_gone(first_pid(&out.output)).await);
}

#[tokio::test]
async fn cancellation_kills_the_group() {
    let s = spec("sleep 30 & echo $!; sleep 30", 60_000);
    let token = s.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel();
    });
    let started = Instant::now();
    let out = runner().run(s).await.unwrap();
    assert!(out.cancelled && !out.timed_out);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(wait_gone(first_pid(&out.output)).await);
}

#[tokio::test]
async fn output_cap_keeps_head_and_tail() {
    let mut s = spec(
        "echo START; i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done; echo END",
        20_000,
    );
    s.keep_head = 100;
    s.keep_tail = 100;
    let out = runner().run(s).await.unwrap();
    assert!(out.truncated);
    assert!(out.output.starts_with("START\n"));
    assert!(out.output.ends_with("line1999\nEND\n"));
    assert!(out.output.contains(" bytes omitted …]"));
    assert!(out.total_output_bytes > 10_000);
    assert!(out.output.len() < 300);
}

#[tokio::test]
async fn missing_directory_is_a_spawn_error() {
    let s = CommandSpec::new(
        "true",
        "/nonexistent/samocoder-test",
        Duration::from_secs(1),
    );
    let err = runner().run(s).await.unwrap_err();
    assert!(err.to_string().contains("could not start"));
}

#[tokio::test]
async fn gate_applies_the_policy() {
    let root = Path::new("/home/u/proj");
    let fake = Arc::new(FakeRunner::new(vec![FakeRunner::ok("ran")]));
    let gate = |policy| CommandGate::new(policy, fake.clone(), root, Some("/home/u".into()));

    assert_eq!(gate(ApprovalPolicy::Never).decide("ls"), Gate::Record);
    let refused = gate(ApprovalPolicy::Auto).decide("rm -rf ~");
    assert!(matches!(&refused, Gate::Refuse { reason } if reason.contains("home")));
    assert_eq!(
        gate(ApprovalPolicy::Auto).decide("rm -rf build/"),
        Gate::Run
    );
    assert_eq!(
        gate(ApprovalPolicy::Ask).decide("make"),
        Gate::Ask { warning: None }
    );
    let flagged = gate(ApprovalPolicy::Ask).decide("rm -rf /");
    assert!(
        matches!(&flagged, Gate::Ask { warning: Some(w) } if !w.is_empty()),
        "ask leaves the choice to the user but flags what auto would refuse: {flagged:?}"
    );
    let out = gate(ApprovalPolicy::Auto)
        .run(CommandSpec::new(
            "rm -rf build/",
            root,
            Duration::from_secs(1),
        ))
        .await
        .unwrap();
    assert_eq!(out.output, "ran");
    assert_eq!(fake.commands(), ["rm -rf build/"]);
    assert_eq!("AUTO".parse::<ApprovalPolicy>(), Ok(ApprovalPolicy::Auto));
    assert!("maybe".parse::<ApprovalPolicy>().is_err());
    let refused = Execution::Refused {
        reason: "it deletes your home".into(),
    };
    assert!(refused.not_run_message().unwrap().contains("refused"));
}

#[test]
fn the_sandbox_note_says_how_a_command_will_be_confined() {
    use crate::exec::sandbox::{
        CommandRole, SandboxBase, SandboxMode, SandboxRuntime, SandboxSettings,
    };
    let settings = |mode, unconfined: Option<&str>| SandboxSettings {
        mode,
        network: false,
        install_network: true,
        writable: vec![],
        readable: vec![],
        unconfined_reason: unconfined.map(str::to_string),
    };
    let with = |s: SandboxSettings| {
        runner().with_sandbox(SandboxRuntime {
            exe: "samocoder".into(),
            base: SandboxBase::default(),
            settings: s,
        })
    };
    let mut install = spec("pip install x", 1000);
    install.role = CommandRole::Install;
    let model = spec("ls", 1000);
    let r = with(settings(SandboxMode::WorkspaceWrite, None));
    assert_eq!(
        r.sandbox_note(&model).unwrap(),
        "sandbox workspace-write, network off"
    );
    assert_eq!(
        r.sandbox_note(&install).unwrap(),
        "sandbox workspace-write, network on"
    );
    let r = with(settings(SandboxMode::WorkspaceWrite, Some("no Landlock")));
    assert_eq!(
        r.sandbox_note(&model).unwrap(),
        "NOT sandboxed (no Landlock), network off"
    );
    assert!(runner().sandbox_note(&model).is_none());
}
