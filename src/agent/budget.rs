//! Dollar caps for a run: checked before each call (with an estimate of the call) and after it
//! (a warning once a cap is `budget.warn_at` spent). What the run has spent is the sum of its
//! calls' own usage records, kept as the calls finish, so no query runs per call.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::call::CallSummary;
use super::deps::AgentDeps;
use super::error::AgentError;
use super::session::Session;
use crate::llm::pricing::PriceKnowledge;
use crate::protocol::{Budget, BudgetScope, Event, Role};
use crate::store::{Project, Store};

/// Tokens of a run's calls (input of every kind, of which cached, and output).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub cached_input: u64,
    pub output: u64,
}

pub struct BudgetGuard {
    project_id: i64,
    run_cap: Option<f64>,
    project_cap: Option<f64>,
    /// What the project had spent before this run (read once, when the first call is checked).
    project_before: Mutex<Option<f64>>,
    /// What this run's calls cost so far (known prices only).
    spent: Mutex<f64>,
    /// Tokens of this run's calls, for the run's summary.
    tokens: Mutex<Tokens>,
    /// Model calls this run has started (`limits.max_calls_per_run` holds priced or not).
    calls: AtomicU32,
    max_calls: u32,
    warned_run: AtomicBool,
    warned_project: AtomicBool,
}

impl BudgetGuard {
    pub fn new(deps: &AgentDeps, project: &Project) -> BudgetGuard {
        BudgetGuard {
            project_id: project.id,
            run_cap: deps.max_cost_usd,
            project_cap: project.budget_usd.or(deps.config.budget.per_project_usd),
            project_before: Mutex::new(None),
            spent: Mutex::new(0.0),
            tokens: Mutex::new(Tokens::default()),
            calls: AtomicU32::new(0),
            max_calls: deps.config.limits.max_calls_per_run,
            warned_run: AtomicBool::new(false),
            warned_project: AtomicBool::new(false),
        }
    }

    /// The caps in force, for `run_started`.
    pub fn describe(&self, store: &Store) -> Result<Budget, AgentError> {
        Ok(Budget {
            run_cap_usd: self.run_cap,
            project_cap_usd: self.project_cap,
            project_spent_usd: self.project_before(store)?,
        })
    }

    fn project_before(&self, store: &Store) -> Result<f64, AgentError> {
        let mut before = self
            .project_before
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(v) = *before {
            return Ok(v);
        }
        let total = store.project_cost(self.project_id)?.cost_usd;
        // Calls of this run recorded before the first read are in the total: take them out.
        let v = (total - self.spent()).max(0.0);
        *before = Some(v);
        Ok(v)
    }

    fn spent(&self) -> f64 {
        *self.spent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// (scope, spent, cap) for each cap in force.
    fn caps(&self, s: &Session<'_>) -> Result<Vec<(BudgetScope, f64, f64)>, AgentError> {
        let mut caps = Vec::new();
        let run = self.spent();
        if let Some(cap) = self.run_cap {
            caps.push((BudgetScope::Run, run, cap));
        }
        if let Some(cap) = self.project_cap {
            caps.push((
                BudgetScope::Project,
                self.project_before(s.store())? + run,
                cap,
            ));
        }
        Ok(caps)
    }

    /// Stops before a call that the budget cannot pay for, or past the run's call ceiling.
    pub fn preflight(
        &self,
        s: &Session<'_>,
        role: Role,
        input: u64,
        max_output: u32,
    ) -> Result<(), AgentError> {
        let made = self.calls.load(Ordering::SeqCst);
        if made >= self.max_calls {
            return Err(AgentError::Budget {
                scope: "calls",
                spent: f64::from(made),
                cap: f64::from(self.max_calls),
                next: String::new(),
                project: s.project.name.clone(),
            });
        }
        let output = u64::from(max_output).min(2048);
        // An unknown price was refused at the start of the run (when a cap is in force).
        let estimate = s
            .deps
            .models
            .estimate_cost(role, input, output)
            .unwrap_or(0.0);
        for (scope, spent, cap) in self.caps(s)? {
            if spent >= cap || spent + estimate > cap {
                let next = if spent >= cap {
                    String::new()
                } else {
                    format!(" and the next call would cost about ${estimate:.4}")
                };
                return Err(AgentError::Budget {
                    scope: scope.as_str(),
                    spent,
                    cap,
                    next,
                    project: s.project.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// Counts a call that is about to be made.
    pub fn started(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }

    /// Refuses to start a run whose budget cannot be enforced: a cap is in force and a model the
    /// run may call has no price at all (an unknown price never counts as $0). When some prices
    /// are only estimated, says so: the caps hold on the estimate.
    pub fn check_enforceable(&self, s: &Session<'_>) -> Result<Option<String>, AgentError> {
        if self.run_cap.is_none() && self.project_cap.is_none() {
            return Ok(None);
        }
        let mut unknown = Vec::new();
        let mut estimated = Vec::new();
        for role in Role::AGENT {
            for m in s.deps.models.unpriced(role) {
                let name = m.model.to_string();
                match m.knowledge {
                    PriceKnowledge::Unknown if !unknown.contains(&name) => unknown.push(name),
                    PriceKnowledge::Estimated => {
                        let basis = m.basis.map(|b| format!(" as {b}")).unwrap_or_default();
                        let line = format!("{name}{basis}");
                        if !estimated.contains(&line) {
                            estimated.push(line);
                        }
                    }
                    _ => {}
                }
            }
        }
        let cap = if self.run_cap.is_some() {
            "--max-cost (or budget.per_run_usd)"
        } else {
            "the project's budget"
        };
        if let Some(first) = unknown.first() {
            return Err(AgentError::Usage(format!(
                "{cap} cannot be enforced: no price is known for {}; add [prices.\"{first}\"] (input_per_mtok, output_per_mtok) to the config, declare the provider free = true if it costs nothing, or run without a budget",
                unknown.join(", ")
            )));
        }
        Ok((!estimated.is_empty()).then(|| {
            format!(
                "{cap} is enforced on estimated prices for {} (no exact price is known)",
                estimated.join(", ")
            )
        }))
    }

    /// Adds what a call cost (answered or not). An attempt whose price is unknown is counted at
    /// its route's estimate when there is one, so a budget is never spent by calls it cannot see.
    pub fn add(&self, call: &CallSummary, role: Role, models: &dyn super::deps::Models) {
        let cost: f64 = call
            .records
            .iter()
            .filter_map(|r| {
                r.cost_usd.or_else(|| {
                    let input = r.input_tokens + r.cached_tokens + r.cache_write_tokens;
                    models.estimate_cost(role, input, r.output_tokens)
                })
            })
            .sum();
        *self.spent.lock().unwrap_or_else(|p| p.into_inner()) += cost;
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        t.input = t.input.saturating_add(call.input_tokens());
        t.cached_input = t.cached_input.saturating_add(call.cached_input_tokens());
        t.output = t.output.saturating_add(call.output_tokens());
    }

    /// The tokens of the run's calls so far.
    pub fn tokens(&self) -> Tokens {
        *self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Warns once per cap when it is `warn_at` spent.
    pub fn warn(&self, s: &Session<'_>) -> Result<(), AgentError> {
        let warn_at = s.deps.config.budget.warn_at;
        for (scope, spent, cap) in self.caps(s)? {
            let warned = match scope {
                BudgetScope::Run => &self.warned_run,
                BudgetScope::Project => &self.warned_project,
            };
            if spent >= warn_at * cap && !warned.swap(true, Ordering::SeqCst) {
                s.emit(Event::BudgetWarning {
                    scope,
                    spent_usd: spent,
                    cap_usd: cap,
                });
            }
        }
        Ok(())
    }
}
