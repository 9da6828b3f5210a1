//! What samocoder does on a real (pseudo-)terminal: the status line with a running command and
//! its timer, approval prompts that read whole lines, a flagged command that defaults to No,
//! and Ctrl-C at a prompt.

use std::time::Duration;

use crate::common::Env;
use crate::common::agent::{Cassette, run_command, task_done, write_file};
use crate::common::pty::Pty;

const LONG: Duration = Duration::from_secs(30);

fn on_pty(env: &Env, cassette: &Cassette, extra: &[&str]) -> Pty {
    let path = cassette.write(&env.root.path().join("c.jsonl"));
    let mut cmd = env.std_cmd();
    cmd.env("TERM", "xterm")
        .args(["new", "--replay", path.to_str().unwrap()])
        .args(extra);
    Pty::spawn(cmd)
}

#[test]
fn a_long_command_shows_its_name_and_a_running_timer() {
    let env = Env::new();
    let c = Cassette::new("slow")
        .spec()
        .architecture("sleep 3; echo tests done")
        .plan(&["One"])
        .tools(vec![write_file("a.txt", "a\n"), task_done("wrote a")]);
    let pty = on_pty(&env, &c, &["--yes"]);
    pty.expect("$ sleep 3; echo tests done", LONG);
    // The timer of the running command counts up in place.
    pty.expect("2s", LONG);
    let (status, screen) = pty.wait(LONG);
    assert!(status.success(), "{screen}");
    assert!(screen.contains("tests pass"), "{screen}");
    assert!(screen.contains("Done."), "{screen}");
}

#[test]
fn regression_no_enter_at_the_approval_prompt_denies_only_that_command() {
    let env = Env::new();
    let c = Cassette::new("ask")
        .spec()
        .architecture("true")
        .plan(&["One"])
        .tools(vec![run_command("echo one > one.txt")])
        .tools(vec![run_command("echo two > two.txt")])
        .tools(vec![task_done("ran them")]);
    let mut pty = on_pty(&env, &c, &[]);
    pty.expect("Run `echo one > one.txt`", LONG);
    pty.send("no\n");
    pty.expect("Run `echo two > two.txt`", LONG);
    pty.send("y\n");
    pty.expect("Run `true`", LONG);
    pty.send("\n");
    let (status, screen) = pty.wait(LONG);
    assert!(status.success(), "{screen}");
    let dir = env.work().join("ask");
    assert!(!dir.join("one.txt").exists(), "{screen}");
    assert!(dir.join("two.txt").exists(), "{screen}");
}

#[test]
fn a_command_auto_would_refuse_is_flagged_and_defaults_to_no() {
    let env = Env::new();
    let c = Cassette::new("flag")
        .spec()
        .architecture("true")
        .plan(&["One"])
        .tools(vec![run_command("rm -rf ~/somewhere")])
        .tools(vec![task_done("tried")]);
    let mut pty = on_pty(&env, &c, &[]);
    pty.expect("[y/N]", LONG);
    assert!(
        pty.screen().contains("warning: this command"),
        "{}",
        pty.screen()
    );
    pty.send("\n");
    pty.expect("Run `true`", LONG);
    pty.send("y\n");
    let (status, screen) = pty.wait(LONG);
    assert!(status.success(), "{screen}");
    assert!(screen.contains("declined"), "{screen}");
}

#[test]
fn regression_ctrl_c_at_the_approval_prompt_interrupts_the_run() {
    let env = Env::new();
    let c = Cassette::new("stop")
        .spec()
        .architecture("true")
        .plan(&["One"])
        .tools(vec![run_command("echo one > one.txt")])
        .tools(vec![task_done("ran it")]);
    let pty = on_pty(&env, &c, &[]);
    pty.expect("Run `echo one > one.txt`", LONG);
    pty.interrupt();
    let (status, screen) = pty.wait(LONG);
    assert_eq!(status.code(), Some(130), "{screen}");
    assert!(screen.contains("Stopped (interrupted)"), "{screen}");
    assert!(!env.work().join("stop/one.txt").exists());
}
