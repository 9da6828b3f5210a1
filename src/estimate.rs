//! What the rest of a run will cost, as a range: the model calls still to make (planning calls
//! for the phases not done yet, calls per task times the plan's size), their tokens, and the
//! prices of each role's first route entry. Figures come from the averages of earlier runs in
//! the ledger when there are any, else from typical runs. Pure computation: the caller supplies
//! the ledger's averages ([`Basis`], from `store`) and the prices.
//!
//! How the range is made (docs/estimate.md):
//! - tasks: the plan's size when known; else 0.6x-1.6x the ledger's average plan (typical: 2-6);
//! - calls per task: 0.6x-1.8x the ledger's average (typical: 3-10), split between coder,
//!   troubleshooter and writer as in the ledger (typical: 75% / 25% / 0%);
//! - planning: one to two calls per phase still to do (spec, architecture, plan);
//! - tokens per call: the ledger's average per role (typical figures per role otherwise);
//! - cost: each call priced at its role's first route entry; `None` when a price is unknown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::protocol::Role;

/// A low and a high figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Range<T> {
    pub low: T,
    pub high: T,
}

/// Average tokens of one role's calls in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct RoleAverage {
    pub calls: u64,
    pub input_tokens: f64,
    pub output_tokens: f64,
}

/// What the ledger says about earlier runs (replayed answers are not counted).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Basis {
    /// Projects with done tasks whose calls were counted.
    pub projects: u64,
    /// Their done tasks and the calls (attempts) their tasks took, per role.
    pub tasks: u64,
    pub task_calls: BTreeMap<String, u64>,
    /// Plans (project iterations) and the tasks they held.
    pub plans: u64,
    pub planned_tasks: u64,
    /// Per role.
    pub roles: BTreeMap<String, RoleAverage>,
}

impl Basis {
    fn calls_per_task(&self) -> Option<f64> {
        let calls: u64 = self.task_calls.values().sum();
        (self.tasks > 0 && calls > 0).then(|| calls as f64 / self.tasks as f64)
    }

    fn plan_size(&self) -> Option<f64> {
        (self.plans > 0 && self.planned_tasks > 0)
            .then(|| self.planned_tasks as f64 / self.plans as f64)
    }
}

/// What is left to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// Planning phases not done yet, in order (`Spec`, `Architect`, `Planner`).
    pub planning: Vec<Role>,
    /// Open tasks of the plan; `None` when there is no plan yet.
    pub tasks: Option<u32>,
    /// The iteration the estimate is for, when known.
    pub iteration: Option<i64>,
}

/// Where the figures came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Averages of earlier runs in the ledger.
    Ledger,
    /// No earlier runs: figures of a typical run.
    Typical,
}

/// An estimate of the work left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration: Option<i64>,
    pub tasks: Range<u32>,
    pub calls: Range<u64>,
    /// `None` when some role's price is unknown (then `unknown_prices` names them).
    pub cost_usd: Option<Range<f64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_prices: Vec<String>,
    pub source: Source,
    /// Projects of the ledger the averages come from (0 with typical figures).
    pub basis_projects: u64,
    /// The calls per task the range is built around (the ledger's average, or typical).
    pub calls_per_task: f64,
}

/// Typical tokens of one call (input, output) per role.
fn typical_tokens(role: Role) -> (f64, f64) {
    match role {
        Role::Spec => (1_200.0, 1_200.0),
        Role::Architect => (1_500.0, 300.0),
        Role::Planner => (2_500.0, 800.0),
        Role::Coder => (7_000.0, 700.0),
        Role::Troubleshooter => (9_000.0, 700.0),
        Role::Writer => (2_500.0, 1_200.0),
        Role::Ask => (500.0, 500.0),
    }
}

const TASK_ROLES: [Role; 3] = [Role::Coder, Role::Troubleshooter, Role::Writer];

/// The estimate for `scope`. `price(role, input_tokens, output_tokens)` is the cost of one
/// call, `None` when the role's model has no known price.
pub fn estimate(
    scope: &Scope,
    basis: &Basis,
    price: &dyn Fn(Role, u64, u64) -> Option<f64>,
) -> Estimate {
    let from_ledger = basis.calls_per_task().is_some();
    let tasks = match scope.tasks {
        Some(n) => Range { low: n, high: n },
        None => match basis.plan_size() {
            Some(p) => {
                let low = ((0.6 * p).round() as u32).max(1);
                Range {
                    low,
                    high: ((1.6 * p).round() as u32).max(low),
                }
            }
            None => Range { low: 2, high: 6 },
        },
    };
    let per_task = match basis.calls_per_task() {
        Some(c) => Range {
            low: (0.6 * c).max(1.0),
            high: (1.8 * c).max(1.0),
        },
        None => Range {
            low: 3.0,
            high: 10.0,
        },
    };
    let per_task_mid = basis.calls_per_task().unwrap_or(6.5);
    // The share of each task role in the calls of a task.
    let total: u64 = basis.task_calls.values().sum();
    let share = |role: Role| -> f64 {
        if total > 0 {
            basis.task_calls.get(role.as_str()).copied().unwrap_or(0) as f64 / total as f64
        } else {
            match role {
                Role::Coder => 0.75,
                Role::Troubleshooter => 0.25,
                _ => 0.0,
            }
        }
    };
    let tokens = |role: Role| -> (u64, u64) {
        let (i, o) = match basis.roles.get(role.as_str()) {
            Some(a) if a.calls > 0 => (a.input_tokens, a.output_tokens),
            _ => typical_tokens(role),
        };
        (i.round().max(0.0) as u64, o.round().max(0.0) as u64)
    };
    // (role, low calls, high calls)
    let mut calls: Vec<(Role, f64, f64)> = scope.planning.iter().map(|r| (*r, 1.0, 2.0)).collect();
    for role in TASK_ROLES {
        let s = share(role);
        if s > 0.0 {
            calls.push((
                role,
                s * per_task.low * f64::from(tasks.low),
                s * per_task.high * f64::from(tasks.high),
            ));
        }
    }
    let mut cost = Some(Range {
        low: 0.0,
        high: 0.0,
    });
    let mut unknown = Vec::new();
    for (role, low, high) in &calls {
        let (i, o) = tokens(*role);
        match price(*role, i, o) {
            Some(one) => {
                if let Some(c) = cost.as_mut() {
                    c.low += one * low;
                    c.high += one * high;
                }
            }
            None => {
                cost = None;
                if !unknown.contains(&role.as_str().to_string()) {
                    unknown.push(role.as_str().to_string());
                }
            }
        }
    }
    let low: f64 = calls.iter().map(|c| c.1).sum();
    let high: f64 = calls.iter().map(|c| c.2).sum();
    Estimate {
        iteration: scope.iteration,
        tasks,
        calls: Range {
            low: low.floor() as u64,
            high: high.ceil() as u64,
        },
        cost_usd: cost.map(|c| Range {
            low: crate::llm::pricing::round_micro(c.low),
            high: crate::llm::pricing::round_micro(c.high),
        }),
        unknown_prices: unknown,
        source: if from_ledger {
            Source::Ledger
        } else {
            Source::Typical
        },
        basis_projects: basis.projects,
        calls_per_task: (per_task_mid * 10.0).round() / 10.0,
    }
}

impl Estimate {
    /// `$0.12 – $0.45, 14 – 35 model calls` (or `cost unknown`).
    pub fn summary(&self) -> String {
        let cost = match &self.cost_usd {
            Some(c) if c.high == 0.0 => "$0 (free or replayed models)".to_string(),
            Some(c) => format!("${:.2} – ${:.2}", c.low, c.high),
            None => format!(
                "cost unknown (no price for the {} route)",
                self.unknown_prices.join(", ")
            ),
        };
        let tasks = if self.tasks.low == self.tasks.high {
            format!("{} task{}", self.tasks.low, plural(self.tasks.low.into()))
        } else {
            format!("{} – {} tasks", self.tasks.low, self.tasks.high)
        };
        format!(
            "{cost}, {} – {} model calls ({tasks})",
            self.calls.low, self.calls.high
        )
    }

    /// Where the figures come from, for people.
    pub fn basis_text(&self) -> String {
        match self.source {
            Source::Ledger => format!(
                "averages of {} earlier project{} in the ledger (about {} calls per task)",
                self.basis_projects,
                plural(self.basis_projects),
                self.calls_per_task
            ),
            Source::Typical => {
                "no earlier runs in the ledger yet: figures of a typical run".to_string()
            }
        }
    }

    /// Whether an actual cost lies in the range.
    pub fn contains(&self, cost: f64) -> Option<bool> {
        self.cost_usd
            .as_ref()
            .map(|c| cost >= c.low - 1e-9 && cost <= c.high + 1e-9)
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(_: Role, i: u64, o: u64) -> Option<f64> {
        // $1 per million input tokens, $2 per million output.
        Some(i as f64 / 1e6 + 2.0 * o as f64 / 1e6)
    }

    #[test]
    fn a_known_plan_with_no_history_uses_typical_figures() {
        let scope = Scope {
            planning: vec![],
            tasks: Some(3),
            iteration: Some(1),
        };
        let e = estimate(&scope, &Basis::default(), &flat);
        assert_eq!(e.source, Source::Typical);
        assert_eq!(e.tasks, Range { low: 3, high: 3 });
        assert_eq!(e.calls, Range { low: 9, high: 30 });
        let c = e.cost_usd.unwrap();
        assert!(c.low > 0.0 && c.high > c.low * 3.0, "{c:?}");
        assert!(
            e.summary().contains("9 – 30 model calls (3 tasks)"),
            "{}",
            e.summary()
        );
    }

    #[test]
    fn the_ledger_averages_move_the_range() {
        let mut basis = Basis {
            projects: 2,
            tasks: 4,
            plans: 2,
            planned_tasks: 4,
            ..Basis::default()
        };
        basis.task_calls.insert("coder".into(), 16);
        basis.task_calls.insert("troubleshooter".into(), 4);
        basis.roles.insert(
            "coder".into(),
            RoleAverage {
                calls: 16,
                input_tokens: 10_000.0,
                output_tokens: 1_000.0,
            },
        );
        let scope = Scope {
            planning: vec![Role::Spec, Role::Architect, Role::Planner],
            tasks: None,
            iteration: None,
        };
        let e = estimate(&scope, &basis, &flat);
        assert_eq!(e.source, Source::Ledger);
        // Plans of 2 tasks: 1 to 3 tasks; 5 calls per task: 3 to 9 per task; 3 to 6 planning.
        assert_eq!(e.tasks, Range { low: 1, high: 3 });
        assert_eq!(e.calls, Range { low: 6, high: 33 });
        assert_eq!(e.calls_per_task, 5.0);
        assert!(
            e.basis_text().contains("2 earlier projects"),
            "{}",
            e.basis_text()
        );
    }

    #[test]
    fn an_unknown_price_makes_the_cost_unknown_but_keeps_the_calls() {
        let scope = Scope {
            planning: vec![Role::Planner],
            tasks: Some(1),
            iteration: None,
        };
        let price = |r: Role, i, o| {
            if r == Role::Coder {
                None
            } else {
                flat(r, i, o)
            }
        };
        let e = estimate(&scope, &Basis::default(), &price);
        assert_eq!(e.cost_usd, None);
        assert_eq!(e.unknown_prices, ["coder"]);
        assert!(e.calls.high >= 10);
        assert!(e.summary().starts_with("cost unknown"), "{}", e.summary());
        assert_eq!(e.contains(1.0), None);
    }

    #[test]
    fn estimates_round_trip_as_json() {
        let e = estimate(
            &Scope {
                planning: vec![],
                tasks: Some(2),
                iteration: Some(1),
            },
            &Basis::default(),
            &flat,
        );
        let back: Estimate = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        let c = e.cost_usd.unwrap();
        assert_eq!(e.contains(c.low), Some(true));
        assert_eq!(e.contains(c.high * 2.0 + 1.0), Some(false));
    }
}
