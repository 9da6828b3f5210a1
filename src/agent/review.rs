//! The estimate made when a plan is ready (and for `--plan-only`): what the open tasks of the
//! latest plan will cost, from the ledger's averages and the prices of each role's route. It is
//! an event and a provenance record, so `show` can later put it beside what was spent.

use super::error::AgentError;
use super::restart::latest_tasks;
use super::session::Session;
use crate::estimate::{Estimate, Scope, estimate};
use crate::protocol::Event;
use crate::provenance::Record;
use crate::store::TaskStatus;

impl Session<'_> {
    /// Estimates the open tasks of the latest plan, says so and records it.
    pub(super) fn estimate_rest(&self) -> Result<Estimate, AgentError> {
        let all = self.store().list_tasks(self.project.id)?;
        let tasks = latest_tasks(&all);
        let open = tasks
            .iter()
            .filter(|t| t.status != TaskStatus::Done)
            .count() as u32;
        let scope = Scope {
            planning: Vec::new(),
            tasks: Some(open),
            iteration: tasks.first().map(|t| t.iteration),
        };
        let basis = self.store().estimate_basis()?;
        let models = &self.deps.models;
        let e = estimate(&scope, &basis, &|role, input, output| {
            models.estimate_cost(role, input, output)
        });
        let spent = self.store().project_cost(self.project.id)?.cost_usd;
        self.record(None, Record::Estimate(e.clone()))?;
        self.emit(Event::CostEstimate {
            estimate: e.clone(),
            spent_usd: spent,
        });
        Ok(e)
    }
}
