//! `GET {base_url}/models`: the model list of a provider, which is also the cheapest check that
//! a key works (no tokens are spent; a rejected key answers 401).

use std::time::Duration;

use serde::Deserialize;

use super::anthropic::ANTHROPIC_VERSION;
use super::http::Endpoint;
use super::{ErrorClass, LlmError};
use crate::config::{ProviderConfig, WireKind};
use crate::keys::Secret;

/// Largest model list read (OpenRouter's is about 400 KB).
const MAX_LIST_BYTES: usize = 8 * 1024 * 1024;

#[derive(Deserialize)]
struct ListBody {
    /// Ollama with nothing pulled answers `"data": null`.
    #[serde(default, deserialize_with = "null_as_empty")]
    data: Vec<ModelEntry>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ModelEntry>, D::Error> {
    Ok(Option::<Vec<ModelEntry>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
}

/// The model ids `provider` lists, sorted. `timeout` bounds the whole request. A provider
/// that needs a key and has none fails with `NoKey` without sending anything.
pub async fn list_models(
    client: &reqwest::Client,
    provider: &ProviderConfig,
    key: Option<&Secret>,
    timeout: Duration,
) -> Result<Vec<String>, LlmError> {
    let endpoint = Endpoint::new(provider, key.cloned());
    let ctx = endpoint.call_ctx("")?;
    let base = &endpoint.base_url;
    let mut http = match provider.kind {
        WireKind::Openai | WireKind::OpenaiResponses => client.get(format!("{base}/models")),
        WireKind::Anthropic => client
            .get(format!("{base}/models?limit=1000"))
            .header("anthropic-version", ANTHROPIC_VERSION),
    };
    if let Some(key) = &ctx.key {
        let header = match provider.kind {
            WireKind::Openai | WireKind::OpenaiResponses => (
                reqwest::header::AUTHORIZATION.as_str(),
                format!("Bearer {}", key.expose()),
            ),
            WireKind::Anthropic => ("x-api-key", key.expose().to_string()),
        };
        if let Ok(mut value) = reqwest::header::HeaderValue::from_str(&header.1) {
            value.set_sensitive(true);
            http = http.header(header.0, value);
        }
    }
    let response = match tokio::time::timeout(timeout, http.send()).await {
        Err(_) => {
            return Err(ctx.err(
                ErrorClass::Timeout,
                format!("no answer within {:.0} s", timeout.as_secs_f64()),
            ));
        }
        Ok(Err(e)) => return Err(ctx.transport(&e, false)),
        Ok(Ok(r)) => r,
    };
    if !response.status().is_success() {
        return Err(ctx.status_error(response, timeout).await);
    }
    let body = tokio::time::timeout(timeout, read_body(response))
        .await
        .map_err(|_| ctx.err(ErrorClass::Timeout, "the model list did not arrive in time"))?
        .map_err(|e| ctx.transport(&e, true))?;
    let parsed: ListBody = serde_json::from_slice(&body).map_err(|e| {
        ctx.err(
            ErrorClass::InvalidResponse,
            format!("the model list is not the expected JSON: {e}"),
        )
    })?;
    let mut ids: Vec<String> = parsed.data.into_iter().map(|m| m.id).collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

async fn read_body(response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    use futures_util::StreamExt;
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk?);
        if body.len() > MAX_LIST_BYTES {
            break;
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_with_nothing_pulled_lists_no_models() {
        let b: ListBody = serde_json::from_str(r#"{"object":"list","data":null}"#).unwrap();
        assert!(b.data.is_empty());
        let b: ListBody = serde_json::from_str(r#"{"object":"list"}"#).unwrap();
        assert!(b.data.is_empty());
    }
}
