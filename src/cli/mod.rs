//! The command tree. Raw arguments are parsed here and turned into a [`Ctx`] (paths, UI,
//! environment snapshot, config on demand); each subcommand lives in its own file.
#![allow(clippy::print_stderr)]

mod agent_run;
mod ask;
mod budget;
mod completions;
mod config;
mod config_edit;
mod doctor;
mod editor;
mod error;
mod estimate;
mod export;
mod files;
mod keys;
mod keys_test;
mod log;
mod man;
mod models;
mod new;
mod plan;
mod prices;
mod projects;
mod resume;
mod rm;
mod run_settings;
mod runtime;
pub mod sandbox_exec;
mod show;
mod templates;
mod usage;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand};

use crate::config::{Env, Paths};
use crate::exit::Exit;
use crate::ui::{ColorChoice, Ui, UiOptions, Verbosity};

/// samocoder: plans, writes, tests and fixes a project from a description, with your own keys.
#[derive(Debug, Parser)]
#[command(name = "samocoder", version, about, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 ok, 1 the work failed, 2 bad usage/config/input, \
3 budget exhausted, 4 no provider could serve, 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Machine-readable output: JSON on stdout (one object per line for streams of events).
    #[arg(long, global = true)]
    pub json: bool,
    /// Never ask: answer yes to confirmations and take safe defaults.
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// Say more (-v debug logs on stderr, -vv everything).
    #[arg(short = 'v', long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Say only warnings and errors.
    #[arg(short = 'q', long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// When to use colour (NO_COLOR in the environment means never, unless --color always).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Override a config value for this run: a dotted path and a TOML value (repeatable).
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE", global = true)]
    pub overrides: Vec<String>,
    /// Keep config, database and logs under this one directory.
    #[arg(long, env = "SAMOCODER_HOME", global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a new project from a description: spec, architecture, plan, code, tests, fixes.
    New(new::NewArgs),
    /// Carry on with a project from its last saved step (or add a change with -d).
    Resume(resume::ResumeArgs),
    /// List projects with their directory, status, creation time and cost so far.
    Projects(projects::ProjectsArgs),
    /// Show one project: directory, status, spec, tasks, last error, cost and budget.
    Show(show::ShowArgs),
    /// Show a project's plan with a cost estimate; `--edit` changes it in $EDITOR.
    Plan(plan::PlanArgs),
    /// Show everything done for a project: model calls, files written, commands, checkpoints.
    Log(log::LogArgs),
    /// Show or set a project's budget: the most it may spend in all (`--clear` removes it).
    Budget(budget::BudgetArgs),
    /// Show a project's files as a tree, or one file's contents.
    Files(files::FilesArgs),
    /// Report tokens, requests and cost per provider/model, project, role or day.
    Usage(usage::UsageArgs),
    /// Zip a project directory (honours .gitignore; leaves out .git, secrets, outside links).
    Export(export::ExportArgs),
    /// Send one prompt through a route (or one model) and print the answer.
    Ask(ask::AskArgs),
    /// List each provider's models (GET /models) with known prices and context windows.
    Models(models::ModelsArgs),
    /// Check the setup: config, database, keychain, provider keys and routes.
    Doctor(doctor::DoctorArgs),
    /// Store, list and remove provider API keys (OS keychain; environment variables win).
    Keys(keys::KeysArgs),
    /// Show and change the configuration.
    Config(config::ConfigArgs),
    /// Import a newer LiteLLM price file, or show the prices in use.
    Prices(prices::PricesArgs),
    /// List the starter project templates.
    Templates(templates::TemplatesArgs),
    /// Forget a project (--files also deletes its directory, after asking).
    Rm(rm::RmArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff) for samocoder.
    Man(man::ManArgs),
}

/// What every command gets: the resolved context of this invocation.
pub struct Ctx {
    pub ui: Ui,
    pub paths: Paths,
    pub env: Env,
    pub global: GlobalArgs,
}

pub use error::{CliError, Result, UsageError};

/// Parses the process arguments, runs the command, prints an error once, and exits.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
            // Help and version go to stdout; a closed pipe there is fine.
            let _ = e.print();
            return code.into();
        }
    };
    let env = Env::from_process();
    let verbosity = if cli.global.quiet {
        Verbosity::Quiet
    } else if cli.global.verbose > 0 {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let ui = Ui::new(UiOptions {
        json: cli.global.json,
        yes: cli.global.yes,
        color: cli.global.color,
        verbosity,
        no_color_env: env.get("NO_COLOR").is_some(),
        force_color_env: env.non_empty("CLICOLOR_FORCE").is_some_and(|v| v != "0"),
    });
    let paths = match &cli.global.home {
        Some(home) => Ok(Paths::under(home)),
        None => Paths::platform(),
    };
    let paths = match paths {
        Ok(p) => p,
        Err(e) => {
            ui.error(e.to_string());
            return Exit::Usage.into();
        }
    };
    let (_log_guard, log_problem) =
        crate::logging::init(&paths.log_dir, cli.global.verbose, ui.color_err(), &env);
    if let Some(p) = log_problem
        && verbosity == Verbosity::Verbose
    {
        ui.warn(p);
    }
    tracing::debug!(command = ?std::env::args().nth(1), "start");
    let ctx = Ctx {
        ui,
        paths,
        env,
        global: cli.global.clone(),
    };
    match run(cli.command, &ctx) {
        Ok(exit) => exit.into(),
        Err(err) => {
            if err.is_broken_pipe() {
                return Exit::Ok.into();
            }
            let exit = err.exit();
            tracing::error!(error = %err, code = exit.code(), "command failed");
            ctx.ui.error(err.one_line());
            exit.into()
        }
    }
}

fn run(command: Command, ctx: &Ctx) -> Result<Exit> {
    match command {
        Command::New(args) => new::run(args, ctx),
        Command::Resume(args) => resume::run(args, ctx),
        Command::Config(args) => config::run(args, ctx),
        Command::Completions(args) => completions::run(args, ctx),
        Command::Man(args) => man::run(args, ctx),
        Command::Keys(args) => keys::run(args, ctx),
        Command::Export(args) => export::run(args, ctx),
        Command::Templates(args) => templates::run(args, ctx),
        Command::Projects(args) => projects::run(args, ctx),
        Command::Show(args) => show::run(args, ctx),
        Command::Budget(args) => budget::run(args, ctx),
        Command::Plan(args) => plan::run(args, ctx),
        Command::Log(args) => log::run(args, ctx),
        Command::Rm(args) => rm::run(args, ctx),
        Command::Ask(args) => ask::run(args, ctx),
        Command::Models(args) => models::run(args, ctx),
        Command::Doctor(args) => doctor::run(args, ctx),
        Command::Prices(args) => prices::run(args, ctx),
        Command::Usage(args) => usage::run(args, ctx),
        Command::Files(args) => files::run(args, ctx),
    }
}

/// The clap command, for completions and the man page.
pub fn command() -> clap::Command {
    Cli::command()
}

impl Ctx {
    /// Loads the configuration: file, `SAMOCODER__*` environment and `-c` flags.
    pub fn load_config(&self) -> Result<crate::config::Loaded, crate::config::ConfigError> {
        crate::config::load(&self.paths.config_file, &self.env, &self.global.overrides)
    }

    /// Why `dir` is not samocoder's to take as a project (the root, the home directory or
    /// above it, samocoder's own directories), if it is not.
    pub fn precious(&self, dir: &std::path::Path) -> Option<crate::workspace::Precious> {
        let homes: Vec<PathBuf> = ["HOME", "USERPROFILE"]
            .iter()
            .filter_map(|k| self.env.non_empty(k))
            .map(PathBuf::from)
            .collect();
        let p = &self.paths;
        crate::workspace::precious(
            dir,
            &homes,
            &[
                p.data_dir.as_path(),
                p.config_dir.as_path(),
                p.log_dir.as_path(),
            ],
        )
    }

    /// The resolved configuration.
    pub fn config(&self) -> Result<crate::config::Config, crate::config::ConfigError> {
        self.load_config().map(|l| l.config)
    }
}
