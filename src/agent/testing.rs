//! Helpers for the agent's in-process tests: saved steps built from typed payloads.

use crate::llm::{FinishReason, Response, ToolCall};
use crate::protocol::{ModelTurn, Role, StepPayload, ToolResult, UserInput};
use crate::store::Step;

/// A saved step (of run 1, project 1) for tests of code that reads steps.
pub(crate) fn step(payload: StepPayload) -> Step {
    Step {
        id: 0,
        project_id: 1,
        run_id: 1,
        task_id: None,
        seq: 0,
        thread: "t".into(),
        payload,
        created_at: 0,
    }
}

pub(crate) fn user(content: &str) -> StepPayload {
    StepPayload::UserInput(UserInput {
        content: content.into(),
    })
}

pub(crate) fn turn(role: Role, text: &str, tool_calls: Vec<ToolCall>) -> StepPayload {
    let finish = if tool_calls.is_empty() {
        FinishReason::Stop
    } else {
        FinishReason::ToolCalls
    };
    StepPayload::ModelTurn(ModelTurn {
        role,
        response: Response {
            text: text.into(),
            tool_calls,
            finish: Some(finish),
            ..Response::default()
        },
    })
}

pub(crate) fn tool_result(call_id: &str, name: &str, result: &str, is_error: bool) -> StepPayload {
    StepPayload::ToolCall(ToolResult {
        call_id: call_id.into(),
        name: name.into(),
        target: String::new(),
        result: result.into(),
        is_error,
    })
}
