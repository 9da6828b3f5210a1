//! The Secret Service backend against a real one: `gnome-keyring-daemon` on a private
//! session bus (`dbus-run-session`), installed by `.ci/run` from Debian packages. A key
//! stored there survives the process, `keys list` says where it is, and a sandboxed
//! command cannot reach it even when the bus address is passed to it on purpose.
#![cfg(target_os = "linux")]

use std::process::Command;

use crate::common::Env;
use crate::common::agent::{Cassette, db, run_command, task_done};

const KEY: &str = "sk-proj-SECRETSERVICEabcdefghijklmnop1234";

/// True when the tools are here; in CI they must be.
fn have_daemon() -> bool {
    let found = ["dbus-run-session", "gnome-keyring-daemon"]
        .iter()
        .all(|t| {
            Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {t}"))
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install gnome-keyring and dbus (see .ci/run)"
        );
        eprintln!("skipped: dbus-run-session or gnome-keyring-daemon is not installed");
    }
    found
}

#[test]
fn secret_service_keys_persist_are_listed_as_such_and_stay_out_of_commands_reach() {
    if !have_daemon() {
        return;
    }
    let env = Env::new();
    let bin = assert_cmd::cargo::cargo_bin("samocoder");
    let c = Cassette::new("ss")
        .spec()
        .architecture("true")
        .plan(&["Look for keys"])
        .tools(vec![run_command(
            "echo bus=$DBUS_SESSION_BUS_ADDRESS; secret-tool lookup service samocoder username openai; python3 -c \"import socket,os; a=os.environ.get('DBUS_SESSION_BUS_ADDRESS','').split('path=')[-1].split(',')[0]; s=socket.socket(socket.AF_UNIX); s.connect(a); print('connected to the bus')\"",
        )])
        .tools(vec![task_done("done")]);
    let cassette = c.write(&env.root.path().join("ss.jsonl"));
    let script = format!(
        r#"set -e
echo -n test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null
printf '%s\n' "$KEY" | "$BIN" keys set openai --stdin
"$BIN" --json keys list > list.json
"$BIN" doctor > doctor.txt || true
"$BIN" -c 'exec.env_passthrough=["DBUS_SESSION_BUS_ADDRESS"]' --yes --json new --replay "{cassette}" > run.json
"$BIN" keys rm openai
"$BIN" --json keys list > after.json
"#,
        cassette = cassette.display()
    );
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", &script])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.root.path())
        .env("SAMOCODER_HOME", env.home())
        .env("NO_COLOR", "1")
        .env("KEY", KEY)
        .env("BIN", &bin)
        .current_dir(env.root.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let openai = |file: &str| -> serde_json::Value {
        let v: serde_json::Value =
            serde_json::from_str(&env.read(env.root.path().join(file))).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["provider"] == "openai")
            .unwrap()
            .clone()
    };
    let row = openai("list.json");
    assert_eq!(row["source"], "keychain", "{row}");
    assert!(
        row["keychain"]
            .as_str()
            .unwrap()
            .starts_with("the Secret Service"),
        "{row}"
    );
    assert!(!row.to_string().contains(KEY));
    assert!(
        env.read(env.root.path().join("doctor.txt"))
            .contains("keychain: reachable (the Secret Service")
    );
    assert_eq!(openai("after.json")["source"], "none");
    // The model's command saw neither the key nor the bus.
    let conn = db(&env);
    let output: String = conn
        .query_row("SELECT output FROM commands ORDER BY id LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(!output.contains(KEY), "{output}");
    assert!(!output.contains("connected to the bus"), "{output}");
    // It was told where the bus is (passed through on purpose) and still could not reach it.
    assert!(output.contains("bus=unix:"), "{output}");
}
