//! File-system inputs that used to wedge a run, through the binary: a model that reads a FIFO
//! (the read blocked forever, and `resume` blocked again), a path too long once absolute (the
//! run failed, and every resume failed the same way), and a name git refuses to index made by
//! a command (every later checkpoint failed).

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::Env;
use crate::common::agent::{Cassette, parse_events, read_file, run_command, task_done, write_file};

/// Runs `samocoder ARGS` with a deadline: a run that blocks is killed and fails the test.
fn run_with_deadline(
    env: &Env,
    args: &[&str],
    deadline: Duration,
) -> (i32, Vec<serde_json::Value>) {
    let mut child = env
        .std_cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            let out = reader.join().unwrap();
            panic!("samocoder did not finish within {deadline:?} (blocked?); output:\n{out}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.join().unwrap();
    (status.code().unwrap_or(-1), parse_events(&out))
}

#[cfg(unix)]
#[test]
fn regression_read_file_on_a_fifo_a_too_long_path_and_a_git_alias_do_not_wedge_the_run() {
    let env = Env::new();
    let long = vec!["d".repeat(255); 16].join("/");
    let c = Cassette::new("fifo")
        .spec()
        .architecture("test -f ok.txt")
        .plan(&["Read what is there"])
        .tools(vec![run_command(
            "mkfifo pipe && mkdir -p 'GIT~1' && echo x > 'GIT~1/x'",
        )])
        .tools(vec![read_file("pipe"), read_file(&long)])
        .tools(vec![write_file("ok.txt", "ok\n")])
        .tools(vec![task_done("read around")]);
    let path = c.write(&env.root.path().join("fifo.jsonl"));
    let (code, events) = run_with_deadline(
        &env,
        &["new", "--replay", path.to_str().unwrap(), "--yes", "--json"],
        Duration::from_secs(120),
    );
    let describe = || {
        events
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(code, 0, "{}", describe());
    let last = events.last().unwrap();
    assert_eq!(last["type"], "run_finished");
    assert_eq!(last["status"], "done", "{}", describe());
    let errors: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "tool_call" && e["ok"] == false)
        .filter_map(|e| e["error"].as_str())
        .collect();
    assert_eq!(errors.len(), 2, "{}", describe());
    assert!(
        errors[0].contains("is a FIFO (named pipe), not a regular file"),
        "{errors:?}"
    );
    assert!(errors[1].contains("too long"), "{errors:?}");
    // The checkpoint left the name git refuses out, and said so.
    let warned = events.iter().any(|e| {
        e["type"] == "warning"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("`GIT~1`") && m.contains("rename or delete"))
    });
    assert!(warned, "{}", describe());
    let dir = env.work().join("fifo");
    assert_eq!(std::fs::read_to_string(dir.join("ok.txt")).unwrap(), "ok\n");
    let repo = git2::Repository::open(&dir).unwrap();
    let tree = repo.head().unwrap().peel_to_tree().unwrap();
    assert!(tree.get_name("ok.txt").is_some() && tree.get_name("GIT~1").is_none());
}
