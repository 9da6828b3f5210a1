//! What the agent needs from the outside world, each behind a trait or a channel so the whole
//! loop runs in process in tests: models, commands, the person at the terminal (a
//! [`Prompter`]), events, the store (and the clock, through the store).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::exec::{ApprovalPolicy, Runner};
use crate::llm::pricing::{PriceKnowledge, PriceStatus};
use crate::llm::usage::CallContext;
use crate::llm::{LlmError, Provider};
use crate::protocol::{EventSink, Prompter, Role};
use crate::store::Store;

/// Gives the agent a provider per role (a router over the role's route, a replay, a fake).
pub trait Models: Send + Sync {
    /// The provider for `role`. `context` names the project, run and a unique call-key prefix.
    fn for_role(&self, role: Role, context: CallContext) -> Result<Arc<dyn Provider>, LlmError>;

    /// The estimated cost in dollars of a call for `role` with these token counts: the dearest
    /// model of the role's route (a call may fall back to any), exact or estimated; `None`
    /// when some model's price is unknown.
    fn estimate_cost(&self, role: Role, input_tokens: u64, output_tokens: u64) -> Option<f64>;

    /// How well the prices of the role's route are known (the least known model decides).
    fn price_knowledge(&self, role: Role) -> PriceKnowledge;

    /// The models of the role's route whose price is not known exactly, with what is known.
    fn unpriced(&self, _role: Role) -> Vec<PriceStatus> {
        Vec::new()
    }

    /// The context window of the role's first route entry, when known.
    fn context_window(&self, role: Role) -> Option<u64>;

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

/// Everything one run of the agent uses.
pub struct AgentDeps {
    pub store: Store,
    pub config: Config,
    pub models: Arc<dyn Models>,
    pub runner: Arc<dyn Runner>,
    pub policy: ApprovalPolicy,
    /// Who answers approvals and questions; `None` when nobody can (scripts, `--yes`): then
    /// questions are not asked and commands that need approval are not run.
    pub prompter: Option<Prompter>,
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
    /// An adopted repository may have uncommitted changes: they are left as they are, out of
    /// samocoder's commits, and never written (`--allow-dirty`).
    pub allow_dirty: bool,
}

impl AgentDeps {
    /// Whether clarifying questions may be asked.
    pub fn interactive(&self) -> bool {
        self.prompter.is_some()
    }
}
