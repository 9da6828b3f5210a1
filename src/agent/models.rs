//! Which models answer a run: the configured routes per role, one route or one model for every
//! role, optionally recorded to a cassette; or every answer replayed from a cassette through a
//! router, so usage rows, events and code paths are those of a live run (at no cost).

use std::path::PathBuf;
use std::sync::Arc;

use super::deps::Models;
use crate::config::{Config, ModelRef};
use crate::llm::cassette::{RecordingProvider, ReplayProvider};
use crate::llm::pricing::{PriceKnowledge, PriceStatus, RoutePrices};
use crate::llm::router::RouteEntry;
use crate::llm::setup::ModelLayer;
use crate::llm::usage::{CallContext, CallRecord, Outcome, UsageSink};
use crate::llm::{LlmError, Provider, Usage};
use crate::protocol::Role;

/// `--model`, `--route`, or the routes per role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChoice {
    /// Each role's route (`config.route(role)`).
    Routes,
    /// One configured route for every role.
    Route(String),
    /// One model for every role, without fallback.
    Model(ModelRef),
}

impl ModelChoice {
    /// The providers whose keys the run needs (only those are looked up).
    pub fn providers(&self, config: &Config) -> Vec<String> {
        let mut names: Vec<String> = match self {
            ModelChoice::Model(m) => vec![m.provider.clone()],
            ModelChoice::Route(r) => config.route(r).iter().map(|m| m.provider.clone()).collect(),
            ModelChoice::Routes => config
                .routes
                .values()
                .flatten()
                .map(|m| m.provider.clone())
                .collect(),
        };
        names.sort();
        names.dedup();
        names
    }
}

/// Live routes (or one route / model for every role), optionally recorded.
pub struct LiveModels {
    layer: ModelLayer,
    choice: ModelChoice,
    record: Option<PathBuf>,
}

impl LiveModels {
    pub fn new(layer: ModelLayer, choice: ModelChoice, record: Option<PathBuf>) -> LiveModels {
        LiveModels {
            layer,
            choice,
            record,
        }
    }

    fn first(&self, role: Role) -> Option<ModelRef> {
        match &self.choice {
            ModelChoice::Model(m) => Some(m.clone()),
            ModelChoice::Route(r) => self.layer.config().route(r).first().cloned(),
            ModelChoice::Routes => self.layer.config().route(role.as_str()).first().cloned(),
        }
    }

    /// What is known of the prices of the models a call for `role` may use.
    fn prices(&self, role: Role) -> RoutePrices {
        match &self.choice {
            ModelChoice::Model(m) => RoutePrices {
                route: m.to_string(),
                models: vec![self.layer.model_price(m)],
            },
            ModelChoice::Route(r) => self.layer.route_prices(r),
            ModelChoice::Routes => self.layer.route_prices(role.as_str()),
        }
    }
}

impl Models for LiveModels {
    fn for_role(&self, role: Role, context: CallContext) -> Result<Arc<dyn Provider>, LlmError> {
        let provider = match &self.choice {
            ModelChoice::Model(m) => self.layer.model(m, context)?,
            ModelChoice::Route(r) => self.layer.route(r, context)?,
            ModelChoice::Routes => self.layer.route(role.as_str(), context)?,
        };
        Ok(match &self.record {
            Some(path) => Arc::new(RecordingProvider::new(provider, path)),
            None => provider,
        })
    }

    fn estimate_cost(&self, role: Role, input: u64, output: u64) -> Option<f64> {
        let usage = Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        };
        self.prices(role).max_cost(&usage)
    }

    fn price_knowledge(&self, role: Role) -> PriceKnowledge {
        self.prices(role).knowledge()
    }

    fn unpriced(&self, role: Role) -> Vec<PriceStatus> {
        self.prices(role)
            .models
            .into_iter()
            .filter(|m| m.knowledge != PriceKnowledge::Known)
            .collect()
    }

    fn context_window(&self, role: Role) -> Option<u64> {
        self.layer.pricing().context_window(&self.first(role)?)
    }

    fn sequential(&self) -> bool {
        self.record.is_some()
    }
}

/// Every role answered from one cassette, through a router so usage rows are recorded as for
/// live calls (at no cost).
pub struct ReplayModels {
    replay: Arc<ReplayProvider>,
    layer: ModelLayer,
}

impl ReplayModels {
    /// `layer` must have been built over [`ReplayModels::sink`].
    pub fn new(replay: ReplayProvider, layer: ModelLayer) -> ReplayModels {
        ReplayModels {
            replay: Arc::new(replay),
            layer,
        }
    }

    /// The usage sink a replay's layer records through: only the answers the replay served.
    pub fn sink(inner: Arc<dyn UsageSink>) -> Arc<dyn UsageSink> {
        Arc::new(ReplaySink(inner))
    }
}

impl Models for ReplayModels {
    fn for_role(&self, _role: Role, context: CallContext) -> Result<Arc<dyn Provider>, LlmError> {
        let model = ModelRef {
            provider: "replay".into(),
            model: "cassette".into(),
        };
        let entry = RouteEntry::new(self.replay.clone(), model).local(true);
        Ok(self.layer.router_over("replay", vec![entry], context))
    }

    fn estimate_cost(&self, _role: Role, _input: u64, _output: u64) -> Option<f64> {
        Some(0.0)
    }

    fn price_knowledge(&self, _role: Role) -> PriceKnowledge {
        PriceKnowledge::Known
    }

    fn replayed(&self) -> bool {
        true
    }

    fn context_window(&self, _role: Role) -> Option<u64> {
        None
    }
}

/// Records the answers a replay served (whole or cut by the token limit) and nothing else.
/// A replay attempt that served no answer (the cassette ran out, Ctrl-C) cost nothing, and
/// since replayed rows are keyed by answer position, recording it would make the answer a
/// longer cassette serves at that position later look like a duplicate.
struct ReplaySink(Arc<dyn UsageSink>);

impl UsageSink for ReplaySink {
    fn record(&self, rec: &CallRecord) -> Result<(), String> {
        if matches!(rec.outcome, Outcome::Error | Outcome::Cancelled) {
            return Ok(());
        }
        self.0.record(rec)
    }
}
