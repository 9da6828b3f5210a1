use super::*;
use crate::llm::sse::{SseItem, decode_all};

fn ctx() -> CallCtx {
    CallCtx {
        provider: "openai".into(),
        model: "gpt-4o".into(),
        key_env: None,
        key: None,
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
