//! Built-in defaults, written as the TOML a user would write, so they merge with the user's
//! file through the same code path (and `config show` can say which values are defaults).

/// The built-in providers and default settings. Every value here can be overridden.
pub(super) const DEFAULTS: &str = r#"
[providers.openai]
kind = "openai"
base_url = "https://api.openai.com/v1"
key_env = "OPENAI_API_KEY"

[providers.anthropic]
kind = "anthropic"
base_url = "https://api.anthropic.com/v1"
key_env = "ANTHROPIC_API_KEY"

[providers.openrouter]
kind = "openai"
base_url = "https://openrouter.ai/api/v1"
key_env = "OPENROUTER_API_KEY"

[providers.groq]
kind = "openai"
base_url = "https://api.groq.com/openai/v1"
key_env = "GROQ_API_KEY"

[providers.ollama]
kind = "openai"
base_url = "http://localhost:11434/v1"
free = true

[routes]
default = ["anthropic:claude-sonnet-4-5", "openai:gpt-4.1"]

[budget]
warn_at = 0.8

[limits]
max_fix_attempts = 3
max_tool_errors = 5
max_turns_per_task = 30
command_timeout_s = 120
command_output_bytes = 16384
max_file_bytes = 1048576
max_user_file_bytes = 5242880
max_output_tokens = 8192
max_calls_per_run = 1000
repo_map_tokens = 4096

[network]
connect_timeout_s = 10.0
first_byte_timeout_s = 120.0
idle_timeout_s = 60.0
max_retries = 2
max_retry_wait_s = 60.0
breaker_failures = 5
breaker_cooldown_s = 30.0
max_answer_bytes = 4194304
max_answer_s = 900.0
"#;
