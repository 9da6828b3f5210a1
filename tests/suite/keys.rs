//! `samocoder keys`: set, list, rm across processes, with the debug-only insecure test key
//! file standing in for the keychain. Keys must never appear in output or logs.

use std::path::PathBuf;

use crate::common::{self, Env};

const TEST_STORE_VAR: &str = "SAMOCODER_INSECURE_TEST_KEYSTORE";
const OPENAI_KEY: &str = "sk-proj-TESTKEYabcdefghijklmnopqrstuvwxyz9f3e";

fn store_file(env: &Env) -> PathBuf {
    env.root.path().join("test-keychain.json")
}

/// `samocoder` with the test key file as its keychain.
fn cmd(env: &Env) -> assert_cmd::Command {
    let mut cmd = env.cmd();
    cmd.env(TEST_STORE_VAR, store_file(env));
    cmd
}

fn set_openai(env: &Env) -> std::process::Output {
    cmd(env)
        .args(["keys", "set", "openai", "--stdin"])
        .write_stdin(format!("{OPENAI_KEY}\n"))
        .output()
        .unwrap()
}

fn list_json(env: &Env, extra: &[(&str, &str)]) -> (serde_json::Value, String) {
    let mut c = cmd(env);
    for (k, v) in extra {
        c.env(k, v);
    }
    let out = c.args(["keys", "list", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    (
        serde_json::from_str(&text).unwrap(),
        text + &common::stderr(&out),
    )
}

fn row<'a>(rows: &'a serde_json::Value, provider: &str) -> &'a serde_json::Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["provider"] == provider)
        .unwrap_or_else(|| panic!("no row for {provider} in {rows}"))
}

#[test]
fn set_via_stdin_then_list_shows_fingerprint_never_the_key() {
    let env = Env::new();
    let out = set_openai(&env);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let said = common::stdout(&out) + &common::stderr(&out);
    assert!(said.contains("sk-proj-…9f3e"), "{said}");
    assert!(said.contains("INSECURE test key file"), "{said}");
    assert!(!said.contains(OPENAI_KEY), "{said}");

    let out = cmd(&env).args(["keys", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    let line = text.lines().find(|l| l.starts_with("openai")).unwrap();
    assert!(
        line.contains("keychain") && line.contains("sk-proj-…9f3e"),
        "{text}"
    );
    assert!(!text.contains(OPENAI_KEY));

    let (rows, all) = list_json(&env, &[]);
    assert_eq!(row(&rows, "openai")["source"], "keychain");
    assert_eq!(row(&rows, "openai")["fingerprint"], "sk-proj-…9f3e");
    assert!(!all.contains(OPENAI_KEY));
}

#[test]
fn rm_removes_and_a_second_rm_says_nothing_to_remove() {
    let env = Env::new();
    assert!(set_openai(&env).status.success());
    let out = cmd(&env).args(["keys", "rm", "openai"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(common::stdout(&out).contains("Removed the key for openai"));
    let (rows, _) = list_json(&env, &[]);
    assert_eq!(row(&rows, "openai")["source"], "none");
    assert!(row(&rows, "openai")["fingerprint"].is_null());

    let out = cmd(&env).args(["keys", "rm", "openai"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(common::stdout(&out).contains("nothing to remove"));
}

#[test]
fn set_without_a_terminal_or_stdin_flag_is_usage_error_naming_stdin() {
    let env = Env::new();
    let out = cmd(&env)
        .args(["keys", "set", "openai"])
        .write_stdin(format!("{OPENAI_KEY}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(err.contains("--stdin"), "{err}");
    assert!(!store_file(&env).exists(), "nothing may be stored");
}

#[test]
fn empty_or_multi_word_stdin_is_usage_error() {
    let env = Env::new();
    for input in ["", "\n", "   \n", "sk-abc def\n"] {
        let out = cmd(&env)
            .args(["keys", "set", "openai", "--stdin"])
            .write_stdin(input)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{input:?}");
        assert!(!common::stderr(&out).contains("sk-abc"), "{input:?}");
    }
    assert!(!store_file(&env).exists());
}

#[test]
fn stdin_key_is_trimmed() {
    let env = Env::new();
    let out = cmd(&env)
        .args(["keys", "set", "groq", "--stdin"])
        .write_stdin("  gsk_abcdefghijklmnopqrstuvwx1234 \r\nsecond line\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let (rows, _) = list_json(&env, &[]);
    assert_eq!(row(&rows, "groq")["fingerprint"], "gsk_…1234");
}

#[test]
fn unknown_provider_is_usage_error_listing_known_ones() {
    let env = Env::new();
    let out = cmd(&env)
        .args(["keys", "set", "nosuch", "--stdin"])
        .write_stdin("sk-abcdefghijklmnopqrstuvwxyz\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(err.contains("nosuch") && err.contains("openai"), "{err}");
    let out = cmd(&env).args(["keys", "rm", "nosuch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn env_key_wins_and_appears_in_no_output_or_log() {
    let env = Env::new();
    assert!(set_openai(&env).status.success());
    let env_key = "sk-ENVONLYSECRETabcdefghijklmnop7777";
    let (rows, all) = list_json(&env, &[("OPENAI_API_KEY", env_key)]);
    let openai = row(&rows, "openai");
    assert_eq!(openai["source"], "env");
    assert_eq!(openai["env_var"], "OPENAI_API_KEY");
    assert_eq!(openai["fingerprint"], "sk-…7777");

    let out = cmd(&env)
        .env("OPENAI_API_KEY", env_key)
        .args(["-vv", "keys", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let human = common::stdout(&out) + &common::stderr(&out);
    assert!(human.contains("env OPENAI_API_KEY"), "{human}");

    // Setting a key while the variable is set warns that the environment wins.
    let out = cmd(&env)
        .env("OPENAI_API_KEY", env_key)
        .args(["keys", "set", "openai", "--stdin"])
        .write_stdin(format!("{OPENAI_KEY}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let set_said = common::stdout(&out) + &common::stderr(&out);
    assert!(
        set_said.contains("OPENAI_API_KEY is also set"),
        "{set_said}"
    );

    let logs = env.home().join("logs");
    let mut log_text = String::new();
    for entry in std::fs::read_dir(&logs).unwrap() {
        log_text += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    assert!(
        !log_text.is_empty(),
        "expected a log file in {}",
        logs.display()
    );
    for text in [&all, &human, &set_said, &log_text] {
        assert!(!text.contains(env_key), "env key leaked: {text}");
        assert!(!text.contains(OPENAI_KEY), "stored key leaked: {text}");
    }
}
