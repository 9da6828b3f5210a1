//! One run over one project: the saved state (steps), model calls with budget checks, and the
//! conversation threads rebuilt from what was saved, so a resumed run continues exactly where
//! the last saved step left off and never pays again for a saved answer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::deps::AgentDeps;
use super::error::AgentError;
use super::events::Event;
use crate::exec::CommandGate;
use crate::llm::usage::{CallContext, estimate_tokens};
use crate::llm::{ErrorClass, Message, Request, Response, StreamEvent, ToolCall, ToolDef};
use crate::store::{NewStep, Project, Step, StepKind, Store};
use crate::workspace::Workspace;

/// A conversation the agent keeps: the spec, the architecture, a plan, or one task.
pub struct Thread {
    /// `spec`, `architecture`, `plan:2`, `task:17`.
    pub key: String,
    pub system: String,
    pub tools: Vec<ToolDef>,
}

/// A saved model answer.
#[derive(Debug, Clone)]
pub struct Turn {
    pub response: Response,
    pub step_id: i64,
}

pub struct Session<'a> {
    pub deps: &'a AgentDeps,
    pub project: Project,
    pub run_id: i64,
    pub ws: Workspace,
    pub gate: CommandGate,
    pub started: Instant,
    calls: AtomicU64,
    warned_run: AtomicBool,
    warned_project: AtomicBool,
}

impl<'a> Session<'a> {
    pub fn new(deps: &'a AgentDeps, project: Project, run_id: i64, ws: Workspace) -> Self {
        let gate = CommandGate::new(
            deps.policy,
            deps.approver.clone(),
            deps.runner.clone(),
            ws.root().to_path_buf(),
            deps.home.clone(),
        );
        Session {
            deps,
            project,
            run_id,
            ws,
            gate,
            started: Instant::now(),
            calls: AtomicU64::new(0),
            warned_run: AtomicBool::new(false),
            warned_project: AtomicBool::new(false),
        }
    }

    pub fn store(&self) -> &Store {
        &self.deps.store
    }

    pub fn emit(&self, event: Event) {
        self.deps.events.emit(event);
    }

    pub fn check_cancel(&self) -> Result<(), AgentError> {
        if self.deps.cancel.is_cancelled() {
            return Err(AgentError::Interrupted {
                project: self.project.name.clone(),
            });
        }
        Ok(())
    }

    /// Saves one step.
    pub fn save_step(
        &self,
        kind: StepKind,
        task_id: Option<i64>,
        payload: Value,
    ) -> Result<Step, AgentError> {
        Ok(self
            .store()
            .insert_step(&self.step(kind, task_id, payload))?)
    }

    /// A step of this run, for saving (alone or inside a transaction with what it belongs to).
    pub fn step(&self, kind: StepKind, task_id: Option<i64>, payload: Value) -> NewStep {
        NewStep {
            project_id: self.project.id,
            run_id: self.run_id,
            task_id,
            kind,
            payload,
        }
    }

    /// Every saved step of a thread, in order.
    pub fn thread_steps(&self, key: &str) -> Result<Vec<Step>, AgentError> {
        Ok(self.store().thread_steps(self.project.id, key)?)
    }

    /// How many model answers this project's saved state has consumed (the replay position).
    pub fn answers_consumed(store: &Store, project_id: i64) -> Result<usize, AgentError> {
        Ok(store.count_steps(project_id, StepKind::ModelTurn)? as usize)
    }

    /// Saves a user message into a thread.
    pub fn say(&self, key: &str, task_id: Option<i64>, content: &str) -> Result<(), AgentError> {
        self.save_step(
            StepKind::UserInput,
            task_id,
            json!({"thread": key, "content": content}),
        )?;
        Ok(())
    }

    /// Saves the result of one tool call into a thread.
    pub fn tool_result(
        &self,
        key: &str,
        task_id: Option<i64>,
        call: &ToolCall,
        target: &str,
        result: &str,
        is_error: bool,
    ) -> Result<(), AgentError> {
        self.save_step(
            StepKind::ToolCall,
            task_id,
            json!({"thread": key, "call_id": call.id, "name": call.name, "target": target,
                   "result": result, "is_error": is_error}),
        )?;
        Ok(())
    }

    /// Asks the model for the next answer in `thread` (conversation rebuilt from the saved
    /// steps), checking the budget first, and saves the answer before returning it.
    pub async fn model_turn(
        &self,
        thread: &Thread,
        role: &str,
        task_id: Option<i64>,
    ) -> Result<Turn, AgentError> {
        self.check_cancel()?;
        let steps = self.thread_steps(&thread.key)?;
        let messages = rebuild(&steps);
        let mut request = Request {
            model: String::new(),
            system: thread.system.clone(),
            messages,
            tools: thread.tools.clone(),
            max_output_tokens: self.deps.config.limits.max_output_tokens,
            temperature: None,
            cache_key: None,
        };
        let input_tokens = fit_context(&mut request, self.deps.models.context_window(role));
        self.preflight(role, input_tokens, request.max_output_tokens)?;

        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let call_key_prefix = if self.deps.models.replayed() {
            // Replays are sequential, so the saved answers count is this answer's position.
            let position = Session::answers_consumed(self.store(), self.project.id)?;
            format!("p{}/answer{position}", self.project.id)
        } else {
            format!("run{}/{call}", self.run_id)
        };
        let context = CallContext {
            role: role.to_string(),
            project_id: Some(self.project.id),
            run_id: Some(self.run_id),
            step_id: None,
            call_key_prefix,
        };
        let provider = self.deps.models.for_role(role, context)?;
        self.emit(Event::ModelCallStarted { role: role.into() });
        let mut stream = provider.stream(request);
        let mut response = Response::default();
        loop {
            // On Ctrl-C the router ends the call itself and records it as cancelled; keep
            // polling so that record is written, but give up after a short grace.
            let next = if self.deps.cancel.is_cancelled() {
                match tokio::time::timeout(std::time::Duration::from_secs(2), stream.next()).await {
                    Ok(ev) => ev,
                    Err(_) => {
                        return Err(AgentError::Interrupted {
                            project: self.project.name.clone(),
                        });
                    }
                }
            } else {
                tokio::select! {
                    ev = stream.next() => ev,
                    _ = self.deps.cancel.cancelled() => continue,
                }
            };
            let Some(ev) = next else { break };
            let ev = ev.map_err(|e| {
                if e.class == ErrorClass::Cancelled {
                    AgentError::Interrupted {
                        project: self.project.name.clone(),
                    }
                } else {
                    AgentError::Llm(e)
                }
            })?;
            match &ev {
                StreamEvent::TextDelta { text } => {
                    self.emit(Event::ModelText { text: text.clone() })
                }
                StreamEvent::Reset { reason } => self.emit(Event::ModelReset {
                    reason: reason.clone(),
                }),
                _ => {}
            }
            response.apply(ev);
        }
        let truncated = response.is_truncated();
        let step = self.save_step(
            StepKind::ModelTurn,
            task_id,
            json!({
                "thread": thread.key, "role": role, "text": response.text,
                "tool_calls": response.tool_calls, "finish": response.finish,
                "usage": response.usage, "truncated": truncated,
            }),
        )?;
        self.after_call(role)?;
        Ok(Turn {
            response,
            step_id: step.id,
        })
    }

    /// Stops before a call that the budget cannot pay for.
    fn preflight(&self, role: &str, input: u64, max_output: u32) -> Result<(), AgentError> {
        let output = u64::from(max_output).min(2048);
        let estimate = self
            .deps
            .models
            .estimate_cost(role, input, output)
            .unwrap_or(0.0);
        for (scope, spent, cap) in self.caps()? {
            if spent >= cap || spent + estimate > cap {
                let next = if spent >= cap {
                    String::new()
                } else {
                    format!(" and the next call would cost about ${estimate:.4}")
                };
                return Err(AgentError::Budget {
                    scope,
                    spent,
                    cap,
                    next,
                    project: self.project.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// (scope, spent, cap) for each cap in force.
    fn caps(&self) -> Result<Vec<(&'static str, f64, f64)>, AgentError> {
        let mut caps = Vec::new();
        if let Some(cap) = self.deps.max_cost_usd {
            caps.push(("run", self.store().run_cost(self.run_id)?.cost_usd, cap));
        }
        let project_cap = self
            .project
            .budget_usd
            .or(self.deps.config.budget.per_project_usd);
        if let Some(cap) = project_cap {
            caps.push((
                "project",
                self.store().project_cost(self.project.id)?.cost_usd,
                cap,
            ));
        }
        Ok(caps)
    }

    fn after_call(&self, role: &str) -> Result<(), AgentError> {
        let last = self.store().read(|db| {
            Ok(db
                .conn()
                .query_row(
                    "SELECT provider, model, input_tokens + cached_tokens + cache_write_tokens,
                            output_tokens, cost_usd
                     FROM llm_calls WHERE run_id = ?1 ORDER BY id DESC LIMIT 1",
                    [self.run_id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, Option<f64>>(4)?,
                        ))
                    },
                )
                .ok())
        })?;
        if let Some((provider, model, input, output, cost)) = last {
            self.emit(Event::ModelCallFinished {
                role: role.into(),
                replayed: provider == "replay",
                provider,
                model,
                input_tokens: input.max(0) as u64,
                output_tokens: output.max(0) as u64,
                cost_usd: cost,
            });
        }
        let warn_at = self.deps.config.budget.warn_at;
        for (scope, spent, cap) in self.caps()? {
            let warned = if scope == "run" {
                &self.warned_run
            } else {
                &self.warned_project
            };
            if spent >= warn_at * cap && !warned.swap(true, Ordering::SeqCst) {
                self.deps.events.emit(Event::BudgetWarning {
                    scope: scope.into(),
                    spent_usd: spent,
                    cap_usd: cap,
                });
            }
        }
        Ok(())
    }
}

/// The conversation of a thread from its saved steps: user inputs, the model's answers (cut
/// answers left out: nothing of them was applied), and tool results. Consecutive user inputs
/// are joined so both wire formats accept the sequence.
pub fn rebuild(steps: &[Step]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    for s in steps {
        let p = &s.payload;
        match s.kind {
            StepKind::UserInput => {
                let content = p["content"].as_str().unwrap_or_default().to_string();
                if let Some(Message::User { content: prev }) = out.last_mut() {
                    prev.push_str("\n\n");
                    prev.push_str(&content);
                } else {
                    out.push(Message::User { content });
                }
            }
            StepKind::ModelTurn => {
                if p["truncated"].as_bool() == Some(true) {
                    continue;
                }
                let tool_calls: Vec<ToolCall> =
                    serde_json::from_value(p["tool_calls"].clone()).unwrap_or_default();
                let text = p["text"].as_str().unwrap_or_default().to_string();
                out.push(Message::Assistant { text, tool_calls });
            }
            StepKind::ToolCall => out.push(Message::ToolResult {
                call_id: p["call_id"].as_str().unwrap_or_default().to_string(),
                content: p["result"].as_str().unwrap_or_default().to_string(),
                is_error: p["is_error"].as_bool().unwrap_or(false),
            }),
            _ => {}
        }
    }
    out
}

/// Keeps a request under the model's context window: when the estimate is over 90% of it, the
/// oldest large tool results are replaced by a short note (the model can read files again).
/// Returns the estimated input tokens of the request as it will be sent. The request is
/// serialized once; elisions adjust the count (closely enough for an estimate).
pub fn fit_context(request: &mut Request, window: Option<u64>) -> u64 {
    let mut bytes = serde_json::to_string(request).map(|s| s.len()).unwrap_or(0) as u64;
    if let Some(window) = window {
        let budget = window.saturating_mul(9) / 10;
        let output = u64::from(request.max_output_tokens);
        let last = request.messages.len().saturating_sub(4);
        for m in &mut request.messages[..last] {
            if estimate_tokens(bytes) + output <= budget {
                break;
            }
            if let Message::ToolResult { content, .. } = m
                && content.len() > 512
            {
                let note = format!(
                    "[{} bytes of earlier output left out to fit the context window; run or read again if needed]",
                    content.len()
                );
                bytes = bytes.saturating_sub(content.len() as u64) + note.len() as u64;
                *content = note;
            }
        }
    }
    estimate_tokens(bytes)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::StepKind;

    /// A saved step for tests of code that reads steps.
    pub(in crate::agent) fn step(kind: StepKind, payload: Value) -> Step {
        Step {
            id: 0,
            project_id: 1,
            run_id: 1,
            task_id: None,
            seq: 0,
            kind,
            payload,
            created_at: 0,
        }
    }

    #[test]
    fn rebuild_skips_cut_answers_and_joins_user_inputs() {
        let steps = vec![
            step(StepKind::UserInput, json!({"content": "do it"})),
            step(
                StepKind::ModelTurn,
                json!({"text": "half", "truncated": true, "tool_calls": []}),
            ),
            step(StepKind::UserInput, json!({"content": "smaller please"})),
            step(
                StepKind::ModelTurn,
                json!({"text": "", "truncated": false,
                       "tool_calls": [{"id": "c1", "name": "list_files", "arguments": "{}"}]}),
            ),
            step(
                StepKind::ToolCall,
                json!({"call_id": "c1", "result": "a.py", "is_error": false}),
            ),
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

    #[test]
    fn fit_context_elides_old_tool_output_first() {
        let mut r = Request {
            model: String::new(),
            system: String::new(),
            messages: vec![
                Message::User {
                    content: "x".into(),
                },
                Message::ToolResult {
                    call_id: "1".into(),
                    content: "y".repeat(40_000),
                    is_error: false,
                },
                Message::User {
                    content: "a".into(),
                },
                Message::User {
                    content: "b".into(),
                },
                Message::User {
                    content: "c".into(),
                },
                Message::User {
                    content: "d".into(),
                },
            ],
            tools: vec![],
            max_output_tokens: 100,
            temperature: None,
            cache_key: None,
        };
        fit_context(&mut r, Some(5_000));
        let Message::ToolResult { content, .. } = &r.messages[1] else {
            panic!()
        };
        assert!(content.contains("left out"), "{content}");
    }

    #[test]
    fn fit_context_leaves_a_small_request_alone_and_counts_it() {
        let mut r = Request {
            model: String::new(),
            system: "s".into(),
            messages: vec![Message::ToolResult {
                call_id: "1".into(),
                content: "y".repeat(4000),
                is_error: false,
            }],
            tools: vec![],
            max_output_tokens: 100,
            temperature: None,
            cache_key: None,
        };
        let before = r.clone();
        let bytes = serde_json::to_string(&r).unwrap().len() as u64;
        assert_eq!(fit_context(&mut r, Some(200_000)), estimate_tokens(bytes));
        assert_eq!(fit_context(&mut r, None), estimate_tokens(bytes));
        assert_eq!(r, before);
    }
}
