//! Ctrl-C (SIGINT) during a run: the command in flight and its children are killed, the run
//! ends with exit 130 and a `run_finished` event saying `interrupted`, and `resume` finishes it.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::Env;
use crate::common::agent::{Cassette, count, run, run_command, task_done};

#[test]
fn ctrl_c_kills_the_running_command_saves_state_and_resume_finishes() {
    interrupt_then_resume(nix::sys::signal::Signal::SIGINT);
}

/// Regression: SIGTERM (a CI job cancelled, `kill PID`) ended a run on the spot, without the
/// `run_finished` event or the command group's kill. It now stops the run like Ctrl-C.
#[test]
fn regression_sigterm_ended_a_run_without_saving_it_like_ctrl_c() {
    interrupt_then_resume(nix::sys::signal::Signal::SIGTERM);
}

fn interrupt_then_resume(signal: nix::sys::signal::Signal) {
    let env = Env::new();
    let c = Cassette::new("sig")
        .spec()
        .architecture("true")
        .plan(&["Wait"])
        .tools(vec![run_command(
            r#"[ "$E2E_SLOW" = yes ] && sleep 30; echo done"#,
        )])
        .tools(vec![task_done("waited")]);
    let path = c.write(&env.root.path().join("c.jsonl"));
    let mut child = env
        .std_cmd()
        .args(["-c", r#"exec.env_passthrough=["E2E_SLOW"]"#])
        .args(["new", "--replay", path.to_str().unwrap(), "--yes", "--json"])
        .env("E2E_SLOW", "yes")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Wait until the command has started (its model answer was saved), then interrupt.
    for line in lines.by_ref() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if v["type"] == "model_call_finished" && v["role"] == "coder" {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    let last: Value = lines
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .last()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "took {:?}",
        sent.elapsed()
    );
    assert_eq!(last["type"], "run_finished");
    assert_eq!(last["status"], "interrupted");
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM projects WHERE status = 'paused'"
        ),
        1
    );

    let r = run(
        &env,
        &[
            "resume",
            "sig",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(r.finished()["tasks_done"], 1);
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM llm_calls"),
        c.len() as i64
    );
}

/// Regression: `samocoder new ... | head -3` panicked (exit 101) on the closed pipe and left
/// the project `running`. A closed output now stops the run like Ctrl-C: exit 130, the state
/// saved, nothing printed, and `resume` finishes it.
#[test]
fn regression_a_closed_output_pipe_stops_the_run_quietly_with_its_state_saved() {
    for json in [false, true] {
        let env = Env::new();
        let c = Cassette::new("piped")
            .spec()
            .architecture("true")
            .plan(&["Wait"])
            .tools(vec![run_command("sleep 1; echo done")])
            .tools(vec![task_done("waited")]);
        let path = c.write(&env.root.path().join("c.jsonl"));
        let mut cmd = env.std_cmd();
        cmd.args(["new", "--replay", path.to_str().unwrap(), "--yes"])
            .stdin(Stdio::null());
        if json {
            cmd.arg("--json")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
        } else {
            cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        }
        let mut child = cmd.spawn().unwrap();
        let (reader, other): (
            Box<dyn std::io::Read>,
            Option<Box<dyn std::io::Read + Send>>,
        ) = if json {
            (
                Box::new(child.stdout.take().unwrap()),
                Some(Box::new(child.stderr.take().unwrap())),
            )
        } else {
            (Box::new(child.stderr.take().unwrap()), None)
        };
        let errors = other.map(|mut e| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = e.read_to_string(&mut s);
                s
            })
        });
        let mut lines = BufReader::new(reader).lines();
        for _ in 0..3 {
            lines.next().unwrap().unwrap();
        }
        drop(lines); // like `head -3`
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "json: {json}");
        if let Some(e) = errors {
            let stderr = e.join().unwrap();
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
        assert_eq!(
            count(
                &env,
                "SELECT COUNT(*) FROM projects WHERE status = 'paused'"
            ),
            1,
            "json: {json}"
        );
        assert_eq!(
            count(
                &env,
                "SELECT COUNT(*) FROM runs WHERE status = 'interrupted'"
            ),
            1
        );
        let r = run(
            &env,
            &[
                "resume",
                "piped",
                "--replay",
                path.to_str().unwrap(),
                "--yes",
                "--json",
            ],
            &[],
        );
        assert_eq!(r.code, 0, "{}", r.describe());
    }
}
