use super::*;
use crate::llm::sse::{SseItem, decode_all};

fn ctx() -> CallCtx {
    CallCtx {
        provider: "openai".into(),
        model: "gpt-4o".into(),
        key_env: None,
        key: None,
        base_url: None,
    }
}

/// Runs a whole recorded body through the parser like the driver does.
fn parse(body: &str) -> Result<Vec<StreamEvent>, LlmError> {
    let mut p = OpenAiParser::default();
    let mut out = Vec::new();
    for item in decode_all(body.as_bytes()).unwrap() {
        if let SseItem::Event(ev) = item {
            p.on_event(&ev, &ctx(), &mut out)?;
            if p.is_done() {
                return Ok(out);
            }
        }
    }
    p.on_eof(&ctx(), &mut out)?;
    Ok(out)
}

fn chunk(delta: &str, finish: Option<&str>) -> String {
    let finish = finish.map_or("null".to_string(), |f| format!("\"{f}\""));
    format!(
        "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
    )
}

#[test]
fn interleaved_tool_calls_are_reassembled_by_index() {
    let body = [
        chunk(r#"{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"read_file","arguments":""}}]}"#, None),
        chunk(r#"{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"write_file","arguments":"{\"pa"}}]}"#, None),
        chunk(r#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\":"}}]}"#, None),
        chunk(r#"{"tool_calls":[{"index":1,"function":{"arguments":"th\":\"b\"}"}}]}"#, None),
        chunk(r#"{"tool_calls":[{"index":0,"function":{"arguments":"\"a\"}"}}]}"#, None),
        chunk("{}", Some("tool_calls")),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    let evs = parse(&body).unwrap();
    let ends: Vec<&ToolCall> = evs
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallEnd { call, .. } => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(ends.len(), 2);
    assert_eq!(ends[0].id, "call_a");
    assert_eq!(ends[0].arguments, r#"{"path":"a"}"#);
    assert_eq!(ends[1].name, "write_file");
    assert_eq!(ends[1].arguments, r#"{"path":"b"}"#);
    assert_eq!(
        evs.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::ToolCalls
        })
    );
}

#[test]
fn usage_with_cache_and_openrouter_cost() {
    let body = chunk(r#"{"content":"hi"}"#, Some("stop"))
        + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":60},\"cost\":0.0012}}\n\ndata: [DONE]\n\n";
    let evs = parse(&body).unwrap();
    assert_eq!(
        evs,
        vec![
            StreamEvent::TextDelta { text: "hi".into() },
            StreamEvent::Usage {
                usage: Usage {
                    input_tokens: 40,
                    output_tokens: 7,
                    cached_input_tokens: 60,
                    cache_write_tokens: 0,
                    reasoning_tokens: 0,
                    reported_cost_usd: Some(0.0012),
                    estimated: false,
                }
            },
            StreamEvent::Finish {
                reason: FinishReason::Stop
            },
        ]
    );
}

#[test]
fn groq_usage_vllm_null_choices_and_no_done() {
    let body = "data: {\"choices\":null}\n\n".to_string()
        + &chunk(r#"{"content":"x"}"#, None)
        + "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],\"x_groq\":{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}}\n\n";
    let evs = parse(&body).unwrap();
    assert!(evs.contains(&StreamEvent::Usage {
        usage: Usage {
            input_tokens: 5,
            output_tokens: 3,
            ..Usage::default()
        }
    }));
    assert_eq!(
        evs.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::Truncated
        })
    );
}

#[test]
fn cut_before_finish_and_errors_in_stream() {
    let e = parse(&chunk(r#"{"content":"x"}"#, None)).unwrap_err();
    assert_eq!(e.class, ErrorClass::StreamCut);
    let e = parse("data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n")
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Server);
    assert!(e.message.contains("boom"));
    let e = parse("data: {\"error\":{\"code\":\"server_error\",\"message\":\"upstream\"},\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"error\"}]}\n\n").unwrap_err();
    assert_eq!(e.class, ErrorClass::Server);
    let e =
        parse("data: {\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_exceeded\"}}\n\n")
            .unwrap_err();
    assert_eq!(e.class, ErrorClass::RateLimited);
    let e = parse("data: {not json\n\n").unwrap_err();
    assert_eq!(e.class, ErrorClass::InvalidResponse);
}

#[test]
fn ollama_stop_with_tool_calls_means_tool_calls_and_missing_index_continues() {
    let body = chunk(
        r#"{"tool_calls":[{"id":"t1","function":{"name":"ls","arguments":"{}"}}]}"#,
        Some("stop"),
    ) + "data: [DONE]\n\n";
    let evs = parse(&body).unwrap();
    assert!(evs.iter().any(|e| matches!(e, StreamEvent::ToolCallEnd { call, .. } if call.arguments == "{}" && call.id == "t1")));
    assert_eq!(
        evs.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::ToolCalls
        })
    );
}

fn parse_with(shape: CallShape, body: &str) -> Result<Vec<StreamEvent>, LlmError> {
    let mut p = OpenAiParser::new(shape);
    let mut out = Vec::new();
    for item in decode_all(body.as_bytes()).unwrap() {
        if let SseItem::Event(ev) = item {
            p.on_event(&ev, &ctx(), &mut out)?;
            if p.is_done() {
                return Ok(out);
            }
        }
    }
    p.on_eof(&ctx(), &mut out)?;
    Ok(out)
}

fn usage_of(evs: &[StreamEvent]) -> Usage {
    evs.iter()
        .find_map(|e| match e {
            StreamEvent::Usage { usage } => Some(usage.clone()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn cache_writes_in_openai_usage_are_not_full_price_input() {
    // OpenRouter / LiteLLM for an Anthropic model: 3,343 prompt tokens of which 3,337 were
    // written to the cache.
    let body = [
        chunk(r#"{"content":"ok"}"#, Some("stop")),
        r#"data: {"id":"c","choices":[],"usage":{"prompt_tokens":3343,"completion_tokens":5,"total_tokens":3348,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":3337},"completion_tokens_details":{"reasoning_tokens":2}}}"#.to_string() + "\n\n",
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    let u = usage_of(&parse(&body).unwrap());
    assert_eq!((u.input_tokens, u.cache_write_tokens), (6, 3337));
    assert_eq!(u.reasoning_tokens, 2);
    // LiteLLM's top-level spelling.
    let body = [
        chunk(r#"{"content":"ok"}"#, Some("stop")),
        r#"data: {"id":"c","choices":[],"usage":{"prompt_tokens":100,"completion_tokens":5,"cache_creation_input_tokens":60,"prompt_tokens_details":{"cached_tokens":30}}}"#.to_string() + "\n\n",
    ]
    .concat();
    let u = usage_of(&parse(&body).unwrap());
    assert_eq!(
        (u.input_tokens, u.cached_input_tokens, u.cache_write_tokens),
        (10, 30, 60)
    );
}

#[test]
fn llama_cpp_context_stop_is_not_called_the_output_limit() {
    let body = [
        chunk(r#"{"content":"partial"}"#, Some("length")),
        r#"data: {"id":"c","choices":[],"usage":{"prompt_tokens":3900,"completion_tokens":196,"total_tokens":4096}}"#.to_string() + "\n\n",
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    let shape = CallShape {
        max_output_tokens: 8192,
        ..CallShape::default()
    };
    let evs = parse_with(shape, &body).unwrap();
    assert_eq!(
        evs.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::ContextFull
        })
    );
    // The real output limit stays `Truncated`.
    let shape = CallShape {
        max_output_tokens: 196,
        ..CallShape::default()
    };
    let evs = parse_with(shape, &body).unwrap();
    assert_eq!(
        evs.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::Truncated
        })
    );
}

#[test]
fn empty_stream_over_the_context_window_is_a_context_error() {
    let shape = CallShape {
        max_output_tokens: 100,
        prompt_tokens: 4000,
        context_window: Some(4096),
    };
    let e = parse_with(shape, "").unwrap_err();
    assert_eq!(e.class, ErrorClass::ContextLength, "{e}");
    // Without a known window it is an empty answer, not "ended before the model finished".
    let e = parse_with(CallShape::default(), "").unwrap_err();
    assert_eq!(e.class, ErrorClass::StreamCut);
    assert!(e.message.contains("empty answer"), "{}", e.message);
}

#[test]
fn openai_refusal_delta_is_refusal_not_dropped() {
    let body = [
        chunk(r#"{"role":"assistant","content":null,"refusal":""}"#, None),
        chunk(r#"{"refusal":"I can't help with that."}"#, None),
        chunk("{}", Some("stop")),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    let evs = parse(&body).unwrap();
    assert!(evs.contains(&StreamEvent::Refusal {
        text: "I can't help with that.".into()
    }));
    assert!(
        !evs.iter()
            .any(|e| matches!(e, StreamEvent::TextDelta { .. }))
    );
    assert_eq!(
        evs.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::Refused
        })
    );
}

#[test]
fn deepseek_reasoning_content_is_reasoning_not_text() {
    let body = [
        chunk(
            r#"{"role":"assistant","content":null,"reasoning_content":"Let me "}"#,
            None,
        ),
        chunk(r#"{"content":null,"reasoning_content":"think."}"#, None),
        chunk(r#"{"content":"Answer."}"#, Some("stop")),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    let mut r = crate::llm::Response::default();
    for ev in parse(&body).unwrap() {
        r.apply(ev);
    }
    assert_eq!(r.text, "Answer.");
    assert_eq!(r.reasoning_text(), "Let me think.");
    assert_eq!(r.reasoning[0].format, crate::llm::ReasoningFormat::Text);
}

#[test]
fn openrouter_reasoning_details_merge_by_index_and_keep_the_signature() {
    let body = [
        chunk(r#"{"reasoning":"a","reasoning_details":[{"type":"reasoning.text","text":"a","format":"anthropic-claude-v1","index":0}]}"#, None),
        chunk(r#"{"reasoning":"b","reasoning_details":[{"type":"reasoning.text","text":"b","format":"anthropic-claude-v1","index":0}]}"#, None),
        chunk(r#"{"reasoning_details":[{"type":"reasoning.text","signature":"SIG","format":"anthropic-claude-v1","index":0}]}"#, None),
        chunk(r#"{"content":"done"}"#, Some("stop")),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    let mut r = crate::llm::Response::default();
    for ev in parse(&body).unwrap() {
        r.apply(ev);
    }
    assert_eq!(r.reasoning.len(), 1);
    let raw = r.reasoning[0].raw.as_ref().unwrap();
    assert_eq!(raw[0]["text"], "ab");
    assert_eq!(raw[0]["signature"], "SIG");
    assert_eq!(raw[0]["format"], "anthropic-claude-v1");
    assert_eq!(r.reasoning_text(), "ab");
}

proptest::proptest! {
    /// However the reasoning and answer pieces interleave, neither leaks into the other and
    /// both come out whole.
    #[test]
    fn reasoning_and_text_never_mix(parts in proptest::collection::vec((proptest::bool::ANY, "[a-z ]{1,8}"), 1..20)) {
        let mut body = String::new();
        let (mut want_text, mut want_reasoning) = (String::new(), String::new());
        for (is_reasoning, piece) in &parts {
            let key = if *is_reasoning { "reasoning_content" } else { "content" };
            if *is_reasoning { want_reasoning.push_str(piece) } else { want_text.push_str(piece) }
            body.push_str(&chunk(&serde_json::json!({ key: piece }).to_string(), None));
        }
        body.push_str(&chunk("{}", Some("stop")));
        let mut r = crate::llm::Response::default();
        for ev in parse(&body).unwrap() {
            r.apply(ev);
        }
        proptest::prop_assert_eq!(&r.text, &want_text);
        proptest::prop_assert_eq!(r.reasoning_text(), want_reasoning);
    }
}
