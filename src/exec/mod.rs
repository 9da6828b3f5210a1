//! Running commands the model proposes: the approval policy ([`policy`]), the destructive-
//! command heuristic ([`danger`]), the child's environment ([`env`]), capped output
//! ([`output`]) and the process-group runner ([`runner`]).

pub mod danger;
pub mod env;
pub mod output;
pub mod policy;
pub mod runner;

pub use env::{PROVIDER_KEY_VARS, child_env, is_secret_name};
pub use policy::{ApprovalPolicy, Approver, CommandGate, Decision, Execution, FakeApprover};
pub use runner::{CommandOutcome, CommandSpec, ExecError, FakeRunner, Runner, ShellRunner};

#[cfg(all(test, unix))]
mod runner_tests;
