//! The end of a task: the test command after `task_done`, the fix request and loop detection
//! when it fails, the git checkpoint when it passes (or could not run), and a failed task's
//! record.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::digest;
use super::error::AgentError;
use super::session::{Session, ThreadLog};
use crate::protocol::{
    Checkpoint, CommandRole, Event, StepPayload, TaskOutcome, TestStatus, UserInput, Verify,
};
use crate::provenance::{CheckpointRecord, Record};
use crate::store::{Task, TaskStatus};
use crate::templates;

/// Bytes of the task prompt the list of the user's own changes may take.
const USER_EDITS_BUDGET: usize = 6 * 1024;

impl Session<'_> {
    /// Runs the test command. Passing (or not run): checkpoint and `true`. Failing: a fix
    /// request (or the task fails at the cap or on a loop) and `false`.
    pub(super) async fn verify(
        &mut self,
        task: &Task,
        log: &mut ThreadLog,
        test_command: &str,
    ) -> Result<bool, AgentError> {
        let summary = last_done_summary(log);
        let command = if test_command.trim().is_empty() {
            "true"
        } else {
            test_command
        };
        let out = self
            .run_command(Some(task.id), command, None, CommandRole::Test)
            .await?;
        let tid = Some(task.id);
        if !out.ran || out.passed {
            // Denied, refused or recorded (policy `never`): the task is done but unverified.
            let (status, reason, tail) = if out.ran {
                (TestStatus::Passed, None, tail_lines(&out.text, 12))
            } else {
                (
                    TestStatus::NotRun,
                    Some(out.text.trim().to_string()),
                    String::new(),
                )
            };
            self.emit(Event::TestsRun {
                command: command.into(),
                status,
                passed: status == TestStatus::Passed,
                reason: reason.clone(),
                tail,
            });
            let verify = StepPayload::Verify(Verify {
                command: command.into(),
                status,
                summary: summary.clone(),
                signature: None,
                exit_code: out.exit_code,
                reason,
            });
            self.save(log, tid, verify)?;
            self.checkpoint(task, log, &summary)?;
            return Ok(true);
        }
        let tail = tail_lines(&out.text, 12);
        self.emit(Event::TestsRun {
            command: command.into(),
            status: TestStatus::Failed,
            passed: false,
            reason: None,
            tail: tail.clone(),
        });
        let limits = &self.deps.config.limits;
        let previous: Vec<String> = log
            .this_run(self.run_id)
            .filter_map(|s| match &s.payload {
                StepPayload::Verify(v) if v.status == TestStatus::Failed => v.signature.clone(),
                _ => None,
            })
            .collect();
        let signature = failure_signature(&out.text);
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
        let failed = StepPayload::Verify(Verify {
            command: command.into(),
            status: TestStatus::Failed,
            summary,
            signature: Some(signature),
            exit_code: out.exit_code,
            reason: None,
        });
        if third || attempt > limits.max_fix_attempts {
            let reason = if third {
                format!("the same test failure three times in a row:\n{tail}")
            } else {
                format!(
                    "tests still fail after {} fix attempts:\n{tail}",
                    limits.max_fix_attempts
                )
            };
            self.save(log, tid, failed)?;
            return self.fail_task(task, reason).map(|_| false);
        }
        let fix = templates::render_prompt(
            "troubleshooter.fix",
            json!({"attempt": attempt, "max_attempts": limits.max_fix_attempts, "command": command,
                   "exit_code": out.exit_code.map_or("none".into(), |c| c.to_string()), "output": out.text, "repeated": repeated}),
        )?;
        let request = StepPayload::UserInput(UserInput { content: fix });
        self.save_with(log, tid, vec![failed, request], |_| Ok(()))?;
        Ok(false)
    }

    /// Commits the task's work and marks it done, with the project's file hashes.
    pub(super) fn checkpoint(
        &mut self,
        task: &Task,
        log: &mut ThreadLog,
        summary: &str,
    ) -> Result<(), AgentError> {
        let message = if summary.is_empty() {
            format!("Task {}: {}", task.ordinal, task.title)
        } else {
            format!("Task {}: {}\n\n{}", task.ordinal, task.title, summary)
        };
        // In an adopted repository only samocoder's changes are committed.
        let made = match &self.adopted {
            Some(a) => {
                self.ensure_on_own_branch()?;
                self.ws.commit_own_changes(&message, &a.keep_out)?
            }
            None => self.ws.checkpoint(&message)?,
        };
        if let Some(message) = made.warning() {
            self.emit(Event::Warning { message });
        }
        let commit = match made.commit {
            Some(c) => Some(c),
            None => self.ws.head()?,
        };
        let snap = match self.adopted {
            None => Some(super::snapshot::TreeSnapshot::take(
                self.store(),
                self.project.id,
                &self.ws,
            )?),
            // An adopted repository's record of the tree is git's (see `commands.rs`).
            Some(_) => None,
        };
        let project_id = self.project.id;
        let commit_id = commit.as_ref().map(|c| c.as_str().to_string());
        let step = StepPayload::Checkpoint(Checkpoint {
            commit: commit_id.clone(),
            summary: summary.to_string(),
        });
        let record = Record::Checkpoint(CheckpointRecord {
            commit: commit_id.clone(),
            title: task.title.clone(),
            summary: summary.to_string(),
            backfilled: false,
        });
        let label = super::session::task_label(task);
        self.save_with(log, Some(task.id), vec![step], |db| {
            if let Some(snap) = &snap {
                snap.apply(db, project_id)?;
            }
            self.record_in(db, Some(&label), &record)?;
            if let Some(c) = &commit_id {
                db.set_task_checkpoint(task.id, c)?;
            }
            db.set_task_status(task.id, TaskStatus::Done, None)
        })?;
        self.emit(Event::TaskFinished {
            index: task.ordinal as u32,
            status: TaskOutcome::Done,
            checkpoint: commit_id,
            reason: None,
        });
        Ok(())
    }

    pub(super) fn fail_task(&self, task: &Task, reason: String) -> Result<(), AgentError> {
        self.store()
            .set_task_status(task.id, TaskStatus::Failed, Some(&reason))?;
        self.emit(Event::TaskFinished {
            index: task.ordinal as u32,
            status: TaskOutcome::Failed,
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
        let cap = |l: &[String]| l.iter().take(digest::EVENT_PATHS).cloned().collect();
        self.emit(Event::UserEdits {
            added: cap(&diff.added),
            modified: cap(&diff.modified),
            deleted: cap(&diff.deleted),
            counts: crate::protocol::EditCounts {
                added: diff.added.len() as u64,
                modified: diff.modified.len() as u64,
                deleted: diff.deleted.len() as u64,
            },
        });
        // A bounded part of the task prompt, whatever the user did.
        let mut text = String::new();
        for (what, list) in [
            ("modified", &diff.modified),
            ("deleted", &diff.deleted),
            ("added", &diff.added),
        ] {
            text.push_str(&digest::paths(what, list, USER_EDITS_BUDGET / 3));
        }
        Ok(Some(text))
    }
}

/// The summary of the thread's last `task_done` call.
fn last_done_summary(log: &ThreadLog) -> String {
    log.steps
        .iter()
        .rev()
        .find_map(|s| match &s.payload {
            StepPayload::ModelTurn(t) => t
                .response
                .tool_calls
                .iter()
                .find(|c| c.name == "task_done")
                .and_then(|c| {
                    let v: Value = serde_json::from_str(&c.arguments).ok()?;
                    v["summary"]
                        .as_str()
                        .map(|s| s.trim().chars().take(500).collect())
                }),
            _ => None,
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
