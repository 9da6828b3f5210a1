//! `samocoder export PROJECT` / `samocoder export --dir PATH`: zip a project directory.
//!
//! One of PROJECT and --dir is required: exporting "the latest project" by default would make a
//! script's output depend on whatever ran last.
use super::Result;

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args};

use super::projects::{clean, open_store};
use super::{Ctx, UsageError};
use crate::exit::Exit;
use crate::export::{self, ExportOptions, ExportReport, Progress, SkipReason};
use crate::store::StoreError;
use crate::ui::{Bar, Ui};

/// A bar is shown only for exports above these sizes (and only on a terminal).
const BAR_MIN_FILES: u64 = 200;
const BAR_MIN_BYTES: u64 = 5 * 1024 * 1024;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["project", "dir"])))]
pub struct ExportArgs {
    /// The project to export (name or id, as listed by `samocoder projects`).
    #[arg(value_name = "PROJECT")]
    pub project: Option<String>,
    /// Export this directory (honours .gitignore/.ignore; leaves out .git, secrets and
    /// symlinks that leave it).
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Where to write the zip ("-" for stdout). Default: <project name>.zip (or <dirname>.zip
    /// with --dir) in the current directory.
    #[arg(short, long, value_name = "FILE.zip")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Keep .git directories.
    #[arg(long)]
    pub include_git: bool,
    /// Keep secret-looking files (.env, *.pem, *.key, id_rsa*, .npmrc, ...).
    #[arg(long)]
    pub include_secrets: bool,
    /// Byte-identical archives for identical trees (fixed timestamps and modes).
    #[arg(long)]
    pub reproducible: bool,
    /// Keep files larger than `limits.max_user_file_bytes` (left out by default, like
    /// checkpoints leave them out).
    #[arg(long)]
    pub include_large: bool,
    /// Add how the project was made under `samocoder/` in the zip: the spec, the plan,
    /// per-task test results, the command log, the cost ledger (CSV), the whole log and a
    /// manifest with the samocoder and price-table versions (never a key or the database).
    #[arg(long, requires = "project")]
    pub provenance: bool,
}

pub fn run(args: ExportArgs, ctx: &Ctx) -> Result<Exit> {
    let mut extra = None;
    let (dir, default_name) = match (args.project, args.dir) {
        (Some(name), None) => {
            let store =
                open_store(ctx)?.ok_or_else(|| StoreError::NoProject { name: name.clone() })?;
            let p = store.get_project(&name)?;
            if args.provenance {
                extra = Some(crate::export::Extra {
                    dirs: vec!["samocoder".into(), "samocoder-provenance".into()],
                    files: provenance_files(ctx, &store, &p)?,
                });
            }
            if !p.dir.is_dir() {
                return Err(UsageError(format!(
                    "the directory of project {} ({}) is missing; nothing to export",
                    clean(&p.name),
                    clean(&p.dir.display().to_string())
                ))
                .into());
            }
            let file = PathBuf::from(format!("{}.zip", p.name));
            (p.dir, Some(file))
        }
        (None, Some(dir)) => (dir, None),
        _ => {
            return Err(UsageError(
                "name the project to export (see `samocoder projects`) or pass --dir PATH".into(),
            )
            .into());
        }
    };
    let limits = ctx.config()?.limits;
    let opts = ExportOptions {
        extra,
        include_git: args.include_git,
        include_secrets: args.include_secrets,
        reproducible: args.reproducible,
        // The same limit as checkpoints: files samocoder writes always fit under it.
        max_file_bytes: (!args.include_large)
            .then(|| limits.max_user_file_bytes.max(limits.max_file_bytes)),
    };
    // Ctrl-C and SIGTERM stop the export between chunks, so its temporary file is removed.
    let interrupted = super::runtime::interrupt_flag()?;
    let mut progress = BarProgress::new(&ctx.ui, interrupted);
    let report = if args.output.as_deref() == Some(Path::new("-")) {
        if ctx.ui.json() {
            return Err(UsageError(
                "--json cannot be combined with -o - (stdout carries the zip); write to a file"
                    .into(),
            )
            .into());
        }
        if io::stdout().is_terminal() {
            return Err(UsageError(
                "refusing to write a zip to a terminal; redirect stdout or use -o FILE.zip".into(),
            )
            .into());
        }
        export::export_to_writer(&dir, &opts, &mut io::stdout().lock(), &mut progress)?
    } else {
        let dest = match (args.output, default_name) {
            (Some(p), _) => p,
            (None, Some(name)) => name,
            (None, None) => default_output(&dir)?,
        };
        export::export_to_file(&dir, &dest, &opts, args.force, &mut progress)?
    };
    print_report(&ctx.ui, &report)?;
    Ok(Exit::Ok)
}

/// The provenance files of `p`, for the archive.
fn provenance_files(
    ctx: &Ctx,
    store: &crate::store::Store,
    p: &crate::store::Project,
) -> Result<Vec<(String, Vec<u8>)>> {
    let tasks = store.list_tasks(p.id)?;
    let verify = store.steps_of_kind(p.id, crate::store::StepKind::Verify)?;
    let timeline = crate::provenance::Timeline::load(store, &crate::store::ProjectKey::from(p))?;
    let adoption = store.adoption(p.id)?;
    let table = crate::llm::pricing::load_table(&ctx.paths.data_dir)?;
    let sources = table
        .sources
        .values()
        .map(|s| s.label())
        .collect::<Vec<_>>()
        .join(", ");
    let input = crate::provenance::bundle::Input {
        project: p,
        tasks: &tasks,
        verify: &verify,
        timeline: &timeline,
        adoption: adoption.as_ref(),
        price_table: (&sources, &table.version),
        schema_version: crate::store::SCHEMA_VERSION,
        now_ms: chrono::Utc::now().timestamp_millis(),
    };
    Ok(crate::provenance::bundle::bundle(&input)
        .into_iter()
        .map(|(name, content)| (name, content.into_bytes()))
        .collect())
}

/// `<dirname>.zip` in the current directory.
fn default_output(dir: &Path) -> Result<PathBuf> {
    let canon = std::fs::canonicalize(dir)
        .map_err(|_| export::ExportError::NotADirectory(dir.to_path_buf()))?;
    let name = canon
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".into());
    Ok(PathBuf::from(format!("{name}.zip")))
}

fn print_report(ui: &Ui, r: &ExportReport) -> io::Result<()> {
    if ui.json() {
        return ui.json_line(r);
    }
    for w in &r.warnings {
        ui.warn(w);
    }
    let mut ignored = 0;
    for s in &r.skipped {
        if s.reason == SkipReason::Ignored
            && !matches!(ui.verbosity(), crate::ui::Verbosity::Verbose)
        {
            ignored += 1;
        } else if let Some(size) = s.size {
            ui.info(format!(
                "  skipped {} ({}): {}",
                s.path,
                human_bytes(size),
                s.reason.describe()
            ));
        } else {
            ui.info(format!("  skipped {}: {}", s.path, s.reason.describe()));
        }
    }
    if ignored > 0 {
        ui.info(format!(
            "  skipped {ignored} path(s) matching .gitignore/.ignore rules (-v lists them)"
        ));
    }
    let to = match &r.path {
        Some(p) => p.display().to_string(),
        None => "stdout".into(),
    };
    if let Some(d) = &r.provenance {
        ui.info(format!("  added how the project was made under {d}/"));
    }
    ui.info(format!(
        "Exported {} file(s), {} symlink(s) ({}) to {to} ({} compressed)",
        r.files,
        r.symlinks,
        human_bytes(r.bytes),
        human_bytes(r.archive_bytes)
    ));
    Ok(())
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Shows a bar for large exports only.
struct BarProgress<'a> {
    ui: &'a Ui,
    bar: Option<Bar>,
    bytes_done: u64,
    bytes_total: u64,
    interrupted: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<'a> BarProgress<'a> {
    fn new(ui: &'a Ui, interrupted: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        BarProgress {
            ui,
            bar: None,
            bytes_done: 0,
            bytes_total: 0,
            interrupted,
        }
    }
}

impl Progress for BarProgress<'_> {
    fn cancelled(&self) -> bool {
        self.interrupted.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn start(&mut self, files: u64, bytes: u64) {
        self.bytes_total = bytes;
        if files > BAR_MIN_FILES || bytes > BAR_MIN_BYTES {
            self.bar = Some(self.ui.progress_bar(files, "entries"));
        }
    }
    fn entry_done(&mut self, _name: &str, bytes: u64) {
        self.bytes_done += bytes;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format!(
                "{} / {}",
                human_bytes(self.bytes_done),
                human_bytes(self.bytes_total)
            ));
        }
    }
    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn bytes_for_humans() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MB");
    }
}
