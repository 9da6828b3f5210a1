//! [`ModelLayer`]: turns the config, the keys and a usage sink into routers. One per process:
//! it holds the shared HTTP client, circuit breakers and prices, so every router of the
//! process sees the same provider health and warns about an unknown price once.
//!
//! Keys are resolved once, when the layer is built, for the providers the layer may call
//! (all configured ones, or those given to [`ModelLayer::for_providers`]). A keychain that
//! cannot be read does not stop providers whose key is in the environment or that need none;
//! a provider without a key fails each call with `NoKey`, naming its variable and
//! `samocoder keys set PROVIDER`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::http::build_client_for;
use super::local::LocalProbe;
use super::pricing::{PriceStatus, PriceTable, Pricing, RoutePrices, is_local_base_url};
use super::router::{Breakers, RouteEntry, Router, RouterOptions};
use super::usage::{CallContext, UsageSink};
use super::{ErrorClass, LlmError, Provider, adapter_with};
use crate::config::{Config, ModelRef, ProviderConfig};
use crate::keys::{KeyError, KeySource, Keys, Secret};

/// What is known about one provider's key. Never holds the key in a printable form.
#[derive(Debug, Clone)]
pub enum KeyState {
    /// The key, and where it came from.
    Present { secret: Secret, source: KeySource },
    /// The provider needs a key and none was found (`key_env` names the variable).
    Missing,
    /// The provider needs no key (a local server).
    NotNeeded,
    /// The key is not in the environment and the keychain could not be read.
    KeychainError(String),
    /// The layer was built for other providers only.
    NotLookedUp,
}

impl KeyState {
    pub fn secret(&self) -> Option<&Secret> {
        match self {
            KeyState::Present { secret, .. } => Some(secret),
            _ => None,
        }
    }

    /// `env`, `keychain`, `none`, `not_needed`, `keychain_error` or `not_looked_up`.
    pub fn source_name(&self) -> &'static str {
        match self {
            KeyState::Present {
                source: KeySource::Env(_),
                ..
            } => "env",
            KeyState::Present { .. } => "keychain",
            KeyState::Missing => "none",
            KeyState::NotNeeded => "not_needed",
            KeyState::KeychainError(_) => "keychain_error",
            KeyState::NotLookedUp => "not_looked_up",
        }
    }

    /// Whether calls can be made (a key is there or none is needed).
    pub fn usable(&self) -> bool {
        matches!(self, KeyState::Present { .. } | KeyState::NotNeeded)
    }
}

/// The factory of routers for one process.
pub struct ModelLayer {
    config: Config,
    keys: BTreeMap<String, KeyState>,
    client: reqwest::Client,
    breakers: Arc<Breakers>,
    /// Made on first use (the shipped table), unless [`ModelLayer::with_price_table`] set
    /// it: a process that imports its own table parses the shipped one once, not twice.
    pricing: std::sync::OnceLock<Arc<Pricing>>,
    sink: Arc<dyn UsageSink>,
    cancel: CancellationToken,
    jitter_seed: Option<u64>,
    /// Context windows and tool support of local servers, found once per process.
    probe: Arc<LocalProbe>,
}

impl ModelLayer {
    /// A layer for every configured provider, with the shipped price table (see
    /// [`ModelLayer::with_price_table`]).
    pub fn new(
        config: &Config,
        keys: &Keys<'_>,
        sink: Arc<dyn UsageSink>,
        cancel: CancellationToken,
    ) -> Result<ModelLayer, LlmError> {
        let all: Vec<&str> = config.providers.keys().map(String::as_str).collect();
        ModelLayer::for_providers(config, keys, &all, sink, cancel)
    }

    /// Like [`ModelLayer::new`], but looks up the keys of `providers` only (the keychain is
    /// not touched for the others; calling them fails with `NoKey`).
    pub fn for_providers(
        config: &Config,
        keys: &Keys<'_>,
        providers: &[&str],
        sink: Arc<dyn UsageSink>,
        cancel: CancellationToken,
    ) -> Result<ModelLayer, LlmError> {
        let mut states = BTreeMap::new();
        for p in config.providers.values() {
            let state = if providers.contains(&p.name.as_str()) {
                resolve(keys, p)
            } else {
                KeyState::NotLookedUp
            };
            states.insert(p.name.clone(), state);
        }
        // Root certificates are loaded only when some provider is reached over TLS.
        let tls = providers.iter().any(|n| {
            config
                .provider(n)
                .is_none_or(|p| !p.base_url.starts_with("http://"))
        });
        let client = build_client_for(&config.network, tls)?;
        Ok(ModelLayer {
            probe: Arc::new(LocalProbe::new(client.clone())),
            client,
            breakers: Arc::new(Breakers::from_network(&config.network)),
            pricing: std::sync::OnceLock::new(),
            config: config.clone(),
            keys: states,
            sink,
            cancel,
            jitter_seed: None,
        })
    }

    /// Uses `table` (e.g. [`super::pricing::load_table`]'s) instead of the shipped one. The
    /// config's `[prices]` overrides still win.
    pub fn with_price_table(mut self, table: PriceTable) -> ModelLayer {
        self.pricing =
            std::sync::OnceLock::from(Arc::new(Pricing::new(table, self.config.prices.clone())));
        self
    }

    /// The router for a role's route (`config.route(role)`, falling back to `default`), named
    /// `route:ROLE`. `context.role` is set to `role` when empty.
    pub fn route(&self, role: &str, context: CallContext) -> Result<Arc<dyn Provider>, LlmError> {
        let models = self.config.route(role).to_vec();
        self.router(role, &models, context)
    }

    /// A one-entry router for an explicit `PROVIDER:MODEL`. An unknown provider is a
    /// `Config` error (exit 2).
    pub fn model(
        &self,
        model: &ModelRef,
        context: CallContext,
    ) -> Result<Arc<dyn Provider>, LlmError> {
        self.router(&model.to_string(), std::slice::from_ref(model), context)
    }

    fn router(
        &self,
        name: &str,
        models: &[ModelRef],
        mut context: CallContext,
    ) -> Result<Arc<dyn Provider>, LlmError> {
        if context.role.is_empty() {
            context.role = name.to_string();
        }
        let mut entries = Vec::with_capacity(models.len());
        // `route` is the route's name for route calls, `PROVIDER:MODEL` for one-model calls.
        let route = self.config.routes.contains_key(name).then_some(name);
        for m in models {
            let provider = self.provider_config(&m.provider)?;
            let local = is_local_base_url(&provider.base_url);
            let probe = local && provider.kind == crate::config::WireKind::Openai;
            let mut options = self.config.model_options(m, route);
            // A window the user set in `[prices]` is the user's word too.
            if options.context_window.is_none()
                && let Some(o) = self.config.prices.get(&m.to_string())
            {
                options.context_window = o.context_window;
            }
            let adapter = adapter_with(
                provider,
                self.key(&m.provider).secret().cloned(),
                &self.client,
                &self.config.network,
                &options,
                probe.then(|| self.probe.clone()),
            );
            entries.push(
                RouteEntry::new(adapter, m.clone())
                    .free(provider.free)
                    .with_context_window(options.context_window),
            );
        }
        Ok(self.router_over(name, entries, context))
    }

    /// A router over given entries (e.g. a cassette player), with this layer's breakers,
    /// prices, usage sink and cancellation.
    pub fn router_over(
        &self,
        name: &str,
        entries: Vec<RouteEntry>,
        context: CallContext,
    ) -> Arc<dyn Provider> {
        let mut opts = RouterOptions::new(
            &self.config.network,
            self.breakers.clone(),
            self.pricing().clone(),
            self.sink.clone(),
        );
        opts.context = context;
        opts.cancel = self.cancel.clone();
        opts.jitter_seed = self.jitter_seed;
        Arc::new(Router::new(name, entries, opts))
    }

    /// The config of a provider, or a `Config` error listing the known ones.
    pub fn provider_config(&self, name: &str) -> Result<&ProviderConfig, LlmError> {
        self.config.provider(name).ok_or_else(|| {
            let known: Vec<&str> = self.config.providers.keys().map(String::as_str).collect();
            LlmError::new(
                ErrorClass::Config,
                name,
                "",
                format!(
                    "no provider named `{name}` in the config (known providers: {}): add [providers.{name}] or pick another",
                    known.join(", ")
                ),
            )
        })
    }

    /// What is known about a provider's key (`Missing` for an unknown provider).
    pub fn key(&self, provider: &str) -> &KeyState {
        self.keys.get(provider).unwrap_or(&KeyState::Missing)
    }

    /// The model ids the provider lists (`GET {base_url}/models`): also the cheapest check that
    /// its key works.
    pub async fn list_models(
        &self,
        provider: &str,
        timeout: Duration,
    ) -> Result<Vec<String>, LlmError> {
        let p = self.provider_config(provider)?;
        let key = self.key(provider);
        if let KeyState::KeychainError(reason) = key
            && let Some(var) = &p.key_env
        {
            return Err(LlmError::new(
                ErrorClass::NoKey,
                provider,
                "",
                format!("{reason}: set {var} in the environment instead"),
            ));
        }
        super::models::list_models(&self.client, p, key.secret(), timeout).await
    }

    /// What is known, before a run, of the price of every model of a role's route (the
    /// route the role's router would use): each model's [`PriceStatus`], and for the route
    /// the least known ([`RoutePrices::knowledge`]) and the dearest cost of a call
    /// ([`RoutePrices::max_cost`]). Unlike pricing a call, this uses up no unknown-price
    /// warning.
    pub fn route_prices(&self, role: &str) -> RoutePrices {
        let route = if self.config.routes.contains_key(role) {
            role
        } else {
            "default"
        };
        RoutePrices {
            route: route.to_string(),
            models: self
                .config
                .route(role)
                .iter()
                .map(|m| self.model_price(m))
                .collect(),
        }
    }

    /// What is known of one model's price (its provider's `free` flag included).
    pub fn model_price(&self, model: &ModelRef) -> PriceStatus {
        let free = self
            .config
            .provider(&model.provider)
            .is_some_and(|p| p.free);
        self.pricing().status(model, free)
    }

    /// What a local provider's server says about `model` (context window, tool support);
    /// `None` for a provider that is not local.
    pub async fn local_info(
        &self,
        model: &ModelRef,
    ) -> Result<Option<super::local::LocalInfo>, LlmError> {
        let p = self.provider_config(&model.provider)?;
        // Only OpenAI-compatible local servers are probed (see `super::local`).
        if !is_local_base_url(&p.base_url) || p.kind != crate::config::WireKind::Openai {
            return Ok(None);
        }
        Ok(Some(self.probe.info(&p.base_url, &model.model).await.0))
    }

    /// The best known context window of `model`: the config's, else a local server's (probed),
    /// else the price table's. What the agent should fit its requests to.
    pub async fn context_window(&self, model: &ModelRef) -> Option<u64> {
        let configured = self
            .config
            .model_options(model, None)
            .context_window
            .or_else(|| {
                self.config
                    .prices
                    .get(&model.to_string())
                    .and_then(|o| o.context_window)
            });
        if let Some(w) = configured {
            return Some(w);
        }
        if let Ok(Some(info)) = self.local_info(model).await
            && info.context_window.is_some()
        {
            return info.context_window;
        }
        self.pricing().context_window(model)
    }

    pub fn pricing(&self) -> &Arc<Pricing> {
        self.pricing.get_or_init(|| {
            Arc::new(Pricing::new(
                PriceTable::shipped(),
                self.config.prices.clone(),
            ))
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The process-wide circuit breakers.
    pub fn breakers(&self) -> &Arc<Breakers> {
        &self.breakers
    }

    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Fixes the backoff jitter (tests).
    pub fn with_jitter_seed(mut self, seed: u64) -> ModelLayer {
        self.jitter_seed = Some(seed);
        self
    }
}

fn resolve(keys: &Keys<'_>, p: &ProviderConfig) -> KeyState {
    match keys.resolve(p) {
        Ok(r) => match (r.source, r.secret) {
            (source, Some(secret)) => KeyState::Present { secret, source },
            (KeySource::NotNeeded, None) => KeyState::NotNeeded,
            (_, None) => KeyState::Missing,
        },
        Err(e @ KeyError::Unavailable { .. }) => KeyState::KeychainError(e.to_string()),
        Err(e) => KeyState::KeychainError(e.to_string()),
    }
}

#[cfg(test)]
mod tests;
