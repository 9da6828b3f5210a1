//! Why a run stopped early.

use crate::exit::{Exit, ExitStatus};

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Llm(#[from] crate::llm::LlmError),
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    #[error(transparent)]
    Exec(#[from] crate::exec::ExecError),
    #[error(transparent)]
    Template(#[from] crate::templates::TemplateError),
    #[error("{}; the state is saved: {}", budget_what(scope, *spent, *cap, next), budget_knob(scope, project))]
    Budget {
        scope: &'static str,
        spent: f64,
        cap: f64,
        /// Explains a pre-flight stop ("the next call would cost about $0.02").
        next: String,
        project: String,
    },
    #[error("interrupted; the state is saved: continue with `samocoder resume {project}`")]
    Interrupted { project: String },
    #[error("task {index} ({title}) failed: {reason}")]
    TaskFailed {
        index: u32,
        title: String,
        reason: String,
    },
    /// The model could not give a usable answer for a planning step.
    #[error("{0}")]
    Model(String),
    /// What was asked cannot be done as asked (a bad `--from-task`, a change request while
    /// tasks are open); nothing was changed.
    #[error("{0}")]
    Usage(String),
    /// Something on this machine failed (a file that cannot be written, a crashed worker).
    #[error("{0}")]
    Failed(String),
}

/// What cap stopped a run.
fn budget_what(scope: &str, spent: f64, cap: f64, next: &str) -> String {
    match scope {
        "calls" => {
            format!("this run made {spent} model calls, the most limits.max_calls_per_run allows")
        }
        _ => format!("{scope} budget exhausted: ${spent:.4} spent of ${cap:.2}{next}"),
    }
}

/// How to lift the cap that stopped a run.
fn budget_knob(scope: &str, project: &str) -> String {
    match scope {
        "project" => format!(
            "raise the project's budget with `samocoder budget {project} USD`, then `samocoder resume {project}`"
        ),
        "calls" => format!(
            "continue with `samocoder resume {project}` (or raise limits.max_calls_per_run)"
        ),
        _ => format!("continue with `samocoder resume {project} --max-cost USD`"),
    }
}

impl ExitStatus for AgentError {
    fn exit(&self) -> Exit {
        match self {
            AgentError::Store(e) => e.exit(),
            AgentError::Llm(e) => e.exit(),
            AgentError::Workspace(e) => e.exit(),
            AgentError::Exec(e) => e.exit(),
            AgentError::Template(e) => e.exit(),
            AgentError::Budget { .. } => Exit::Budget,
            AgentError::Interrupted { .. } => Exit::Interrupted,
            AgentError::TaskFailed { .. } | AgentError::Model(_) | AgentError::Failed(_) => {
                Exit::Failure
            }
            AgentError::Usage(_) => Exit::Usage,
        }
    }
}
