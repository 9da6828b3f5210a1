//! One task: the developer's tool loop, then verification (the test command), the fix loop
//! with loop detection, and the git checkpoint. Every model answer and every tool result is
//! saved before the next step, so a resumed task continues from its last saved step.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::answers::{Unusable, give_up_message, unusable_in_a_row};
use super::error::AgentError;
use super::planning::MAX_BAD_ANSWERS;
use super::session::{Session, Thread, ThreadLog};
use super::tools::{dev_tools, repo_dev_tools};
use crate::llm::ToolCall;
use crate::protocol::{Event, Role, StepKind, StepPayload, TestStatus};
use crate::store::{Task, TaskStatus};
use crate::templates;

impl Session<'_> {
    /// Runs one task to done (tests pass, checkpoint made) or to failure.
    pub async fn task_phase(
        &mut self,
        task: Task,
        total: u32,
        user_edits: Option<&str>,
    ) -> Result<(), AgentError> {
        let index = task.ordinal as u32;
        let key = format!("task:{}", task.id);
        self.emit(Event::TaskStarted {
            index,
            total,
            title: task.title.clone(),
        });
        self.current_task = Some(super::session::task_label(&task));
        let arch = self.architecture();
        let adopted = self.adopted.is_some();
        let thread = Thread {
            key: key.clone(),
            system: templates::render_prompt(
                "coder.system",
                json!({"test_command": arch.test_command, "adopted": adopted}),
            )?,
            tools: if adopted {
                repo_dev_tools()
            } else {
                dev_tools()
            },
        };
        let mut log = self.open_thread(&key)?;
        let fresh = log.is_empty();
        if task.status != TaskStatus::InProgress {
            self.store().start_task_attempt(task.id)?;
        }
        // On a resumed task the note about the user's edits waits until the calls of the last
        // answer have all run: a message between a call and its result breaks the conversation.
        let mut edits_note = None;
        if fresh {
            let prompt = self.task_prompt(&task, total, user_edits)?;
            self.say(&mut log, Some(task.id), prompt)?;
        } else if let Some(edits) = user_edits {
            edits_note = Some(format!(
                "Since the last run the user changed these files themselves (read them before editing; keep their changes):\n{edits}"
            ));
        }

        let limits = self.deps.config.limits.clone();
        let tid = Some(task.id);
        loop {
            self.check_cancel()?;
            let turns = log
                .this_run(self.run_id)
                .filter(|s| s.kind() == StepKind::ModelTurn)
                .count() as u32;
            let tool_errors = log
                .this_run(self.run_id)
                .filter(|s| matches!(&s.payload, StepPayload::ToolCall(r) if r.is_error))
                .count() as u32;
            if tool_errors > limits.max_tool_errors {
                return self.fail_task(
                    &task,
                    format!(
                        "{tool_errors} invalid tool calls (limit {})",
                        limits.max_tool_errors
                    ),
                );
            }
            let fixing = log.steps.iter().any(
                |s| matches!(&s.payload, StepPayload::Verify(v) if v.status == TestStatus::Failed),
            );
            let role = if fixing {
                Role::Troubleshooter
            } else {
                Role::Coder
            };
            let stuck = unusable_in_a_row(&log, self.run_id);
            if stuck.len() >= MAX_BAD_ANSWERS || matches!(stuck.last(), Some(Unusable::Refused(_)))
            {
                let why = give_up_message(role, "the tools", &stuck, &self.project.name);
                return self.fail_task(&task, why);
            }
            if edits_note.is_some() && !has_pending_calls(&log) {
                let note = edits_note.take().unwrap_or_default();
                self.say(&mut log, tid, note)?;
                continue;
            }
            let Some(last) = log.last() else {
                return Err(AgentError::Failed(
                    "the task's saved conversation is empty".into(),
                ));
            };
            match &last.payload {
                StepPayload::UserInput(_) => {
                    if turns >= limits.max_turns_per_task {
                        return self.fail_task(
                            &task,
                            format!(
                                "no result after {turns} model turns (limit {})",
                                limits.max_turns_per_task
                            ),
                        );
                    }
                    self.model_turn(&thread, &mut log, role, tid).await?;
                }
                StepPayload::ModelTurn(t) if t.truncated() => {
                    self.say(&mut log, tid, "Your answer was cut off by the output token limit and nothing from it was applied. Send smaller pieces: one file per tool call, and split large files.")?;
                }
                StepPayload::ModelTurn(_) | StepPayload::ToolCall(_) => {
                    let (calls, results) = last_turn_calls(&log);
                    let pending: Vec<ToolCall> = calls
                        .iter()
                        .filter(|c| !results.contains(&c.id))
                        .cloned()
                        .collect();
                    if calls.is_empty() {
                        self.say(&mut log, tid, "Use the tools to make the changes, run the tests, and call `task_done` when the task is complete.")?;
                    } else if !pending.is_empty() {
                        self.execute_calls(&mut log, task.id, pending).await?;
                    } else if done_accepted(&log) {
                        if self.verify(&task, &mut log, &arch.test_command).await? {
                            return Ok(());
                        }
                    } else {
                        self.say(&mut log, tid, "Continue.")?;
                    }
                }
                StepPayload::Verify(v) if v.lets_task_finish() => {
                    // Verified but the checkpoint was not saved (a crash in between).
                    let summary = v.summary.clone();
                    self.checkpoint(&task, &mut log, &summary)?;
                    return Ok(());
                }
                StepPayload::Verify(v) => {
                    // The failure was saved but not its fix request (a crash in between).
                    let note = format!(
                        "The tests failed (`{}`). Run them, fix what fails, and call `task_done` again.",
                        v.command
                    );
                    self.say(&mut log, tid, note)?;
                }
                _ => {
                    self.say(&mut log, tid, "Continue with the task.")?;
                }
            }
        }
    }

    fn task_prompt(
        &self,
        task: &Task,
        total: u32,
        user_edits: Option<&str>,
    ) -> Result<String, AgentError> {
        // Summaries by checkpoint: a task copied by `--from-task` shares its original's commit.
        let summaries: HashMap<String, String> = self
            .store()
            .steps_of_kind(self.project.id, StepKind::Checkpoint)?
            .into_iter()
            .filter_map(|s| match s.payload {
                StepPayload::Checkpoint(c) => Some((c.commit?, c.summary)),
                _ => None,
            })
            .collect();
        let mut seen = HashSet::new();
        let done: Vec<Value> = self
            .store()
            .list_tasks(self.project.id)?
            .into_iter()
            .filter(|t| t.status == TaskStatus::Done)
            .filter(|t| t.checkpoint.as_ref().is_none_or(|c| seen.insert(c.clone())))
            .map(|t| {
                let summary = t.checkpoint.as_ref().and_then(|c| summaries.get(c));
                json!({"index": t.ordinal, "title": t.title, "summary": summary.cloned().unwrap_or_default()})
            })
            .collect();
        let spec = self.project.spec.clone().unwrap_or_default();
        let spec: String = spec.chars().take(6000).collect();
        Ok(templates::render_prompt(
            "coder.task",
            json!({
                "task": {"index": task.ordinal, "title": task.title, "goal": task.goal,
                         "files": task.files, "verify": task.verify.clone().unwrap_or_else(|| "the test command passes".into())},
                "total": total,
                "spec": spec,
                "architecture": self.architecture(),
                "done_tasks": done,
                "user_edits": user_edits,
                "project_map": self.project_map_text()?,
                "adopted": self.adopted.is_some(),
                "user_changes": self.user_changes_list(),
            }),
        )?)
    }
}

/// The tool calls of the thread's last model answer and the ids that already have results.
pub(super) fn last_turn_calls(log: &ThreadLog) -> (Vec<ToolCall>, HashSet<String>) {
    let Some(pos) = log.last_turn_pos() else {
        return (Vec::new(), HashSet::new());
    };
    let calls = match &log.steps[pos].payload {
        StepPayload::ModelTurn(t) if !t.truncated() => t.response.tool_calls.clone(),
        _ => Vec::new(),
    };
    let done = log.steps[pos + 1..]
        .iter()
        .filter_map(|s| match &s.payload {
            StepPayload::ToolCall(r) => Some(r.call_id.clone()),
            _ => None,
        })
        .collect();
    (calls, done)
}

/// Whether the thread ends with an answer some of whose tool calls have no result yet.
fn has_pending_calls(log: &ThreadLog) -> bool {
    match log.last().map(|s| &s.payload) {
        Some(StepPayload::ModelTurn(_) | StepPayload::ToolCall(_)) => {
            let (calls, results) = last_turn_calls(log);
            calls.iter().any(|c| !results.contains(&c.id))
        }
        _ => false,
    }
}

/// Whether the last answer's `task_done` was accepted.
fn done_accepted(log: &ThreadLog) -> bool {
    let Some(pos) = log.last_turn_pos() else {
        return false;
    };
    log.steps[pos + 1..].iter().any(
        |s| matches!(&s.payload, StepPayload::ToolCall(r) if r.name == "task_done" && !r.is_error),
    )
}
