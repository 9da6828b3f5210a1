use std::path::Path;

use super::*;

fn load_str(text: &str, flags: &[&str]) -> Result<Loaded, ConfigError> {
    let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    load_text(
        Path::new("/cfg/config.toml"),
        Some(text),
        &Env::default(),
        &flags,
    )
}

#[test]
fn defaults_load_with_builtin_providers() {
    let l = load_text(Path::new("/x"), None, &Env::default(), &[]).unwrap();
    let names: Vec<_> = l.config.providers.keys().cloned().collect();
    assert_eq!(
        names,
        ["anthropic", "groq", "ollama", "openai", "openrouter"]
    );
    assert_eq!(l.config.providers["ollama"].key_env, None);
    assert_eq!(
        l.config.providers["groq"].base_url,
        "https://api.groq.com/openai/v1"
    );
    assert_eq!(l.sources.of("providers.openai.base_url"), Source::Default);
    assert_eq!(l.config.route("planner"), l.config.route("default"));
}

#[test]
fn user_provider_and_routes() {
    let l = load_str(
        r#"
[providers.mylocal]
kind = "openai"
base_url = "http://127.0.0.1:8080/v1/"
key_env = "MYLOCAL_KEY"

[providers.openai]
base_url = "https://proxy.example/v1"

[routes]
default = ["mylocal:qwen", "openrouter:anthropic/claude-sonnet-4.5"]
planner = ["openai:gpt-4.1"]
"#,
        &[],
    )
    .unwrap();
    let c = &l.config;
    assert_eq!(c.providers["mylocal"].base_url, "http://127.0.0.1:8080/v1");
    assert_eq!(
        c.providers["openai"].key_env.as_deref(),
        Some("OPENAI_API_KEY")
    );
    assert_eq!(c.providers["openai"].base_url, "https://proxy.example/v1");
    assert_eq!(c.route("planner")[0].to_string(), "openai:gpt-4.1");
    assert_eq!(c.route("coder")[1].model, "anthropic/claude-sonnet-4.5");
    assert_eq!(
        l.sources.of("providers.openai.base_url"),
        Source::File("/cfg/config.toml".into())
    );
    assert_eq!(l.sources.of("providers.openai.kind"), Source::Default);
}

#[test]
fn unknown_key_names_key_file_and_line() {
    let e = load_str("[budget]\nper_run_usd = 1.0\nper_rnu = 2\n", &[]).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("/cfg/config.toml"), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");
    assert!(msg.contains("per_rnu"), "{msg}");
}

#[test]
fn broken_toml_gives_line_and_column() {
    let e = load_str("[routes]\ndefault = [\"a:b\"\n", &[]).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("line 2") || msg.contains("line 3"), "{msg}");
    assert!(msg.contains("column"), "{msg}");
}

#[test]
fn validation_errors_are_specific() {
    let cases = [
        (
            "[routes]\ndefault = [\"nope:model\"]\n",
            "unknown provider `nope`",
        ),
        ("[routes]\ndefault = [\"gpt-4\"]\n", "PROVIDER:MODEL"),
        ("[routes]\ndefault = []\n", "empty"),
        (
            "[providers.x]\nkind = \"openai\"\nbase_url = \"ftp://h/v1\"\n",
            "http://",
        ),
        (
            "[providers.x]\nkind = \"grpc\"\nbase_url = \"http://h/v1\"\n",
            "unknown kind",
        ),
        ("[providers.x]\nbase_url = \"http://h/v1\"\n", "needs `kind"),
        ("[budget]\nper_run_usd = -1.0\n", "budget.per_run_usd"),
        ("[budget]\nwarn_at = 1.5\n", "warn_at"),
        ("[network]\nidle_timeout_s = 0.0\n", "idle_timeout_s"),
        (
            "[prices.\"openai:gpt-x\"]\ninput_per_mtok = 1.0\n",
            "output_per_mtok",
        ),
    ];
    for (text, want) in cases {
        let msg = load_str(text, &[]).unwrap_err().to_string();
        assert!(msg.contains(want), "{text:?}: {msg}");
    }
}

#[test]
fn credentials_in_a_url_are_refused_without_echoing_them() {
    let msg = load_str(
        "[providers.x]\nkind = \"openai\"\nbase_url = \"https://user:sk-secret123@h/v1\"\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(!msg.contains("sk-secret123"), "{msg}");
}

#[test]
fn flags_and_env_override_the_file_in_order() {
    let env: Env = [("SAMOCODER__BUDGET__PER_RUN_USD", "3")]
        .into_iter()
        .collect();
    let l = load_text(
        Path::new("/cfg/config.toml"),
        Some("[budget]\nper_run_usd = 1.0\nper_project_usd = 10.0\n"),
        &env,
        &[
            "budget.per_project_usd=20".into(),
            "routes.default=[\"openai:gpt-4.1\"]".into(),
        ],
    )
    .unwrap();
    assert_eq!(l.config.budget.per_run_usd, Some(3.0));
    assert_eq!(l.config.budget.per_project_usd, Some(20.0));
    assert_eq!(l.config.route("default").len(), 1);
    assert_eq!(
        l.sources.of("budget.per_run_usd"),
        Source::Env("SAMOCODER__BUDGET__PER_RUN_USD".into())
    );
    assert!(matches!(
        l.sources.of("budget.per_project_usd"),
        Source::Flag(_)
    ));
}

#[test]
fn bad_flags_name_the_flag() {
    let msg = load_str("", &["budget.nope=1"]).unwrap_err().to_string();
    assert!(msg.starts_with("-c budget.nope=1"), "{msg}");
    let msg = load_str("", &["budget"]).unwrap_err().to_string();
    assert!(msg.contains("KEY=VALUE"), "{msg}");
    let msg = load_str("", &["budget.per_run_usd=\"x\""])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("-c budget.per_run_usd"), "{msg}");
}

#[test]
fn get_reads_dotted_keys() {
    let l = load_str("", &[]).unwrap();
    assert_eq!(
        l.get("limits.max_fix_attempts").unwrap().as_integer(),
        Some(3)
    );
    assert!(l.get("providers.openai").unwrap().is_table());
    assert!(matches!(l.get("nope.x"), Err(ConfigError::UnknownKey(_))));
}

#[test]
fn set_keeps_comments_and_refuses_invalid_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "# my comment\n[budget]\nper_run_usd = 1.0\n").unwrap();
    set_in_file(&path, "budget.per_run_usd", "2.5", &Env::default()).unwrap();
    set_in_file(&path, "providers.mine.kind", "openai", &Env::default()).unwrap_err();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# my comment"));
    assert!(text.contains("per_run_usd = 2.5"));
    assert!(
        !text.contains("mine"),
        "an invalid change must not be written: {text}"
    );
    set_in_file(
        &path,
        "routes.default",
        r#"["openai:gpt-4.1"]"#,
        &Env::default(),
    )
    .unwrap();
    let l = load(&path, &Env::default(), &[]).unwrap();
    assert_eq!(l.config.route("default")[0].to_string(), "openai:gpt-4.1");
}

#[test]
fn model_and_route_reasoning_options_resolve_with_route_winning() {
    let l = load_str(
        r#"
[routes]
default = ["openai:o4-mini"]
coder = ["openai:o4-mini", "anthropic:claude-sonnet-4-5"]

[models."openai:o4-mini"]
reasoning_effort = "medium"
context_window = 200000

[models."anthropic:claude-sonnet-4-5"]
thinking_budget_tokens = 4096

[route_options.coder]
reasoning_effort = "high"
"#,
        &[r#"models."openai:o4-mini".reasoning_effort=low"#],
    )
    .unwrap();
    let m: ModelRef = "openai:o4-mini".parse().unwrap();
    let plain = l.config.model_options(&m, None);
    assert_eq!(
        plain.reasoning_effort,
        Some(ReasoningEffort::Low),
        "-c wins over the file"
    );
    assert_eq!(plain.context_window, Some(200_000));
    let coder = l.config.model_options(&m, Some("coder"));
    assert_eq!(coder.reasoning_effort, Some(ReasoningEffort::High));
    assert_eq!(coder.context_window, Some(200_000));
    let a: ModelRef = "anthropic:claude-sonnet-4-5".parse().unwrap();
    assert_eq!(
        l.config
            .model_options(&a, Some("coder"))
            .thinking_budget_tokens,
        Some(4096)
    );
}

#[test]
fn bad_reasoning_options_name_the_key() {
    let e = load_str("[models.\"openai:o3\"]\nreasoning_effort = \"max\"\n", &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("models.\"openai:o3\".reasoning_effort"),
        "{e}"
    );
    assert!(
        e.to_string().contains("minimal, low, medium or high"),
        "{e}"
    );
    let e = load_str(
        "[models.\"anthropic:x\"]\nthinking_budget_tokens = 100\n",
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("at least 1024"), "{e}");
    let e = load_str("[route_options.nope]\nreasoning_effort = \"low\"\n", &[]).unwrap_err();
    assert!(e.to_string().contains("no route named `nope`"), "{e}");
    let ok = load_str(
        "[providers.r]\nkind = \"openai-responses\"\nbase_url = \"https://api.openai.com/v1\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(ok.config.providers["r"].kind, WireKind::OpenaiResponses);
}
