//! The planning phases: spec, architecture and plan. Each asks one role for a structured answer
//! (a single `submit_*` tool call), validates it, and saves it with the step that accepted it.

use serde::de::DeserializeOwned;
use serde_json::json;

use super::error::AgentError;
use super::events::{Event, PlannedTask};
use super::roles::{
    ArchitectureAnswer, PlanAnswer, SpecAnswer, submit_architecture_tool, submit_plan_tool,
    submit_spec_tool,
};
use super::session::{Session, Thread};
use crate::store::{NewTask, StepKind, TaskStatus};
use crate::templates;

/// How many unusable answers a planning step tolerates before the run stops.
const MAX_BAD_ANSWERS: usize = 3;

impl Session<'_> {
    /// Asks `role` in `thread` until it submits a valid `tool` answer. Resumes from the saved
    /// thread: an answer saved but not yet handled is handled without a new call.
    pub(super) async fn structured<T: DeserializeOwned>(
        &self,
        thread: &Thread,
        role: &str,
        first_message: &str,
        validate: impl Fn(&T) -> Result<(), String>,
    ) -> Result<T, AgentError> {
        let tool = thread.tools[0].name.clone();
        if self.thread_steps(&thread.key)?.is_empty() {
            self.say(&thread.key, None, first_message)?;
        }
        loop {
            let steps = self.thread_steps(&thread.key)?;
            // Accepted before a stop but not applied yet: use it, do not ask (and pay) again.
            if let Some(call) = accepted_call(&steps)
                && let Ok(v) = super::tools::parse_args::<T>(&call)
            {
                return Ok(v);
            }
            // Counted per run: `resume` gives the model fresh tries.
            let bad = steps
                .iter()
                .filter(|s| s.run_id == self.run_id)
                .filter(|s| s.kind == StepKind::ToolCall && s.payload["is_error"] == true)
                .count();
            if bad >= MAX_BAD_ANSWERS {
                let last = steps
                    .iter()
                    .rev()
                    .find(|s| s.kind == StepKind::ToolCall)
                    .and_then(|s| s.payload["result"].as_str().map(String::from))
                    .unwrap_or_default();
                return Err(AgentError::Model(format!(
                    "the {role} gave no usable answer after {bad} tries (last problem: {last}); try another model with --model or resume to try again"
                )));
            }
            let pending = match steps.last() {
                Some(s) if s.kind == StepKind::ModelTurn && s.payload["truncated"] != true => {
                    serde_json::from_value(s.payload["tool_calls"].clone()).unwrap_or_default()
                }
                Some(s) if s.kind == StepKind::ModelTurn => {
                    self.say(&thread.key, None, "Your answer was cut off by the output limit. Answer again, more briefly, with one tool call.")?;
                    continue;
                }
                _ => {
                    let turn = self.model_turn(thread, role, None).await?;
                    if turn.response.is_truncated() {
                        continue;
                    }
                    turn.response.tool_calls
                }
            };
            let calls: Vec<crate::llm::ToolCall> = pending;
            if calls.is_empty() {
                self.say(
                    &thread.key,
                    None,
                    &format!("Answer by calling the `{tool}` tool."),
                )?;
                continue;
            }
            let mut accepted = None;
            for call in &calls {
                let outcome = if call.name != tool {
                    Err(format!("unknown tool `{}`; call `{tool}`", call.name))
                } else if accepted.is_some() {
                    Err(format!("`{tool}` was already accepted; ignored"))
                } else {
                    super::tools::parse_args::<T>(call).and_then(|v| validate(&v).map(|_| v))
                };
                match outcome {
                    Ok(v) => {
                        self.tool_result(&thread.key, None, call, &tool, "accepted", false)?;
                        accepted = Some(v);
                    }
                    Err(e) => self.tool_result(&thread.key, None, call, &tool, &e, true)?,
                }
            }
            if let Some(v) = accepted {
                return Ok(v);
            }
        }
    }

    /// Spec phase: writes `SPEC.md` and saves the spec on the project.
    pub async fn spec_phase(&mut self) -> Result<(), AgentError> {
        self.emit(Event::PhaseStarted {
            phase: "spec".into(),
        });
        let interactive = self.deps.interactive;
        let thread = Thread {
            key: "spec".into(),
            system: templates::render_prompt("spec.system", json!({"interactive": interactive}))?,
            tools: vec![submit_spec_tool()],
        };
        let first = templates::render_prompt(
            "spec.user",
            json!({"project_name": self.project.name, "description": self.project.description, "answers": []}),
        )?;
        let answer = loop {
            let a: SpecAnswer = self
                .structured(&thread, "spec", &first, |a: &SpecAnswer| {
                    a.validate(interactive)
                })
                .await?;
            if a.spec_markdown.trim().is_empty() && !a.questions.is_empty() {
                let answers = self.deps.asker.ask(&a.questions);
                let text = match answers {
                    Some(ans) => a
                        .questions
                        .iter()
                        .zip(ans)
                        .map(|(q, a)| format!("- {q} -> {a}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    None => "Nobody can answer now: decide yourself and list your decisions as assumptions.".into(),
                };
                self.say(
                    "spec",
                    None,
                    &format!("Answers to your questions:\n{text}\n\nNow submit the spec."),
                )?;
                continue;
            }
            break a;
        };
        let spec = answer.spec_markdown.trim().to_string() + "\n";
        let max = self.deps.config.limits.max_file_bytes;
        let written = self
            .ws
            .resolve("SPEC.md")
            .and_then(|p| self.ws.write_atomic(&p, spec.as_bytes(), max))
            .map_err(|e| {
                AgentError::Failed(format!(
                    "cannot write SPEC.md in {} ({e}); make sure it is a plain file you can write",
                    self.ws.root().display()
                ))
            })?;
        let project_id = self.project.id;
        self.store().transaction(|db| {
            db.insert_step(&self.step(
                StepKind::Spec,
                None,
                json!({"thread": "spec-result", "assumptions": answer.assumptions}),
            ))?;
            db.upsert_file(project_id, "SPEC.md", &written.sha256, written.size)?;
            db.set_project_spec(project_id, &spec)
        })?;
        self.project.spec = Some(spec);
        self.emit(Event::SpecWritten {
            path: "SPEC.md".into(),
            assumptions: answer.assumptions,
        });
        Ok(())
    }

    /// Architecture phase: stack, optional starter template (rendered into the project),
    /// install and test commands.
    pub async fn architecture_phase(&mut self) -> Result<(), AgentError> {
        self.emit(Event::PhaseStarted {
            phase: "architecture".into(),
        });
        let starters = templates::list_starters()?;
        let names: Vec<String> = starters.iter().map(|s| s.name.clone()).collect();
        let thread = Thread {
            key: "architecture".into(),
            system: templates::render_prompt(
                "architect.system",
                json!({"available_tools": self.deps.available_tools, "starters": starters}),
            )?,
            tools: vec![submit_architecture_tool()],
        };
        let first = templates::render_prompt("architect.user", json!({"spec": self.project.spec}))?;
        let mut answer: ArchitectureAnswer = self
            .structured(&thread, "architect", &first, |a: &ArchitectureAnswer| {
                a.validate(&names)
            })
            .await?;
        if let Some(forced) = &self.deps.template {
            answer.template = Some(forced.clone());
        }
        let mut rendered_files = Vec::new();
        if let Some(name) = answer.template().map(String::from) {
            let vars = templates::ProjectVars::new(&self.project.name, &self.project.description)?;
            match templates::render_starter(&name, &self.ws, &vars) {
                Ok(r) => rendered_files = r.files,
                Err(e) => self.emit(Event::Warning {
                    message: format!("starter template `{name}` not used: {e}"),
                }),
            }
        }
        let mut files = Vec::new();
        for f in &rendered_files {
            let rel = f.to_string_lossy().replace('\\', "/");
            let d = self.ws.digest(&self.ws.resolve(&rel)?)?;
            files.push((rel, d.sha256, d.size));
        }
        let arch = serde_json::to_value(&answer).unwrap_or_default();
        let project_id = self.project.id;
        self.store().transaction(|db| {
            db.insert_step(&self.step(
                StepKind::Architecture,
                None,
                json!({"thread": "architecture-result", "architecture": arch}),
            ))?;
            for (rel, sha, size) in &files {
                db.upsert_file(project_id, rel, sha, *size)?;
            }
            db.set_project_architecture(project_id, &arch)
        })?;
        self.project.architecture = Some(arch);
        self.emit(Event::ArchitectureChosen {
            stack: answer.stack.clone(),
            template: answer.template().map(String::from),
            install_command: answer
                .install_command
                .clone()
                .filter(|c| !c.trim().is_empty()),
            test_command: answer.test_command.clone(),
        });
        if let Some(cmd) = answer
            .install_command
            .as_deref()
            .filter(|c| !c.trim().is_empty())
        {
            let out = self.run_command(None, cmd, None).await?;
            if !out.passed {
                self.emit(Event::Warning {
                    message: format!(
                        "the install command failed; the tasks will see its output: {cmd}"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Plan phase: the tasks of an iteration, saved with the step that accepted them.
    pub async fn plan_phase(
        &mut self,
        iteration: i64,
        change_request: Option<&str>,
    ) -> Result<(), AgentError> {
        self.emit(Event::PhaseStarted {
            phase: "plan".into(),
        });
        let map = self.ws.project_map(Default::default())?.render();
        let thread = Thread {
            key: format!("plan:{iteration}"),
            system: templates::render_prompt("planner.system", json!({}))?,
            tools: vec![submit_plan_tool()],
        };
        let mut first = templates::render_prompt(
            "planner.user",
            json!({"spec": self.project.spec, "architecture": self.architecture(), "project_map": map}),
        )?;
        if let Some(change) = change_request {
            first.push_str(&format!(
                "\nThe project is built and its tests pass. Plan only the tasks for this change request:\n{change}\n"
            ));
        }
        let plan: PlanAnswer = self
            .structured(&thread, "planner", &first, PlanAnswer::validate)
            .await?;
        let project_id = self.project.id;
        let tasks = self.store().transaction(|db| {
            db.insert_step(&self.step(StepKind::Plan, None, json!({"thread": "plan-result", "iteration": iteration, "change_request": change_request})))?;
            let mut out = Vec::new();
            for (i, t) in plan.tasks.iter().enumerate() {
                out.push(db.insert_task(&NewTask {
                    project_id,
                    iteration,
                    ordinal: i as i64 + 1,
                    title: t.title.trim().to_string(),
                    goal: t.goal.trim().to_string(),
                    files: t.files.clone(),
                    verify: t.verify.clone(),
                })?);
            }
            Ok(out)
        })?;
        self.emit(Event::PlanCreated {
            tasks: tasks
                .iter()
                .map(|t| PlannedTask {
                    index: t.ordinal as u32,
                    title: t.title.clone(),
                })
                .collect(),
        });
        debug_assert!(tasks.iter().all(|t| t.status == TaskStatus::Pending));
        Ok(())
    }

    /// The saved architecture.
    pub fn architecture(&self) -> ArchitectureAnswer {
        self.project
            .architecture
            .clone()
            .and_then(|a| serde_json::from_value(a).ok())
            .unwrap_or(ArchitectureAnswer {
                stack: "unknown".into(),
                template: None,
                dependencies: vec![],
                install_command: None,
                test_command: String::new(),
                notes: None,
            })
    }
}

/// The call of the thread's last answer that was accepted, when nothing but its tool results
/// came after it (the run stopped before the accepted answer was applied).
fn accepted_call(steps: &[crate::store::Step]) -> Option<crate::llm::ToolCall> {
    let pos = steps.iter().rposition(|s| s.kind == StepKind::ModelTurn)?;
    let after = &steps[pos + 1..];
    if after.iter().any(|s| s.kind != StepKind::ToolCall) {
        return None;
    }
    let id = after
        .iter()
        .find(|s| s.payload["is_error"] == false)?
        .payload["call_id"]
        .as_str()?
        .to_string();
    let calls: Vec<crate::llm::ToolCall> =
        serde_json::from_value(steps[pos].payload["tool_calls"].clone()).ok()?;
    calls.into_iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::session::tests::step;

    #[test]
    fn an_accepted_answer_is_found_only_while_nothing_followed_it() {
        let turn = step(
            StepKind::ModelTurn,
            json!({"tool_calls": [{"id": "a", "name": "submit_spec", "arguments": "{}"},
                                  {"id": "b", "name": "submit_spec", "arguments": "{\"x\":1}"}]}),
        );
        let bad = step(
            StepKind::ToolCall,
            json!({"call_id": "a", "is_error": true}),
        );
        let ok = step(
            StepKind::ToolCall,
            json!({"call_id": "b", "is_error": false}),
        );
        let user = step(StepKind::UserInput, json!({"content": "answers"}));
        let steps = vec![turn.clone(), bad.clone(), ok.clone()];
        assert_eq!(accepted_call(&steps).unwrap().id, "b");
        assert!(accepted_call(&[turn.clone(), bad]).is_none());
        assert!(accepted_call(&[turn, ok, user]).is_none());
    }
}
