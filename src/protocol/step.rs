//! The agent's saved steps: one serde-tagged enum, [`StepPayload`]. A step is stored as two
//! columns, `kind` (the tag) and `payload` (the content), and read back through this type only,
//! so a renamed or missing key is an error where it is read, never a silent default.
//!
//! Compatibility: steps written by samocoder 0.1.0 carry a `thread` key in the payload (now a
//! column) and, for some kinds, keys that are now derived (`truncated`) or renamed (`passed`);
//! the types below read them (unknown keys are ignored, and [`Verify`] maps the old `passed`).

use serde::{Deserialize, Serialize};

use super::event::Role;
use crate::llm::{Response, ToolCall};

/// What one saved step records. The variant is the step's `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum StepPayload {
    /// A message to the model (a task prompt, a fix request, a nudge).
    UserInput(UserInput),
    /// A model answer, saved before any of its tool calls run.
    ModelTurn(ModelTurn),
    /// The result of one tool call of the thread's last answer.
    ToolCall(ToolResult),
    /// The test command ran (or could not) after `task_done`.
    Verify(Verify),
    /// The task's work was committed.
    Checkpoint(Checkpoint),
    /// The spec was accepted and written.
    Spec(SpecSaved),
    /// The architecture was accepted.
    Architecture(ArchitectureSaved),
    /// A plan was accepted and its tasks saved.
    Plan(PlanSaved),
}

impl StepPayload {
    /// The `kind` column.
    pub fn kind(&self) -> StepKind {
        match self {
            StepPayload::UserInput(_) => StepKind::UserInput,
            StepPayload::ModelTurn(_) => StepKind::ModelTurn,
            StepPayload::ToolCall(_) => StepKind::ToolCall,
            StepPayload::Verify(_) => StepKind::Verify,
            StepPayload::Checkpoint(_) => StepKind::Checkpoint,
            StepPayload::Spec(_) => StepKind::Spec,
            StepPayload::Architecture(_) => StepKind::Architecture,
            StepPayload::Plan(_) => StepKind::Plan,
        }
    }

    /// Splits into the two stored columns: the kind and the payload's JSON text.
    pub fn to_columns(&self) -> Result<(StepKind, String), serde_json::Error> {
        let mut v = serde_json::to_value(self)?;
        let content = v
            .get_mut("payload")
            .map(serde_json::Value::take)
            .unwrap_or_else(|| serde_json::json!({}));
        Ok((self.kind(), serde_json::to_string(&content)?))
    }

    /// Joins the two stored columns back into a payload.
    pub fn from_columns(kind: StepKind, payload: &str) -> Result<StepPayload, serde_json::Error> {
        let content: serde_json::Value = serde_json::from_str(payload)?;
        serde_json::from_value(serde_json::json!({"kind": kind.as_str(), "payload": content}))
    }
}

/// The closed set of step kinds (the `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    UserInput,
    ModelTurn,
    ToolCall,
    Verify,
    Checkpoint,
    Spec,
    Architecture,
    Plan,
}

impl StepKind {
    pub const ALL: [StepKind; 8] = [
        StepKind::UserInput,
        StepKind::ModelTurn,
        StepKind::ToolCall,
        StepKind::Verify,
        StepKind::Checkpoint,
        StepKind::Spec,
        StepKind::Architecture,
        StepKind::Plan,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::UserInput => "user_input",
            StepKind::ModelTurn => "model_turn",
            StepKind::ToolCall => "tool_call",
            StepKind::Verify => "verify",
            StepKind::Checkpoint => "checkpoint",
            StepKind::Spec => "spec",
            StepKind::Architecture => "architecture",
            StepKind::Plan => "plan",
        }
    }

    pub fn parse(s: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInput {
    pub content: String,
}

/// A model answer as it was received (text, tool calls, finish reason, usage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelTurn {
    pub role: Role,
    #[serde(flatten)]
    pub response: Response,
}

impl ModelTurn {
    /// Cut by the output-token limit: nothing of it is applied or sent back.
    pub fn truncated(&self) -> bool {
        self.response.is_truncated()
    }
}

/// The result of one tool call, as the model will read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The id of the call in the answer it belongs to.
    pub call_id: String,
    pub name: String,
    /// The path or command the call was about (for people reading the record).
    pub target: String,
    pub result: String,
    pub is_error: bool,
}

/// Whether the tests passed, failed, or did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    Passed,
    Failed,
    /// Denied, refused, or commands are disabled (`--approve never`): the task is done but
    /// unverified.
    NotRun,
}

/// One run of the test command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "VerifyWire")]
pub struct Verify {
    pub command: String,
    pub status: TestStatus,
    /// The `task_done` summary (kept for the checkpoint message).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// The failure fingerprint (failed runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Why the tests did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// [`Verify`] as stored, old (`passed`) or new (`status`).
#[derive(Deserialize)]
struct VerifyWire {
    command: String,
    #[serde(default)]
    status: Option<TestStatus>,
    #[serde(default)]
    passed: Option<bool>,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    exit_code: Option<i32>,
    #[serde(default)]
    reason: Option<String>,
}

impl From<VerifyWire> for Verify {
    fn from(w: VerifyWire) -> Verify {
        // 0.1.0 wrote `passed: true` for runs whose tests did not run: they count as passed,
        // which is what that version did with them.
        let status = w.status.unwrap_or(match w.passed {
            Some(false) => TestStatus::Failed,
            _ => TestStatus::Passed,
        });
        Verify {
            command: w.command,
            status,
            summary: w.summary,
            signature: w.signature,
            exit_code: w.exit_code,
            reason: w.reason,
        }
    }
}

impl Verify {
    /// The task may be checkpointed (passed, or not run and so done unverified).
    pub fn lets_task_finish(&self) -> bool {
        self.status != TestStatus::Failed
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The commit, or none when there was nothing to commit and no HEAD.
    pub commit: Option<String>,
    #[serde(default)]
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecSaved {
    #[serde(default)]
    pub assumptions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchitectureSaved {
    pub architecture: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSaved {
    pub iteration: i64,
    #[serde(default)]
    pub change_request: Option<String>,
    /// Set when the iteration is a `resume --from-task` copy of an earlier one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartOf>,
}

/// What a `resume --from-task N` iteration restarted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestartOf {
    /// The iteration whose plan was copied.
    pub iteration: i64,
    pub from_task: u32,
    /// The checkpoint the plan started from (what `--from-task 1` goes back to).
    pub base: Option<String>,
}

/// A tool call of a saved answer, with its id (for finding its result).
pub fn calls_of(payload: &StepPayload) -> &[ToolCall] {
    match payload {
        StepPayload::ModelTurn(t) if !t.truncated() => &t.response.tool_calls,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn old(kind: &str, payload: serde_json::Value) -> StepPayload {
        StepPayload::from_columns(StepKind::parse(kind).unwrap(), &payload.to_string())
            .unwrap_or_else(|e| panic!("{kind}: {e}"))
    }

    #[test]
    fn steps_written_by_0_1_0_are_read() {
        let turn = old(
            "model_turn",
            json!({"thread": "task:1", "role": "coder", "text": "", "truncated": false,
                   "tool_calls": [{"id": "call_1", "name": "task_done", "arguments": "{}"}],
                   "finish": "tool_calls", "usage": {"input_tokens": 5, "output_tokens": 2}}),
        );
        let StepPayload::ModelTurn(t) = &turn else {
            panic!("{turn:?}")
        };
        assert_eq!(t.role, Role::Coder);
        assert_eq!(t.response.tool_calls[0].name, "task_done");
        assert_eq!(t.response.usage.input_tokens, 5);
        assert!(!t.truncated());

        let v = old(
            "verify",
            json!({"thread": "task:1", "command": "pytest", "passed": false, "signature": "ab", "exit_code": 1}),
        );
        assert!(matches!(
            v,
            StepPayload::Verify(Verify {
                status: TestStatus::Failed,
                ..
            })
        ));
        let v = old(
            "verify",
            json!({"thread": "task:1", "command": "pytest", "passed": true, "summary": "s"}),
        );
        assert!(matches!(
            v,
            StepPayload::Verify(Verify {
                status: TestStatus::Passed,
                ..
            })
        ));
        let r = old(
            "tool_call",
            json!({"thread": "t", "call_id": "c", "name": "n", "target": "x", "result": "r", "is_error": true}),
        );
        assert!(matches!(
            r,
            StepPayload::ToolCall(ToolResult { is_error: true, .. })
        ));
        old(
            "spec",
            json!({"thread": "spec-result", "assumptions": ["a"]}),
        );
        old(
            "plan",
            json!({"thread": "plan-result", "iteration": 1, "change_request": null}),
        );
        old(
            "checkpoint",
            json!({"thread": "task:1", "commit": "abc", "summary": ""}),
        );
        old(
            "architecture",
            json!({"thread": "architecture-result", "architecture": {"stack": "x"}}),
        );
        old("user_input", json!({"thread": "spec", "content": "hi"}));
    }

    #[test]
    fn a_missing_key_is_an_error_not_a_default() {
        let e = StepPayload::from_columns(StepKind::ToolCall, r#"{"call_id":"c","name":"n"}"#);
        assert!(e.is_err());
        let e = StepPayload::from_columns(StepKind::ModelTurn, r#"{"text":"hi"}"#);
        assert!(e.unwrap_err().to_string().contains("role"));
    }

    #[test]
    fn columns_round_trip() {
        let p = StepPayload::Verify(Verify {
            command: "make test".into(),
            status: TestStatus::NotRun,
            summary: String::new(),
            signature: None,
            exit_code: None,
            reason: Some("policy never".into()),
        });
        let (kind, text) = p.to_columns().unwrap();
        assert_eq!(kind, StepKind::Verify);
        assert!(!text.contains("\"kind\""), "{text}");
        assert_eq!(StepPayload::from_columns(kind, &text).unwrap(), p);
    }
}
