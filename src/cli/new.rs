//! `samocoder new`: register a project and build it, or adopt a directory the user already has
//! (`--here`, or `--dir` with files in it) and make the change it is asked for there.
use super::Result;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::agent_run;
use super::run_settings::{RunArgs, RunSettings, cassette_header};
use super::{Ctx, UsageError};
use crate::agent::{ProjectLock, RunRequest};
use crate::clock::SystemClock;
use crate::exit::Exit;
use crate::protocol::RunCommand;
use crate::store::{NewProject, Store};

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The project's name (letters, digits, . _ -); default: from the description.
    pub name: Option<String>,
    /// What to build, in a sentence or a paragraph.
    #[arg(
        short = 'd',
        long = "description",
        value_name = "TEXT",
        conflicts_with = "spec"
    )]
    pub description: Option<String>,
    /// Read the description from a file.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Where to build it (default: ./NAME). A directory with files in it is adopted.
    #[arg(long, value_name = "PATH", conflicts_with = "here")]
    pub dir: Option<PathBuf>,
    /// Work on the current directory: adopt it (a repository you already have) and make the
    /// change the description asks for, on a branch of samocoder's own.
    #[arg(long)]
    pub here: bool,
    /// No longer needed: a directory with files in it is adopted, never overwritten.
    #[arg(long, hide = true)]
    pub force: bool,
    /// Start from this starter template (see `samocoder templates`).
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

const MAX_DESCRIPTION: usize = 64 * 1024;

pub fn run(args: NewArgs, ctx: &Ctx) -> Result<Exit> {
    let config = ctx.config()?;
    let mut settings = RunSettings::resolve(&args.run, ctx, &config)?;
    settings.template = args.template.clone();
    if let Some(t) = &args.template
        && !crate::templates::list_starters()?
            .iter()
            .any(|s| &s.name == t)
    {
        return Err(UsageError(format!(
            "no starter template named `{t}`; see `samocoder templates`"
        ))
        .into());
    }
    let header = args.run.replay.as_deref().and_then(cassette_header);
    let description = description(&args, ctx, header.as_ref().and_then(|h| h.1.clone()))?;
    let name = match args
        .name
        .clone()
        .or_else(|| header.as_ref().and_then(|h| h.0.clone()))
    {
        Some(n) => n,
        None => slug(&description),
    };
    crate::store::validate_name(&name)?;
    let dir = match &args.dir {
        Some(d) => absolute(d)?,
        None if args.here => std::env::current_dir()?,
        None => std::env::current_dir()?.join(&name),
    };
    if settings.estimate {
        return dry_run(ctx, &config, &settings, &name);
    }
    let store = Store::open(&ctx.paths.database, Arc::new(SystemClock))?;
    if store.find_project(&name)?.is_some() {
        return Err(UsageError(format!(
            "a project named `{name}` exists; continue it with `samocoder resume {name}` or choose another name"
        ))
        .into());
    }
    if let Some(why) = ctx.precious(&dir) {
        return Err(UsageError(format!(
            "will not build a project in {}: {why}; choose another --dir",
            dir.display()
        ))
        .into());
    }
    if args.force {
        ctx.ui.warn(
            "--force is no longer needed: a directory with files in it is adopted (samocoder works on a branch of its own and never overwrites your files)",
        );
    }
    let adopt = has_files(&dir)?;
    let adopt = adopt && crate::workspace::holds_work(&dir)?;
    if adopt && args.template.is_some() {
        return Err(UsageError(format!(
            "--template starts a new project; {} already has files, which are adopted as they are: leave out --template, or choose an empty --dir",
            dir.display()
        ))
        .into());
    }
    let new = |dir: PathBuf| NewProject {
        name: name.clone(),
        dir,
        description: description.clone(),
        template: args.template.clone(),
        budget_usd: None,
    };
    let project = if adopt {
        let dir = dir.canonicalize()?;
        let command = if args.here {
            "samocoder new --here".to_string()
        } else {
            format!("samocoder new --dir {}", dir.display())
        };
        let crate::agent::NewAdoption {
            project,
            adoption,
            left_out,
        } = crate::agent::adopt(&store, &new(dir), settings.allow_dirty, &command, &config)?;
        if let Some(warning) = left_out {
            ctx.ui
                .warn(warning.replace("the checkpoint left out", "the base commit left out"));
        }
        if !ctx.ui.json() {
            ctx.ui.info(format!(
                "Adopted {} as project {}: samocoder works on branch {} (from {}), never on yours",
                project.dir.display(),
                project.name,
                adoption.branch,
                adoption.base_branch.clone().unwrap_or_else(|| adoption
                    .base_commit
                    .chars()
                    .take(8)
                    .collect()),
            ));
        }
        project
    } else {
        std::fs::create_dir_all(&dir)
            .map_err(|e| UsageError(format!("cannot create {}: {e}", dir.display())))?;
        let project = store.create_project(&new(dir.canonicalize()?))?;
        store.append_audit(
            Some(project.id),
            "project.new",
            &serde_json::json!({"name": name}),
        )?;
        project
    };
    let lock = ProjectLock::acquire(&ctx.paths.data_dir, project.id, &project.name)?;
    let exit = agent_run::run_agent(
        lock,
        ctx,
        config,
        store.clone(),
        &settings,
        RunRequest {
            project_id: project.id,
            command: RunCommand::New,
            change_request: None,
            restart: None,
            plan_only: settings.plan_only,
        },
    )?;
    if settings.plan_only && exit == Exit::Ok && !ctx.ui.json() {
        super::plan::print_plan(ctx, &store, &store.project_by_id(project.id)?)?;
    }
    Ok(exit)
}

/// `new --estimate`: what the whole run would cost, with nothing created and nothing spent.
fn dry_run(
    ctx: &Ctx,
    config: &crate::config::Config,
    settings: &RunSettings,
    name: &str,
) -> Result<Exit> {
    let store = Store::open_existing(&ctx.paths.database, Arc::new(SystemClock))?;
    if let Some(s) = &store
        && s.find_project(name)?.is_some()
    {
        return Err(UsageError(format!(
            "a project named `{name}` exists; see its estimate with `samocoder resume {name} --estimate`"
        ))
        .into());
    }
    let prices = super::estimate::Prices::new(ctx, config, settings)?;
    let scope = crate::estimate::Scope {
        planning: vec![
            crate::protocol::Role::Spec,
            crate::protocol::Role::Architect,
            crate::protocol::Role::Planner,
        ],
        tasks: None,
        iteration: None,
    };
    let e = super::estimate::make(store.as_ref(), &scope, &prices)?;
    super::estimate::print(ctx, &e, 0.0, &prices)?;
    Ok(Exit::Ok)
}

fn description(args: &NewArgs, ctx: &Ctx, from_cassette: Option<String>) -> Result<String> {
    let text = if let Some(d) = &args.description {
        d.clone()
    } else if let Some(path) = &args.spec {
        std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("cannot read --spec {}: {e}", path.display())))?
    } else if let Some(d) = from_cassette {
        d
    } else if !std::io::stdin().is_terminal() {
        let mut s = String::new();
        std::io::stdin()
            .take(MAX_DESCRIPTION as u64 + 1)
            .read_to_string(&mut s)
            .map_err(|e| UsageError(format!("cannot read the description from stdin: {e}")))?;
        s
    } else if !ctx.ui.yes() {
        dialoguer::Input::<String>::new()
            .with_prompt("What should samocoder build?")
            .interact_text()
            .map_err(|e| UsageError(format!("no description: {e}")))?
    } else {
        String::new()
    };
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(UsageError("say what to build: -d \"a todo CLI in Python with tests\", --spec FILE, or pipe it on stdin".into()).into());
    }
    if text.len() > MAX_DESCRIPTION {
        return Err(UsageError(format!(
            "the description is longer than {MAX_DESCRIPTION} bytes; put the essentials in it"
        ))
        .into());
    }
    Ok(text)
}

/// A project name from the first words of the description.
fn slug(description: &str) -> String {
    let words: Vec<String> = description
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            !w.is_empty()
                && !matches!(
                    w.to_ascii_lowercase().as_str(),
                    "a" | "an" | "the" | "with" | "in" | "and" | "for" | "of"
                )
        })
        .take(3)
        .map(|w| w.to_ascii_lowercase())
        .collect();
    if words.is_empty() {
        "project".into()
    } else {
        words.join("-")
    }
}

fn absolute(p: &Path) -> std::io::Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(p))
    }
}

/// Whether `dir` holds anything; a missing directory is made later, a file is refused.
fn has_files(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(_) if dir.exists() => {
            Err(UsageError(format!("{} is not a directory", dir.display())).into())
        }
        Err(e) => Err(UsageError(format!("cannot use {}: {e}", dir.display())).into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slug_takes_the_first_meaningful_words() {
        assert_eq!(
            super::slug("A todo CLI in Python with tests"),
            "todo-cli-python"
        );
        assert_eq!(super::slug("!!!"), "project");
    }
}
