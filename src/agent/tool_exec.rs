//! Carrying out the developer's tool calls: reads, writes and edits through the workspace
//! (independent writes of one answer at once, up to `--jobs`), commands through the gate, and
//! `write_files` through one writer call per file. Each result is saved, with the hash of the
//! file it wrote, in one transaction as soon as it is known.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::error::AgentError;
use super::roles::{FileAnswer, submit_file_tool};
use super::session::{Session, Thread, ThreadLog};
use super::tools::{DevTool, FileRequest, parse_dev_tool};
use crate::llm::ToolCall;
use crate::protocol::{CommandRole, Event, Role, StepPayload, ToolResult};
use crate::provenance::{FileRecord, FileSource, Record};
use crate::templates;
use crate::workspace::{Workspace, WorkspaceError};

/// What a tool call produced, for the model and for the record.
pub(super) struct ToolOutcome {
    call: ToolCall,
    target: String,
    result: String,
    is_error: bool,
    /// Files written by the call: (path, sha256, size, created).
    files: Vec<(String, String, u64, bool)>,
}

impl ToolOutcome {
    fn ok(call: ToolCall, target: String, result: String) -> ToolOutcome {
        ToolOutcome {
            call,
            target,
            result,
            is_error: false,
            files: Vec::new(),
        }
    }

    fn error(call: ToolCall, target: String, result: String) -> ToolOutcome {
        ToolOutcome {
            call,
            target,
            result,
            is_error: true,
            files: Vec::new(),
        }
    }
}

fn crashed(e: tokio::task::JoinError) -> AgentError {
    AgentError::Failed(format!("a file write crashed: {e}"))
}

impl Session<'_> {
    /// Executes tool calls in order; consecutive file writes to different paths run at once,
    /// up to `--jobs`. Each result is saved as soon as it is known.
    pub(super) async fn execute_calls(
        &mut self,
        log: &mut ThreadLog,
        task_id: i64,
        calls: Vec<ToolCall>,
    ) -> Result<(), AgentError> {
        let max = self.deps.config.limits.max_file_bytes;
        // Any call of a task may write (before its result is saved): see `leave_adopted`.
        self.touched
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let turn_step = log.last_turn_pos().map_or(0, |p| log.steps[p].id);
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
                    if let Some(refused) = self.refuse_protected(&call, &tool) {
                        handles.push(tokio::spawn(async move { Ok(refused) }));
                        continue;
                    }
                    let ws = self.ws.clone();
                    let sem = sem.clone();
                    let recorded = self.recorded_hash(&tool)?;
                    handles.push(tokio::spawn(async move {
                        let _permit = sem.acquire_owned().await;
                        tokio::task::spawn_blocking(move || {
                            file_tool(&ws, call, tool, max, recorded)
                        })
                        .await
                        .map_err(crashed)
                        .and_then(|r| r)
                    }));
                }
                for h in handles {
                    let outcome = h.await.map_err(crashed)??;
                    self.record_tool(log, task_id, outcome)?;
                }
                continue;
            }
            let call = calls[i].clone();
            i += 1;
            let outcome = match parsed {
                Err(e) => ToolOutcome::error(call.clone(), call.name.clone(), e),
                Ok(tool) => self.run_tool(task_id, turn_step, call, tool).await?,
            };
            self.record_tool(log, task_id, outcome)?;
        }
        Ok(())
    }

    async fn run_tool(
        &mut self,
        task_id: i64,
        turn_step: i64,
        call: ToolCall,
        tool: DevTool,
    ) -> Result<ToolOutcome, AgentError> {
        let max = self.deps.config.limits.max_file_bytes;
        let target = tool.target();
        Ok(match tool {
            DevTool::ListFiles { path } => {
                if self.adopted.is_none() && path.is_none() {
                    let map = self
                        .ws
                        .project_map(crate::workspace::MapOptions::within_tokens(
                            self.deps.config.limits.repo_map_tokens,
                        ))?
                        .render();
                    ToolOutcome::ok(call, target, map)
                } else {
                    let budget = self.deps.config.limits.repo_map_tokens;
                    match self.ws.repo_map(path.as_deref(), budget) {
                        Ok(map) => ToolOutcome::ok(call, target, map.text),
                        Err(e) => ToolOutcome::error(call, target, for_model(&self.ws, e)?),
                    }
                }
            }
            DevTool::ReadFile { path } => {
                match self.ws.resolve(&path).and_then(|p| self.ws.read(&p, max)) {
                    Ok(text) => ToolOutcome::ok(call, target, text),
                    Err(e) => ToolOutcome::error(call, target, for_model(&self.ws, e)?),
                }
            }
            t @ (DevTool::WriteFile { .. } | DevTool::EditFile { .. }) => {
                if let Some(refused) = self.refuse_protected(&call, &t) {
                    return Ok(refused);
                }
                let ws = self.ws.clone();
                let recorded = self.recorded_hash(&t)?;
                tokio::task::spawn_blocking(move || file_tool(&ws, call, t, max, recorded))
                    .await
                    .map_err(crashed)??
            }
            DevTool::RunCommand { command, timeout_s } => {
                let out = self
                    .run_command(Some(task_id), &command, timeout_s, CommandRole::Tool)
                    .await?;
                ToolOutcome::ok(call, target, out.text)
            }
            DevTool::TaskDone { summary } => ToolOutcome::ok(
                call,
                target,
                format!("noted: {summary}; the tests will now be run"),
            ),
            DevTool::WriteFiles { files, context } => {
                self.write_files(task_id, turn_step, call, files, context)
                    .await?
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
        turn_step: i64,
        call: ToolCall,
        files: Vec<FileRequest>,
        context: Vec<String>,
    ) -> Result<ToolOutcome, AgentError> {
        use futures_util::StreamExt;
        let max = self.deps.config.limits.max_file_bytes;
        let key = format!("task:{task_id}");
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
                key: format!("{key}/write/{turn_step}/{}/{i}", call.id),
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
                self.structured::<FileAnswer>(&thread, Role::Writer, &first, |a: &FileAnswer| {
                    a.validate(max)
                })
                .await
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
        for (f, answer) in files.iter().zip(answers) {
            if self
                .ws
                .resolve(&f.path)
                .is_ok_and(|p| self.protected(p.rel()))
            {
                lines.push(format!("{}: {}", f.path, protected_message(&f.path)));
                continue;
            }
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
                Err(e) => lines.push(format!("{}: {}", f.path, for_model(&self.ws, e)?)),
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

    /// A write to a file with the user's uncommitted changes (adopted repositories), refused.
    fn refuse_protected(&self, call: &ToolCall, tool: &DevTool) -> Option<ToolOutcome> {
        let (DevTool::WriteFile { path, .. } | DevTool::EditFile { path, .. }) = tool else {
            return None;
        };
        let rel = self.ws.resolve(path).ok()?;
        self.protected(rel.rel())
            .then(|| ToolOutcome::error(call.clone(), tool.target(), protected_message(rel.rel())))
    }

    /// The hash samocoder last recorded for the file an edit targets (what makes a repeated edit
    /// after a stop recognisable).
    fn recorded_hash(&self, tool: &DevTool) -> Result<Option<String>, AgentError> {
        let DevTool::EditFile { path, .. } = tool else {
            return Ok(None);
        };
        let Ok(p) = self.ws.resolve(path) else {
            return Ok(None);
        };
        Ok(self
            .store()
            .get_file(self.project.id, p.rel())?
            .map(|f| f.sha256))
    }

    /// Saves a tool result (and the files it wrote) in one transaction.
    fn record_tool(
        &self,
        log: &mut ThreadLog,
        task_id: i64,
        o: ToolOutcome,
    ) -> Result<(), AgentError> {
        let project_id = self.project.id;
        let source = if o.call.name == "write_files" {
            FileSource::Writer
        } else {
            FileSource::Tool
        };
        let task = self.current_task.clone();
        let payload = StepPayload::ToolCall(ToolResult {
            call_id: o.call.id.clone(),
            name: o.call.name.clone(),
            target: o.target.clone(),
            result: o.result.clone(),
            is_error: o.is_error,
        });
        self.save_with(log, Some(task_id), vec![payload], |db| {
            for (path, sha, size, created) in &o.files {
                db.upsert_file(project_id, path, sha, *size)?;
                self.record_in(
                    db,
                    task.as_deref(),
                    &Record::File(FileRecord {
                        path: path.clone(),
                        bytes: *size,
                        sha256: sha.clone(),
                        created: *created,
                        source,
                    }),
                )?;
            }
            Ok(())
        })?;
        if o.call.name != "run_command" {
            self.emit(Event::ToolCall {
                tool_call_id: o.call.id.clone(),
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
}

/// Why a file with the user's uncommitted changes is not written.
fn protected_message(path: &str) -> String {
    format!(
        "`{path}` has uncommitted changes of the user, which samocoder leaves exactly as they are: do not write or edit it; make the change in other files, or stop with task_done and say that the user must commit it first"
    )
}

/// Writes or edits a file (on a blocking thread).
fn file_tool(
    ws: &Workspace,
    call: ToolCall,
    tool: DevTool,
    max: u64,
    recorded: Option<String>,
) -> Result<ToolOutcome, AgentError> {
    let target = tool.target();
    let result = match &tool {
        DevTool::WriteFile { path, content } => ws
            .resolve(path)
            .and_then(|p| ws.write_atomic(&p, content.as_bytes(), max).map(|w| (p, w))),
        DevTool::EditFile { path, old, new } => ws.resolve(path).and_then(|p| {
            ws.edit_once(&p, old, new, max, recorded.as_deref())
                .map(|e| (p, e.write))
        }),
        _ => {
            return Err(AgentError::Failed(format!(
                "{} is not a file write",
                call.name
            )));
        }
    };
    match result {
        Ok((p, w)) => Ok(ToolOutcome {
            call,
            target,
            result: format!("wrote {} ({} bytes)", p.rel(), w.size),
            is_error: false,
            files: vec![(p.rel().to_string(), w.sha256, w.size, w.created)],
        }),
        Err(e) => Ok(ToolOutcome::error(call, target, for_model(ws, e)?)),
    }
}

/// A workspace error of a tool on a path the model gave: the text for the model when the
/// error is about that path ([`WorkspaceError::is_model_error`], OS errors by errno), else
/// the error that stops the run (a full disk, git, an unknown OS error). Whatever the error,
/// a project directory that is gone stops the run: no answer of the model can fix that.
fn for_model(ws: &Workspace, e: WorkspaceError) -> Result<String, AgentError> {
    if !ws.root_is_present() {
        return Err(WorkspaceError::RootGone(ws.root().display().to_string()).into());
    }
    if e.is_model_error() {
        Ok(e.to_string())
    } else {
        Err(e.into())
    }
}
