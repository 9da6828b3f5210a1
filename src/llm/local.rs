//! Local model servers (Ollama, llama.cpp, LM Studio, vLLM): what a model's context window is
//! and whether it can call tools, found out before the first request and kept for the process.
//!
//! Where each server says it (first answer wins, every probe bounded by [`PROBE_TIMEOUT`]):
//! - vLLM: `GET {base}/models`, the entry's `max_model_len` (other servers: `context_length`,
//!   `context_window`, `max_context_length`).
//! - Ollama: `POST {root}/api/show {"model"}`: `num_ctx` in `parameters` if the Modelfile sets
//!   it, else Ollama's default of [`OLLAMA_DEFAULT_CTX`] (what its OpenAI endpoint really uses:
//!   the model's trained `*.context_length` is only an upper bound); `capabilities` lists
//!   `tools`. A loaded model's `context_length` in `GET /api/ps` wins.
//! - llama.cpp: `GET {root}/props`, `default_generation_settings.n_ctx`;
//!   `chat_template_caps.supports_tools` when present.
//! - LM Studio: `GET {root}/api/v0/models/{model}`: `loaded_context_length`, else
//!   `max_context_length`; `capabilities` lists `tool_use`.
//!
//! The config's `context_window` for the model wins over all of them. Requests are then kept
//! under the window: a prompt estimated above it fails with `ContextLength` before it is sent
//! (so the router can fall back to a larger model), and the output limit is lowered so prompt
//! plus output fit (a server would otherwise stop at its context size mid-answer).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::http::CallCtx;
use super::usage::estimate_tokens;
use super::{ErrorClass, LlmError, Request};

/// Longest wait for one probe answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The context Ollama gives a model whose Modelfile sets no `num_ctx`.
pub const OLLAMA_DEFAULT_CTX: u64 = 4096;

/// Smallest output limit left after fitting a prompt into the window.
const MIN_OUTPUT_TOKENS: u32 = 256;

/// Whether a model can make tool calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolSupport {
    Yes,
    No,
    Unknown,
}

/// What a local server said about one model.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LocalInfo {
    pub context_window: Option<u64>,
    pub tools: ToolSupport,
    /// Where the window came from, for messages (`Ollama /api/show num_ctx`).
    pub source: String,
}

impl LocalInfo {
    fn unknown() -> LocalInfo {
        LocalInfo {
            context_window: None,
            tools: ToolSupport::Unknown,
            source: "not reported".into(),
        }
    }
}

/// Probes local servers once per (base URL, model) and remembers the answer and which
/// notices were given. One per process (held by the model layer), shared by its adapters.
#[derive(Debug)]
pub struct LocalProbe {
    client: reqwest::Client,
    seen: Mutex<HashMap<(String, String), (LocalInfo, bool)>>,
    /// Models already warned about their tool support (the first request may have had none).
    tools_warned: Mutex<std::collections::HashSet<(String, String)>>,
}

impl LocalProbe {
    pub fn new(client: reqwest::Client) -> LocalProbe {
        LocalProbe {
            client,
            seen: Mutex::new(HashMap::new()),
            tools_warned: Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// What the server at `base_url` says about `model` (cached), and whether this is the first
    /// time it is asked in this process.
    pub async fn info(&self, base_url: &str, model: &str) -> (LocalInfo, bool) {
        let key = (base_url.to_string(), model.to_string());
        if let Ok(mut seen) = self.seen.lock()
            && let Some((info, first)) = seen.get_mut(&key)
        {
            let was_first = std::mem::replace(first, false);
            return (info.clone(), was_first);
        }
        let info = probe(&self.client, base_url, model).await;
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(key, (info.clone(), false));
        }
        (info, true)
    }

    /// True the first time it is asked for this model (the tool-support warning is given once).
    fn first_tools_warning(&self, base_url: &str, model: &str) -> bool {
        self.tools_warned
            .lock()
            .map(|mut w| w.insert((base_url.to_string(), model.to_string())))
            .unwrap_or(false)
    }
}

/// The result of fitting a request to a local model.
#[derive(Debug, Default)]
pub(crate) struct Fit {
    pub window: Option<u64>,
    /// Notices for the user (first call of the process only).
    pub notices: Vec<String>,
}

/// Keeps `request` under the model's context window (see the module docs). `configured` is the
/// config's `context_window`, which wins over what the server says.
pub(crate) async fn fit_local(
    probe: &LocalProbe,
    ctx: &CallCtx,
    request: &mut Request,
    configured: Option<u64>,
) -> Result<Fit, LlmError> {
    // The user's window wins over the server's, and only a request with tools needs to know
    // whether the model supports them: then there is nothing to ask the server.
    if let Some(w) = configured
        && request.tools.is_empty()
    {
        return fit_to(ctx, request, w, "the config").map(|()| Fit {
            window: Some(w),
            notices: Vec::new(),
        });
    }
    let base = probe_base(ctx);
    let (info, first) = probe.info(&base, &request.model).await;
    let (window, source) = match configured {
        Some(w) => (Some(w), "the config".to_string()),
        None => (info.context_window, info.source.clone()),
    };
    let mut notices = Vec::new();
    // Only problems are announced, once per model; `doctor` shows what was found.
    if first && window.is_none() {
        notices.push(
            "the server does not say its context window: long prompts may be cut silently; set [models.\"PROVIDER:MODEL\"] context_window in the config".to_string(),
        );
    }
    if !request.tools.is_empty()
        && info.tools != ToolSupport::Yes
        && probe.first_tools_warning(&base, &request.model)
    {
        match info.tools {
                ToolSupport::No => notices.push(
                    "this model does not support tool calls on this server: it will answer in plain text and cannot write files; pick a model with tool support".to_string(),
                ),
                ToolSupport::Unknown => notices.push(
                    "the server does not say whether this model supports tool calls: if it answers only in plain text, pick a model with tool support (llama.cpp needs --jinja)".to_string(),
                ),
                ToolSupport::Yes => {}
        }
    }
    if let Some(w) = window {
        fit_to(ctx, request, w, &source)?;
    }
    Ok(Fit { window, notices })
}

/// Fails a prompt that does not fit a window of `w` tokens (from `source`), and lowers the
/// output limit to the room left.
fn fit_to(ctx: &CallCtx, request: &mut Request, w: u64, source: &str) -> Result<(), LlmError> {
    let prompt = prompt_tokens(request);
    if prompt >= w {
        return Err(ctx.err(
            ErrorClass::ContextLength,
            format!(
                "the prompt (about {prompt} tokens) does not fit {}'s context window of {w} tokens (from {source}): shorten the work, raise the server's context size, or add a larger model to the route",
                request.model
            ),
        ));
    }
    let room = w - prompt;
    let room = u32::try_from(room)
        .unwrap_or(u32::MAX)
        .max(MIN_OUTPUT_TOKENS);
    if request.max_output_tokens > room {
        request.max_output_tokens = room;
    }
    Ok(())
}

/// The request's prompt size in tokens, estimated from its text (about four characters a
/// token, like the router's estimates).
pub(crate) fn prompt_tokens(request: &Request) -> u64 {
    let body = serde_json::to_vec(&request.messages).map_or(0, |v| v.len() as u64);
    let tools = serde_json::to_vec(&request.tools).map_or(0, |v| v.len() as u64);
    estimate_tokens(body + tools + request.system.len() as u64)
}

fn probe_base(ctx: &CallCtx) -> String {
    ctx.base_url.clone().unwrap_or_default()
}

/// The server root: the base URL without a trailing `/v1`.
fn root(base_url: &str) -> &str {
    let b = base_url.trim_end_matches('/');
    b.strip_suffix("/v1").unwrap_or(b)
}

async fn get_json(client: &reqwest::Client, url: &str, body: Option<&Value>) -> Option<Value> {
    let req = match body {
        Some(b) => client.post(url).json(b),
        None => client.get(url),
    };
    let send = async {
        let r = req.send().await.ok()?;
        if !r.status().is_success() {
            return None;
        }
        let bytes = r.bytes().await.ok()?;
        if bytes.len() > 4 * 1024 * 1024 {
            return None;
        }
        serde_json::from_slice(&bytes).ok()
    };
    tokio::time::timeout(PROBE_TIMEOUT, send)
        .await
        .ok()
        .flatten()
}

/// Asks the server at `base_url` about `model`, trying each server kind's endpoint (at once:
/// a local server answers the ones it does not have with a quick 404).
pub async fn probe(client: &reqwest::Client, base_url: &str, model: &str) -> LocalInfo {
    let root = root(base_url);
    let list_url = format!("{}/models", base_url.trim_end_matches('/'));
    let show_body = serde_json::json!({"model": model});
    let (show_url, ps_url, props_url) = (
        format!("{root}/api/show"),
        format!("{root}/api/ps"),
        format!("{root}/props"),
    );
    let (list, show, ps, props) = futures_util::join!(
        get_json(client, &list_url, None),
        get_json(client, &show_url, Some(&show_body)),
        get_json(client, &ps_url, None),
        get_json(client, &props_url, None),
    );
    let mut info = list
        .as_ref()
        .and_then(|l| from_model_list(l, model))
        .unwrap_or_else(LocalInfo::unknown);
    if let Some(found) = from_ollama(ps.as_ref(), show.as_ref(), model) {
        return found;
    }
    if let Some(found) = props.as_ref().and_then(from_llama_cpp) {
        if info.context_window.is_none() {
            info.context_window = found.context_window;
            info.source = found.source;
        }
        info.tools = found.tools;
        return info;
    }
    if info.context_window.is_none()
        && let Some(m) = get_json(client, &format!("{root}/api/v0/models/{model}"), None).await
        && let Some(found) = from_lm_studio(&m)
    {
        return found;
    }
    info
}

fn num(v: &Value, keys: &[&str]) -> Option<u64> {
    keys.iter()
        .find_map(|k| v.get(*k).and_then(Value::as_u64))
        .filter(|n| *n > 0)
}

/// vLLM and friends: the model's entry in `GET /models`.
pub fn from_model_list(list: &Value, model: &str) -> Option<LocalInfo> {
    let entry = list
        .get("data")
        .and_then(Value::as_array)?
        .iter()
        .find(|m| m.get("id").and_then(Value::as_str) == Some(model))?;
    let window = num(
        entry,
        &[
            "max_model_len",
            "context_length",
            "context_window",
            "max_context_length",
        ],
    )?;
    Some(LocalInfo {
        context_window: Some(window),
        tools: ToolSupport::Unknown,
        source: "GET /models max_model_len".into(),
    })
}

/// Ollama: `/api/ps` (loaded models, their real context) and `/api/show` (Modelfile and
/// capabilities).
pub fn from_ollama(ps: Option<&Value>, show: Option<&Value>, model: &str) -> Option<LocalInfo> {
    let show = show?;
    // Only an Ollama /api/show answer has these.
    if show.get("model_info").is_none() && show.get("modelfile").is_none() {
        return None;
    }
    let tools = match show.get("capabilities").and_then(Value::as_array) {
        Some(caps) if caps.iter().any(|c| c == "tools") => ToolSupport::Yes,
        Some(_) => ToolSupport::No,
        None => ToolSupport::Unknown,
    };
    let trained = show
        .get("model_info")
        .and_then(Value::as_object)
        .and_then(|m| {
            m.iter()
                .find(|(k, _)| k.ends_with(".context_length"))
                .and_then(|(_, v)| v.as_u64())
        });
    let loaded = ps
        .and_then(|p| p.get("models"))
        .and_then(Value::as_array)
        .and_then(|ms| {
            ms.iter().find(|m| {
                m.get("name").and_then(Value::as_str) == Some(model)
                    || m.get("model").and_then(Value::as_str) == Some(model)
            })
        })
        .and_then(|m| num(m, &["context_length"]));
    let num_ctx = show
        .get("parameters")
        .and_then(Value::as_str)
        .and_then(|p| {
            p.lines().find_map(|l| {
                let mut parts = l.split_whitespace();
                (parts.next() == Some("num_ctx"))
                    .then(|| parts.next().and_then(|n| n.parse::<u64>().ok()))
                    .flatten()
            })
        });
    let (window, source) = match (loaded, num_ctx) {
        (Some(n), _) => (n, "Ollama /api/ps context_length".to_string()),
        (None, Some(n)) => (n, "Ollama /api/show num_ctx".to_string()),
        (None, None) => (
            trained.map_or(OLLAMA_DEFAULT_CTX, |t| t.min(OLLAMA_DEFAULT_CTX)),
            format!(
                "Ollama's default num_ctx; the model was trained for {}: set num_ctx in a Modelfile or OLLAMA_CONTEXT_LENGTH to use more",
                trained.map_or("an unknown size".to_string(), |t| format!("{t} tokens"))
            ),
        ),
    };
    Some(LocalInfo {
        context_window: Some(window),
        tools,
        source,
    })
}

/// llama.cpp's `GET /props`.
pub fn from_llama_cpp(props: &Value) -> Option<LocalInfo> {
    let window = props
        .get("default_generation_settings")
        .and_then(|d| num(d, &["n_ctx"]))
        .or_else(|| num(props, &["n_ctx"]))?;
    let tools = match props
        .pointer("/chat_template_caps/supports_tools")
        .and_then(Value::as_bool)
    {
        Some(true) => ToolSupport::Yes,
        Some(false) => ToolSupport::No,
        None => ToolSupport::Unknown,
    };
    Some(LocalInfo {
        context_window: Some(window),
        tools,
        source: "llama.cpp /props n_ctx".into(),
    })
}

/// LM Studio's `GET /api/v0/models/{model}`.
pub fn from_lm_studio(m: &Value) -> Option<LocalInfo> {
    let window = num(m, &["loaded_context_length", "max_context_length"])?;
    let tools = match m.get("capabilities").and_then(Value::as_array) {
        Some(caps) if caps.iter().any(|c| c == "tool_use") => ToolSupport::Yes,
        Some(_) => ToolSupport::No,
        None => ToolSupport::Unknown,
    };
    Some(LocalInfo {
        context_window: Some(window),
        tools,
        source: "LM Studio /api/v0/models context length".into(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ollama_window_is_num_ctx_else_its_default_not_the_trained_size() {
        let show = json!({"modelfile": "FROM x", "parameters": "stop \"<|eot|>\"\nnum_ctx 16384",
            "model_info": {"llama.context_length": 131072}, "capabilities": ["completion", "tools"]});
        let i = from_ollama(None, Some(&show), "llama3.1:8b").unwrap();
        assert_eq!(i.context_window, Some(16384));
        assert_eq!(i.tools, ToolSupport::Yes);
        let show = json!({"modelfile": "FROM x", "model_info": {"qwen2.context_length": 32768},
            "capabilities": ["completion"]});
        let i = from_ollama(None, Some(&show), "qwen2.5:7b").unwrap();
        assert_eq!(i.context_window, Some(OLLAMA_DEFAULT_CTX));
        assert_eq!(i.tools, ToolSupport::No);
        assert!(i.source.contains("32768"), "{}", i.source);
        let ps = json!({"models": [{"name": "qwen2.5:7b", "model": "qwen2.5:7b", "context_length": 8192}]});
        let i = from_ollama(Some(&ps), Some(&show), "qwen2.5:7b").unwrap();
        assert_eq!(i.context_window, Some(8192));
    }

    #[test]
    fn llama_cpp_lm_studio_and_vllm_fields_are_read() {
        let props = json!({"default_generation_settings": {"n_ctx": 4096}, "chat_template": "x"});
        assert_eq!(from_llama_cpp(&props).unwrap().context_window, Some(4096));
        assert_eq!(from_llama_cpp(&props).unwrap().tools, ToolSupport::Unknown);
        let lm = json!({"id": "m", "max_context_length": 32768, "loaded_context_length": 4096,
            "capabilities": ["tool_use"]});
        let i = from_lm_studio(&lm).unwrap();
        assert_eq!((i.context_window, i.tools), (Some(4096), ToolSupport::Yes));
        let list = json!({"object": "list", "data": [{"id": "m", "max_model_len": 2048}]});
        assert_eq!(
            from_model_list(&list, "m").unwrap().context_window,
            Some(2048)
        );
        assert!(from_model_list(&list, "other").is_none());
        assert!(from_model_list(&json!({"data": null}), "m").is_none());
    }

    /// A call to model `m` at `base` and a small request without tools.
    fn ctx_and_request(base: &str) -> (CallCtx, Request) {
        let ctx = CallCtx {
            provider: "p".into(),
            model: "m".into(),
            key_env: None,
            key: None,
            base_url: Some(base.into()),
        };
        let req = Request {
            model: "m".into(),
            system: String::new(),
            messages: vec![crate::llm::Message::User {
                content: "hello".into(),
            }],
            tools: vec![],
            max_output_tokens: 5000,
            temperature: None,
            cache_key: None,
        };
        (ctx, req)
    }

    #[tokio::test]
    async fn requests_are_kept_under_the_window_and_tool_warnings_given_once() {
        let base = "http://127.0.0.1:9/v1";
        let probe = LocalProbe::new(reqwest::Client::new());
        let info = LocalInfo {
            context_window: Some(1000),
            tools: ToolSupport::No,
            source: "test".into(),
        };
        probe
            .seen
            .lock()
            .unwrap()
            .insert((base.into(), "m".into()), (info, true));
        let (ctx, mut req) = ctx_and_request(base);
        let f = fit_local(&probe, &ctx, &mut req, None).await.unwrap();
        assert!(f.notices.is_empty(), "{:?}", f.notices);
        assert_eq!(f.window, Some(1000));
        assert_eq!(u64::from(req.max_output_tokens), 1000 - prompt_tokens(&req));
        req.tools = vec![crate::llm::ToolDef {
            name: "write_file".into(),
            description: "d".into(),
            parameters: json!({"type": "object"}),
        }];
        let f = fit_local(&probe, &ctx, &mut req, None).await.unwrap();
        assert_eq!(f.notices.len(), 1);
        assert!(f.notices[0].contains("does not support tool calls"));
        let f = fit_local(&probe, &ctx, &mut req, None).await.unwrap();
        assert!(f.notices.is_empty(), "warned once");
        // The config's window wins, and a prompt over it is refused before sending.
        let e = fit_local(&probe, &ctx, &mut req, Some(10))
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::ContextLength);
        assert!(e.message.contains("from the config"), "{}", e.message);
    }

    /// A configured window and no tools: nothing to ask the server (port 9 would refuse the
    /// probe; nothing is recorded as probed), and the request still fits the window.
    #[tokio::test]
    async fn a_configured_window_without_tools_asks_the_server_nothing() {
        let base = "http://127.0.0.1:9/v1";
        let probe = LocalProbe::new(reqwest::Client::new());
        let (ctx, mut req) = ctx_and_request(base);
        let f = fit_local(&probe, &ctx, &mut req, Some(2000)).await.unwrap();
        assert_eq!(f.window, Some(2000));
        assert_eq!(u64::from(req.max_output_tokens), 2000 - prompt_tokens(&req));
        assert!(
            probe.seen.lock().unwrap().is_empty(),
            "the server was probed"
        );
    }

    #[test]
    fn root_drops_the_v1_suffix() {
        assert_eq!(root("http://127.0.0.1:11434/v1"), "http://127.0.0.1:11434");
        assert_eq!(root("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
    }
}
