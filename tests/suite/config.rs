//! `samocoder config ...` and config errors as the user sees them.

use crate::common::{self, Env};

#[test]
fn path_prints_the_config_file_under_home() {
    let env = Env::new();
    let out = env.cmd().args(["config", "path"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        common::stdout(&out).trim(),
        env.config_file().display().to_string()
    );
}

#[test]
fn unknown_key_in_file_exits_2_naming_key_file_and_line() {
    let env = Env::new();
    env.write_config("[budget]\nper_run_usd = 1.0\nper_rnu_usd = 2\n");
    let out = env.cmd().args(["config", "show"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(err.contains("per_rnu_usd"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(
        err.contains(&env.config_file().display().to_string()),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn broken_toml_exits_2_with_line_and_column() {
    let env = Env::new();
    env.write_config("[routes\ndefault = 1\n");
    let out = env.cmd().args(["config", "show"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(err.contains("line 1, column"), "{err}");
}

#[test]
fn bad_route_exits_2() {
    let env = Env::new();
    env.write_config("[routes]\ndefault = [\"openai:gpt-4.1\", \"nosuch:model\"]\n");
    let out = env.cmd().args(["config", "show"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("unknown provider `nosuch`"));

    env.write_config("[routes]\ndefault = [\"gpt-4.1\"]\n");
    let out = env.cmd().args(["config", "show"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("PROVIDER:MODEL"));
}

#[test]
fn bad_override_flag_exits_2() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["-c", "budget.per_run_usd=-5", "config", "show"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("budget.per_run_usd"));
}

#[test]
fn set_then_get_round_trips_and_refuses_invalid() {
    let env = Env::new();
    env.cmd()
        .args(["config", "set", "routes.planner", r#"["openai:gpt-4.1"]"#])
        .assert()
        .success();
    let out = env
        .cmd()
        .args(["config", "get", "routes.planner"])
        .output()
        .unwrap();
    assert_eq!(common::stdout(&out).trim(), r#"["openai:gpt-4.1"]"#);
    let before = env.read(env.config_file());
    let out = env
        .cmd()
        .args(["config", "set", "routes.planner", r#"["bogus:x"]"#])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        env.read(env.config_file()),
        before,
        "invalid set must not write"
    );
    env.cmd()
        .args(["config", "get", "no.such.key"])
        .assert()
        .code(2);
}

#[test]
fn show_json_reports_sources() {
    let env = Env::new();
    env.write_config("[budget]\nper_project_usd = 10.0\n");
    let out = env
        .cmd()
        .args(["--json", "-c", "budget.per_run_usd=2", "config", "show"])
        .env("SAMOCODER__LIMITS__MAX_FIX_ATTEMPTS", "4")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["config"]["budget"]["per_run_usd"], 2);
    assert_eq!(v["config"]["limits"]["max_fix_attempts"], 4);
    let src = &v["sources"];
    assert!(
        src["budget.per_project_usd"]
            .as_str()
            .unwrap()
            .starts_with("file ")
    );
    assert_eq!(src["budget.per_run_usd"], "flag -c budget.per_run_usd=2");
    assert_eq!(
        src["limits.max_fix_attempts"],
        "env SAMOCODER__LIMITS__MAX_FIX_ATTEMPTS"
    );
    assert_eq!(src["providers.openai.base_url"], "default");
}

#[test]
fn a_key_in_the_environment_never_appears_in_config_show_or_logs() {
    let env = Env::new();
    let secret = "sk-test-SECRETVALUE-0123456789abcdef";
    for args in [
        &["--json", "config", "show"][..],
        &["config", "show"],
        &["-v", "config", "show"],
    ] {
        let out = env
            .cmd()
            .args(args)
            .env("OPENAI_API_KEY", secret)
            .env("SAMOCODER_LOG", "trace")
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(!common::stdout(&out).contains(secret));
        assert!(!common::stderr(&out).contains(secret));
    }
    for entry in std::fs::read_dir(env.home().join("logs")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(secret));
    }
}

#[test]
fn edit_without_a_terminal_exits_2() {
    let env = Env::new();
    let out = env.cmd().args(["config", "edit"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("config set"));
}

/// Regression: `network.max_retry_wait_s = 1e20` was accepted and the first retry panicked
/// (a duration that large overflows). Absurd times are refused when the config is read.
#[test]
fn regression_absurd_network_times_are_refused_with_the_key() {
    let env = Env::new();
    env.write_config("[network]\nmax_retry_wait_s = 1e20\n");
    let out = env.cmd().args(["config", "show"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("network.max_retry_wait_s"), "{err}");
    assert!(err.contains("at most 86400"), "{err}");
}
