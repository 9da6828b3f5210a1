//! Model calls. One [`Provider`] trait with a single streaming method; wire adapters for the
//! OpenAI Chat Completions, OpenAI Responses and Anthropic Messages formats; the router (retry, backoff, fallback,
//! circuit breaking) is itself a `Provider` wrapping others; pricing and usage recording.

mod adapters;
pub mod anthropic;
mod anthropic_stream;
pub mod classify;
mod driver;
mod error;
pub mod http;
pub mod local;
pub mod openai;
mod openai_stream;
pub mod ratelimit;
pub mod responses;
mod responses_stream;
pub mod sse;
mod types;

pub mod cassette;
pub mod models;
pub mod pricing;
pub mod router;
pub mod setup;
pub mod usage;

use std::pin::Pin;

use futures_util::{Stream, StreamExt};

pub use adapters::{adapter_for, adapter_with};
pub use anthropic::AnthropicAdapter;
pub use error::{ErrorClass, LlmError};
pub use http::build_client;
pub use openai::OpenAiAdapter;
pub use setup::{KeyState, ModelLayer};
pub use types::*;

/// The stream of events of one model call. Errors end the stream.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, LlmError>> + Send>>;

/// A stream that fails at once with `err` (a call refused before anything is sent).
pub(crate) fn failed(err: LlmError) -> EventStream {
    Box::pin(futures_util::stream::iter([Err(err)]))
}

/// Anything that can answer a [`Request`] with a stream of events: a wire adapter, the router,
/// a cassette player, a test fake.
pub trait Provider: Send + Sync {
    /// A short name for messages and records, e.g. `openai` or `route:default`.
    fn name(&self) -> &str;

    /// Starts the call. Nothing is sent until the stream is polled.
    fn stream(&self, request: Request) -> EventStream;

    /// Collects the whole stream into one [`Response`]. Fails on the first error.
    fn complete(
        &self,
        request: Request,
    ) -> Pin<Box<dyn std::future::Future<Output = Result<Response, LlmError>> + Send + '_>> {
        let mut stream = self.stream(request);
        Box::pin(async move {
            let mut response = Response::default();
            while let Some(ev) = stream.next().await {
                response.apply(ev?);
            }
            Ok(response)
        })
    }
}
