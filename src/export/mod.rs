//! Zip archives of project directories (`samocoder export`).
//!
//! An export is two steps: [`plan`] lists the directory through the workspace and decides what
//! goes in (honouring `.gitignore`/`.ignore`, leaving out `.git/`, samocoder's metadata,
//! secret-looking files, files over a size limit and symlinks that leave the project) and
//! [`write_zip`] turns the plan into a zip, reading through the workspace. The helpers
//! [`export_to_file`] and [`export_to_writer`] do both and never leave a broken archive under
//! the final name. Nothing here prints: progress goes through the [`Progress`] trait.

mod archive;
mod report;
mod select;

use std::io;
use std::path::PathBuf;

use crate::exit::{Exit, ExitStatus};

pub use archive::{
    export_to_file, export_to_writer, is_partial_name, remove_stale_partials, write_atomically,
    write_zip,
};
pub use report::{ExportReport, SkipReason, Skipped};
pub use select::{Entry, EntryKind, Plan, SECRET_PATTERNS, is_secret_name, plan, safe_entry_name};

/// Files made for the archive (not read from the project), put under a directory of their own:
/// the first of `dirs` that the project's entries do not already use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    /// Candidate directory names, in order of preference (`samocoder`, ...).
    pub dirs: Vec<String>,
    /// (name inside that directory, content).
    pub files: Vec<(String, Vec<u8>)>,
}

/// What to put in an archive and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Files to add under a directory of their own (`export --provenance`).
    pub extra: Option<Extra>,
    /// Keep `.git/` directories (left out by default).
    pub include_git: bool,
    /// Keep secret-looking files such as `.env` or `*.pem` (left out by default).
    pub include_secrets: bool,
    /// Byte-identical archives for identical trees: every timestamp is 1980-01-01 00:00 and
    /// modes are normalised to 0644/0755 (files with any exec bit become 0755).
    pub reproducible: bool,
    /// Files larger than this are left out (and named); `None`: no limit.
    pub max_file_bytes: Option<u64>,
}

/// Told about the progress of [`write_zip`]. All methods have empty defaults.
pub trait Progress {
    /// Called once before the first entry with the totals of the plan.
    fn start(&mut self, _files: u64, _bytes: u64) {}
    /// Called after each entry is written (`bytes` is that entry's uncompressed size).
    fn entry_done(&mut self, _name: &str, _bytes: u64) {}
    /// Called once when the archive is complete.
    fn finish(&mut self) {}
    /// Asked between chunks of the archive: true stops the export with
    /// [`ExportError::Interrupted`] (its temporary file removed). Ctrl-C and SIGTERM say so.
    fn cancelled(&self) -> bool {
        false
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Everything that can go wrong with an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0} is not a directory; pass the project directory to export")]
    NotADirectory(PathBuf),
    #[error("{0} already exists; pass --force to overwrite it or choose another name with -o")]
    Exists(PathBuf),
    #[error("the output {0} is a directory; give a file name such as {0}/project.zip")]
    OutputIsDirectory(PathBuf),
    #[error("refusing unsafe archive entry name {0:?} (absolute, `..` or not a plain path)")]
    UnsafeName(String),
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not write the archive {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not write the archive: {0}")]
    Archive(#[source] io::Error),
    #[error("could not build the zip archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("could not read the project directory: {0}")]
    Workspace(#[from] crate::workspace::WorkspaceError),
    #[error(
        "the project already has files named {0:?}; the added files have no directory to go in"
    )]
    ExtraDirTaken(Vec<String>),
    #[error("the export was interrupted; nothing was written (run it again)")]
    Interrupted,
}

impl ExitStatus for ExportError {
    fn exit(&self) -> Exit {
        match self {
            ExportError::NotADirectory(_)
            | ExportError::Exists(_)
            | ExportError::OutputIsDirectory(_)
            | ExportError::UnsafeName(_)
            | ExportError::ExtraDirTaken(_) => Exit::Usage,
            ExportError::Read { .. }
            | ExportError::Write { .. }
            | ExportError::Archive(_)
            | ExportError::Zip(_) => Exit::Failure,
            ExportError::Workspace(e) => e.exit(),
            ExportError::Interrupted => Exit::Interrupted,
        }
    }
}

#[cfg(test)]
mod tests;
