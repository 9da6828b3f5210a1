use super::*;
use crate::llm::sse::{SseItem, decode_all};

fn ctx() -> CallCtx {
    CallCtx {
        provider: "anthropic".into(),
        model: "claude".into(),
        key_env: None,
        key: None,
        base_url: None,
    }
}

fn parse(body: &str) -> Result<Vec<StreamEvent>, LlmError> {
    let mut p = AnthropicParser::default();
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

fn ev(name: &str, data: &str) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

const START: &str = r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"usage":{"input_tokens":377,"cache_creation_input_tokens":1000,"cache_read_input_tokens":2000,"output_tokens":1}}}"#;

#[test]
fn text_tool_use_usage_and_finish() {
    let body = [
        ev("message_start", START),
        ev("content_block_start", r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
        ev("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#),
        ev("content_block_stop", r#"{"type":"content_block_stop","index":0}"#),
        ev("content_block_start", r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"write_file","input":{}}}"#),
        ev("ping", r#"{"type": "ping"}"#),
        ev("content_block_delta", r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"path\": \"a"}}"#),
        ev("content_block_delta", r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"}"}}"#),
        ev("content_block_stop", r#"{"type":"content_block_stop","index":1}"#),
        ev("some_future_event", r#"{"type":"some_future_event"}"#),
        ev("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":65}}"#),
        ev("message_stop", r#"{"type":"message_stop"}"#),
    ]
    .concat();
    let evs = parse(&body).unwrap();
    assert_eq!(evs[0], StreamEvent::TextDelta { text: "Hi".into() });
    assert!(evs.contains(&StreamEvent::ToolCallEnd {
        index: 1,
        call: ToolCall {
            id: "toolu_1".into(),
            name: "write_file".into(),
            arguments: r#"{"path": "a"}"#.into()
        }
    }));
    let n = evs.len();
    assert_eq!(
        evs[n - 2],
        StreamEvent::Usage {
            usage: Usage {
                input_tokens: 377,
                output_tokens: 65,
                cached_input_tokens: 2000,
                cache_write_tokens: 1000,
                reasoning_tokens: 0,
                reported_cost_usd: None,
                estimated: false,
            }
        }
    );
    assert_eq!(
        evs[n - 1],
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls
        }
    );
}

#[test]
fn empty_tool_input_becomes_empty_object_and_max_tokens_truncates() {
    let body = [
        ev("message_start", START),
        ev("content_block_start", r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"list","input":{}}}"#),
        ev("content_block_stop", r#"{"type":"content_block_stop","index":0}"#),
        ev("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":9}}"#),
        ev("message_stop", r#"{"type":"message_stop"}"#),
    ]
    .concat();
    let evs = parse(&body).unwrap();
    assert!(
        evs.iter()
            .any(|e| matches!(e, StreamEvent::ToolCallEnd { call, .. } if call.arguments == "{}"))
    );
    assert_eq!(
        evs.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::Truncated
        })
    );
}

#[test]
fn cut_and_error_events() {
    let e = parse(&ev("message_start", START)).unwrap_err();
    assert_eq!(e.class, ErrorClass::StreamCut);
    for (kind, class) in [
        ("overloaded_error", ErrorClass::Overloaded),
        ("rate_limit_error", ErrorClass::RateLimited),
        ("api_error", ErrorClass::Server),
    ] {
        let body = ev("message_start", START)
            + &ev(
                "error",
                &format!(
                    r#"{{"type":"error","error":{{"type":"{kind}","message":"Overloaded"}}}}"#
                ),
            );
        assert_eq!(parse(&body).unwrap_err().class, class, "{kind}");
    }
}
