//! Running one command for the run: the policy decides, the user is asked through the
//! [`crate::protocol::Prompter`] when the policy says so (the engine awaits the reply; Ctrl-C
//! while waiting interrupts the run), and the command runs with `command_started` /
//! `command_finished` around it. What the command changed in the tree is recorded as
//! samocoder's doing.

use std::time::Duration;

use super::error::AgentError;
use super::session::Session;
use crate::exec::{CommandSpec, Execution, Gate, StartHook};
use crate::protocol::{ApprovalReply, ApprovalRequest, CommandRole, Disposition, Event};
use crate::provenance::{CommandRecord, Record};
use crate::store::{Approval, NewCommand};

fn purpose_name(p: CommandRole) -> &'static str {
    match p {
        CommandRole::Tool => "tool",
        CommandRole::Install => "install",
        CommandRole::Test => "test",
    }
}

fn disposition_name(d: Disposition) -> &'static str {
    match d {
        Disposition::Ran => "ran",
        Disposition::Denied => "denied",
        Disposition::Refused => "refused",
        Disposition::Recorded => "recorded",
    }
}

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

impl Session<'_> {
    /// Runs a command through the approval policy.
    pub async fn run_command(
        &self,
        task_id: Option<i64>,
        command: &str,
        timeout_s: Option<u64>,
        purpose: CommandRole,
    ) -> Result<CommandResult, AgentError> {
        let limits = &self.deps.config.limits;
        let cap = limits.command_timeout_s;
        let timeout = Duration::from_secs(timeout_s.unwrap_or(cap).clamp(1, cap));
        let command_id = self.next_command_id();
        // A command may change files (see `leave_adopted`).
        self.touched
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let git = self
            .adopted
            .as_ref()
            .and_then(|_| super::git_guard::git_write(command));
        // In an adopted repository git is samocoder's to manage (its branch, its commits).
        let not_run = git.map(|sub| Execution::Refused {
            reason: format!(
                "`{sub}` would change the user's repository, which samocoder manages itself in an adopted repository (its own branch and commits); use read-only git commands such as git status, git diff or git log"
            ),
        });
        let not_run = match not_run {
            Some(refused) => Some(refused),
            None => match self.gate.decide(command) {
                Gate::Record => Some(Execution::Recorded),
                Gate::Refuse { reason } => Some(Execution::Refused { reason }),
                Gate::Ask { warning } => {
                    let note = self
                        .deps
                        .runner
                        .sandbox_note(&self.command_spec(command, timeout, purpose));
                    match self.approve(command, warning, note).await? {
                        ApprovalReply::Approve => None,
                        ApprovalReply::Deny { reason } => Some(Execution::Declined { reason }),
                    }
                }
                Gate::Run => None,
            },
        };
        let execution = match not_run {
            Some(e) => e,
            None => {
                self.emit(Event::CommandStarted {
                    command_id,
                    command: command.to_string(),
                    purpose,
                    timeout_s: timeout.as_secs(),
                });
                let mut spec = self.command_spec(command, timeout, purpose);
                // Recorded while it runs, so the next run can kill it if samocoder dies.
                let (store, run_id) = (self.store().clone(), self.run_id);
                spec.on_start = Some(StartHook(std::sync::Arc::new(move |g| {
                    let _ = store.set_command_group(run_id, Some(&g.to_string()));
                })));
                let outcome = self.gate.run(spec).await;
                self.store().set_command_group(self.run_id, None)?;
                Execution::Ran(outcome?)
            }
        };
        let (approval, disposition) = match (&execution, self.gate.policy) {
            (Execution::Ran(_), crate::exec::ApprovalPolicy::Ask) => {
                (Approval::User, Disposition::Ran)
            }
            (Execution::Ran(_), _) => (Approval::Auto, Disposition::Ran),
            (Execution::Declined { .. }, _) => (Approval::Denied, Disposition::Denied),
            (Execution::Refused { .. }, _) => (Approval::Denied, Disposition::Refused),
            (Execution::Recorded, _) => (Approval::Recorded, Disposition::Recorded),
        };
        let (passed, text, exit_code, timed_out, duration_ms, output, cancelled) = match &execution
        {
            Execution::Ran(o) => (
                o.success(),
                o.for_model(),
                o.exit_code,
                o.timed_out,
                o.duration.as_millis() as u64,
                o.output.clone(),
                o.cancelled,
            ),
            other => {
                let msg = other.not_run_message().unwrap_or_default();
                (false, msg.clone(), None, false, 0, msg, false)
            }
        };
        let ran = matches!(execution, Execution::Ran(_));
        // In an adopted repository git keeps that record (samocoder's work is what its branch
        // holds and what is uncommitted there beside the user's kept-out changes): no tree hash.
        if ran && self.adopted.is_none() {
            // What the command changed is samocoder's doing, not the user's: record it.
            let snap = super::snapshot::TreeSnapshot::after_command(
                self.store(),
                self.project.id,
                &self.ws,
            )?;
            let project_id = self.project.id;
            self.store().transaction(|db| snap.apply(db, project_id))?;
        }
        let sandbox_label = match &execution {
            Execution::Ran(o) => Some(o.sandbox.as_ref().map_or("off".into(), |s| s.label())),
            _ => None,
        };
        let record = Record::Command(CommandRecord {
            command: crate::provenance::bundle::scrub_keys(command),
            purpose: Some(purpose_name(purpose).into()),
            approval: approval.as_str().into(),
            disposition: Some(disposition_name(disposition).into()),
            // The sandbox it ran in (`off` when it ran unconfined; none when it did not run).
            sandbox: sandbox_label.clone(),
            exit_code,
            timed_out,
            duration_ms: i64::try_from(duration_ms).unwrap_or(i64::MAX),
            backfilled: false,
        });
        let label = self.current_task.clone().filter(|_| task_id.is_some());
        self.store().transaction(|db| {
            db.record_command(&NewCommand {
                project_id: self.project.id,
                run_id: Some(self.run_id),
                task_id,
                command: command.to_string(),
                approval,
                exit_code,
                timed_out,
                duration_ms,
                output,
                sandbox: sandbox_label.clone(),
            })?;
            self.record_in(db, label.as_deref(), &record)
        })?;
        tracing::info!(
            command_id = command_id.0,
            command,
            purpose = ?purpose,
            disposition = ?disposition,
            exit_code = ?exit_code,
            timed_out,
            duration_ms,
            "command"
        );
        self.emit(Event::CommandFinished {
            command_id,
            command: command.to_string(),
            purpose,
            exit_code,
            timed_out,
            duration_ms,
            disposition,
        });
        if cancelled {
            return Err(self.interrupted());
        }
        Ok(CommandResult {
            passed,
            text,
            exit_code,
            ran,
        })
    }

    /// A command of this run in the project directory, with the output caps and Ctrl-C.
    fn command_spec(&self, command: &str, timeout: Duration, purpose: CommandRole) -> CommandSpec {
        let keep = (self.deps.config.limits.command_output_bytes / 2) as usize;
        let mut spec = CommandSpec::new(command, self.ws.root(), timeout);
        spec.keep_head = keep;
        spec.keep_tail = keep;
        spec.cancel = self.deps.cancel.child_token();
        spec.role = purpose;
        spec
    }

    /// Asks the user about a command and waits for the answer (or Ctrl-C).
    async fn approve(
        &self,
        command: &str,
        warning: Option<String>,
        sandbox: Option<String>,
    ) -> Result<ApprovalReply, AgentError> {
        let Some(prompter) = &self.deps.prompter else {
            return Ok(ApprovalReply::Deny {
                reason: Some("no one can approve commands in this run".into()),
            });
        };
        let req = ApprovalRequest {
            id: self.next_request_id(),
            command: command.to_string(),
            cwd: self.ws.root().display().to_string(),
            warning,
            sandbox,
        };
        self.emit(Event::ApprovalRequested {
            request_id: req.id,
            command: req.command.clone(),
            cwd: req.cwd.clone(),
            warning: req.warning.clone(),
            sandbox: req.sandbox.clone(),
        });
        tokio::select! {
            reply = prompter.approve(req) => Ok(reply.unwrap_or(ApprovalReply::Deny {
                reason: Some("no one could answer the approval prompt".into()),
            })),
            _ = self.deps.cancel.cancelled() => Err(self.interrupted()),
        }
    }
}
