//! What `new` and `resume` share: the run flags, the models (live routes, a recording, or a
//! replayed cassette), the command policy, the renderer, Ctrl-C, and the runtime.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};
use tokio_util::sync::CancellationToken;

use super::{Ctx, UsageError};
use crate::agent::events::{Event, EventSink};
use crate::agent::{AgentDeps, Asker, Models, NoQuestions, RunRequest};
use crate::config::{Config, ModelRef};
use crate::exec::{ApprovalPolicy, Approver, Decision, ShellRunner};
use crate::exit::Exit;
use crate::llm::cassette::{RecordingProvider, ReplayProvider};
use crate::llm::router::{RouteEntry, RouterEvent, RouterObserver};
use crate::llm::setup::ModelLayer;
use crate::llm::usage::{CallContext, UsageSink};
use crate::llm::{LlmError, Provider, Usage};
use crate::store::Store;
use crate::ui::{HumanRenderer, JsonRenderer, UiApprover, UiAsker};

/// `--approve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// Show each command and run it on yes (the default on a terminal).
    Ask,
    /// Run commands without asking, refusing obviously destructive ones (the default with --yes).
    Auto,
    /// Run no command; record what would have run.
    Never,
}

/// Flags of `new` and `resume`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Stop this run when it has spent this many dollars (exit 3; `resume --max-cost` continues).
    #[arg(long, value_name = "USD")]
    pub max_cost: Option<f64>,
    /// Whether commands the model proposes (and the test command) run.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub approve: Option<PolicyArg>,
    /// Independent file writes of one model answer done at once.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub jobs: usize,
    /// Use this model for every role instead of the configured routes.
    #[arg(long, value_name = "PROVIDER:MODEL", conflicts_with = "route")]
    pub model: Option<String>,
    /// Use this configured route for every role.
    #[arg(long, value_name = "NAME")]
    pub route: Option<String>,
    /// Append every model answer to this cassette (JSON lines).
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    pub record: Option<PathBuf>,
    /// Serve model answers from this cassette instead of providers (no key, no network).
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// Confine commands: workspace-write (default), read-only, or off.
    #[arg(long, value_name = "MODE")]
    pub sandbox: Option<crate::exec::SandboxMode>,
    /// Let every command of this run use the network (by default only the install command may).
    #[arg(long)]
    pub network: bool,
}

/// Checks flag values that clap cannot.
pub fn check(args: &RunArgs, config: &Config) -> Result<(), UsageError> {
    if let Some(c) = args.max_cost
        && !(c.is_finite() && c > 0.0)
    {
        return Err(UsageError(format!(
            "--max-cost must be a dollar amount above 0, got {c}"
        )));
    }
    if args.jobs == 0 || args.jobs > 64 {
        return Err(UsageError("--jobs must be from 1 to 64".into()));
    }
    if let Some(m) = &args.model {
        let m: ModelRef = m
            .parse()
            .map_err(|e: crate::config::BadModelRef| UsageError(e.to_string()))?;
        if config.provider(&m.provider).is_none() {
            return Err(UsageError(format!(
                "--model {m}: no provider named `{}` in the config",
                m.provider
            )));
        }
    }
    if let Some(r) = &args.route
        && !config.routes.contains_key(r)
    {
        return Err(UsageError(format!(
            "--route {r}: no such route; the routes are {}",
            config.routes.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    if let Some(p) = &args.replay
        && !p.is_file()
    {
        return Err(UsageError(format!(
            "--replay {}: no such file",
            p.display()
        )));
    }
    Ok(())
}

/// The command policy: `--approve`, else `auto` with `--yes`, else `ask`. `ask` needs a
/// terminal on stdin.
pub fn policy(args: &RunArgs, ctx: &Ctx) -> Result<ApprovalPolicy, UsageError> {
    let p = match args.approve {
        Some(PolicyArg::Ask) => ApprovalPolicy::Ask,
        Some(PolicyArg::Auto) => ApprovalPolicy::Auto,
        Some(PolicyArg::Never) => ApprovalPolicy::Never,
        None if ctx.ui.yes() => ApprovalPolicy::Auto,
        None => ApprovalPolicy::Ask,
    };
    if p == ApprovalPolicy::Ask && !ctx.ui.stdin_is_tty() && !ctx.ui.yes() {
        return Err(UsageError(
            "commands need your approval but stdin is not a terminal: pass --yes (runs them with --approve auto) or --approve never".into(),
        ));
    }
    Ok(p)
}

/// The optional first line of a hand-written cassette for `new`:
/// `# samocoder-new: {"name": "todo", "description": "..."}`.
pub fn cassette_header(path: &Path) -> Option<(Option<String>, Option<String>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with("# samocoder-new:"))?;
    let v: serde_json::Value =
        serde_json::from_str(line.trim_start_matches("# samocoder-new:").trim()).ok()?;
    Some((
        v["name"].as_str().map(String::from),
        v["description"].as_str().map(String::from),
    ))
}

/// Held while a process works on a project: a second `new`/`resume` of the same project is
/// refused instead of both writing to it. The OS releases it when the process dies.
pub struct ProjectLock {
    _file: std::fs::File,
}

/// Takes the project's run lock (a file lock under the data directory).
pub fn lock_project(ctx: &Ctx, project_id: i64, name: &str) -> anyhow::Result<ProjectLock> {
    let dir = ctx.paths.data_dir.join("locks");
    std::fs::create_dir_all(&dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!("project-{project_id}.lock")))?;
    match file.try_lock() {
        Ok(()) => Ok(ProjectLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(UsageError(format!(
            "{name} is being worked on by another samocoder process; wait for it or stop it first"
        ))
        .into()),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// Runs the agent for a project with these flags; returns the exit code.
pub fn run_agent(
    _lock: ProjectLock,
    ctx: &Ctx,
    config: Config,
    store: Store,
    args: &RunArgs,
    template: Option<String>,
    req: RunRequest,
) -> anyhow::Result<Exit> {
    let policy = policy(args, ctx)?;
    let events: Arc<dyn EventSink> = if ctx.ui.json() {
        Arc::new(JsonRenderer::new(ctx.ui.clone()))
    } else {
        Arc::new(HumanRenderer::new(ctx.ui.clone()))
    };
    let cancel = CancellationToken::new();
    let observer: RouterObserver = {
        let events = events.clone();
        Arc::new(move |ev: &RouterEvent| {
            events.emit(Event::Routing {
                message: ev.to_string(),
            })
        })
    };
    let sink: Arc<dyn UsageSink> = Arc::new(store.clone());
    let keys = crate::keys::Keys::new(
        &ctx.env,
        config.providers.values(),
        crate::keys::keychain_store(&ctx.env),
    );
    let models: Arc<dyn Models> = match &args.replay {
        Some(path) => {
            let consumed = crate::agent::Session::answers_consumed(&store, req.project_id)?;
            let replay = ReplayProvider::open(path)?.starting_at(consumed);
            // No provider is called, so no key is looked up.
            let sink: Arc<dyn UsageSink> = Arc::new(ReplaySink(sink));
            let layer =
                ModelLayer::for_providers(&config, &keys, &[], sink, observer, cancel.clone())?;
            Arc::new(ReplayModels {
                replay: Arc::new(replay),
                layer,
            })
        }
        None => {
            // Only the providers this run can call have their keys looked up.
            let used: Vec<String> =
                match args.model.as_ref().and_then(|m| m.parse::<ModelRef>().ok()) {
                    Some(m) => vec![m.provider],
                    None => config
                        .routes
                        .values()
                        .flatten()
                        .map(|m| m.provider.clone())
                        .collect(),
                };
            let used: Vec<&str> = used.iter().map(String::as_str).collect();
            let layer =
                ModelLayer::for_providers(&config, &keys, &used, sink, observer, cancel.clone())?
                    .with_price_table(crate::llm::pricing::load_table(&ctx.paths.data_dir)?);
            Arc::new(LiveModels {
                layer,
                config: config.clone(),
                model: args.model.as_ref().and_then(|m| m.parse().ok()),
                route: args.route.clone(),
                record: args.record.clone(),
            })
        }
    };
    let interactive = ctx.ui.stdin_is_tty() && !ctx.ui.yes() && !ctx.ui.json();
    let asker: Arc<dyn Asker> = if interactive {
        Arc::new(UiAsker { ui: ctx.ui.clone() })
    } else {
        Arc::new(NoQuestions)
    };
    let approver: Arc<dyn Approver> = if policy == ApprovalPolicy::Ask {
        Arc::new(UiApprover { ui: ctx.ui.clone() })
    } else {
        Arc::new(DenyAll)
    };
    let deny: Vec<String> = config
        .providers
        .values()
        .filter_map(|p| p.key_env.clone())
        .collect();
    let flags = crate::exec::sandbox::SandboxFlags {
        mode: args.sandbox,
        network: args.network,
    };
    let sandbox = crate::exec::sandbox::prepare(flags, &config, policy, &ctx.env, &ctx.paths)?;
    if let Some(reason) = &sandbox.settings.unconfined_reason {
        ctx.ui.warn(format!(
            "commands will run without a sandbox ({reason}): approve each one with care"
        ));
    }
    let env = crate::exec::child_env(&ctx.env, &config.exec.env_passthrough, &deny, true);
    let runner = Arc::new(ShellRunner::new(env).with_sandbox(sandbox));
    let deps = AgentDeps {
        store,
        max_cost_usd: args.max_cost.or(config.budget.per_run_usd),
        config,
        models,
        runner,
        approver,
        policy,
        asker,
        events,
        cancel: cancel.clone(),
        home: ctx.env.non_empty("HOME").map(PathBuf::from),
        jobs: args.jobs,
        available_tools: available_tools(&ctx.env),
        template,
        interactive,
    };
    run_with(deps, req, cancel)
}

/// Runs with Ctrl-C wired to the cancellation token, on a runtime of its own.
pub fn run_with(
    deps: AgentDeps,
    req: RunRequest,
    cancel: CancellationToken,
) -> anyhow::Result<Exit> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    Ok(rt.block_on(async move {
        let c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                c.cancel();
            }
        });
        crate::agent::run(&deps, req).await
    }))
}

/// Approver for policies that never ask.
struct DenyAll;

impl Approver for DenyAll {
    fn approve(&self, _command: &str, _cwd: &Path) -> Decision {
        Decision::Deny {
            reason: Some("no one can approve commands in this run".into()),
        }
    }
}

/// Tools on PATH the architect may build with.
fn available_tools(env: &crate::config::Env) -> Vec<String> {
    let path = env.get("PATH").unwrap_or_default();
    [
        "python3", "node", "npm", "cargo", "go", "java", "ruby", "gcc", "make", "bash",
    ]
    .iter()
    .filter(|t| std::env::split_paths(path).any(|d| d.join(t).is_file()))
    .map(|t| t.to_string())
    .collect()
}

/// Live routes (or one `--model` / `--route` for every role), optionally recorded.
struct LiveModels {
    layer: ModelLayer,
    config: Config,
    model: Option<ModelRef>,
    route: Option<String>,
    record: Option<PathBuf>,
}

impl LiveModels {
    fn first(&self, role: &str) -> Option<ModelRef> {
        if let Some(m) = &self.model {
            return Some(m.clone());
        }
        self.config
            .route(self.route.as_deref().unwrap_or(role))
            .first()
            .cloned()
    }
}

impl Models for LiveModels {
    fn for_role(&self, role: &str, context: CallContext) -> Result<Arc<dyn Provider>, LlmError> {
        let provider = match &self.model {
            Some(m) => self.layer.model(m, context)?,
            None => self
                .layer
                .route(self.route.as_deref().unwrap_or(role), context)?,
        };
        Ok(match &self.record {
            Some(path) => Arc::new(RecordingProvider::new(provider, path)),
            None => provider,
        })
    }

    fn estimate_cost(&self, role: &str, input: u64, output: u64) -> Option<f64> {
        let m = self.first(role)?;
        let usage = Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        };
        self.layer.pricing().cost(&m, &usage, false).usd
    }

    fn context_window(&self, role: &str) -> Option<u64> {
        self.layer.pricing().context_window(&self.first(role)?)
    }

    fn sequential(&self) -> bool {
        self.record.is_some()
    }
}

/// Every role answered from one cassette, through a router so usage rows are recorded as for
/// live calls (at no cost).
struct ReplayModels {
    replay: Arc<ReplayProvider>,
    layer: ModelLayer,
}

impl Models for ReplayModels {
    fn for_role(&self, _role: &str, context: CallContext) -> Result<Arc<dyn Provider>, LlmError> {
        let model = ModelRef {
            provider: "replay".into(),
            model: "cassette".into(),
        };
        let entry = RouteEntry::new(self.replay.clone(), model).local(true);
        Ok(self.layer.router_over("replay", vec![entry], context))
    }

    fn estimate_cost(&self, _role: &str, _input: u64, _output: u64) -> Option<f64> {
        Some(0.0)
    }

    fn replayed(&self) -> bool {
        true
    }

    fn context_window(&self, _role: &str) -> Option<u64> {
        None
    }
}

/// Records the answers a replay served (whole or cut by the token limit) and nothing else.
/// A replay attempt that served no answer (the cassette ran out, Ctrl-C) cost nothing, and
/// since replayed rows are keyed by answer position, recording it would make the answer a
/// longer cassette serves at that position later look like a duplicate.
struct ReplaySink(Arc<dyn UsageSink>);

impl UsageSink for ReplaySink {
    fn record(&self, rec: &crate::llm::usage::CallRecord) -> Result<(), String> {
        use crate::llm::usage::Outcome;
        if matches!(rec.outcome, Outcome::Error | Outcome::Cancelled) {
            return Ok(());
        }
        self.0.record(rec)
    }
}
