//! One run over one project: the saved state (steps), model calls with budget checks, and the
//! conversation threads, so a resumed run continues exactly where the last saved step left off
//! and never pays again for a saved answer.
//!
//! A thread is read from the database once, when its phase or task starts, into a
//! [`ThreadLog`]; every step saved through the session is appended to it, so a loop pass never
//! re-reads the thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::budget::BudgetGuard;
use super::call::{self, CallSummary};
use super::conversation::{fit_context, rebuild};
use super::deps::AgentDeps;
use super::error::AgentError;
use crate::exec::CommandGate;
use crate::llm::usage::CallContext;
use crate::llm::{ErrorClass, LlmError, Request, Response, ToolDef};
use crate::protocol::{CallId, CommandId, Event, ModelTurn, RequestId, Role, StepPayload};
use crate::store::{Db, NewStep, Project, Step, StepKind, Store};
use crate::workspace::Workspace;

/// A conversation the agent keeps: the spec, the architecture, a plan, a task, a writer.
pub struct Thread {
    /// `spec`, `architecture`, `plan:2`, `task:17`.
    pub key: String,
    pub system: String,
    pub tools: Vec<ToolDef>,
}

/// The saved steps of one thread, in order, kept in memory while the thread is worked on.
#[derive(Debug, Clone, Default)]
pub struct ThreadLog {
    pub key: String,
    pub steps: Vec<Step>,
}

impl ThreadLog {
    pub fn last(&self) -> Option<&Step> {
        self.steps.last()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The steps saved by this run.
    pub fn this_run(&self, run_id: i64) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(move |s| s.run_id == run_id)
    }

    /// Index of the thread's last model answer.
    pub fn last_turn_pos(&self) -> Option<usize> {
        self.steps
            .iter()
            .rposition(|s| s.kind() == StepKind::ModelTurn)
    }
}

/// `iteration.ordinal`, the task's name in the provenance log.
pub fn task_label(task: &crate::store::Task) -> String {
    format!("{}.{}", task.iteration, task.ordinal)
}

pub struct Session<'a> {
    pub deps: &'a AgentDeps,
    /// Set for an adopted repository once the run is on samocoder's branch.
    pub adopted: Option<super::adopt::Adopted>,
    /// The task being worked on (`iteration.ordinal`), for the provenance log.
    pub current_task: Option<String>,
    /// The repository map of the planning phases (see `project_map_text`).
    pub(super) map_cache: std::sync::Mutex<Option<String>>,
    /// This run wrote a file of the tree or ran a command (or found a killed run's work):
    /// there may be something of samocoder's to commit before leaving an adopted repository.
    pub(super) touched: std::sync::atomic::AtomicBool,
    pub project: Project,
    pub run_id: i64,
    pub ws: Workspace,
    pub gate: CommandGate,
    pub started: Instant,
    pub budget: std::sync::Arc<BudgetGuard>,
    calls: AtomicU64,
    commands: AtomicU64,
    requests: AtomicU64,
}

impl<'a> Session<'a> {
    pub fn new(
        deps: &'a AgentDeps,
        project: Project,
        run_id: i64,
        ws: Workspace,
        budget: std::sync::Arc<BudgetGuard>,
    ) -> Self {
        let gate = CommandGate::new(
            deps.policy,
            deps.runner.clone(),
            ws.root().to_path_buf(),
            deps.home.clone(),
        );
        Session {
            adopted: None,
            current_task: None,
            map_cache: std::sync::Mutex::new(None),
            touched: std::sync::atomic::AtomicBool::new(false),
            budget,
            deps,
            project,
            run_id,
            ws,
            gate,
            started: Instant::now(),
            calls: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }

    pub fn store(&self) -> &Store {
        &self.deps.store
    }

    pub fn emit(&self, event: Event) {
        self.deps.events.emit(event);
    }

    pub fn interrupted(&self) -> AgentError {
        AgentError::Interrupted {
            project: self.project.name.clone(),
        }
    }

    pub fn check_cancel(&self) -> Result<(), AgentError> {
        if self.deps.cancel.is_cancelled() {
            return Err(self.interrupted());
        }
        Ok(())
    }

    pub fn next_command_id(&self) -> CommandId {
        CommandId(self.commands.fetch_add(1, Ordering::SeqCst) + 1)
    }

    pub fn next_request_id(&self) -> RequestId {
        RequestId(self.requests.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// Reads a thread's saved steps (once per phase or task).
    pub fn open_thread(&self, key: &str) -> Result<ThreadLog, AgentError> {
        Ok(ThreadLog {
            key: key.to_string(),
            steps: self.store().thread_steps(self.project.id, key)?,
        })
    }

    /// A step of this run, for saving inside a transaction with what it belongs to.
    pub fn new_step(&self, thread: &str, task_id: Option<i64>, payload: StepPayload) -> NewStep {
        NewStep {
            project_id: self.project.id,
            run_id: self.run_id,
            task_id,
            thread: thread.to_string(),
            payload,
        }
    }

    /// Saves one step into the thread.
    pub fn save(
        &self,
        log: &mut ThreadLog,
        task_id: Option<i64>,
        payload: StepPayload,
    ) -> Result<(), AgentError> {
        self.save_with(log, task_id, vec![payload], |_| Ok(()))
    }

    /// Saves steps into the thread and whatever `also` writes, in one transaction.
    pub fn save_with(
        &self,
        log: &mut ThreadLog,
        task_id: Option<i64>,
        payloads: Vec<StepPayload>,
        also: impl FnOnce(&Db<'_>) -> crate::store::Result<()>,
    ) -> Result<(), AgentError> {
        let saved = self.store().transaction(|db| {
            let mut saved = Vec::with_capacity(payloads.len());
            for p in payloads {
                saved.push(db.insert_step(&self.new_step(&log.key, task_id, p))?);
            }
            also(db)?;
            Ok(saved)
        })?;
        log.steps.extend(saved);
        Ok(())
    }

    /// Saves a user message into the thread.
    pub fn say(
        &self,
        log: &mut ThreadLog,
        task_id: Option<i64>,
        content: impl Into<String>,
    ) -> Result<(), AgentError> {
        self.save(
            log,
            task_id,
            StepPayload::UserInput(crate::protocol::UserInput {
                content: content.into(),
            }),
        )
    }

    /// Appends to the project's provenance log (outside any transaction).
    pub fn record(
        &self,
        task: Option<&crate::store::Task>,
        record: crate::provenance::Record,
    ) -> Result<(), AgentError> {
        let label = task.map(task_label);
        self.store().append_provenance(
            &self.project,
            Some(self.run_id),
            label.as_deref(),
            &record,
        )?;
        Ok(())
    }

    /// Appends to the provenance log inside the caller's transaction.
    pub fn record_in(
        &self,
        db: &Db<'_>,
        task: Option<&str>,
        record: &crate::provenance::Record,
    ) -> crate::store::Result<()> {
        db.append_provenance(&self.project, Some(self.run_id), task, record)
            .map(|_| ())
    }

    /// How many model answers this project's saved state has consumed (the replay position).
    pub fn answers_consumed(store: &Store, project_id: i64) -> Result<usize, AgentError> {
        Ok(store.count_steps(project_id, StepKind::ModelTurn)? as usize)
    }

    /// Asks the model for the next answer in the thread (the conversation rebuilt from the
    /// saved steps), checking the budget first, and saves the answer before returning it.
    pub async fn model_turn(
        &self,
        thread: &Thread,
        log: &mut ThreadLog,
        role: Role,
        task_id: Option<i64>,
    ) -> Result<Response, AgentError> {
        self.check_cancel()?;
        let mut request = Request {
            model: String::new(),
            system: thread.system.clone(),
            messages: rebuild(&log.steps),
            tools: thread.tools.clone(),
            max_output_tokens: self.deps.config.limits.max_output_tokens,
            temperature: None,
            // One stable key per conversation, so a provider's prompt cache routes its turns to
            // the same cache (OpenAI `prompt_cache_key`).
            cache_key: Some(format!(
                "samocoder/p{}.{}/{}",
                self.project.id, self.project.created_at, thread.key
            )),
        };
        let input_tokens = fit_context(&mut request, self.deps.models.context_window(role));
        self.budget
            .preflight(self, role, input_tokens, request.max_output_tokens)?;

        self.budget.started();
        let call_id = CallId(self.calls.fetch_add(1, Ordering::SeqCst) + 1);
        let call_key_prefix = if self.deps.models.replayed() {
            // Replays are sequential, so the saved answers count is this answer's position. The
            // project's creation time is in the key: ids are reused after `rm`, and a new
            // project's answers must not look like the forgotten one's.
            let position = Session::answers_consumed(self.store(), self.project.id)?;
            format!(
                "p{}.{}/answer{position}",
                self.project.id, self.project.created_at
            )
        } else {
            format!("run{}/{}", self.run_id, call_id.0)
        };
        let context = CallContext {
            role: role.as_str().to_string(),
            project_id: Some(self.project.id),
            run_id: Some(self.run_id),
            step_id: None,
            call_key_prefix,
        };
        let provider = self.deps.models.for_role(role, context)?;
        self.emit(Event::ModelCallStarted { call_id, role });
        let call::CallResult { result, summary } = call::drive(
            provider,
            request,
            call_id,
            self.deps.events.as_ref(),
            &self.deps.cancel,
        )
        .await;
        self.budget.add(&summary, role, self.deps.models.as_ref());
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                self.finished(call_id, role, &summary, Some(&e));
                return Err(if e.class == ErrorClass::Cancelled {
                    self.interrupted()
                } else {
                    AgentError::Llm(e)
                });
            }
        };
        self.save(
            log,
            task_id,
            StepPayload::ModelTurn(ModelTurn {
                role,
                response: response.clone(),
            }),
        )?;
        self.finished(call_id, role, &summary, None);
        self.budget.warn(self)?;
        Ok(response)
    }

    fn finished(&self, call_id: CallId, role: Role, summary: &CallSummary, err: Option<&LlmError>) {
        self.emit(summary.finished_event(call_id, role, err.map(|e| e.to_string())));
    }
}
