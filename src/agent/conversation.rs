//! A thread's saved steps as the conversation sent to the model, and the context fit that keeps
//! a request under the model's window.

use crate::llm::usage::estimate_tokens;
use crate::llm::{Message, Request};
use crate::protocol::StepPayload;
use crate::store::Step;

/// The conversation of a thread: user inputs, the model's answers (cut answers left out:
/// nothing of them was applied), and tool results. Consecutive user inputs are joined so both
/// wire formats accept the sequence.
pub fn rebuild(steps: &[Step]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    for s in steps {
        match &s.payload {
            StepPayload::UserInput(u) => {
                if let Some(Message::User { content: prev }) = out.last_mut() {
                    prev.push_str("\n\n");
                    prev.push_str(&u.content);
                } else {
                    out.push(Message::User {
                        content: u.content.clone(),
                    });
                }
            }
            // The turn's reasoning goes back unchanged (Anthropic needs its signed thinking
            // blocks before the tool results that follow them).
            StepPayload::ModelTurn(t) if !t.truncated() => out.push(Message::Assistant {
                text: t.response.text.clone(),
                tool_calls: t.response.tool_calls.clone(),
                reasoning: t.response.reasoning.clone(),
            }),
            StepPayload::ToolCall(r) => out.push(Message::ToolResult {
                call_id: r.call_id.clone(),
                content: r.result.clone(),
                is_error: r.is_error,
            }),
            _ => {}
        }
    }
    out
}

/// Keeps a request under the model's context window: when the estimate is over 90% of it, the
/// oldest large parts are replaced by a short note, oldest first, until it fits: tool results
/// (the model can read files or run commands again), then the arguments of earlier tool calls
/// (a written file's content: the file is there to read) and earlier long user messages (old
/// fix requests with their test output). The first message (the task) and the last four are
/// kept. Returns the estimated input tokens of the request as it will be sent. The request is
/// serialized once; elisions adjust the count (closely enough for an estimate).
pub fn fit_context(request: &mut Request, window: Option<u64>) -> u64 {
    let mut bytes = serde_json::to_string(request).map(|s| s.len()).unwrap_or(0) as u64;
    let Some(window) = window else {
        return estimate_tokens(bytes);
    };
    let budget = window.saturating_mul(9) / 10;
    let output = u64::from(request.max_output_tokens);
    let last = request.messages.len().saturating_sub(4);
    let fits = |bytes: u64| estimate_tokens(bytes) + output <= budget;
    for pass in 0..2 {
        for m in request.messages.iter_mut().take(last).skip(1) {
            if fits(bytes) {
                return estimate_tokens(bytes);
            }
            match m {
                Message::ToolResult { content, .. } if pass == 0 && content.len() > 512 => {
                    let note = format!(
                        "[{} bytes of earlier output left out to fit the context window; run or read again if needed]",
                        content.len()
                    );
                    bytes = bytes.saturating_sub(content.len() as u64) + note.len() as u64;
                    *content = note;
                }
                Message::Assistant { tool_calls, .. } if pass == 1 => {
                    for c in tool_calls.iter_mut().filter(|c| c.arguments.len() > 2048) {
                        let path = serde_json::from_str::<serde_json::Value>(&c.arguments)
                            .ok()
                            .and_then(|v| v["path"].as_str().map(String::from));
                        let note = serde_json::json!({
                            "path": path,
                            "elided": format!("{} bytes of arguments left out to fit the context window", c.arguments.len()),
                        })
                        .to_string();
                        bytes = bytes.saturating_sub(c.arguments.len() as u64) + note.len() as u64;
                        c.arguments = note;
                    }
                }
                Message::User { content } if pass == 1 && content.len() > 2048 => {
                    let note = format!(
                        "[an earlier message of {} bytes left out to fit the context window]",
                        content.len()
                    );
                    bytes = bytes.saturating_sub(content.len() as u64) + note.len() as u64;
                    *content = note;
                }
                _ => {}
            }
        }
    }
    estimate_tokens(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::testing::{step, tool_result, turn, user};
    use crate::llm::{FinishReason, ToolCall};
    use crate::protocol::Role;
    use serde_json::json;

    #[test]
    fn rebuild_skips_cut_answers_and_joins_user_inputs() {
        let call = ToolCall {
            id: "c1".into(),
            name: "list_files".into(),
            arguments: "{}".into(),
        };
        let mut cut = turn(Role::Coder, "half", vec![]);
        if let StepPayload::ModelTurn(t) = &mut cut {
            t.response.finish = Some(FinishReason::Truncated);
        }
        let steps = vec![
            step(user("do it")),
            step(cut),
            step(user("smaller please")),
            step(turn(Role::Coder, "", vec![call])),
            step(tool_result("c1", "list_files", "a.py", false)),
        ];
        let m = rebuild(&steps);
        assert_eq!(m.len(), 3);
        assert_eq!(
            m[0],
            Message::User {
                content: "do it\n\nsmaller please".into()
            }
        );
        assert!(matches!(&m[1], Message::Assistant { tool_calls, .. } if tool_calls.len() == 1));
        assert!(matches!(&m[2], Message::ToolResult { call_id, .. } if call_id == "c1"));
    }

    fn request(messages: Vec<Message>) -> Request {
        Request {
            model: String::new(),
            system: String::new(),
            messages,
            tools: vec![],
            max_output_tokens: 100,
            temperature: None,
            cache_key: None,
        }
    }

    #[test]
    fn fit_context_elides_old_tool_output_first() {
        let u = |c: &str| Message::User { content: c.into() };
        let mut r = request(vec![
            u("x"),
            Message::ToolResult {
                call_id: "1".into(),
                content: "y".repeat(40_000),
                is_error: false,
            },
            u("a"),
            u("b"),
            u("c"),
            u("d"),
        ]);
        fit_context(&mut r, Some(5_000));
        let Message::ToolResult { content, .. } = &r.messages[1] else {
            panic!()
        };
        assert!(content.contains("left out"), "{content}");
    }

    #[test]
    fn fit_context_shrinks_old_file_contents_and_messages_when_tool_output_is_not_enough() {
        let u = |c: String| Message::User { content: c };
        let big_write = ToolCall {
            id: "w".into(),
            name: "write_file".into(),
            arguments: json!({"path": "big.py", "content": "x".repeat(30_000)}).to_string(),
        };
        let mut r = request(vec![
            u("the task".into()),
            Message::Assistant {
                text: String::new(),
                tool_calls: vec![big_write],
                reasoning: vec![],
            },
            Message::ToolResult {
                call_id: "w".into(),
                content: "wrote big.py".into(),
                is_error: false,
            },
            u(format!("the tests failed:\n{}", "E".repeat(20_000))),
            u("a".into()),
            u("b".into()),
            u("c".into()),
            u("d".into()),
        ]);
        let tokens = fit_context(&mut r, Some(4_000));
        assert!(tokens + 100 <= 3_600, "{tokens}");
        let Message::Assistant { tool_calls, .. } = &r.messages[1] else {
            panic!()
        };
        let args: serde_json::Value = serde_json::from_str(&tool_calls[0].arguments).unwrap();
        assert_eq!(
            args["path"], "big.py",
            "still valid JSON that names the file"
        );
        assert!(
            matches!(&r.messages[3], Message::User { content } if content.contains("left out"))
        );
        assert!(matches!(&r.messages[0], Message::User { content } if content == "the task"));
    }

    #[test]
    fn fit_context_leaves_a_small_request_alone_and_counts_it() {
        let mut r = request(vec![Message::ToolResult {
            call_id: "1".into(),
            content: "y".repeat(4000),
            is_error: false,
        }]);
        r.system = "s".into();
        let before = r.clone();
        let bytes = serde_json::to_string(&r).unwrap().len() as u64;
        assert_eq!(fit_context(&mut r, Some(200_000)), estimate_tokens(bytes));
        assert_eq!(fit_context(&mut r, None), estimate_tokens(bytes));
        assert_eq!(r, before);
    }
}
