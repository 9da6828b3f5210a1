//! Running commands the model proposes: the approval policy ([`policy`]), the destructive-
//! command heuristic ([`danger`]), the child's environment ([`env`]), capped output
//! ([`output`]), the process-group runner ([`runner`]) and the OS sandbox ([`sandbox`]).

pub mod danger;
pub mod env;
pub mod output;
pub mod policy;
pub mod runner;
pub mod sandbox;

pub use env::{PROVIDER_KEY_VARS, available_tools, child_env, is_secret_name};
pub use policy::{ApprovalPolicy, CommandGate, Execution, Gate};
#[cfg(any(test, feature = "testing"))]
pub use runner::FakeRunner;
pub use runner::{
    CommandOutcome, CommandSpec, ExecError, Runner, SandboxApplied, ShellRunner, StartHook,
};
pub use sandbox::{CommandRole, SandboxMode, SandboxRuntime, kill_stale_group};

#[cfg(all(test, unix))]
mod runner_tests;
