//! Dollar caps for a run: checked before each call (with an estimate of the call) and after it
//! (a warning once a cap is `budget.warn_at` spent). What the run has spent is the sum of its
//! calls' own usage records, kept as the calls finish, so no query runs per call.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::call::CallSummary;
use super::deps::AgentDeps;
use super::error::AgentError;
use super::session::Session;
use crate::protocol::{Budget, BudgetScope, Event, Role};
use crate::store::{Project, Store};

pub struct BudgetGuard {
    project_id: i64,
    run_cap: Option<f64>,
    project_cap: Option<f64>,
    /// What the project had spent before this run (read once, when the first call is checked).
    project_before: Mutex<Option<f64>>,
    /// What this run's calls cost so far (known prices only).
    spent: Mutex<f64>,
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

    /// Adds what a call cost (answered or not).
    pub fn add(&self, call: &CallSummary) {
        let cost: f64 = call.records.iter().filter_map(|r| r.cost_usd).sum();
        *self.spent.lock().unwrap_or_else(|p| p.into_inner()) += cost;
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
