//! What an export did: counts, sizes and every path it left out, with the reason.

use std::path::PathBuf;

use serde::Serialize;

/// Why a path was left out of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Matched a `.gitignore`, `.ignore` or `.git/info/exclude` rule.
    Ignored,
    /// A `.git` directory or file (kept with `--include-git`).
    Git,
    /// samocoder's own metadata (`.samocoder/`).
    Metadata,
    /// Looks like a secret (kept with `--include-secrets`).
    Secret,
    /// A symlink whose target lies outside the project.
    SymlinkOutside,
    /// A symlink with an absolute target.
    SymlinkAbsolute,
    /// A symlink whose target does not exist.
    SymlinkDangling,
    /// A socket, FIFO or device.
    SpecialFile,
    /// A name that is not valid UTF-8 or could not be stored safely.
    UnsafeName,
    /// The archive being written (it lives inside the project directory).
    OutputFile,
    /// A file larger than the export's size limit (kept with `--include-large`).
    TooLarge,
}

impl SkipReason {
    /// One line for a human.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::Ignored => "matched a .gitignore/.ignore rule",
            SkipReason::Git => "git metadata (use --include-git to keep it)",
            SkipReason::Metadata => "samocoder metadata",
            SkipReason::Secret => "looks like a secret (use --include-secrets to keep it)",
            SkipReason::SymlinkOutside => "symlink pointing outside the project",
            SkipReason::SymlinkAbsolute => "symlink with an absolute target",
            SkipReason::SymlinkDangling => "symlink whose target does not exist",
            SkipReason::SpecialFile => "not a regular file, directory or symlink",
            SkipReason::UnsafeName => "name cannot be stored safely in a zip",
            SkipReason::OutputFile => "the archive being written",
            SkipReason::TooLarge => "larger than the size limit (use --include-large to keep it)",
        }
    }
}

/// One path left out of an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Relative to the project root, `/`-separated (lossy for non-UTF-8 names).
    pub path: String,
    pub reason: SkipReason,
    /// The file's size, for [`SkipReason::TooLarge`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// The summary of a finished export (`--json` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// Where the archive was written; `None` when it went to a writer (stdout).
    pub path: Option<PathBuf>,
    /// Regular files stored.
    pub files: u64,
    /// Directories stored.
    pub directories: u64,
    /// Symlinks stored as links.
    pub symlinks: u64,
    /// Uncompressed size of the stored files.
    pub bytes: u64,
    /// Size of the archive itself.
    pub archive_bytes: u64,
    /// Everything left out, sorted by path.
    pub skipped: Vec<Skipped>,
    /// Problems that did not stop the export (e.g. an unparsable ignore rule).
    pub warnings: Vec<String>,
    /// Where `--provenance` put its files in the archive (`samocoder` unless the project
    /// already has that name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<String>,
}
