//! The planning phases: spec, architecture and plan. Each asks one role for a structured answer
//! (a single `submit_*` tool call), validates it, and saves it with the step that accepted it.
//! Every unusable answer (text where the tool was required, an empty answer, a cut one, only
//! invalid calls) counts against a small cap; a refusal stops at once.

use serde::de::DeserializeOwned;
use serde_json::json;

use super::answers::{Unusable, judge};
use super::error::AgentError;
use super::roles::{
    ArchitectureAnswer, PlanAnswer, SpecAnswer, submit_architecture_tool, submit_plan_tool,
    submit_spec_tool,
};
use super::session::{Session, Thread, ThreadLog};
use crate::llm::ToolCall;
use crate::protocol::{
    ArchitectureSaved, ArchitectureSource, CommandRole, Event, Phase, PlanSaved, PlannedTask,
    QuestionReply, QuestionRequest, Role, SpecSaved, StepPayload, ToolResult,
};
use crate::provenance::{FileRecord, FileSource, PlanRecord, Record, SpecRecord};
use crate::store::{NewTask, TaskStatus};
use crate::templates;

/// How many unusable answers a planning step tolerates per run before the run stops.
pub(super) const MAX_BAD_ANSWERS: usize = 3;

impl Session<'_> {
    /// Asks `role` in `thread` until it submits a valid `tool` answer. Resumes from the saved
    /// thread: an answer saved but not yet handled is handled without a new call.
    pub(super) async fn structured<T: DeserializeOwned>(
        &self,
        thread: &Thread,
        role: Role,
        first_message: &str,
        validate: impl Fn(&T) -> Result<(), String>,
    ) -> Result<T, AgentError> {
        let tool = thread.tools[0].name.clone();
        let mut log = self.open_thread(&thread.key)?;
        if log.is_empty() {
            self.say(&mut log, None, first_message)?;
        }
        loop {
            // Accepted before a stop but not applied yet: use it, do not ask (and pay) again.
            if let Some(call) = accepted_call(&log)
                && let Ok(v) = super::tools::parse_args::<T>(&call)
            {
                return Ok(v);
            }
            // Counted per run: `resume` gives the model fresh tries.
            let bad = super::answers::unusable_turns(&log, self.run_id);
            if let Some(last) = bad.last()
                && (bad.len() >= MAX_BAD_ANSWERS || matches!(last, Unusable::Refused(_)))
            {
                return Err(AgentError::Model(super::answers::give_up_message(
                    role,
                    &tool,
                    &bad,
                    &self.project.name,
                )));
            }
            let pending: Vec<ToolCall> = match log.last().map(|s| &s.payload) {
                Some(StepPayload::ModelTurn(t)) => match judge(&t.response, true) {
                    Some(u) => {
                        self.say(&mut log, None, u.nudge(&tool))?;
                        continue;
                    }
                    None => t.response.tool_calls.clone(),
                },
                _ => {
                    self.model_turn(thread, &mut log, role, None).await?;
                    continue;
                }
            };
            let mut accepted = None;
            for call in &pending {
                let outcome = if call.name != tool {
                    Err(format!("unknown tool `{}`; call `{tool}`", call.name))
                } else if accepted.is_some() {
                    Err(format!("`{tool}` was already accepted; ignored"))
                } else {
                    super::tools::parse_args::<T>(call).and_then(|v| validate(&v).map(|_| v))
                };
                let (result, is_error) = match &outcome {
                    Ok(_) => ("accepted".to_string(), false),
                    Err(e) => (e.clone(), true),
                };
                let step = StepPayload::ToolCall(ToolResult {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    target: tool.clone(),
                    result,
                    is_error,
                });
                self.save(&mut log, None, step)?;
                if let Ok(v) = outcome {
                    accepted = Some(v);
                }
            }
            if let Some(v) = accepted {
                return Ok(v);
            }
        }
    }

    /// Spec phase: writes `SPEC.md` (an adopted repository's change spec goes to
    /// `.samocoder/<project>.change.md` instead) and saves the spec on the project.
    pub async fn spec_phase(&mut self) -> Result<(), AgentError> {
        self.emit(Event::PhaseStarted { phase: Phase::Spec });
        let interactive = self.deps.interactive();
        let adopted = self.adopted.is_some();
        let thread = Thread {
            key: "spec".into(),
            system: templates::render_prompt(
                if adopted {
                    "adopt.spec.system"
                } else {
                    "spec.system"
                },
                json!({"interactive": interactive}),
            )?,
            tools: vec![submit_spec_tool()],
        };
        let first = if adopted {
            self.adopted_spec_prompt()?
        } else {
            templates::render_prompt(
                "spec.user",
                json!({"project_name": self.project.name, "description": self.project.description, "answers": []}),
            )?
        };
        let answer = loop {
            let a: SpecAnswer = self
                .structured(&thread, Role::Spec, &first, |a: &SpecAnswer| {
                    a.validate(interactive)
                })
                .await?;
            if a.spec_markdown.trim().is_empty() && !a.questions.is_empty() {
                let text = match self.ask_questions(&a.questions).await? {
                    QuestionReply::Answers(ans) => a
                        .questions
                        .iter()
                        .zip(ans)
                        .map(|(q, a)| {
                            let a = if a.trim().is_empty() { "decide yourself".into() } else { a };
                            format!("- {q} -> {a}")
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                    QuestionReply::Skip => "Nobody can answer now: decide yourself and list your decisions as assumptions.".into(),
                };
                let mut log = self.open_thread(&thread.key)?;
                self.say(
                    &mut log,
                    None,
                    format!("Answers to your questions:\n{text}\n\nNow submit the spec."),
                )?;
                continue;
            }
            break a;
        };
        let spec = answer.spec_markdown.trim().to_string() + "\n";
        let max = self.deps.config.limits.max_file_bytes;
        let (path, written) = if adopted {
            let name = self.change_spec_name();
            let path = format!("{}/{name}", crate::workspace::META_DIR);
            // Never over a file of the user's (a repository that tracks `.samocoder/`).
            if self.ws.is_tracked(&path)? {
                self.emit(Event::Warning {
                    message: format!("{path} is a file of the repository; the change spec is kept in samocoder's database only (`samocoder show {}`)", self.project.name),
                });
                (path, None)
            } else {
                self.ws.exclude_meta_dir()?;
                let w = self.ws.write_meta(&name, spec.as_bytes()).map_err(|e| {
                    AgentError::Failed(format!(
                        "cannot write {path} ({e}); make sure the directory is writable"
                    ))
                })?;
                (path, Some(w))
            }
        } else {
            let w = self
                .ws
                .resolve("SPEC.md")
                .and_then(|p| self.ws.write_atomic(&p, spec.as_bytes(), max))
                .map_err(|e| {
                    AgentError::Failed(format!(
                        "cannot write SPEC.md in {} ({e}); make sure it is a plain file you can write",
                        self.ws.root().display()
                    ))
                })?;
            ("SPEC.md".to_string(), Some(w))
        };
        let project_id = self.project.id;
        let saved = StepPayload::Spec(SpecSaved {
            assumptions: answer.assumptions.clone(),
        });
        let spec_record = Record::Spec(SpecRecord {
            path: path.clone(),
            bytes: spec.len() as u64,
            assumptions: answer.assumptions.clone(),
        });
        self.store().transaction(|db| {
            db.insert_step(&self.new_step("spec-result", None, saved))?;
            if let Some(w) = &written {
                // samocoder's own `.samocoder/` files are not part of the tree it watches.
                if !adopted {
                    db.upsert_file(project_id, &path, &w.sha256, w.size)?;
                }
                self.record_in(
                    db,
                    None,
                    &Record::File(FileRecord {
                        path: path.clone(),
                        bytes: w.size,
                        sha256: w.sha256.clone(),
                        created: w.created,
                        source: FileSource::Spec,
                    }),
                )?;
            }
            self.record_in(db, None, &spec_record)?;
            db.set_project_spec(project_id, &spec)
        })?;
        self.project.spec = Some(spec);
        self.emit(Event::SpecWritten {
            path,
            assumptions: answer.assumptions,
        });
        Ok(())
    }

    /// Asks the user the spec writer's questions (when someone can answer) and waits.
    async fn ask_questions(&self, questions: &[String]) -> Result<QuestionReply, AgentError> {
        let Some(prompter) = &self.deps.prompter else {
            return Ok(QuestionReply::Skip);
        };
        let req = QuestionRequest {
            id: self.next_request_id(),
            questions: questions.to_vec(),
        };
        self.emit(Event::QuestionsAsked {
            request_id: req.id,
            questions: req.questions.clone(),
        });
        tokio::select! {
            reply = prompter.ask(req) => Ok(reply.unwrap_or(QuestionReply::Skip)),
            _ = self.deps.cancel.cancelled() => Err(self.interrupted()),
        }
    }

    /// Architecture phase: stack, optional starter template (rendered into the project),
    /// install and test commands.
    pub async fn architecture_phase(&mut self) -> Result<(), AgentError> {
        self.emit(Event::PhaseStarted {
            phase: Phase::Architecture,
        });
        if self.adopted.is_some() {
            let (answer, source, evidence) = self.adopted_architecture().await?;
            return self
                .save_architecture(answer, Vec::new(), source, evidence)
                .await;
        }
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
            .structured(
                &thread,
                Role::Architect,
                &first,
                |a: &ArchitectureAnswer| a.validate(&names),
            )
            .await?;
        if let Some(forced) = &self.deps.template {
            answer.template = Some(forced.clone());
        }
        let mut rendered = None;
        if let Some(name) = answer.template().map(String::from) {
            let vars = templates::ProjectVars::new(&self.project.name, &self.project.description)?;
            match templates::render_starter(&name, &self.ws, &vars) {
                Ok(r) => rendered = Some(r),
                Err(e) => self.emit(Event::Warning {
                    message: format!("starter template `{name}` not used: {e}"),
                }),
            }
        }
        let mut files = Vec::new();
        for f in rendered.iter().flat_map(|r| &r.files) {
            let rel = f.to_string_lossy().replace('\\', "/");
            let d = self.ws.digest(&self.ws.resolve(&rel)?)?;
            let created = !rendered.as_ref().is_some_and(|r| r.merged.contains(f));
            files.push(StarterFile {
                rel,
                sha256: d.sha256,
                size: d.size,
                created,
            });
        }
        self.save_architecture(answer, files, ArchitectureSource::Model, Vec::new())
            .await
    }

    /// Saves the architecture (with the starter's files), says so, and runs the install
    /// command.
    async fn save_architecture(
        &mut self,
        answer: ArchitectureAnswer,
        files: Vec<StarterFile>,
        source: ArchitectureSource,
        evidence: Vec<String>,
    ) -> Result<(), AgentError> {
        let arch = serde_json::to_value(&answer).unwrap_or_default();
        let project_id = self.project.id;
        let saved = StepPayload::Architecture(ArchitectureSaved {
            architecture: arch.clone(),
        });
        self.store().transaction(|db| {
            db.insert_step(&self.new_step("architecture-result", None, saved))?;
            for f in &files {
                db.upsert_file(project_id, &f.rel, &f.sha256, f.size)?;
                self.record_in(
                    db,
                    None,
                    &Record::File(FileRecord {
                        path: f.rel.clone(),
                        bytes: f.size,
                        sha256: f.sha256.clone(),
                        created: f.created,
                        source: FileSource::Template,
                    }),
                )?;
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
            source,
            evidence,
        });
        if let Some(cmd) = answer
            .install_command
            .as_deref()
            .filter(|c| !c.trim().is_empty())
        {
            let out = self
                .run_command(None, cmd, None, CommandRole::Install)
                .await?;
            if out.ran && !out.passed {
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
        self.emit(Event::PhaseStarted { phase: Phase::Plan });
        let map = self.project_map_text()?;
        let adopted = self.adopted.is_some();
        let thread = Thread {
            key: format!("plan:{iteration}"),
            system: templates::render_prompt("planner.system", json!({"adopted": adopted}))?,
            tools: vec![submit_plan_tool()],
        };
        let mut first = templates::render_prompt(
            "planner.user",
            json!({"spec": self.project.spec, "architecture": self.architecture(), "project_map": map,
                   "adopted": adopted, "user_changes": self.user_changes_list()}),
        )?;
        if let Some(change) = change_request {
            first.push_str(&format!(
                "\nThe project is built and its tests pass. Plan only the tasks for this change request:\n{change}\n"
            ));
        }
        let plan: PlanAnswer = self
            .structured(&thread, Role::Planner, &first, PlanAnswer::validate)
            .await?;
        let project_id = self.project.id;
        let saved = StepPayload::Plan(PlanSaved {
            iteration,
            change_request: change_request.map(String::from),
            restart: None,
        });
        let record = Record::Plan(PlanRecord {
            iteration,
            tasks: plan
                .tasks
                .iter()
                .map(|t| t.title.trim().to_string())
                .collect(),
            edited: false,
            change_request: change_request.map(String::from),
        });
        let tasks = self.store().transaction(|db| {
            db.insert_step(&self.new_step("plan-result", None, saved))?;
            self.record_in(db, None, &record)?;
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
                    goal: t.goal.clone(),
                    files: t.files.clone(),
                    verify: t.verify.clone(),
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
fn accepted_call(log: &ThreadLog) -> Option<ToolCall> {
    let pos = log.last_turn_pos()?;
    let after = &log.steps[pos + 1..];
    if after
        .iter()
        .any(|s| !matches!(s.payload, StepPayload::ToolCall(_)))
    {
        return None;
    }
    let id = after.iter().find_map(|s| match &s.payload {
        StepPayload::ToolCall(r) if !r.is_error => Some(r.call_id.clone()),
        _ => None,
    })?;
    match &log.steps[pos].payload {
        StepPayload::ModelTurn(t) => t.response.tool_calls.iter().find(|c| c.id == id).cloned(),
        _ => None,
    }
}

/// A file of the starter template, as recorded with the architecture.
struct StarterFile {
    rel: String,
    sha256: String,
    size: u64,
    /// False for samocoder's own file that got the starter's lines added.
    created: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::testing::{step, tool_result, turn, user};

    #[test]
    fn an_accepted_answer_is_found_only_while_nothing_followed_it() {
        let call = |id: &str, args: &str| ToolCall {
            id: id.into(),
            name: "submit_spec".into(),
            arguments: args.into(),
        };
        let t = step(turn(
            Role::Spec,
            "",
            vec![call("a", "{}"), call("b", "{\"x\":1}")],
        ));
        let bad = step(tool_result("a", "submit_spec", "nope", true));
        let ok = step(tool_result("b", "submit_spec", "accepted", false));
        let answers = step(user("answers"));
        let log = |steps: Vec<crate::store::Step>| ThreadLog {
            key: "spec".into(),
            steps,
        };
        assert_eq!(
            accepted_call(&log(vec![t.clone(), bad.clone(), ok.clone()]))
                .unwrap()
                .id,
            "b"
        );
        assert!(accepted_call(&log(vec![t.clone(), bad])).is_none());
        assert!(accepted_call(&log(vec![t, ok, answers])).is_none());
    }
}
