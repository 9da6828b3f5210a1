//! The child's environment, built from an allow-list: what a shell and the toolchains need
//! (PATH, HOME, locale, terminal, the variables of the usual language toolchains) plus the
//! names the user lists in `exec.env_passthrough`. Everything else, whatever its name
//! (`DATABASE_URL` with a password, `ANTHROPIC_AUTH`, a cloud token), stays out.
//!
//! The providers' key variables never pass, even when listed: they are checked by name.

use crate::config::Env;

/// The key variables of the built-in providers, never passed.
pub const PROVIDER_KEY_VARS: &[&str] = &[
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENROUTER_API_KEY",
    "GROQ_API_KEY",
];

/// Passed when set: the shell, locale, terminal.
pub const BASE_VARS: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TERM",
    "COLORTERM",
    "TZ",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "PWD",
];

/// Passed when set: the language toolchains' own variables (where they live, which version).
pub const TOOLCHAIN_VARS: &[&str] = &[
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "RUST_BACKTRACE",
    "CARGO_TERM_COLOR",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "PYENV_SHELL",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONUTF8",
    "PYTHONDONTWRITEBYTECODE",
    "NVM_DIR",
    "NVM_BIN",
    "NODE_PATH",
    "VOLTA_HOME",
    "BUN_INSTALL",
    "DENO_DIR",
    "GOROOT",
    "GOPATH",
    "GOFLAGS",
    "GOTOOLCHAIN",
    "JAVA_HOME",
    "GRADLE_HOME",
    "MAVEN_HOME",
    "GEM_HOME",
    "GEM_PATH",
    "RBENV_ROOT",
    "CC",
    "CXX",
    "AR",
    "CFLAGS",
    "CXXFLAGS",
    "LDFLAGS",
    "PKG_CONFIG_PATH",
    "LD_LIBRARY_PATH",
    "LIBRARY_PATH",
    "CPATH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
];

/// Passed only when the command has the network: proxies may carry a password in their URL.
pub const PROXY_VARS: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
];

/// True when `name` looks like it holds a secret (used to warn, not to filter: the filter
/// is the allow-list).
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper == "API_KEY"
        || upper == "TOKEN"
        || upper.ends_with("_API_KEY")
        || upper.ends_with("_TOKEN")
        || upper.ends_with("_KEY_ID")
        || upper.contains("SECRET")
        || upper.contains("PASSWORD")
        || upper.contains("PASSWD")
}

/// The variables a child gets: the allow-list, `LC_*`, and `passthrough`, never a name in
/// `deny` (the providers' key variables) or [`PROVIDER_KEY_VARS`]. Proxy variables only
/// with `network`.
pub fn child_env(
    parent: &Env,
    passthrough: &[String],
    deny: &[String],
    network: bool,
) -> Vec<(String, String)> {
    parent
        .iter()
        .filter(|(k, _)| {
            let listed = BASE_VARS.contains(k)
                || TOOLCHAIN_VARS.contains(k)
                || k.starts_with("LC_")
                || (network && PROXY_VARS.contains(k))
                || passthrough.iter().any(|p| p == k);
            listed
                && !PROVIDER_KEY_VARS.iter().any(|d| d.eq_ignore_ascii_case(k))
                && !deny.iter().any(|d| d.eq_ignore_ascii_case(k))
        })
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The build tools on `PATH` the architect may choose from (`python3`, `node`, `cargo`, ...).
pub fn available_tools(env: &Env) -> Vec<String> {
    let path = env.get("PATH").unwrap_or_default();
    [
        "python3", "node", "npm", "cargo", "go", "java", "ruby", "gcc", "make", "bash",
    ]
    .iter()
    .filter(|t| std::env::split_paths(path).any(|d| d.join(t).is_file()))
    .map(|t| t.to_string())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        [
            ("PATH", "/usr/bin"),
            ("HOME", "/home/u"),
            ("LC_ALL", "C.UTF-8"),
            ("CARGO_HOME", "/home/u/.cargo"),
            ("OPENAI_API_KEY", "sk-1"),
            ("MY_PROVIDER_KEY", "x"),
            ("GITHUB_TOKEN", "t"),
            ("DATABASE_URL", "postgres://u:pw@db/x"),
            ("ANTHROPIC_AUTH", "a"),
            ("SSH_AUTH_SOCK", "/tmp/ssh-x/agent.1"),
            ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus"),
            ("HTTPS_PROXY", "http://u:pw@proxy:3128"),
            ("KEEP_ME", "yes"),
        ]
        .into_iter()
        .collect()
    }

    fn names(v: Vec<(String, String)>) -> Vec<String> {
        v.into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn secrets_under_any_name_are_left_out_by_the_allow_list() {
        let kept = names(child_env(&env(), &[], &["MY_PROVIDER_KEY".into()], false));
        assert_eq!(kept, ["CARGO_HOME", "HOME", "LC_ALL", "PATH"]);
    }

    #[test]
    fn passthrough_adds_names_but_never_provider_keys() {
        let pass = vec![
            "KEEP_ME".to_string(),
            "OPENAI_API_KEY".into(),
            "MY_PROVIDER_KEY".into(),
        ];
        let kept = names(child_env(&env(), &pass, &["my_provider_key".into()], false));
        assert!(kept.contains(&"KEEP_ME".to_string()));
        assert!(
            !kept
                .iter()
                .any(|k| k == "OPENAI_API_KEY" || k == "MY_PROVIDER_KEY")
        );
    }

    #[test]
    fn proxies_pass_only_with_the_network() {
        assert!(!names(child_env(&env(), &[], &[], false)).contains(&"HTTPS_PROXY".to_string()));
        assert!(names(child_env(&env(), &[], &[], true)).contains(&"HTTPS_PROXY".to_string()));
    }

    #[test]
    fn secret_names_are_recognised() {
        assert!(is_secret_name("AWS_SECRET_ACCESS_KEY") && is_secret_name("db_password"));
        assert!(!is_secret_name("KEYBOARD"));
    }
}
