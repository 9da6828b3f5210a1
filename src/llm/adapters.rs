//! Choosing the wire adapter for a configured provider.

use std::sync::Arc;

use super::Provider;
use super::anthropic::AnthropicAdapter;
use super::local::LocalProbe;
use super::openai::OpenAiAdapter;
use super::responses::ResponsesAdapter;
use crate::config::{ModelOptions, NetworkConfig, ProviderConfig, WireKind};

/// The adapter that speaks `provider.kind`. `key` is `None` for keyless (local) providers; a
/// provider that names a key variable but gets no key fails each call with `NoKey`.
pub fn adapter_for(
    provider: &ProviderConfig,
    key: Option<crate::keys::Secret>,
    client: &reqwest::Client,
    network: &NetworkConfig,
) -> Arc<dyn Provider> {
    adapter_with(
        provider,
        key,
        client,
        network,
        &ModelOptions::default(),
        None,
    )
}

/// Like [`adapter_for`], with the model's settings and, for a local server, the probe that
/// finds its context window and tool support.
pub fn adapter_with(
    provider: &ProviderConfig,
    key: Option<crate::keys::Secret>,
    client: &reqwest::Client,
    network: &NetworkConfig,
    options: &ModelOptions,
    probe: Option<Arc<LocalProbe>>,
) -> Arc<dyn Provider> {
    match provider.kind {
        WireKind::Openai => Arc::new(
            OpenAiAdapter::new(provider, key, client.clone(), network)
                .with_options(options.clone())
                .with_probe(probe),
        ),
        WireKind::OpenaiResponses => Arc::new(
            ResponsesAdapter::new(provider, key, client.clone(), network)
                .with_options(options.clone()),
        ),
        WireKind::Anthropic => Arc::new(
            AnthropicAdapter::new(provider, key, client.clone(), network)
                .with_options(options.clone()),
        ),
    }
}
