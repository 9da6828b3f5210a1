//! Running commands the model proposes: the approval policy ([`policy`]), the destructive-
//! command heuristic ([`danger`]), the child's environment ([`env`]), capped output
//! ([`output`]) and the process-group runner ([`runner`]).

pub mod danger;
pub mod env;
pub mod output;
pub mod policy;
pub mod runner;

pub use env::{PROVIDER_KEY_VARS, available_tools, child_env, is_secret_name};
pub use policy::{ApprovalPolicy, CommandGate, Execution, Gate};
#[cfg(any(test, feature = "testing"))]
pub use runner::FakeRunner;
pub use runner::{CommandOutcome, CommandSpec, ExecError, Runner, ShellRunner};

#[cfg(all(test, unix))]
mod runner_tests;
