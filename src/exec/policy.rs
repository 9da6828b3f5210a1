//! Whether a command may run: the approval policy, and [`CommandGate`] which ties policy,
//! danger check and runner. Asking the user is the engine's (a protocol request).

use std::path::PathBuf;
use std::sync::Arc;

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

/// What the policy says about one command, before anything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Run it (`auto` and nothing looks destructive).
    Run,
    /// Ask the user first (`ask`); `warning` says why `auto` would refuse it (then the prompt
    /// defaults to No).
    Ask { warning: Option<String> },
    /// `auto` refuses it.
    Refuse { reason: String },
    /// `never`: record it, run nothing.
    Record,
}

/// Policy + danger check + runner, for the agent loop. The approval itself (a question to the
/// user) is the caller's: the gate says [`Gate::Ask`] and the caller runs the command with
/// [`CommandGate::run`] once the user said yes.
pub struct CommandGate {
    pub policy: ApprovalPolicy,
    runner: Arc<dyn Runner>,
    project_root: PathBuf,
    home: Option<PathBuf>,
}

impl CommandGate {
    /// `home` is the user's home directory (from the environment snapshot), for `~` in commands.
    pub fn new(
        policy: ApprovalPolicy,
        runner: Arc<dyn Runner>,
        project_root: impl Into<PathBuf>,
        home: Option<PathBuf>,
    ) -> Self {
        CommandGate {
            policy,
            runner,
            project_root: project_root.into(),
            home,
        }
    }

    /// Decides what to do with `command` under the policy.
    pub fn decide(&self, command: &str) -> Gate {
        let danger = || danger::check(command, &self.project_root, self.home.as_deref());
        match self.policy {
            ApprovalPolicy::Never => Gate::Record,
            ApprovalPolicy::Auto => match danger() {
                Some(reason) => Gate::Refuse { reason },
                None => Gate::Run,
            },
            ApprovalPolicy::Ask => Gate::Ask { warning: danger() },
        }
    }

    /// Runs a command the policy (and, under `ask`, the user) allowed.
    pub async fn run(&self, spec: CommandSpec) -> Result<CommandOutcome, ExecError> {
        self.runner.run(spec).await
    }
}
