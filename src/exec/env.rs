//! The child's environment: the parent's snapshot minus secrets.
//!
//! Removed: every name in the deny-list (the providers' key variables, passed in from the
//! config), plus, case-insensitively, any name ending in `_API_KEY`, `_TOKEN`, `_KEY_ID`, or
//! containing `SECRET`, `PASSWORD`, `PASSWD`, or equal to `API_KEY`/`TOKEN`. This is
//! a name-based filter: a secret stored under an innocent name is not detected.

use crate::config::Env;

/// The key variables of the built-in providers, always removed.
pub const PROVIDER_KEY_VARS: &[&str] = &[
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENROUTER_API_KEY",
    "GROQ_API_KEY",
];

/// True when `name` looks like it holds a secret.
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

/// The variables a child gets: `parent` without `deny` names and secret-looking names.
pub fn child_env(parent: &Env, deny: &[String]) -> Vec<(String, String)> {
    parent
        .iter()
        .filter(|(k, _)| {
            !is_secret_name(k)
                && !PROVIDER_KEY_VARS.contains(k)
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

    #[test]
    fn secrets_are_removed_and_the_rest_kept() {
        let env: Env = [
            ("PATH", "/usr/bin"),
            ("HOME", "/home/u"),
            ("OPENAI_API_KEY", "sk-1"),
            ("MY_PROVIDER_KEY", "x"),
            ("GITHUB_TOKEN", "t"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("DB_PASSWORD", "p"),
            ("npm_config_token", "n"),
            ("KEYBOARD", "us"),
        ]
        .into_iter()
        .collect();
        let kept: Vec<String> = child_env(&env, &["my_provider_key".into()])
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(kept, ["HOME", "KEYBOARD", "PATH"]);
    }
}
