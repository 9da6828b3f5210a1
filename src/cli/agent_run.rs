//! What `new` and `resume` share: building a run from its settings (models, commands, the
//! renderer, the terminal prompter) and running the agent. Policy lives in `agent` and `exec`;
//! this file only wires the pieces together.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::run_settings::{Answers, RunSettings};
use super::{Ctx, Result};
use crate::agent::{AgentDeps, LiveModels, Models, ProjectLock, ReplayModels, RunRequest};
use crate::config::Config;
use crate::exec::ShellRunner;
use crate::exit::Exit;
use crate::llm::cassette::ReplayProvider;
use crate::llm::setup::ModelLayer;
use crate::llm::usage::UsageSink;
use crate::protocol::{EventSink, Prompter};
use crate::store::Store;
use crate::ui::{HumanRenderer, JsonRenderer};

/// Runs the agent for a project with these settings; returns the exit code.
pub fn run_agent(
    _lock: ProjectLock,
    ctx: &Ctx,
    config: Config,
    store: Store,
    settings: &RunSettings,
    req: RunRequest,
) -> Result<Exit> {
    let cancel = CancellationToken::new();
    // A closed output stops the run like Ctrl-C: its state is saved, nothing more is printed.
    let human =
        (!ctx.ui.json()).then(|| Arc::new(HumanRenderer::new(ctx.ui.clone(), cancel.clone())));
    let events: Arc<dyn EventSink> = match &human {
        Some(h) => h.clone(),
        None => Arc::new(JsonRenderer::new(ctx.ui.clone(), cancel.clone())),
    };
    let models = models(ctx, &config, &store, settings, &req, &cancel)?;
    if let Some(reason) = &settings.sandbox.settings.unconfined_reason {
        ctx.ui.warn(format!(
            "commands will run without a sandbox ({reason}): approve each one with care"
        ));
    }
    let env = crate::exec::child_env(
        &ctx.env,
        &config.exec.env_passthrough,
        &config.key_vars(),
        true,
    );
    let runner = Arc::new(ShellRunner::new(env).with_sandbox(settings.sandbox.clone()));
    let (prompter, prompts) = match settings.interactive {
        true => {
            let (p, rx) = Prompter::channel();
            (Some(p), Some(rx))
        }
        false => (None, None),
    };
    let deps = AgentDeps {
        store,
        max_cost_usd: settings.max_cost_usd,
        config,
        models,
        runner,
        policy: settings.policy,
        prompter,
        events,
        cancel: cancel.clone(),
        home: ctx.env.non_empty("HOME").map(PathBuf::from),
        jobs: settings.jobs,
        available_tools: crate::exec::available_tools(&ctx.env),
        template: settings.template.clone(),
        allow_dirty: settings.allow_dirty,
    };
    let ui = ctx.ui.clone();
    Ok(super::runtime::block_on(2, &cancel, async move {
        if let Some(rx) = prompts {
            crate::ui::serve_prompts(ui, rx, human);
        }
        crate::agent::run(&deps, req).await
    })?)
}

/// The run's models: live routes (keys looked up only for the providers they use), or a
/// replayed cassette (no key, no network).
fn models(
    ctx: &Ctx,
    config: &Config,
    store: &Store,
    settings: &RunSettings,
    req: &RunRequest,
    cancel: &CancellationToken,
) -> Result<Arc<dyn Models>> {
    let sink: Arc<dyn UsageSink> = Arc::new(store.clone());
    let keys = crate::keys::Keys::new(
        &ctx.env,
        config.providers.values(),
        crate::keys::keychain_store(&ctx.env),
    );
    Ok(match &settings.answers {
        Answers::Replay(path) => {
            let consumed = crate::agent::Session::answers_consumed(store, req.project_id)?;
            let replay = ReplayProvider::open(path)?.starting_at(consumed);
            let sink = ReplayModels::sink(sink);
            let layer = ModelLayer::for_providers(config, &keys, &[], sink, cancel.clone())?;
            Arc::new(ReplayModels::new(replay, layer))
        }
        Answers::Live { choice, record } => {
            let used = choice.providers(config);
            let used: Vec<&str> = used.iter().map(String::as_str).collect();
            let layer = ModelLayer::for_providers(config, &keys, &used, sink, cancel.clone())?
                .with_price_table(crate::llm::pricing::load_table(&ctx.paths.data_dir)?);
            Arc::new(LiveModels::new(layer, choice.clone(), record.clone()))
        }
    })
}
