use std::sync::Arc;

use super::*;
use crate::config::Env;
use crate::exit::{Exit, ExitStatus};
use crate::keys::{MemoryStore, SecretStore};
use crate::llm::usage::MemorySink;
use crate::llm::{Message, Request};

/// A keychain that cannot be reached.
struct Broken;
impl SecretStore for Broken {
    fn get(&self, _: &str) -> Result<Option<Secret>, KeyError> {
        Err(KeyError::Unavailable {
            reason: "no keychain in this test".into(),
        })
    }
    fn set(&self, _: &str, _: &Secret) -> Result<(), KeyError> {
        self.get("").map(drop)
    }
    fn delete(&self, _: &str) -> Result<bool, KeyError> {
        self.get("").map(|_| false)
    }
    fn describe(&self) -> String {
        "a broken keychain".into()
    }
}

fn config(overrides: &[&str]) -> Config {
    let flags: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    crate::config::load_text(
        std::path::Path::new("config.toml"),
        None,
        &Env::default(),
        &flags,
    )
    .unwrap()
    .config
}

fn layer(config: &Config, env: &Env, keychain: Box<dyn SecretStore>) -> ModelLayer {
    let keys = Keys::new(env, config.providers.values(), keychain);
    ModelLayer::new(
        config,
        &keys,
        Arc::new(MemorySink::new()),
        CancellationToken::new(),
    )
    .unwrap()
}

fn request() -> Request {
    Request {
        model: String::new(),
        system: String::new(),
        messages: vec![Message::User {
            content: "hi".into(),
        }],
        tools: vec![],
        max_output_tokens: 16,
        temperature: None,
        cache_key: None,
    }
}

#[test]
fn env_keys_work_when_the_keychain_is_unavailable() {
    let c = config(&[]);
    let env: Env = [("GROQ_API_KEY", "gsk_from_env_0123456789")]
        .into_iter()
        .collect();
    let l = layer(&c, &env, Box::new(Broken));
    assert_eq!(l.key("groq").source_name(), "env");
    assert!(l.key("groq").usable());
    assert_eq!(l.key("ollama").source_name(), "not_needed");
    assert!(l.key("ollama").usable());
    assert!(matches!(l.key("openai"), KeyState::KeychainError(_)));
    // Debug never shows the key.
    assert!(!format!("{:?}", l.key("groq")).contains("gsk_from_env"));
}

#[test]
fn keychain_keys_are_found_and_missing_ones_fail_at_call_time() {
    let c = config(&["routes.ask=[\"openai:gpt-4o\"]"]);
    let kc = MemoryStore::new();
    kc.set("anthropic", &Secret::new("sk-ant-from-keychain-0123"))
        .unwrap();
    let l = layer(&c, &Env::default(), Box::new(kc));
    assert_eq!(l.key("anthropic").source_name(), "keychain");
    assert_eq!(l.key("openai").source_name(), "none");

    let router = l.route("ask", CallContext::default()).unwrap();
    assert_eq!(router.name(), "route:ask");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt.block_on(router.complete(request())).unwrap_err();
    assert_eq!(err.class, ErrorClass::NoKey);
    assert!(err.message.contains("OPENAI_API_KEY"), "{}", err.message);
    assert!(
        err.message.contains("samocoder keys set openai"),
        "{}",
        err.message
    );
    assert_eq!(err.exit(), Exit::Usage);
}

#[test]
fn roles_without_a_route_use_default_and_explicit_models_get_one_entry() {
    let c = config(&[]);
    let l = layer(&c, &Env::default(), Box::new(MemoryStore::new()));
    assert_eq!(
        l.route("coder", CallContext::default()).unwrap().name(),
        "route:coder"
    );
    let m: ModelRef = "ollama:llama3.1:8b".parse().unwrap();
    assert_eq!(
        l.model(&m, CallContext::default()).unwrap().name(),
        "route:ollama:llama3.1:8b"
    );
    let unknown: ModelRef = "nope:x".parse().unwrap();
    let err = l.model(&unknown, CallContext::default()).err().unwrap();
    assert_eq!(err.class, ErrorClass::Config);
    assert!(
        err.message.contains("known providers: anthropic"),
        "{}",
        err.message
    );
    assert_eq!(err.exit(), Exit::Usage);
}

#[test]
fn for_providers_leaves_the_keychain_alone_for_the_others() {
    let c = config(&[]);
    let env = Env::default();
    let keys = Keys::new(&env, c.providers.values(), Box::new(Broken));
    let l = ModelLayer::for_providers(
        &c,
        &keys,
        &["ollama"],
        Arc::new(MemorySink::new()),
        CancellationToken::new(),
    )
    .unwrap();
    assert_eq!(l.key("ollama").source_name(), "not_needed");
    assert_eq!(l.key("openai").source_name(), "not_looked_up");
}

#[test]
fn route_prices_say_before_a_run_whether_costs_are_known_estimated_or_unknown() {
    use crate::llm::Usage;
    use crate::llm::pricing::PriceKnowledge;
    let c = config(&[
        r#"providers.proxy={kind="openai",base_url="http://127.0.0.1:4000/v1"}"#,
        r#"providers.box={kind="openai",base_url="http://127.0.0.1:8080/v1",free=true}"#,
        r#"routes.coder=["anthropic:claude-sonnet-4-5","openrouter:anthropic/claude-sonnet-4.5"]"#,
        r#"routes.local=["ollama:qwen2.5-coder","box:any"]"#,
        r#"routes.proxied=["proxy:gpt-4o","anthropic:claude-sonnet-4-5"]"#,
        r#"routes.mystery=["proxy:my-finetune","ollama:qwen2.5-coder"]"#,
    ]);
    let l = layer(&c, &Env::default(), Box::new(MemoryStore::new()));
    let prompt = Usage {
        input_tokens: 100_000,
        ..Usage::default()
    };

    let r = l.route_prices("coder");
    assert_eq!(
        (r.route.as_str(), r.knowledge(), r.free()),
        ("coder", PriceKnowledge::Known, false)
    );
    assert_eq!(r.models[1].by.as_deref(), Some("models.dev 1.0.398"));
    assert_eq!(r.max_cost(&prompt), Some(0.3));

    // The built-in ollama is declared free; so is a provider with `free = true`.
    let r = l.route_prices("local");
    assert_eq!((r.knowledge(), r.free()), (PriceKnowledge::Known, true));
    assert_eq!(r.max_cost(&prompt), Some(0.0));

    // A localhost proxy is not free: its gpt-4o is estimated at OpenAI's price.
    let r = l.route_prices("proxied");
    assert_eq!(r.knowledge(), PriceKnowledge::Estimated);
    assert_eq!(
        r.models[0].basis.as_ref().map(|m| m.to_string()).as_deref(),
        Some("openai:gpt-4o")
    );
    assert_eq!(r.models[0].cost(&prompt), Some(0.25));
    assert_eq!(r.max_cost(&prompt), Some(0.3));

    let r = l.route_prices("mystery");
    assert_eq!(r.knowledge(), PriceKnowledge::Unknown);
    assert_eq!(r.max_cost(&prompt), None);

    // A role without a route of its own reports the default route.
    assert_eq!(l.route_prices("planner").route, "default");
}
