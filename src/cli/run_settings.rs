//! The flags of `new` and `resume`, resolved once (with the config and the terminal) into the
//! [`RunSettings`] the run is built from. Every check clap cannot do happens here, before
//! anything is written.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::{Ctx, Result, UsageError};
use crate::agent::ModelChoice;
use crate::config::{Config, ModelRef};
use crate::exec::ApprovalPolicy;
use crate::exec::SandboxRuntime;

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
    /// Stop once the plan is made and show it with a cost estimate (`samocoder plan` shows
    /// and edits it; `resume` carries it out).
    #[arg(long)]
    pub plan_only: bool,
    /// Show what the run would cost (a range) and stop; nothing is created or spent.
    #[arg(long, conflicts_with = "plan_only")]
    pub estimate: bool,
    /// Work in an adopted repository that has uncommitted changes: they are left exactly as
    /// they are, out of samocoder's commits, and samocoder never edits those files.
    #[arg(long)]
    pub allow_dirty: bool,
}

/// Where the answers come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answers {
    /// Providers, through the routes (or one route or model), optionally recorded.
    Live {
        choice: ModelChoice,
        record: Option<PathBuf>,
    },
    /// A cassette.
    Replay(PathBuf),
}

/// Everything a run's flags decide, checked.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub policy: ApprovalPolicy,
    /// `--max-cost`, else `budget.per_run_usd`.
    pub max_cost_usd: Option<f64>,
    pub jobs: usize,
    pub answers: Answers,
    /// Someone at the terminal answers approvals and questions (stdin is a terminal and no
    /// `--yes`).
    pub interactive: bool,
    /// `--template` of `new`.
    pub template: Option<String>,
    /// How the run's commands are confined (flags, config and what this machine can do).
    pub sandbox: SandboxRuntime,
    /// `--plan-only`.
    pub plan_only: bool,
    /// `--estimate`: a dry run.
    pub estimate: bool,
    /// `--allow-dirty`.
    pub allow_dirty: bool,
}

impl RunSettings {
    /// Checks the flags against the config and the terminal and resolves them.
    pub fn resolve(args: &RunArgs, ctx: &Ctx, config: &Config) -> Result<RunSettings> {
        if let Some(c) = args.max_cost
            && !(c.is_finite() && c > 0.0)
        {
            return Err(UsageError(format!(
                "--max-cost must be a dollar amount above 0, got {c}"
            ))
            .into());
        }
        if args.jobs == 0 || args.jobs > 64 {
            return Err(UsageError("--jobs must be from 1 to 64".into()).into());
        }
        let choice = match (&args.model, &args.route) {
            (Some(m), _) => {
                let m: ModelRef = m
                    .parse()
                    .map_err(|e: crate::config::BadModelRef| UsageError(e.to_string()))?;
                if config.provider(&m.provider).is_none() {
                    return Err(UsageError(format!(
                        "--model {m}: no provider named `{}` in the config",
                        m.provider
                    ))
                    .into());
                }
                ModelChoice::Model(m)
            }
            (None, Some(r)) if !config.routes.contains_key(r) => {
                return Err(UsageError(format!(
                    "--route {r}: no such route; the routes are {}",
                    config.routes.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
                .into());
            }
            (None, Some(r)) => ModelChoice::Route(r.clone()),
            (None, None) => ModelChoice::Routes,
        };
        let answers = match &args.replay {
            Some(p) if !p.is_file() => {
                return Err(UsageError(format!("--replay {}: no such file", p.display())).into());
            }
            Some(p) => Answers::Replay(p.clone()),
            None => Answers::Live {
                choice,
                record: args.record.clone(),
            },
        };
        let policy = match args.approve {
            Some(PolicyArg::Ask) => ApprovalPolicy::Ask,
            Some(PolicyArg::Auto) => ApprovalPolicy::Auto,
            Some(PolicyArg::Never) => ApprovalPolicy::Never,
            None if ctx.ui.yes() => ApprovalPolicy::Auto,
            None => ApprovalPolicy::Ask,
        };
        let interactive = ctx.ui.stdin_is_tty() && !ctx.ui.yes();
        // A dry run runs no command, so it needs no one to approve them.
        if policy == ApprovalPolicy::Ask && !interactive && !args.estimate {
            return Err(UsageError(
                "commands need your approval but stdin is not a terminal: pass --yes (runs them with --approve auto) or --approve never".into(),
            )
            .into());
        }
        // Checked here, before anything is created: a run that cannot confine its commands
        // under `--yes` is refused with what to do.
        let flags = crate::exec::sandbox::SandboxFlags {
            mode: args.sandbox,
            network: args.network,
        };
        let sandbox = crate::exec::sandbox::prepare(flags, config, policy, &ctx.env, &ctx.paths)?;
        Ok(RunSettings {
            policy,
            max_cost_usd: args.max_cost.or(config.budget.per_run_usd),
            jobs: args.jobs,
            answers,
            interactive,
            template: None,
            sandbox,
            plan_only: args.plan_only,
            estimate: args.estimate,
            allow_dirty: args.allow_dirty,
        })
    }
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
