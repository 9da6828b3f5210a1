//! The OS sandbox, attacked as a model would under `--yes`, through real runs (Linux: these
//! run for real; Landlock and seccomp are required, namespaces used where they can be made).
#![cfg(target_os = "linux")]

use crate::common::Env;
use crate::common::agent::{Cassette, db, run, run_command, task_done};

const KEY: &str = "sk-proj-SANDBOXTESTKEY0123456789abcdef";

/// The output the `commands` table recorded for each command, in order.
fn outputs(env: &Env) -> Vec<(String, Option<i64>, Option<String>, String)> {
    let conn = db(env);
    let mut stmt = conn
        .prepare("SELECT command, exit_code, sandbox, output FROM commands ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Every tool result the model was sent.
fn tool_results(env: &Env) -> String {
    let conn = db(env);
    let mut stmt = conn
        .prepare("SELECT payload FROM steps WHERE kind = 'tool_call' ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_commands(
    env: &Env,
    name: &str,
    commands: &[String],
    extra: &[&str],
) -> crate::common::agent::Run {
    let mut c = Cassette::new(name)
        .spec()
        .architecture("true")
        .plan(&["Attack"]);
    for cmd in commands {
        c = c.tools(vec![run_command(cmd)]);
    }
    c = c.tools(vec![task_done("done")]);
    let path = c.write(&env.root.path().join(format!("{name}.jsonl")));
    let mut args = vec!["--yes", "--json", "new", "--replay", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(
        env,
        &args,
        &[
            ("OPENAI_API_KEY", KEY),
            ("ANTHROPIC_AUTH", KEY),
            ("DATABASE_URL", "postgres://u:hunter2@db/x"),
        ],
    )
}

#[test]
fn sandbox_attacks_of_issue_11_fail_through_a_real_run() {
    let env = Env::new();
    let outside = env.root.path().join("outside");
    std::fs::create_dir_all(outside.join("deep")).unwrap();
    std::fs::write(outside.join("deep/keep.txt"), "keep me\n").unwrap();
    let home = env.home();
    let commands = vec![
        // 0: samocoder's own environment, directly and through the helper's parent.
        "tr '\\0' '\\n' < /proc/$PPID/environ; P=$(awk '{print $4}' /proc/$PPID/stat); tr '\\0' '\\n' < /proc/$P/environ; cat /proc/[0-9]*/environ | tr '\\0' '\\n' | grep -a API_KEY".to_string(),
        // 1: the kernel keyring (keyctl KEYCTL_GET_KEYRING_ID of the user keyring).
        "python3 -c \"import ctypes; l=ctypes.CDLL(None, use_errno=True); r=l.syscall(250, 0, -4, 0, 0, 0); print('keyctl', r, ctypes.get_errno())\"".to_string(),
        // 2: a write outside the project from inside an interpreter.
        format!("python3 -c \"import os; os.system('rm -rf {o}'); open('{o}/new.txt', 'w').write('x')\"", o = outside.display()),
        // 3: samocoder's database.
        format!("head -c 64 {}/samocoder.db; ls {}", home.display(), home.display()),
        // 4: environment variables that carry secrets under other names.
        "env".to_string(),
        // 5: git still works, its internals are not writable.
        "git status --short > /dev/null && echo git-ok; echo x >> .git/config".to_string(),
        // 6: the project and the private temporary directory are writable.
        "echo ok > inside.txt && echo t > \"$TMPDIR/t\" && cat inside.txt \"$TMPDIR/t\" && echo out > /dev/stdout && echo err > /dev/stderr && head -c 3 /dev/urandom | wc -c".to_string(),
        // 7: even as root: no capabilities, no raw disk, no kernel memory.
        "grep CapEff /proc/self/status; for d in /dev/vda /dev/sda /dev/nvme0n1 /proc/kcore; do [ -e $d ] && echo \"$d $(head -c 16 $d 2>/dev/null | wc -c)\"; done; true".to_string(),
    ];
    let r = run_commands(&env, "attacks", &commands, &[]);
    assert_eq!(r.code, 0, "{}", r.describe());
    let outs = outputs(&env);
    assert_eq!(outs.len(), commands.len() + 1, "{outs:?}");
    for (cmd, _, sandbox, out) in &outs {
        assert!(!out.contains(KEY), "the key leaked from {cmd}: {out}");
        assert_eq!(sandbox.as_deref(), Some("workspace-write"), "{cmd}");
    }
    // samocoder is outside the command's PID namespace: its /proc entry does not exist there.
    assert!(!outs[0].3.contains("API_KEY"), "{}", outs[0].3);
    assert!(
        outs[0].3.contains("No such file") || outs[0].3.contains("Permission denied"),
        "{}",
        outs[0].3
    );
    assert!(
        outs[1].3.contains("keyctl -1 1"),
        "keyctl was not refused: {}",
        outs[1].3
    );
    assert_eq!(
        std::fs::read_to_string(outside.join("deep/keep.txt")).unwrap(),
        "keep me\n"
    );
    assert!(!outside.join("new.txt").exists());
    assert!(!outs[3].3.contains("SQLite format"), "{}", outs[3].3);
    assert_ne!(outs[3].1, Some(0));
    for hidden in [
        "DATABASE_URL",
        "hunter2",
        "ANTHROPIC_AUTH",
        "OPENAI_API_KEY",
    ] {
        assert!(!outs[4].3.contains(hidden), "{hidden} reached the command");
    }
    assert!(outs[4].3.contains("PATH="));
    assert_ne!(outs[5].1, Some(0), "{}", outs[5].3);
    assert!(
        outs[5].3.contains("git-ok"),
        "git status failed: {}",
        outs[5].3
    );
    assert!(outs[5].3.contains("Read-only file system"), "{}", outs[5].3);
    assert!(
        !env.read(env.work().join("attacks/.git/config"))
            .ends_with("x\n")
    );
    assert_eq!(outs[6].1, Some(0), "{}", outs[6].3);
    assert_eq!(outs[6].3, "ok\nt\nout\nerr\n3\n");
    assert!(
        outs[7].3.starts_with("CapEff:\t0000000000000000\n"),
        "{}",
        outs[7].3
    );
    for line in outs[7].3.lines().skip(1) {
        assert!(line.ends_with(" 0"), "read through the sandbox: {line}");
    }
    // The model is told, in words, what the sandbox refused.
    let told = tool_results(&env);
    assert!(told.contains("the sandbox denied"), "{told}");
    assert!(
        told.contains(".git/config: the project's git internals"),
        "{told}"
    );
}

/// A TCP listener on 127.0.0.1 in the test process; returns its port.
fn listener() -> (std::net::TcpListener, u16) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn connect(port: u16) -> String {
    format!(
        "python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 3); print('connected')\""
    )
}

#[test]
fn sandbox_network_is_off_by_default_and_on_with_the_flag() {
    let (_l, port) = listener();
    let env = Env::new();
    let r = run_commands(&env, "offline", &[connect(port)], &[]);
    assert_eq!(r.code, 0, "{}", r.describe());
    let outs = outputs(&env);
    assert_ne!(outs[0].1, Some(0), "{}", outs[0].3);
    assert!(!outs[0].3.contains("connected"));

    let env = Env::new();
    let r = run_commands(&env, "online", &[connect(port)], &["--network"]);
    assert_eq!(r.code, 0, "{}", r.describe());
    let outs = outputs(&env);
    assert_eq!(outs[0].1, Some(0), "{}", outs[0].3);
    assert_eq!(outs[0].2.as_deref(), Some("workspace-write+network"));
}

#[test]
fn sandbox_read_only_mode_refuses_project_writes_and_off_mode_is_recorded() {
    let env = Env::new();
    let r = run_commands(
        &env,
        "ro",
        &["echo x > f.txt".into()],
        &["--sandbox", "read-only"],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let outs = outputs(&env);
    assert_ne!(outs[0].1, Some(0));
    assert!(!env.work().join("ro/f.txt").exists());
    assert_eq!(outs[0].2.as_deref(), Some("read-only"));

    let env = Env::new();
    let r = run_commands(
        &env,
        "free",
        &["echo x > f.txt".into()],
        &["--sandbox", "off"],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(outputs(&env)[0].2.as_deref(), Some("off"));
    assert!(env.work().join("free/f.txt").exists());
}

#[test]
fn sandbox_local_servers_still_work_with_the_network_off() {
    let env = Env::new();
    let serve = "python3 -c \"import socket,threading; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); p=s.getsockname()[1]; threading.Thread(target=lambda: s.accept()[0].sendall(b'hi'), daemon=True).start(); c=socket.create_connection(('127.0.0.1',p)); print(c.recv(2).decode())\"";
    let r = run_commands(&env, "local", &[serve.into()], &[]);
    assert_eq!(r.code, 0, "{}", r.describe());
    let outs = outputs(&env);
    assert_eq!(outs[0].1, Some(0), "{}", outs[0].3);
    assert_eq!(outs[0].3.trim(), "hi");
}

/// Regression (issue 9, "commands outlive samocoder"): after a `kill -9` of samocoder, the
/// command ran on and changed a file later. The helper's parent-death signal now takes the
/// whole command down with samocoder.
#[test]
fn regression_a_command_outlived_a_killed_samocoder_and_wrote_later() {
    use std::io::BufRead;
    let env = Env::new();
    let c = Cassette::new("orphan")
        .spec()
        .architecture("true")
        .plan(&["Wait"])
        .tools(vec![run_command(
            "echo started > started.txt; (sleep 2; echo late > late.txt) & sleep 30",
        )])
        .tools(vec![task_done("done")]);
    let path = c.write(&env.root.path().join("orphan.jsonl"));
    let mut child = env
        .std_cmd()
        .args(["--yes", "--json", "new", "--replay", path.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("\"role\":\"coder\"") {
            break;
        }
    }
    let dir = env.work().join("orphan");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !dir.join("started.txt").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the command never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(
        !dir.join("late.txt").exists(),
        "the command outlived samocoder"
    );
    // The running command's group was recorded, and nothing of it is left.
    let conn = db(&env);
    let group: Option<String> = conn
        .query_row(
            "SELECT command_group FROM runs ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let rec: samocoder::exec::sandbox::GroupRecord = group
        .expect("the running command's group was recorded")
        .parse()
        .unwrap();
    assert_eq!(
        samocoder::exec::kill_stale_group(&rec),
        samocoder::exec::sandbox::StaleGroup::Gone
    );
}

/// The runner the agent uses, sandboxed (workspace-write, network off), over this process's
/// environment, with samocoder's own directories under `home`.
fn sandboxed_runner(home: &std::path::Path) -> samocoder::exec::ShellRunner {
    use samocoder::exec::sandbox::{SandboxConfig, SandboxFlags, base_for, resolve};
    let env = samocoder::config::Env::from_process();
    let paths = samocoder::config::Paths::under(home);
    let available = samocoder::exec::sandbox::Availability {
        confines_files: true,
        summary: "test".into(),
        missing: vec![],
    };
    let settings = resolve(
        SandboxFlags::default(),
        &SandboxConfig::default(),
        samocoder::exec::ApprovalPolicy::Auto,
        &available,
        None,
        &[],
    )
    .unwrap();
    let runtime = samocoder::exec::SandboxRuntime {
        exe: assert_cmd::cargo::cargo_bin("samocoder"),
        base: base_for(&env, &paths, &settings),
        settings,
    };
    samocoder::exec::ShellRunner::new(samocoder::exec::child_env(&env, &[], &[], true))
        .with_sandbox(runtime)
}

#[tokio::test]
async fn sandbox_starter_templates_test_and_git_work_inside() {
    use samocoder::exec::{CommandSpec, Runner};
    use samocoder::templates::{self, ProjectVars};
    let scratch = tempfile::tempdir().unwrap();
    let runner = sandboxed_runner(&scratch.path().join("home"));
    let vars = ProjectVars::new("Sandboxed demo", "runs its tests in the sandbox").unwrap();
    let have = |tool: &str| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let mut ran = Vec::new();
    for starter in templates::list_starters().unwrap() {
        let dir = scratch.path().join(&starter.name);
        std::fs::create_dir_all(&dir).unwrap();
        let ws = samocoder::workspace::Workspace::open(&dir).unwrap();
        let rendered = templates::render_starter(&starter.name, &ws, &vars).unwrap();
        let git = std::process::Command::new("sh")
            .arg("-c")
            .arg(
                "git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm init",
            )
            .current_dir(&dir)
            .status()
            .unwrap();
        assert!(git.success());
        let mut commands = vec![
            rendered.test.clone(),
            "git status --short && git log --oneline && git diff --stat".to_string(),
        ];
        if dir.join("package.json").is_file() {
            commands.push("npm test".into());
        }
        for cmd in commands {
            let tool = cmd.split_whitespace().next().unwrap().to_string();
            if !have(&tool) {
                println!(
                    "note: {tool} is not on PATH: `{cmd}` of {} not run",
                    starter.name
                );
                continue;
            }
            let spec = CommandSpec::new(&cmd, &dir, std::time::Duration::from_secs(300));
            let out = runner.run(spec).await.unwrap();
            let sandbox = out.sandbox.clone().unwrap();
            assert!(
                sandbox.layers.iter().any(|l| l.starts_with("Landlock")),
                "{sandbox:?}"
            );
            assert!(
                out.success(),
                "{}: `{cmd}` failed in the sandbox:\n{}",
                starter.name,
                out.for_model()
            );
            ran.push(format!("{}: {cmd}", starter.name));
        }
    }
    assert!(
        ran.iter().any(|r| r.contains("python3 -m unittest")),
        "{ran:?}"
    );
    println!("ran in the sandbox: {ran:#?}");
}

/// The architect's install command gets the network (unless `sandbox.install_network` is
/// false), model commands do not, and `show` tells which command ran how.
#[test]
fn sandbox_install_command_gets_the_network_and_show_says_so() {
    use crate::common::agent::call;
    let (_l, port) = listener();
    for (allow, want_ok) in [("true", true), ("false", false)] {
        let env = Env::new();
        let c = Cassette::new("inst")
            .spec()
            .tools(vec![call(
                "submit_architecture",
                serde_json::json!({"stack": "POSIX sh", "template": null, "dependencies": [],
                    "install_command": connect(port), "test_command": "true", "notes": ""}),
            )])
            .plan(&["Connect"])
            .tools(vec![run_command(&connect(port))])
            .tools(vec![task_done("done")]);
        let path = c.write(&env.root.path().join("inst.jsonl"));
        let flag = format!("sandbox.install_network={allow}");
        let r = run(
            &env,
            &[
                "-c",
                &flag,
                "--yes",
                "--json",
                "new",
                "--replay",
                path.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(r.code, 0, "{}", r.describe());
        let outs = outputs(&env);
        assert_eq!(outs[0].1 == Some(0), want_ok, "install: {}", outs[0].3);
        assert_ne!(outs[1].1, Some(0), "model command: {}", outs[1].3);
        let want_label = if want_ok {
            "workspace-write+network"
        } else {
            "workspace-write"
        };
        assert_eq!(outs[0].2.as_deref(), Some(want_label));
        assert_eq!(outs[1].2.as_deref(), Some("workspace-write"));
        let show = env.cmd().args(["--json", "show", "inst"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
        assert_eq!(v["commands"][0]["sandbox"], want_label, "{v}");
        let human = env.cmd().args(["show", "inst"]).output().unwrap();
        let text = String::from_utf8_lossy(&human.stdout);
        assert!(text.contains(&format!("sandbox {want_label}]")), "{text}");
    }
}

/// Where no sandbox can be made, `--yes` does not run the model's commands unconfined: the
/// run stops before any command with exit 2 and says exactly how to go on; `--sandbox off`
/// runs them, recorded as `off`.
#[test]
fn sandbox_unavailable_under_yes_refuses_unless_off() {
    let no_sandbox = ("SAMOCODER_INSECURE_TEST_NO_SANDBOX", "1");
    let env = Env::new();
    let c = Cassette::new("nosbx")
        .spec()
        .architecture("true")
        .plan(&["Write"])
        .tools(vec![run_command("echo x > f.txt")])
        .tools(vec![task_done("done")]);
    let path = c.write(&env.root.path().join("nosbx.jsonl"));
    let p = path.to_str().unwrap();
    let r = run(&env, &["--yes", "new", "--replay", p], &[no_sandbox]);
    assert_eq!(r.code, 2, "{}", r.describe());
    assert!(
        r.stderr.contains("cannot sandbox commands")
            && r.stderr
                .contains("pass --sandbox off (or set sandbox.mode = \"off\")"),
        "{}",
        r.stderr
    );
    assert!(!env.work().join("nosbx/f.txt").exists());

    let env = Env::new();
    let path = c.write(&env.root.path().join("nosbx.jsonl"));
    let p = path.to_str().unwrap();
    let r = run(
        &env,
        &["--yes", "--json", "new", "--replay", p, "--sandbox", "off"],
        &[no_sandbox],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(env.work().join("nosbx/f.txt").exists());
    assert_eq!(outputs(&env)[0].2.as_deref(), Some("off"));
}

#[test]
fn sandbox_bad_flag_and_config_values_are_usage_errors() {
    let env = Env::new();
    let r = run(&env, &["new", "x", "-d", "y", "--sandbox", "strict"], &[]);
    assert_eq!(r.code, 2, "{}", r.describe());
    assert!(
        r.stderr.contains("workspace-write, read-only or off"),
        "{}",
        r.stderr
    );
    for (flag, needle) in [
        ("sandbox.mode=\"strict\"", "sandbox.mode"),
        (
            "exec.env_passthrough=[\"OPENAI_API_KEY\"]",
            "keys are never passed to commands",
        ),
    ] {
        let r = run(&env, &["-c", flag, "config", "show"], &[]);
        assert_eq!(r.code, 2, "{flag}: {}", r.describe());
        assert!(r.stderr.contains(needle), "{flag}: {}", r.stderr);
    }
    let r = run(
        &env,
        &[
            "--yes",
            "-c",
            "sandbox.writable=[\"~/.ssh\"]",
            "new",
            "x",
            "-d",
            "y",
        ],
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.describe());
    assert!(
        r.stderr.contains("commands must never reach"),
        "{}",
        r.stderr
    );
}

#[test]
fn sandbox_doctor_reports_what_this_machine_enforces() {
    let env = Env::new();
    let out = env.cmd().args(["--json", "doctor"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sandbox")
        .unwrap_or_else(|| panic!("no sandbox check: {v}"))
        .clone();
    assert_eq!(check["status"], "ok", "{check}");
    let detail = check["detail"].as_str().unwrap();
    for layer in [
        "Landlock ABI",
        "seccomp",
        "mount namespace",
        "PID namespace",
        "network namespace",
    ] {
        assert!(detail.contains(layer), "{detail}");
    }
    let keychain = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "keychain")
        .unwrap();
    let k = keychain["detail"].as_str().unwrap();
    assert!(
        k.contains("Secret Service") || k.contains("kernel keyring"),
        "{k}"
    );
}

/// The fallback of a machine that cannot make namespaces (user namespaces turned off):
/// Landlock and seccomp alone still refuse writes outside, samocoder's files, the keyring and
/// the network (by refusing sockets), and `doctor`-style reports say what is missing.
#[test]
fn sandbox_without_namespaces_still_confines_files_keys_and_network() {
    let (_l, port) = listener();
    let env = Env::new();
    let outside = env.root.path().join("outside.txt");
    std::fs::write(&outside, "keep\n").unwrap();
    let commands = vec![
        format!("echo x > {}", outside.display()),
        format!("cat {}/samocoder.db | head -c 16", env.home().display()),
        "python3 -c \"import ctypes; l=ctypes.CDLL(None, use_errno=True); print('keyctl', l.syscall(250, 0, -4, 0, 0, 0), ctypes.get_errno())\"".to_string(),
        connect(port),
        "echo ok > inside.txt && cat inside.txt".to_string(),
    ];
    let mut c = Cassette::new("nons")
        .spec()
        .architecture("true")
        .plan(&["Try"]);
    for cmd in &commands {
        c = c.tools(vec![run_command(cmd)]);
    }
    let c = c.tools(vec![task_done("done")]);
    let path = c.write(&env.root.path().join("nons.jsonl"));
    let r = run(
        &env,
        &["--yes", "--json", "new", "--replay", path.to_str().unwrap()],
        &[("SAMOCODER_INSECURE_TEST_NO_NAMESPACES", "1")],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let outs = outputs(&env);
    assert_ne!(outs[0].1, Some(0), "{}", outs[0].3);
    assert_eq!(env.read(&outside), "keep\n");
    assert!(!outs[1].3.contains("SQLite"), "{}", outs[1].3);
    assert!(outs[2].3.contains("keyctl -1 1"), "{}", outs[2].3);
    assert_ne!(outs[3].1, Some(0), "{}", outs[3].3);
    assert_eq!(outs[4].1, Some(0), "{}", outs[4].3);
    let told = tool_results(&env);
    assert!(
        told.contains(&format!("the sandbox denied writing {}", outside.display())),
        "{told}"
    );
}
