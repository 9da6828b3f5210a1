//! What the agent needs from the outside world, each behind a trait so the whole loop runs
//! offline in tests: models, commands, questions, events, the store, the clock (via the store).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::events::EventSink;
use crate::config::Config;
use crate::exec::{ApprovalPolicy, Approver, Runner};
use crate::llm::usage::CallContext;
use crate::llm::{LlmError, Provider};
use crate::store::Store;

/// Gives the agent a provider per role (a router over the role's route, a replay, a fake).
pub trait Models: Send + Sync {
    /// The provider for `role`. `context` names the project, run and a unique call-key prefix.
    fn for_role(&self, role: &str, context: CallContext) -> Result<Arc<dyn Provider>, LlmError>;

    /// The estimated cost in dollars of a call for `role` with these token counts, from the
    /// price of the route's first entry; `None` when unknown.
    fn estimate_cost(&self, role: &str, input_tokens: u64, output_tokens: u64) -> Option<f64>;

    /// The context window of the role's first route entry, when known.
    fn context_window(&self, role: &str) -> Option<u64>;

    /// True when answers come from a cassette: the same answer position then gets the same
    /// usage-record key, so an answer served again after a crash is not counted twice. Live
    /// calls are never deduplicated this way: a repeated live call was paid twice.
    fn replayed(&self) -> bool {
        false
    }

    /// True when parallel calls must run one at a time so answers keep a fixed order (a
    /// cassette being recorded or replayed).
    fn sequential(&self) -> bool {
        self.replayed()
    }
}

/// Answers clarifying questions. Non-interactive runs answer `None` (the model assumes).
pub trait Asker: Send + Sync {
    fn ask(&self, questions: &[String]) -> Option<Vec<String>>;
}

/// Never asks: what `--yes` and scripts use.
pub struct NoQuestions;

impl Asker for NoQuestions {
    fn ask(&self, _questions: &[String]) -> Option<Vec<String>> {
        None
    }
}

/// Everything one run of the agent uses.
pub struct AgentDeps {
    pub store: Store,
    pub config: Config,
    pub models: Arc<dyn Models>,
    pub runner: Arc<dyn Runner>,
    pub approver: Arc<dyn Approver>,
    pub policy: ApprovalPolicy,
    pub asker: Arc<dyn Asker>,
    pub events: Arc<dyn EventSink>,
    pub cancel: CancellationToken,
    /// The user's home directory, for the destructive-command check.
    pub home: Option<std::path::PathBuf>,
    /// Independent file writes of one model turn run up to this many at once.
    pub jobs: usize,
    /// Cap for this run in dollars (`--max-cost`, else `budget.per_run_usd`).
    pub max_cost_usd: Option<f64>,
    /// Tools found on this machine (`python3`, `node`, `cargo`, ...), for the architect.
    pub available_tools: Vec<String>,
    /// Forces this starter template (`--template`).
    pub template: Option<String>,
    /// Whether questions may be asked (a terminal and no `--yes`).
    pub interactive: bool,
}
