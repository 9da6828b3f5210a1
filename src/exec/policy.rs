//! Whether a command may run: the approval policy, the approver (the UI prompts later; tests
//! use [`FakeApprover`]), and [`CommandGate`] which ties policy, danger check and runner.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::danger;
use super::runner::{CommandOutcome, CommandSpec, ExecError, Runner};

/// How commands proposed by the model are approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApprovalPolicy {
    /// Show each command and run it only when the user says yes (the default on a terminal).
    #[default]
    Ask,
    /// Run without asking (`--yes`, CI), but refuse obviously destructive commands.
    Auto,
    /// Run nothing; record what would have run.
    Never,
}

impl std::str::FromStr for ApprovalPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ask" => Ok(ApprovalPolicy::Ask),
            "auto" => Ok(ApprovalPolicy::Auto),
            "never" => Ok(ApprovalPolicy::Never),
            _ => Err(format!(
                "unknown approval policy `{s}`; use ask, auto or never"
            )),
        }
    }
}

impl std::fmt::Display for ApprovalPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ApprovalPolicy::Ask => "ask",
            ApprovalPolicy::Auto => "auto",
            ApprovalPolicy::Never => "never",
        })
    }
}

/// The user's answer to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    /// Declined, with an optional note for the model ("use pytest instead").
    Deny {
        reason: Option<String>,
    },
}

/// Asks the user about a command (the UI implements it; it must not block forever without a
/// terminal: it should deny instead).
pub trait Approver: Send + Sync {
    fn approve(&self, command: &str, cwd: &Path) -> Decision;
}

/// A scripted approver for tests: answers in order (the last answer repeats), records questions.
#[derive(Debug, Default)]
pub struct FakeApprover {
    answers: Mutex<Vec<Decision>>,
    asked: Mutex<Vec<String>>,
}

impl FakeApprover {
    pub fn new(answers: Vec<Decision>) -> Self {
        FakeApprover {
            answers: Mutex::new(answers),
            asked: Mutex::new(Vec::new()),
        }
    }

    /// The commands asked about so far.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl Approver for FakeApprover {
    fn approve(&self, command: &str, _cwd: &Path) -> Decision {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(command.to_owned());
        }
        let Ok(mut answers) = self.answers.lock() else {
            return Decision::Deny { reason: None };
        };
        match answers.len() {
            0 => Decision::Deny { reason: None },
            1 => answers[0].clone(),
            _ => answers.remove(0),
        }
    }
}

/// What happened to a proposed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Execution {
    Ran(CommandOutcome),
    /// The user said no.
    Declined {
        reason: Option<String>,
    },
    /// The `auto` policy's danger check refused it.
    Refused {
        reason: String,
    },
    /// The `never` policy: not run, only recorded.
    Recorded,
}

impl Execution {
    /// One line for the model describing what happened when the command did not run.
    pub fn not_run_message(&self) -> Option<String> {
        match self {
            Execution::Ran(_) => None,
            Execution::Declined { reason: Some(r) } => Some(format!("the user declined to run the command: {r}")),
            Execution::Declined { reason: None } => Some("the user declined to run the command".into()),
            Execution::Refused { reason } => Some(format!("the command was refused because {reason}; do it another way inside the project")),
            Execution::Recorded => Some("commands are disabled for this run (policy never); the command was recorded, not run".into()),
        }
    }
}

/// Policy + danger check + runner, for the agent loop.
pub struct CommandGate {
    pub policy: ApprovalPolicy,
    approver: Arc<dyn Approver>,
    runner: Arc<dyn Runner>,
    project_root: PathBuf,
    home: Option<PathBuf>,
}

impl CommandGate {
    /// `home` is the user's home directory (from the environment snapshot), for `~` in commands.
    pub fn new(
        policy: ApprovalPolicy,
        approver: Arc<dyn Approver>,
        runner: Arc<dyn Runner>,
        project_root: impl Into<PathBuf>,
        home: Option<PathBuf>,
    ) -> Self {
        CommandGate {
            policy,
            approver,
            runner,
            project_root: project_root.into(),
            home,
        }
    }

    /// Decides and, if allowed, runs `spec` (its `cwd` should be the project root).
    pub async fn execute(&self, spec: CommandSpec) -> Result<Execution, ExecError> {
        match self.policy {
            ApprovalPolicy::Never => return Ok(Execution::Recorded),
            ApprovalPolicy::Auto => {
                if let Some(reason) =
                    danger::check(&spec.command, &self.project_root, self.home.as_deref())
                {
                    return Ok(Execution::Refused { reason });
                }
            }
            ApprovalPolicy::Ask => {
                if let Decision::Deny { reason } = self.approver.approve(&spec.command, &spec.cwd) {
                    return Ok(Execution::Declined { reason });
                }
            }
        }
        Ok(Execution::Ran(self.runner.run(spec).await?))
    }
}
