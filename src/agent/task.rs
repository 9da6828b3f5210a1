//! One task: the developer's tool loop, then verification (the test command), the fix loop
//! with loop detection, and the git checkpoint. Every model answer and every tool result is
//! saved before the next step, so a resumed task continues from its last saved step.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::error::AgentError;
use super::events::Event;
use super::roles::{FileAnswer, submit_file_tool};
use super::session::{Session, Thread};
use super::tools::{DevTool, FileRequest, dev_tools, parse_dev_tool};
use crate::exec::{CommandSpec, Execution};
use crate::llm::ToolCall;
use crate::store::{Approval, NewCommand, StepKind, Task, TaskStatus};
use crate::templates;
use crate::workspace::Workspace;

/// How a command went, as far as the agent cares.
pub struct CommandResult {
    /// It ran and exited 0 in time.
    pub passed: bool,
    /// The status line and the (capped) output, or why it did not run: for the model.
    pub text: String,
    pub exit_code: Option<i32>,
    /// False when the policy or the user did not let it run.
    pub ran: bool,
}

/// What a tool call produced, for the model and for the record.
struct ToolOutcome {
    call: ToolCall,
    target: String,
    result: String,
    is_error: bool,
    /// Files written by the call: (path, sha256, size, created).
    files: Vec<(String, String, u64, bool)>,
}

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
        let arch = self.architecture();
        let thread = Thread {
            key: key.clone(),
            system: templates::render_prompt(
                "coder.system",
                json!({"test_command": arch.test_command}),
            )?,
            tools: dev_tools(),
        };
        let fresh = self.thread_steps(&key)?.is_empty();
        if task.status != TaskStatus::InProgress {
            self.store().start_task_attempt(task.id)?;
        }
        // On a resumed task the note about the user's edits waits until the calls of the last
        // answer have all run: a message between a call and its result breaks the conversation.
        let mut edits_note = None;
        if fresh {
            let prompt = self.task_prompt(&task, total, user_edits)?;
            self.say(&key, Some(task.id), &prompt)?;
        } else if let Some(edits) = user_edits {
            edits_note = Some(format!(
                "Since the last run the user changed these files themselves (read them before editing; keep their changes):\n{edits}"
            ));
        }

        let limits = self.deps.config.limits.clone();
        loop {
            self.check_cancel()?;
            let steps = self.thread_steps(&key)?;
            let this_run: Vec<_> = steps.iter().filter(|s| s.run_id == self.run_id).collect();
            let turns = this_run
                .iter()
                .filter(|s| s.kind == StepKind::ModelTurn)
                .count() as u32;
            let tool_errors = this_run
                .iter()
                .filter(|s| s.kind == StepKind::ToolCall && s.payload["is_error"] == true)
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
            let Some(last) = steps.last() else {
                return Err(AgentError::Failed(
                    "the task's saved conversation is empty".into(),
                ));
            };
            if edits_note.is_some() && !has_pending_calls(&steps) {
                let note = edits_note.take().unwrap_or_default();
                self.say(&key, Some(task.id), &note)?;
                continue;
            }
            match last.kind {
                StepKind::UserInput => {
                    if turns >= limits.max_turns_per_task {
                        return self.fail_task(
                            &task,
                            format!(
                                "no result after {turns} model turns (limit {})",
                                limits.max_turns_per_task
                            ),
                        );
                    }
                    let fixing = steps
                        .iter()
                        .any(|s| s.kind == StepKind::Verify && s.payload["passed"] == false);
                    let role = if fixing { "troubleshooter" } else { "coder" };
                    self.model_turn(&thread, role, Some(task.id)).await?;
                }
                StepKind::ModelTurn if last.payload["truncated"] == true => {
                    self.say(&key, Some(task.id), "Your answer was cut off by the output token limit and nothing from it was applied. Send smaller pieces: one file per tool call, and split large files.")?;
                }
                StepKind::ModelTurn | StepKind::ToolCall => {
                    let (calls, results) = last_turn_calls(&steps);
                    let pending: Vec<ToolCall> = calls
                        .iter()
                        .filter(|c| !results.contains(&c.id))
                        .cloned()
                        .collect();
                    if calls.is_empty() {
                        self.say(&key, Some(task.id), "Use the tools to make the changes, run the tests, and call `task_done` when the task is complete.")?;
                    } else if !pending.is_empty() {
                        self.execute_calls(&key, task.id, pending).await?;
                    } else if done_accepted(&steps) {
                        if self.verify(&task, &key, &arch.test_command).await? {
                            return Ok(());
                        }
                    } else {
                        self.say(&key, Some(task.id), "Continue.")?;
                    }
                }
                StepKind::Verify => {
                    // Verified but the checkpoint was not saved (a crash in between).
                    let summary = last.payload["summary"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    self.checkpoint(&task, &key, &summary)?;
                    return Ok(());
                }
                _ => {
                    self.say(&key, Some(task.id), "Continue with the task.")?;
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
        let summaries: std::collections::HashMap<i64, String> = self
            .store()
            .list_steps(self.project.id, 0, u32::MAX)?
            .into_iter()
            .filter(|s| s.kind == StepKind::Checkpoint)
            .filter_map(|s| Some((s.task_id?, s.payload["summary"].as_str()?.to_string())))
            .collect();
        let done: Vec<Value> = self
            .store()
            .list_tasks(self.project.id)?
            .into_iter()
            .filter(|t| t.status == TaskStatus::Done)
            .map(|t| json!({"index": t.ordinal, "title": t.title, "summary": summaries.get(&t.id).cloned().unwrap_or_default()}))
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
                "project_map": self.ws.project_map(Default::default())?.render(),
            }),
        )?)
    }

    /// Executes tool calls in order; consecutive file writes to different paths run at once,
    /// up to `--jobs`. Each result is saved (with the file's hash) as soon as it is known.
    async fn execute_calls(
        &mut self,
        key: &str,
        task_id: i64,
        calls: Vec<ToolCall>,
    ) -> Result<(), AgentError> {
        let max = self.deps.config.limits.max_file_bytes;
        let mut i = 0;
        while i < calls.len() {
            self.check_cancel()?;
            let parsed = parse_dev_tool(&calls[i], max);
            let is_write = matches!(
                parsed,
                Ok(DevTool::WriteFile { .. } | DevTool::EditFile { .. })
            );
            if is_write && self.deps.jobs > 1 {
                // A batch of writes to distinct paths.
                let mut batch = Vec::new();
                let mut seen = HashSet::new();
                while i < calls.len() {
                    match parse_dev_tool(&calls[i], max) {
                        Ok(t @ (DevTool::WriteFile { .. } | DevTool::EditFile { .. }))
                            if seen.insert(t.target()) =>
                        {
                            batch.push((calls[i].clone(), t));
                            i += 1;
                        }
                        _ => break,
                    }
                }
                let sem = Arc::new(tokio::sync::Semaphore::new(self.deps.jobs));
                let mut handles = Vec::new();
                for (call, tool) in batch {
                    let ws = self.ws.clone();
                    let sem = sem.clone();
                    handles.push(tokio::spawn(async move {
                        let _permit = sem.acquire_owned().await;
                        tokio::task::spawn_blocking(move || file_tool(&ws, call, tool, max))
                            .await
                            .map_err(|e| AgentError::Failed(format!("a file write crashed: {e}")))
                            .and_then(|r| r)
                    }));
                }
                for h in handles {
                    let outcome = h
                        .await
                        .map_err(|e| AgentError::Failed(format!("a file write crashed: {e}")))??;
                    self.record_tool(key, task_id, outcome)?;
                }
                continue;
            }
            let call = calls[i].clone();
            i += 1;
            let outcome = match parsed {
                Err(e) => ToolOutcome {
                    target: call.name.clone(),
                    result: e,
                    is_error: true,
                    files: Vec::new(),
                    call,
                },
                Ok(tool) => self.run_tool(task_id, call, tool).await?,
            };
            self.record_tool(key, task_id, outcome)?;
        }
        Ok(())
    }

    async fn run_tool(
        &mut self,
        task_id: i64,
        call: ToolCall,
        tool: DevTool,
    ) -> Result<ToolOutcome, AgentError> {
        let max = self.deps.config.limits.max_file_bytes;
        let target = tool.target();
        let ok = |call: ToolCall, result: String| ToolOutcome {
            call,
            target: target.clone(),
            result,
            is_error: false,
            files: Vec::new(),
        };
        Ok(match tool {
            DevTool::ListFiles => ok(call, self.ws.project_map(Default::default())?.render()),
            DevTool::ReadFile { path } => {
                match self.ws.resolve(&path).and_then(|p| self.ws.read(&p, max)) {
                    Ok(text) => ok(call, text),
                    Err(e) if e.is_model_error() => ToolOutcome {
                        call,
                        target,
                        result: e.to_string(),
                        is_error: true,
                        files: Vec::new(),
                    },
                    Err(e) => return Err(e.into()),
                }
            }
            t @ (DevTool::WriteFile { .. } | DevTool::EditFile { .. }) => {
                let ws = self.ws.clone();
                tokio::task::spawn_blocking(move || file_tool(&ws, call, t, max))
                    .await
                    .map_err(|e| AgentError::Failed(format!("a file write crashed: {e}")))??
            }
            DevTool::RunCommand { command, timeout_s } => {
                let out = self.run_command(Some(task_id), &command, timeout_s).await?;
                ok(call, out.text)
            }
            DevTool::TaskDone { summary } => {
                ok(call, format!("noted: {summary}; the tests will now be run"))
            }
            DevTool::WriteFiles { files, context } => {
                self.write_files(task_id, call, files, context).await?
            }
        })
    }

    /// `write_files`: one writer call per file, up to `--jobs` at once (one at a time when
    /// answers are recorded or replayed, so a cassette keeps a fixed order), then the files are
    /// written. Each writer's conversation is a thread of its own, so a stop in the middle
    /// resumes without asking again for the files already answered.
    async fn write_files(
        &self,
        task_id: i64,
        call: ToolCall,
        files: Vec<FileRequest>,
        context: Vec<String>,
    ) -> Result<ToolOutcome, AgentError> {
        use futures_util::StreamExt;
        let max = self.deps.config.limits.max_file_bytes;
        let key = format!("task:{task_id}");
        let turn = self
            .thread_steps(&key)?
            .iter()
            .rev()
            .find(|s| s.kind == StepKind::ModelTurn)
            .map_or(0, |s| s.id);
        let task = self.store().get_task(task_id)?;
        let context: Vec<Value> = context
            .iter()
            .map(|p| {
                let content = self
                    .ws
                    .resolve(p)
                    .and_then(|sp| self.ws.read(&sp, 32 * 1024))
                    .unwrap_or_else(|e| format!("(cannot be read: {e})"));
                json!({"path": p, "content": content})
            })
            .collect();
        let spec: String = self
            .project
            .spec
            .clone()
            .unwrap_or_default()
            .chars()
            .take(4000)
            .collect();
        let system = templates::render_prompt("writer.system", json!({}))?;
        let mut jobs = Vec::new();
        for (i, f) in files.iter().enumerate() {
            let thread = Thread {
                key: format!("{key}/write/{turn}/{}/{i}", call.id),
                system: system.clone(),
                tools: vec![submit_file_tool()],
            };
            let first = templates::render_prompt(
                "writer.user",
                json!({"path": f.path, "instructions": f.instructions, "context": context, "spec": spec,
                       "architecture": self.architecture(),
                       "task": {"index": task.ordinal, "title": task.title, "goal": task.goal}}),
            )?;
            jobs.push(async move {
                let answer = self
                    .structured::<FileAnswer>(&thread, "writer", &first, |a: &FileAnswer| {
                        a.validate(max)
                    })
                    .await;
                (thread, answer)
            });
        }
        let parallel = if self.deps.models.sequential() {
            1
        } else {
            self.deps.jobs.max(1)
        };
        let answers: Vec<_> = futures_util::stream::iter(jobs)
            .buffered(parallel)
            .collect()
            .await;
        let mut lines = Vec::new();
        let mut written = Vec::new();
        for (f, (_, answer)) in files.iter().zip(answers) {
            let content = match answer {
                Ok(a) => a.content,
                Err(AgentError::Model(m)) => {
                    lines.push(format!("{}: not written: {m}", f.path));
                    continue;
                }
                Err(e) => return Err(e),
            };
            match self.ws.resolve(&f.path).and_then(|p| {
                self.ws
                    .write_atomic(&p, content.as_bytes(), max)
                    .map(|w| (p, w))
            }) {
                Ok((p, w)) => {
                    lines.push(format!("wrote {} ({} bytes)", p.rel(), w.size));
                    written.push((p.rel().to_string(), w.sha256, w.size, w.created));
                }
                Err(e) if e.is_model_error() => lines.push(format!("{}: {e}", f.path)),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(ToolOutcome {
            target: files
                .iter()
                .map(|f| f.path.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            is_error: written.is_empty(),
            result: lines.join("\n"),
            files: written,
            call,
        })
    }

    /// Saves a tool result (and the file it wrote) in one transaction.
    fn record_tool(&self, key: &str, task_id: i64, o: ToolOutcome) -> Result<(), AgentError> {
        let project_id = self.project.id;
        let payload = json!({"thread": key, "call_id": o.call.id, "name": o.call.name, "target": o.target,
                             "result": o.result, "is_error": o.is_error});
        self.store().transaction(|db| {
            db.insert_step(&self.step(StepKind::ToolCall, Some(task_id), payload))?;
            for (path, sha, size, _) in &o.files {
                db.upsert_file(project_id, path, sha, *size)?;
            }
            Ok(())
        })?;
        if o.call.name != "run_command" {
            self.emit(Event::ToolCall {
                name: o.call.name.clone(),
                target: o.target.clone(),
                ok: !o.is_error,
                error: o.is_error.then(|| o.result.clone()),
            });
        }
        for (path, _, size, created) in o.files {
            self.emit(Event::FileWritten {
                path,
                bytes: size,
                created,
            });
        }
        Ok(())
    }

    /// Runs a command through the approval policy; returns (passed, text for the model, exit code).
    pub async fn run_command(
        &mut self,
        task_id: Option<i64>,
        command: &str,
        timeout_s: Option<u64>,
    ) -> Result<CommandResult, AgentError> {
        let cap = self.deps.config.limits.command_timeout_s;
        let timeout = Duration::from_secs(timeout_s.unwrap_or(cap).clamp(1, cap));
        let keep = (self.deps.config.limits.command_output_bytes / 2) as usize;
        let mut spec = CommandSpec::new(command, self.ws.root(), timeout);
        spec.keep_head = keep;
        spec.keep_tail = keep;
        spec.cancel = self.deps.cancel.child_token();
        let execution = self.gate.execute(spec).await?;
        let (approval, disposition) = match (&execution, self.gate.policy) {
            (Execution::Ran(_), crate::exec::ApprovalPolicy::Ask) => (Approval::User, "ran"),
            (Execution::Ran(_), _) => (Approval::Auto, "ran"),
            (Execution::Declined { .. }, _) => (Approval::Denied, "denied"),
            (Execution::Refused { .. }, _) => (Approval::Denied, "refused"),
            (Execution::Recorded, _) => (Approval::Recorded, "recorded"),
        };
        let (passed, text, exit_code, timed_out, duration_ms, output) = match &execution {
            Execution::Ran(o) => {
                if o.cancelled {
                    return Err(AgentError::Interrupted {
                        project: self.project.name.clone(),
                    });
                }
                let text = format!("{}\n{}", o.status_line(), o.output);
                (
                    o.success(),
                    text,
                    o.exit_code,
                    o.timed_out,
                    o.duration.as_millis() as u64,
                    o.output.clone(),
                )
            }
            other => {
                let msg = other.not_run_message().unwrap_or_default();
                (false, msg.clone(), None, false, 0, msg)
            }
        };
        // What the command changed is samocoder's doing, not the user's: record it.
        let snap = match &execution {
            Execution::Ran(_) => Some(super::snapshot::TreeSnapshot::after_command(
                self.store(),
                self.project.id,
                &self.ws,
            )?),
            _ => None,
        };
        if let Some(snap) = snap {
            let project_id = self.project.id;
            self.store().transaction(|db| snap.apply(db, project_id))?;
        }
        self.store().record_command(&NewCommand {
            project_id: self.project.id,
            run_id: Some(self.run_id),
            task_id,
            command: command.to_string(),
            approval,
            exit_code,
            timed_out,
            duration_ms,
            output,
        })?;
        self.emit(Event::CommandFinished {
            command: command.to_string(),
            exit_code,
            timed_out,
            duration_ms,
            disposition: disposition.into(),
        });
        Ok(CommandResult {
            passed,
            text,
            exit_code,
            ran: matches!(execution, Execution::Ran(_)),
        })
    }

    /// Runs the test command. Passing: checkpoint and `true`. Failing: a fix request (or the
    /// task fails at the cap or on a loop) and `false`.
    async fn verify(
        &mut self,
        task: &Task,
        key: &str,
        test_command: &str,
    ) -> Result<bool, AgentError> {
        let steps = self.thread_steps(key)?;
        let summary = last_done_summary(&steps);
        let command = if test_command.trim().is_empty() {
            "true"
        } else {
            test_command
        };
        let CommandResult {
            passed,
            text,
            exit_code,
            ran,
        } = self.run_command(Some(task.id), command, None).await?;
        // Denied, refused or recorded (policy `never`): the task is done but unverified.
        let not_run = !ran;
        let tail: String = tail_lines(&text, 12);
        self.emit(Event::TestsRun {
            command: command.into(),
            passed: passed || not_run,
            tail: tail.clone(),
        });
        if passed || not_run {
            if not_run {
                self.emit(Event::Warning {
                    message: format!(
                        "task {}: tests not run ({}); marked done unverified",
                        task.ordinal,
                        text.trim()
                    ),
                });
            }
            self.save_step(
                StepKind::Verify,
                Some(task.id),
                json!({"thread": key, "command": command, "passed": true, "summary": summary}),
            )?;
            self.checkpoint(task, key, &summary)?;
            return Ok(true);
        }
        let limits = &self.deps.config.limits;
        let previous: Vec<String> = steps
            .iter()
            .filter(|s| {
                s.kind == StepKind::Verify
                    && s.payload["passed"] == false
                    && s.run_id == self.run_id
            })
            .filter_map(|s| s.payload["signature"].as_str().map(String::from))
            .collect();
        let signature = failure_signature(&text);
        let attempt = previous.len() as u32 + 1;
        let repeated = previous.last() == Some(&signature);
        let third = repeated && previous.len() >= 2 && previous[previous.len() - 2] == signature;
        self.emit(Event::FixAttempt {
            index: task.ordinal as u32,
            attempt,
            max: limits.max_fix_attempts,
            signature: signature.clone(),
            repeated,
        });
        if third {
            self.save_step(StepKind::Verify, Some(task.id), json!({"thread": key, "command": command, "passed": false, "signature": signature, "exit_code": exit_code}))?;
            return self
                .fail_task(
                    task,
                    format!("the same test failure three times in a row:\n{tail}"),
                )
                .map(|_| false);
        }
        if attempt > limits.max_fix_attempts {
            self.save_step(StepKind::Verify, Some(task.id), json!({"thread": key, "command": command, "passed": false, "signature": signature, "exit_code": exit_code}))?;
            return self
                .fail_task(
                    task,
                    format!(
                        "tests still fail after {} fix attempts:\n{tail}",
                        limits.max_fix_attempts
                    ),
                )
                .map(|_| false);
        }
        let fix = templates::render_prompt(
            "troubleshooter.fix",
            json!({"attempt": attempt, "max_attempts": limits.max_fix_attempts, "command": command,
                   "exit_code": exit_code.map_or("none".into(), |c| c.to_string()), "output": text, "repeated": repeated}),
        )?;
        self.store().transaction(|db| {
            db.insert_step(&self.step(
                StepKind::Verify,
                Some(task.id),
                json!({"thread": key, "command": command, "passed": false, "signature": signature, "exit_code": exit_code}),
            ))?;
            db.insert_step(&self.step(StepKind::UserInput, Some(task.id), json!({"thread": key, "content": fix})))?;
            Ok(())
        })?;
        Ok(false)
    }

    /// Commits the task's work and marks it done, with the project's file hashes.
    fn checkpoint(&mut self, task: &Task, key: &str, summary: &str) -> Result<(), AgentError> {
        let message = if summary.is_empty() {
            format!("Task {}: {}", task.ordinal, task.title)
        } else {
            format!("Task {}: {}\n\n{}", task.ordinal, task.title, summary)
        };
        let checkpoint = self.ws.checkpoint(&message)?;
        if let Some(message) = checkpoint.warning() {
            self.emit(Event::Warning { message });
        }
        let commit = match checkpoint.commit {
            Some(c) => Some(c),
            None => self.ws.head()?,
        };
        let snap = super::snapshot::TreeSnapshot::take(self.store(), self.project.id, &self.ws)?;
        let project_id = self.project.id;
        let commit_id = commit.as_ref().map(|c| c.as_str().to_string());
        self.store().transaction(|db| {
            db.insert_step(&self.step(
                StepKind::Checkpoint,
                Some(task.id),
                json!({"thread": key, "commit": commit_id, "summary": summary}),
            ))?;
            snap.apply(db, project_id)?;
            if let Some(c) = &commit_id {
                db.set_task_checkpoint(task.id, c)?;
            }
            db.set_task_status(task.id, TaskStatus::Done, None)
        })?;
        self.emit(Event::TaskFinished {
            index: task.ordinal as u32,
            status: "done".into(),
            checkpoint: commit_id,
            reason: None,
        });
        Ok(())
    }

    fn fail_task(&self, task: &Task, reason: String) -> Result<(), AgentError> {
        self.store()
            .set_task_status(task.id, TaskStatus::Failed, Some(&reason))?;
        self.emit(Event::TaskFinished {
            index: task.ordinal as u32,
            status: "failed".into(),
            checkpoint: None,
            reason: Some(reason.clone()),
        });
        Err(AgentError::TaskFailed {
            index: task.ordinal as u32,
            title: task.title.clone(),
            reason,
        })
    }

    /// Files changed outside samocoder since its last checkpoint, as text for the model.
    pub fn user_edits(&self) -> Result<Option<String>, AgentError> {
        if !self.store().has_files(self.project.id)? {
            return Ok(None);
        }
        let snap = super::snapshot::TreeSnapshot::take(self.store(), self.project.id, &self.ws)?;
        // The user's edits stay unrecorded (they are reported, not taken for samocoder's);
        // only the metadata of unchanged files is cached, so the next scan need not read them.
        self.store()
            .refresh_file_stats(self.project.id, snap.changes())?;
        let diff = snap.changes().diff();
        if diff.is_empty() {
            return Ok(None);
        }
        self.emit(Event::UserEdits {
            added: diff.added.clone(),
            modified: diff.modified.clone(),
            deleted: diff.deleted.clone(),
        });
        let mut text = String::new();
        for (what, list) in [
            ("added", &diff.added),
            ("modified", &diff.modified),
            ("deleted", &diff.deleted),
        ] {
            for p in list {
                text.push_str(&format!("- {what}: {p}\n"));
            }
        }
        Ok(Some(text))
    }
}

/// Writes or edits a file (on a blocking thread).
fn file_tool(
    ws: &Workspace,
    call: ToolCall,
    tool: DevTool,
    max: u64,
) -> Result<ToolOutcome, AgentError> {
    let target = tool.target();
    let result = match &tool {
        DevTool::WriteFile { path, content } => ws
            .resolve(path)
            .and_then(|p| ws.write_atomic(&p, content.as_bytes(), max).map(|w| (p, w))),
        DevTool::EditFile { path, old, new } => ws
            .resolve(path)
            .and_then(|p| ws.edit(&p, old, new, max).map(|e| (p, e.write))),
        _ => unreachable!("file_tool is only called with write_file or edit_file"),
    };
    match result {
        Ok((p, w)) => Ok(ToolOutcome {
            call,
            target,
            result: format!("wrote {} ({} bytes)", p.rel(), w.size),
            is_error: false,
            files: vec![(p.rel().to_string(), w.sha256, w.size, w.created)],
        }),
        Err(e) if e.is_model_error() => Ok(ToolOutcome {
            call,
            target,
            result: e.to_string(),
            is_error: true,
            files: Vec::new(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// The tool calls of the thread's last model answer and the ids that already have results.
fn last_turn_calls(steps: &[crate::store::Step]) -> (Vec<ToolCall>, HashSet<String>) {
    let Some(pos) = steps.iter().rposition(|s| s.kind == StepKind::ModelTurn) else {
        return (Vec::new(), HashSet::new());
    };
    let calls: Vec<ToolCall> =
        serde_json::from_value(steps[pos].payload["tool_calls"].clone()).unwrap_or_default();
    let done = steps[pos + 1..]
        .iter()
        .filter(|s| s.kind == StepKind::ToolCall)
        .filter_map(|s| s.payload["call_id"].as_str().map(String::from))
        .collect();
    (calls, done)
}

/// Whether the thread ends with an answer some of whose tool calls have no result yet.
fn has_pending_calls(steps: &[crate::store::Step]) -> bool {
    match steps.last() {
        Some(s) if s.kind == StepKind::ModelTurn && s.payload["truncated"] == true => false,
        Some(s) if matches!(s.kind, StepKind::ModelTurn | StepKind::ToolCall) => {
            let (calls, results) = last_turn_calls(steps);
            calls.iter().any(|c| !results.contains(&c.id))
        }
        _ => false,
    }
}

/// Whether the last answer's `task_done` was accepted.
fn done_accepted(steps: &[crate::store::Step]) -> bool {
    let Some(pos) = steps.iter().rposition(|s| s.kind == StepKind::ModelTurn) else {
        return false;
    };
    steps[pos + 1..].iter().any(|s| {
        s.kind == StepKind::ToolCall
            && s.payload["name"] == "task_done"
            && s.payload["is_error"] == false
    })
}

fn last_done_summary(steps: &[crate::store::Step]) -> String {
    steps
        .iter()
        .rev()
        .filter(|s| s.kind == StepKind::ModelTurn)
        .find_map(|s| {
            let calls: Vec<ToolCall> =
                serde_json::from_value(s.payload["tool_calls"].clone()).ok()?;
            calls
                .into_iter()
                .find(|c| c.name == "task_done")
                .and_then(|c| {
                    let v: Value = serde_json::from_str(&c.arguments).ok()?;
                    v["summary"]
                        .as_str()
                        .map(|s| s.trim().chars().take(500).collect())
                })
        })
        .unwrap_or_default()
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A short fingerprint of a test failure that ignores what changes between identical
/// failures: numbers (times, line numbers, addresses, pids) and temporary paths.
pub fn failure_signature(output: &str) -> String {
    let tail = tail_lines(output, 20);
    let mut norm = String::with_capacity(tail.len());
    let mut last_digit = false;
    for c in tail.chars() {
        if c.is_ascii_digit() {
            if !last_digit {
                norm.push('#');
            }
            last_digit = true;
        } else {
            last_digit = false;
            norm.push(c);
        }
    }
    let digest = Sha256::digest(norm.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_ignores_timings_and_line_numbers() {
        let a = "FAIL: test_add (line 12)\nRan 3 tests in 0.004s\nFAILED (failures=1)";
        let b = "FAIL: test_add (line 13)\nRan 3 tests in 0.010s\nFAILED (failures=1)";
        let c = "FAIL: test_sub (line 13)\nRan 3 tests in 0.010s\nFAILED (failures=1)";
        assert_eq!(failure_signature(a), failure_signature(b));
        assert_ne!(failure_signature(a), failure_signature(c));
    }
}
