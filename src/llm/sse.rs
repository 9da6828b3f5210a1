//! Server-sent events decoding, per the WHATWG "event stream interpretation" rules, over a stream
//! of byte chunks cut anywhere (inside a `\r\n` pair, inside a multi-byte UTF-8 character).
//!
//! Written here rather than taken from `eventsource-stream` because samocoder needs three things
//! it does not give: comments surfaced as keep-alives (the idle timeout must see that they are
//! *not* events), a cap on the size of one event, and a defined end-of-stream rule.
//!
//! End of stream: an event whose lines all arrived but whose closing blank line did not is
//! dispatched (some servers close right after `data: [DONE]\n`); an unterminated last line is
//! discarded, as the spec says, because it may be cut in the middle.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;

/// Largest single event accepted by default (data plus the line being read).
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name; `message` when none was given.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last `id:` seen on the stream, if any.
    pub id: Option<String>,
}

/// What the decoder yields: events, and comments (keep-alives, e.g. `: OPENROUTER PROCESSING`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    Event(SseEvent),
    Comment(String),
}

impl SseItem {
    /// Whether this item proves the model is still producing: comments and Anthropic `ping`
    /// events are keep-alives and do not count.
    pub fn is_activity(&self) -> bool {
        match self {
            SseItem::Event(ev) => ev.event != "ping",
            SseItem::Comment(_) => false,
        }
    }
}

/// Decoding failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("a server-sent event is larger than {limit} bytes")]
    EventTooLarge { limit: usize },
}

/// The incremental decoder: feed chunks with [`SseDecoder::push`], then call
/// [`SseDecoder::finish`] at end of stream.
#[derive(Debug)]
pub struct SseDecoder {
    max_event_bytes: usize,
    /// Bytes of the line being read (no terminator yet).
    line: Vec<u8>,
    /// The previous chunk ended with `\r`: a leading `\n` in the next one belongs to it.
    skip_lf: bool,
    /// Still at the very start of the stream (a UTF-8 BOM is dropped there).
    at_start: bool,
    event: String,
    data: String,
    /// Whether any field line of the pending event arrived (even `data:` with no value).
    has_data: bool,
    last_id: Option<String>,
}

impl Default for SseDecoder {
    fn default() -> Self {
        SseDecoder::new(DEFAULT_MAX_EVENT_BYTES)
    }
}

impl SseDecoder {
    pub fn new(max_event_bytes: usize) -> Self {
        SseDecoder {
            max_event_bytes,
            line: Vec::new(),
            skip_lf: false,
            at_start: true,
            event: String::new(),
            data: String::new(),
            has_data: false,
            last_id: None,
        }
    }

    /// Decodes one chunk, appending complete items to `out`.
    pub fn push(&mut self, mut chunk: &[u8], out: &mut Vec<SseItem>) -> Result<(), SseError> {
        if self.skip_lf && !chunk.is_empty() {
            if chunk[0] == b'\n' {
                chunk = &chunk[1..];
            }
            self.skip_lf = false;
        }
        while !chunk.is_empty() {
            match chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(pos) => {
                    self.line.extend_from_slice(&chunk[..pos]);
                    self.check_size()?;
                    let cr = chunk[pos] == b'\r';
                    chunk = &chunk[pos + 1..];
                    if cr {
                        match chunk.first() {
                            Some(b'\n') => chunk = &chunk[1..],
                            Some(_) => {}
                            None => self.skip_lf = true,
                        }
                    }
                    let line = std::mem::take(&mut self.line);
                    self.process_line(&line, out);
                }
                None => {
                    self.line.extend_from_slice(chunk);
                    self.check_size()?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// End of stream: dispatches an event whose lines were all complete (see the module docs).
    pub fn finish(&mut self, out: &mut Vec<SseItem>) {
        self.line.clear();
        self.dispatch(out);
    }

    fn check_size(&self) -> Result<(), SseError> {
        if self.line.len() + self.data.len() > self.max_event_bytes {
            return Err(SseError::EventTooLarge {
                limit: self.max_event_bytes,
            });
        }
        Ok(())
    }

    fn process_line(&mut self, raw: &[u8], out: &mut Vec<SseItem>) {
        let mut raw = raw;
        if self.at_start {
            self.at_start = false;
            if let Some(rest) = raw.strip_prefix(b"\xEF\xBB\xBF") {
                raw = rest;
            }
        }
        if raw.is_empty() {
            self.dispatch(out);
            return;
        }
        let line = String::from_utf8_lossy(raw);
        if let Some(comment) = line.strip_prefix(':') {
            out.push(SseItem::Comment(
                comment.strip_prefix(' ').unwrap_or(comment).to_string(),
            ));
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_string()),
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseItem>) {
        let event = std::mem::take(&mut self.event);
        if !self.has_data {
            return;
        }
        self.has_data = false;
        out.push(SseItem::Event(SseEvent {
            event: if event.is_empty() {
                "message".to_string()
            } else {
                event
            },
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
        }));
    }
}

/// Decodes a whole byte string at once (tests, cassettes).
pub fn decode_all(bytes: &[u8]) -> Result<Vec<SseItem>, SseError> {
    let mut dec = SseDecoder::default();
    let mut out = Vec::new();
    dec.push(bytes, &mut out)?;
    dec.finish(&mut out);
    Ok(out)
}

/// A failure of the underlying body or of decoding.
#[derive(Debug)]
pub enum SseStreamError<E> {
    Body(E),
    Decode(SseError),
}

/// [`SseDecoder`] over a stream of byte chunks.
pub struct SseStream<S> {
    inner: S,
    decoder: SseDecoder,
    pending: VecDeque<SseItem>,
    done: bool,
}

impl<S> SseStream<S> {
    pub fn new(inner: S, max_event_bytes: usize) -> Self {
        SseStream {
            inner,
            decoder: SseDecoder::new(max_event_bytes),
            pending: VecDeque::new(),
            done: false,
        }
    }
}

impl<S, E> Stream for SseStream<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<SseItem, SseStreamError<E>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.pending.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            let mut out = Vec::new();
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Err(e) = this.decoder.push(&chunk, &mut out) {
                        this.done = true;
                        return Poll::Ready(Some(Err(SseStreamError::Decode(e))));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(SseStreamError::Body(e))));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    this.decoder.finish(&mut out);
                }
            }
            this.pending.extend(out);
        }
    }
}

#[cfg(test)]
mod tests;
