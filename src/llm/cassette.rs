//! Record and replay of model answers as JSON lines (format: docs/cassette.md).
//!
//! [`RecordingProvider`] wraps a provider (normally the router) and appends each complete
//! answer to a file; [`ReplayProvider`] serves a file's answers in order through the same
//! [`Provider`] path, emitting the events an adapter would.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};

use super::{ErrorClass, EventStream, FinishReason, LlmError, Provider, Request, Response};
use super::{ReasoningBlock, StreamEvent, ToolCall, Usage};
use crate::exit::{Exit, ExitStatus};

/// One line of a cassette: one final answer. Every field may be left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CassetteEntry {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<CassetteToolCall>,
    /// `stop`, `tool_calls`, `truncated`, `refused` or anything else (kept verbatim). Default:
    /// `tool_calls` when there are tool calls, else `stop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The model's reasoning blocks (with signatures), replayed so the conversation that
    /// follows sends them back like a live one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasoning: Vec<ReasoningBlock>,
    /// The refusal text of a refused answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Who answered when it was recorded (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// A tool call in a cassette. `arguments` is a JSON value, or a string holding the raw text
/// (kept verbatim, so invalid JSON from a model can be replayed too).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CassetteToolCall {
    /// Default: `call_N`, N counting from 1 within the answer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub arguments: serde_json::Value,
}

impl CassetteEntry {
    /// The entry for a collected answer; replaying it gives back the same [`Response`].
    pub fn from_response(r: &Response, provider: Option<&str>, model: Option<&str>) -> Self {
        CassetteEntry {
            text: r.text.clone(),
            tool_calls: r
                .tool_calls
                .iter()
                .map(|c| CassetteToolCall {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    arguments: args_value(&c.arguments),
                })
                .collect(),
            finish: r.finish.as_ref().map(finish_name),
            usage: (r.usage != Usage::default()).then(|| r.usage.clone()),
            reasoning: r.reasoning.clone(),
            refusal: r.refusal.clone(),
            provider: provider.filter(|p| !p.is_empty()).map(str::to_string),
            model: model.filter(|m| !m.is_empty()).map(str::to_string),
        }
    }

    /// The events an adapter would emit for this answer.
    pub fn events(&self) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        for block in &self.reasoning {
            if !block.text.is_empty() {
                out.push(StreamEvent::ReasoningDelta {
                    text: block.text.clone(),
                });
            }
            out.push(StreamEvent::Reasoning {
                block: block.clone(),
            });
        }
        if let Some(text) = &self.refusal {
            out.push(StreamEvent::Refusal { text: text.clone() });
        }
        if !self.text.is_empty() {
            out.push(StreamEvent::TextDelta {
                text: self.text.clone(),
            });
        }
        for (index, c) in self.tool_calls.iter().enumerate() {
            let call = ToolCall {
                id: if c.id.is_empty() {
                    format!("call_{}", index + 1)
                } else {
                    c.id.clone()
                },
                name: c.name.clone(),
                arguments: match &c.arguments {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => "{}".to_string(),
                    v => v.to_string(),
                },
            };
            out.push(StreamEvent::ToolCallStart {
                index,
                id: call.id.clone(),
                name: call.name.clone(),
            });
            out.push(StreamEvent::ToolCallDelta {
                index,
                arguments: call.arguments.clone(),
            });
            out.push(StreamEvent::ToolCallEnd { index, call });
        }
        out.push(StreamEvent::Usage {
            usage: self.usage.clone().unwrap_or_default(),
        });
        let reason = match self.finish.as_deref() {
            None if self.tool_calls.is_empty() => FinishReason::Stop,
            None => FinishReason::ToolCalls,
            Some(s) => parse_finish(s),
        };
        out.push(StreamEvent::Finish { reason });
        out
    }
}

/// Raw argument text as a JSON value when that round-trips exactly, else as a string.
fn args_value(raw: &str) -> serde_json::Value {
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(v) if serde_json::to_string(&v).ok().as_deref() == Some(raw) => v,
        _ => serde_json::Value::String(raw.to_string()),
    }
}

fn finish_name(f: &FinishReason) -> String {
    match f {
        FinishReason::Stop => "stop".into(),
        FinishReason::ToolCalls => "tool_calls".into(),
        FinishReason::Truncated => "truncated".into(),
        FinishReason::Refused => "refused".into(),
        FinishReason::ContextFull => "context_full".into(),
        FinishReason::Other(s) => s.clone(),
    }
}

fn parse_finish(s: &str) -> FinishReason {
    match s {
        "stop" => FinishReason::Stop,
        "tool_calls" => FinishReason::ToolCalls,
        "truncated" => FinishReason::Truncated,
        "refused" => FinishReason::Refused,
        "context_full" => FinishReason::ContextFull,
        other => FinishReason::Other(other.to_string()),
    }
}

/// A cassette that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CassetteError {
    #[error("cannot read cassette {path}: {message}: check the path")]
    Read { path: String, message: String },
    #[error("cassette {path} line {line} is not a valid answer ({message}): see docs/cassette.md")]
    Malformed {
        path: String,
        line: usize,
        message: String,
    },
}

impl ExitStatus for CassetteError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

/// Parses cassette text. Blank lines and lines starting with `#` are skipped; `path` names the
/// file in errors. Never panics, whatever the input.
pub fn parse_cassette(text: &str, path: &str) -> Result<Vec<CassetteEntry>, CassetteError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let entry: CassetteEntry =
            serde_json::from_str(line).map_err(|e| CassetteError::Malformed {
                path: path.to_string(),
                line: i + 1,
                message: e.to_string(),
            })?;
        if let Some(c) = entry.tool_calls.iter().find(|c| c.name.is_empty()) {
            return Err(CassetteError::Malformed {
                path: path.to_string(),
                line: i + 1,
                message: format!("tool call `{}` has an empty name", c.id),
            });
        }
        out.push(entry);
    }
    Ok(out)
}

/// Serves a cassette's answers in order.
#[derive(Debug)]
pub struct ReplayProvider {
    path: String,
    entries: Arc<Vec<CassetteEntry>>,
    next: AtomicUsize,
}

impl ReplayProvider {
    /// Reads and checks the whole file up front.
    pub fn open(path: &Path) -> Result<ReplayProvider, CassetteError> {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CassetteError::Read {
            path: label.clone(),
            message: e.to_string(),
        })?;
        ReplayProvider::from_text(&text, &label)
    }

    /// A player over cassette text; `path` names it in messages.
    pub fn from_text(text: &str, path: &str) -> Result<ReplayProvider, CassetteError> {
        Ok(ReplayProvider {
            path: path.to_string(),
            entries: Arc::new(parse_cassette(text, path)?),
            next: AtomicUsize::new(0),
        })
    }

    /// Skips the first `n` answers: a resumed run continues from the first answer its saved
    /// state has not consumed yet.
    pub fn starting_at(self, n: usize) -> ReplayProvider {
        self.next.store(n, Ordering::SeqCst);
        self
    }

    /// How many answers have been served (or skipped): persist it to resume.
    pub fn position(&self) -> usize {
        self.next.load(Ordering::SeqCst)
    }

    /// How many answers the cassette holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Provider for ReplayProvider {
    fn name(&self) -> &str {
        "replay"
    }

    /// Claims the next answer when the call is made (not when first polled).
    fn stream(&self, request: Request) -> EventStream {
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        match self.entries.get(i) {
            Some(entry) => Box::pin(stream::iter(entry.events().into_iter().map(Ok))),
            None => {
                let n = self.entries.len();
                let err = LlmError::new(
                    ErrorClass::CassetteExhausted,
                    "replay",
                    &request.model,
                    format!(
                        "cassette {} has no answer left: it holds {n} and answer {} was asked for; record it again or replay a longer one",
                        self.path,
                        i + 1
                    ),
                );
                super::failed(err)
            }
        }
    }
}

/// Wraps a provider and appends each complete answer to a cassette file. The answer's final
/// `Usage`/`Finish` events are handed on only after its line is written.
pub struct RecordingProvider {
    inner: Arc<dyn Provider>,
    path: PathBuf,
}

impl RecordingProvider {
    pub fn new(inner: Arc<dyn Provider>, path: &Path) -> RecordingProvider {
        RecordingProvider {
            inner,
            path: path.to_path_buf(),
        }
    }
}

struct RecState {
    inner: EventStream,
    response: Response,
    held: Vec<StreamEvent>,
    pending: std::vec::IntoIter<StreamEvent>,
    done: bool,
    path: PathBuf,
    provider: String,
    model: String,
}

impl Provider for RecordingProvider {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn stream(&self, request: Request) -> EventStream {
        let st = RecState {
            provider: self.inner.name().to_string(),
            model: request.model.clone(),
            inner: self.inner.stream(request),
            response: Response::default(),
            held: Vec::new(),
            pending: Vec::new().into_iter(),
            done: false,
            path: self.path.clone(),
        };
        Box::pin(stream::unfold(st, |mut st| async move {
            loop {
                if let Some(ev) = st.pending.next() {
                    return Some((Ok(ev), st));
                }
                if st.done {
                    return None;
                }
                match st.inner.next().await {
                    Some(Ok(ev)) => {
                        st.response.apply(ev.clone());
                        match ev {
                            StreamEvent::Usage { .. } | StreamEvent::Finish { .. } => {
                                st.held.push(ev)
                            }
                            StreamEvent::Reset { .. } => {
                                st.held.clear();
                                return Some((Ok(ev), st));
                            }
                            ev => return Some((Ok(ev), st)),
                        }
                    }
                    Some(Err(e)) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                    None => {
                        st.done = true;
                        if st.response.finish.is_some() {
                            let entry = CassetteEntry::from_response(
                                &st.response,
                                Some(&st.provider),
                                Some(&st.model),
                            );
                            if let Err(e) = append_line(&st.path, &entry) {
                                let err = LlmError::new(
                                    ErrorClass::RecordFailed,
                                    &st.provider,
                                    &st.model,
                                    format!("could not write cassette {}: {e}", st.path.display()),
                                );
                                return Some((Err(err), st));
                            }
                        }
                        st.pending = std::mem::take(&mut st.held).into_iter();
                    }
                }
            }
        }))
    }
}

/// Appends one line with a single write, after mending a torn last line left by a crash.
fn append_line(path: &Path, entry: &CassetteEntry) -> std::io::Result<()> {
    let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    line.push('\n');
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)?;
    let len = f.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.insert(0, '\n');
        }
    }
    f.write_all(line.as_bytes())?;
    f.flush()
}

#[cfg(test)]
mod tests;
