//! Choosing the wire adapter for a configured provider.

use std::sync::Arc;

use super::Provider;
use super::anthropic::AnthropicAdapter;
use super::openai::OpenAiAdapter;
use crate::config::{NetworkConfig, ProviderConfig, WireKind};

/// The adapter that speaks `provider.kind`. `key` is `None` for keyless (local) providers; a
/// provider that names a key variable but gets no key fails each call with `NoKey`.
pub fn adapter_for(
    provider: &ProviderConfig,
    key: Option<crate::keys::Secret>,
    client: &reqwest::Client,
    network: &NetworkConfig,
) -> Arc<dyn Provider> {
    match provider.kind {
        WireKind::Openai => Arc::new(OpenAiAdapter::new(provider, key, client.clone(), network)),
        WireKind::Anthropic => Arc::new(AnthropicAdapter::new(
            provider,
            key,
            client.clone(),
            network,
        )),
    }
}
