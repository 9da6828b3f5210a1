//! Cost estimates for the command layer: `new --estimate` and `resume --estimate` (a dry run:
//! nothing is created, no model is called, no key is needed), and the estimate lines of
//! `new --plan-only`, `plan` and `show`. The figures come from [`crate::estimate`]; the prices
//! are those of each role's first route entry, as a run would record them.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Ctx;
use super::run_settings::{Answers, RunSettings};
use crate::agent::ModelChoice;
use crate::config::{Config, ModelRef};
use crate::estimate::{Estimate, Scope};
use crate::llm::Usage;
use crate::llm::pricing::{Pricing, is_local_base_url, load_table};
use crate::protocol::Role;

const ROLES: [Role; 6] = [
    Role::Spec,
    Role::Architect,
    Role::Planner,
    Role::Coder,
    Role::Troubleshooter,
    Role::Writer,
];

/// Which model answers each role, and what one call costs there.
pub(super) struct Prices {
    pricing: Option<Pricing>,
    models: BTreeMap<&'static str, (ModelRef, bool)>,
}

impl Prices {
    /// The prices a run with these settings would pay.
    pub(super) fn new(ctx: &Ctx, config: &Config, settings: &RunSettings) -> super::Result<Prices> {
        match &settings.answers {
            // A replay costs nothing.
            Answers::Replay(_) => Ok(Prices {
                pricing: None,
                models: BTreeMap::new(),
            }),
            Answers::Live { choice, .. } => Prices::for_choice(ctx, config, choice),
        }
    }

    /// The prices of these models (the routes, one route or one model).
    pub(super) fn for_choice(
        ctx: &Ctx,
        config: &Config,
        choice: &ModelChoice,
    ) -> super::Result<Prices> {
        let mut models = BTreeMap::new();
        for role in ROLES {
            let first = match choice {
                ModelChoice::Model(m) => Some(m.clone()),
                ModelChoice::Route(r) => config.route(r).first().cloned(),
                ModelChoice::Routes => config.route(role.as_str()).first().cloned(),
            };
            if let Some(m) = first {
                let local = config
                    .provider(&m.provider)
                    .is_some_and(|p| is_local_base_url(&p.base_url));
                models.insert(role.as_str(), (m, local));
            }
        }
        Ok(Prices {
            pricing: Some(Pricing::new(
                load_table(&ctx.paths.data_dir)?,
                config.prices.clone(),
            )),
            models,
        })
    }

    /// One call of `role` with these tokens, in dollars; `None` when the price is unknown.
    pub(super) fn cost(&self, role: Role, input: u64, output: u64) -> Option<f64> {
        let Some(pricing) = &self.pricing else {
            return Some(0.0);
        };
        let (model, local) = self.models.get(role.as_str())?;
        let usage = Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        };
        pricing.cost(model, &usage, *local).usd
    }

    /// `role -> PROVIDER:MODEL` (`replay` for a cassette).
    pub(super) fn models(&self) -> BTreeMap<String, String> {
        if self.pricing.is_none() {
            return ROLES
                .iter()
                .map(|r| (r.as_str().to_string(), "replay:cassette".to_string()))
                .collect();
        }
        self.models
            .iter()
            .map(|(r, (m, _))| (r.to_string(), m.to_string()))
            .collect()
    }
}

/// `--json` of an estimate.
#[derive(Debug, Serialize)]
pub(super) struct EstimateJson<'a> {
    pub estimate: &'a Estimate,
    /// What the project has spent so far (0 for a project not created yet).
    pub spent_usd: f64,
    /// `role -> PROVIDER:MODEL` the prices are those of.
    pub models: BTreeMap<String, String>,
    /// Nothing was created or spent to make it.
    pub dry_run: bool,
}

/// Estimates `scope` with the ledger's averages.
pub(super) fn make(
    store: Option<&crate::store::Store>,
    scope: &Scope,
    prices: &Prices,
) -> super::Result<Estimate> {
    let basis = match store {
        Some(s) => s.estimate_basis()?,
        None => crate::estimate::Basis::default(),
    };
    Ok(crate::estimate::estimate(scope, &basis, &|r, i, o| {
        prices.cost(r, i, o)
    }))
}

/// The lines people see.
pub(super) fn lines(e: &Estimate, spent: f64, models: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = vec![format!("Estimate: {}", e.summary())];
    out.push(format!("  from {}", e.basis_text()));
    let mut by_model: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (role, model) in models {
        by_model.entry(model).or_default().push(role);
    }
    for (model, roles) in by_model {
        out.push(format!("  {} at {model}'s price", roles.join(", ")));
    }
    if spent > 0.0 {
        out.push(format!("  spent on the project so far: ${spent:.4}"));
    }
    out
}

/// Prints a dry-run estimate.
pub(super) fn print(ctx: &Ctx, e: &Estimate, spent: f64, prices: &Prices) -> super::Result<()> {
    let models = prices.models();
    if ctx.ui.json() {
        ctx.ui.json_doc(&EstimateJson {
            estimate: e,
            spent_usd: spent,
            models,
            dry_run: true,
        })?;
        return Ok(());
    }
    let mut text = lines(e, spent, &models);
    text.push("Nothing was created or spent; run again without --estimate to do the work.".into());
    ctx.ui.out(text.join("\n"))?;
    Ok(())
}
