//! Test doubles for the agent's in-process tests: saved steps built from typed payloads, a
//! scripted model behind a real router (so usage records, events and budgets are those of a
//! live run), and a harness with a temporary store and project.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::stream;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{AgentDeps, Models, RunRequest};
use crate::config::{Config, Env, ModelRef};
use crate::exec::{ApprovalPolicy, CommandOutcome, FakeRunner};
use crate::exit::Exit;
use crate::keys::{Keys, MemoryStore};
use crate::llm::router::RouteEntry;
use crate::llm::setup::ModelLayer;
use crate::llm::usage::CallContext;
use crate::llm::{
    ErrorClass, EventStream, FinishReason, LlmError, Provider, Request, Response, StreamEvent,
    ToolCall, Usage,
};
use crate::protocol::{
    CollectSink, Event, ModelTurn, Prompter, Role, RunCommand, StepPayload, ToolResult, UserInput,
};
use crate::store::{NewProject, Step, Store};

/// A saved step (of run 1, project 1) for tests of code that reads steps.
pub(crate) fn step(payload: StepPayload) -> Step {
    Step {
        id: 0,
        project_id: 1,
        run_id: 1,
        task_id: None,
        seq: 0,
        thread: "t".into(),
        payload,
        created_at: 0,
    }
}

pub(crate) fn user(content: &str) -> StepPayload {
    StepPayload::UserInput(UserInput {
        content: content.into(),
    })
}

pub(crate) fn turn(role: Role, text: &str, tool_calls: Vec<ToolCall>) -> StepPayload {
    let finish = if tool_calls.is_empty() {
        FinishReason::Stop
    } else {
        FinishReason::ToolCalls
    };
    StepPayload::ModelTurn(ModelTurn {
        role,
        response: Response {
            text: text.into(),
            tool_calls,
            finish: Some(finish),
            ..Response::default()
        },
    })
}

pub(crate) fn tool_result(call_id: &str, name: &str, result: &str, is_error: bool) -> StepPayload {
    StepPayload::ToolCall(ToolResult {
        call_id: call_id.into(),
        name: name.into(),
        target: String::new(),
        result: result.into(),
        is_error,
    })
}

/// One scripted answer.
#[derive(Clone)]
pub(crate) enum Reply {
    /// These events, then usage (1000 in / 100 out) and the finish reason.
    Answer {
        text: String,
        calls: Vec<(String, Value)>,
        finish: FinishReason,
    },
    /// The call fails with this error class (after nothing was streamed).
    Fail(ErrorClass),
    /// Answers the request whose first user message names `path` with this file content
    /// (`submit_file`), wherever it comes in the order (concurrent writers).
    File { path: String, content: String },
}

pub(crate) fn tools(calls: &[(&str, Value)]) -> Reply {
    Reply::Answer {
        text: String::new(),
        calls: calls
            .iter()
            .map(|(n, a)| (n.to_string(), a.clone()))
            .collect(),
        finish: FinishReason::ToolCalls,
    }
}

pub(crate) fn text(t: &str) -> Reply {
    Reply::Answer {
        text: t.into(),
        calls: vec![],
        finish: FinishReason::Stop,
    }
}

pub(crate) fn refusal(t: &str) -> Reply {
    Reply::Answer {
        text: t.into(),
        calls: vec![],
        finish: FinishReason::Refused,
    }
}

pub(crate) fn spec() -> Reply {
    tools(&[(
        "submit_spec",
        json!({"spec_markdown": "# t\n\nA test project.\n", "assumptions": ["none"]}),
    )])
}

pub(crate) fn architecture(test_command: &str) -> Reply {
    tools(&[(
        "submit_architecture",
        json!({"stack": "sh", "template": null, "test_command": test_command}),
    )])
}

pub(crate) fn plan(titles: &[&str]) -> Reply {
    let tasks: Vec<Value> = titles
        .iter()
        .map(|t| json!({"title": t, "goal": format!("do {t}")}))
        .collect();
    tools(&[("submit_plan", json!({ "tasks": tasks }))])
}

pub(crate) fn write(path: &str, content: &str) -> (&'static str, Value) {
    ("write_file", json!({"path": path, "content": content}))
}

pub(crate) fn done() -> (&'static str, Value) {
    ("task_done", json!({"summary": "done"}))
}

/// A model that plays scripted answers in order, the way an adapter would stream them.
pub(crate) struct Scripted {
    replies: Mutex<VecDeque<Reply>>,
    calls: AtomicUsize,
    requests: Mutex<Vec<Request>>,
}

impl Scripted {
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Every request received, in order.
    pub(crate) fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    fn next(&self, request: &Request) -> Option<Reply> {
        let mut replies = self.replies.lock().unwrap();
        let first_user = request.messages.iter().find_map(|m| match m {
            crate::llm::Message::User { content } => Some(content.clone()),
            _ => None,
        });
        let matching = replies.iter().position(|r| match r {
            Reply::File { path, .. } => first_user
                .as_deref()
                .is_some_and(|u| u.contains(&format!("`{path}`")) || u.contains(path.as_str())),
            _ => false,
        });
        match matching {
            Some(i) => replies.remove(i),
            None => {
                let i = replies
                    .iter()
                    .position(|r| !matches!(r, Reply::File { .. }))?;
                replies.remove(i)
            }
        }
    }
}

impl Provider for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }

    fn stream(&self, request: Request) -> EventStream {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.requests.lock().unwrap().push(request.clone());
        let usage = Usage {
            input_tokens: 1000,
            output_tokens: 100,
            ..Usage::default()
        };
        let events: Vec<Result<StreamEvent, LlmError>> = match self.next(&request) {
            None => vec![Err(LlmError::new(
                ErrorClass::BadRequest,
                "scripted",
                "model",
                "the script has no answer left",
            ))],
            Some(Reply::Fail(class)) => {
                vec![Err(LlmError::new(
                    class,
                    "scripted",
                    "model",
                    "scripted failure",
                ))]
            }
            Some(Reply::File { content, .. }) => answer(
                String::new(),
                vec![("submit_file".into(), json!({ "content": content }))],
                FinishReason::ToolCalls,
                usage,
            ),
            Some(Reply::Answer {
                text,
                calls,
                finish,
            }) => answer(text, calls, finish, usage),
        };
        Box::pin(stream::iter(events))
    }
}

fn answer(
    text: String,
    calls: Vec<(String, Value)>,
    finish: FinishReason,
    usage: Usage,
) -> Vec<Result<StreamEvent, LlmError>> {
    let mut out = Vec::new();
    if !text.is_empty() {
        out.push(Ok(StreamEvent::TextDelta { text }));
    }
    for (index, (name, args)) in calls.into_iter().enumerate() {
        let call = ToolCall {
            id: format!("call_{}", index + 1),
            name,
            arguments: args.to_string(),
        };
        out.push(Ok(StreamEvent::ToolCallStart {
            index,
            id: call.id.clone(),
            name: call.name.clone(),
        }));
        out.push(Ok(StreamEvent::ToolCallEnd { index, call }));
    }
    out.push(Ok(StreamEvent::Usage { usage }));
    out.push(Ok(StreamEvent::Finish { reason: finish }));
    out
}

/// Every role answered by one scripted model, through a real router and usage sink.
pub(crate) struct FakeModels {
    pub(crate) scripted: Arc<Scripted>,
    layer: ModelLayer,
    model: ModelRef,
}

impl Models for FakeModels {
    fn for_role(&self, _role: Role, context: CallContext) -> Result<Arc<dyn Provider>, LlmError> {
        let entry = RouteEntry::new(self.scripted.clone(), self.model.clone());
        Ok(self.layer.router_over("fake", vec![entry], context))
    }

    fn estimate_cost(&self, _role: Role, input: u64, output: u64) -> Option<f64> {
        let usage = Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        };
        self.layer.model_price(&self.model).cost(&usage)
    }

    fn price_knowledge(&self, _role: Role) -> crate::llm::pricing::PriceKnowledge {
        self.layer.model_price(&self.model).knowledge
    }

    fn unpriced(&self, _role: Role) -> Vec<crate::llm::pricing::PriceStatus> {
        let s = self.layer.model_price(&self.model);
        (s.knowledge != crate::llm::pricing::PriceKnowledge::Known)
            .then_some(s)
            .into_iter()
            .collect()
    }

    fn context_window(&self, _role: Role) -> Option<u64> {
        None
    }
}

/// A temporary store and project, a scripted model and a scripted command runner.
pub(crate) struct Harness {
    pub(crate) _tmp: tempfile::TempDir,
    pub(crate) store: Store,
    pub(crate) project_id: i64,
    pub(crate) models: Arc<FakeModels>,
    pub(crate) runner: Arc<FakeRunner>,
    pub(crate) events: Arc<CollectSink>,
    pub(crate) config: Config,
    pub(crate) policy: ApprovalPolicy,
    pub(crate) jobs: usize,
    pub(crate) max_cost_usd: Option<f64>,
    pub(crate) prompter: Option<Prompter>,
    pub(crate) cancel: CancellationToken,
    pub(crate) allow_dirty: bool,
    pub(crate) plan_only: bool,
    /// `resume -d` for the next run.
    pub(crate) change_request: Option<String>,
}

/// A price for the scripted model: $1 per 1000 input tokens, $2 per 1000 output: every
/// scripted answer (1000 in / 100 out) costs $1.20.
const CONFIG: &str = r#"
[prices."fake:model"]
input_per_mtok = 1000.0
output_per_mtok = 2000.0
"#;

impl Harness {
    /// `commands`: what the runner returns, in order (the last repeats).
    pub(crate) fn new(replies: Vec<Reply>, commands: Vec<CommandOutcome>) -> Harness {
        Harness::with_config(replies, commands, &[])
    }

    pub(crate) fn with_config(
        replies: Vec<Reply>,
        commands: Vec<CommandOutcome>,
        flags: &[&str],
    ) -> Harness {
        Harness::with_model(replies, commands, "fake:model", CONFIG, flags)
    }

    /// The scripted model answers as `model`, with this config file.
    pub(crate) fn with_model(
        replies: Vec<Reply>,
        commands: Vec<CommandOutcome>,
        model: &str,
        config: &str,
        flags: &[&str],
    ) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let config = crate::config::load_text(
            &dir.path().join("config.toml"),
            Some(config),
            &Env::default(),
            &flags,
        )
        .unwrap()
        .config;
        let store = Store::open(
            &dir.path().join("samocoder.db"),
            Arc::new(crate::clock::SystemClock),
        )
        .unwrap();
        let project_dir = dir.path().join("project");
        std::fs::create_dir_all(&project_dir).unwrap();
        let project = store
            .create_project(&NewProject {
                name: "t".into(),
                dir: project_dir.canonicalize().unwrap(),
                description: "a test project".into(),
                template: None,
                budget_usd: None,
            })
            .unwrap();
        let env = Env::default();
        let keys = Keys::new(
            &env,
            config.providers.values(),
            Box::new(MemoryStore::new()),
        );
        let cancel = CancellationToken::new();
        let layer =
            ModelLayer::for_providers(&config, &keys, &[], Arc::new(store.clone()), cancel.clone())
                .unwrap();
        let scripted = Arc::new(Scripted {
            replies: Mutex::new(replies.into()),
            calls: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
        });
        Harness {
            _tmp: dir,
            project_id: project.id,
            models: Arc::new(FakeModels {
                scripted,
                layer,
                model: model.parse().unwrap(),
            }),
            runner: Arc::new(FakeRunner::new(commands)),
            events: Arc::new(CollectSink::default()),
            store,
            config,
            policy: ApprovalPolicy::Auto,
            jobs: 1,
            max_cost_usd: None,
            prompter: None,
            cancel,
            allow_dirty: false,
            plan_only: false,
            change_request: None,
        }
    }

    /// A harness whose project is an adopted git repository: `committed` files on `main`, then
    /// `dirty` written on top (uncommitted). `Err` is what adopting said, with the harness.
    pub(crate) fn adopted(
        replies: Vec<Reply>,
        commands: Vec<CommandOutcome>,
        committed: &[(&str, &str)],
        dirty: &[(&str, &str)],
        allow_dirty: bool,
    ) -> Result<Harness, Box<(Harness, super::AgentError)>> {
        let mut h = Harness::new(replies, commands);
        let dir = h._tmp.path().join("repo");
        std::fs::create_dir_all(&dir).unwrap();
        let repo = git2::Repository::init_opts(
            &dir,
            git2::RepositoryInitOptions::new().initial_head("main"),
        )
        .unwrap();
        for (p, c) in committed {
            write_file(&dir, p, c);
        }
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("user", "user@example.com").unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "the user's work", &tree, &[])
            .unwrap();
        for (p, c) in dirty {
            write_file(&dir, p, c);
        }
        let adopted = super::adopt(
            &h.store,
            &NewProject {
                name: "repo".into(),
                dir: dir.canonicalize().unwrap(),
                description: "add a --json flag".into(),
                template: None,
                budget_usd: None,
            },
            allow_dirty,
            "samocoder new --here",
            &h.config,
        );
        let project = match adopted {
            Ok(a) => a.project,
            Err(e) => return Err(Box::new((h, e))),
        };
        h.project_id = project.id;
        h.allow_dirty = allow_dirty;
        Ok(h)
    }

    pub(crate) fn project_dir(&self) -> std::path::PathBuf {
        self.store.project_by_id(self.project_id).unwrap().dir
    }

    fn deps(&self) -> AgentDeps {
        AgentDeps {
            store: self.store.clone(),
            config: self.config.clone(),
            models: self.models.clone(),
            runner: self.runner.clone(),
            policy: self.policy,
            prompter: self.prompter.clone(),
            events: self.events.clone(),
            cancel: self.cancel.clone(),
            home: None,
            jobs: self.jobs,
            max_cost_usd: self.max_cost_usd,
            available_tools: vec!["sh".into()],
            template: None,
            allow_dirty: self.allow_dirty,
        }
    }

    pub(crate) async fn run(&self, command: RunCommand) -> Exit {
        super::run(
            &self.deps(),
            RunRequest {
                project_id: self.project_id,
                command,
                change_request: self.change_request.clone(),
                restart: None,
                plan_only: self.plan_only,
            },
        )
        .await
    }

    pub(crate) fn events(&self) -> Vec<Event> {
        self.events.events()
    }

    pub(crate) fn calls(&self) -> usize {
        self.models.scripted.calls()
    }

    /// The last event, which must be `run_finished`: its message.
    pub(crate) fn message(&self) -> String {
        match self.events().last() {
            Some(Event::RunFinished { message, .. }) => message.clone().unwrap_or_default(),
            other => panic!("the last event is not run_finished: {other:?}"),
        }
    }
}

pub(crate) fn write_file(dir: &std::path::Path, rel: &str, content: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// A command that exits with `code` and prints `output`.
pub(crate) fn exited(code: i32, output: &str) -> CommandOutcome {
    let mut o = FakeRunner::ok(output);
    o.exit_code = Some(code);
    o
}
