//! Errors of the workspace. Most of them are answers for the model (a bad path, a missing file,
//! an ambiguous edit): [`WorkspaceError::is_model_error`] tells them apart from real failures.

use crate::exit::{Exit, ExitStatus};

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("the path is empty; give a file path relative to the project root")]
    EmptyPath,
    #[error("path `{path}` is refused: {reason}")]
    PathRefused { path: String, reason: String },
    #[error("`{0}` does not exist; call list_files to see the project's files")]
    NotFound(String),
    #[error("`{0}` is a directory, not a file; call list_files to see its files")]
    IsDirectory(String),
    #[error("`{0}` already exists")]
    Exists(String),
    #[error("`{path}` is {size}, larger than the {limit} limit")]
    TooLarge {
        path: String,
        size: String,
        limit: String,
    },
    #[error("`{path}` is not a UTF-8 text file ({why}); only text files can be read or edited")]
    NotText { path: String, why: String },
    #[error("edit of `{0}` refused: `old` is empty; give the exact text to replace")]
    EmptyOld(String),
    #[error("`old` text not found in `{path}`{hint}; read the file again and copy the exact text")]
    EditNotFound { path: String, hint: String },
    #[error(
        "`old` text matches {count} times in `{path}` (at lines {lines}); include more surrounding lines so it matches once"
    )]
    EditAmbiguous {
        path: String,
        count: usize,
        lines: String,
    },
    #[error(
        "the project has uncommitted changes; checkpoint them before restoring an earlier task"
    )]
    DirtyWorkTree,
    #[error("checkpoint `{0}` was not found in the project's history")]
    UnknownCommit(String),
    #[error("branch `{0}` already exists; choose another name")]
    BranchExists(String),
    #[error(
        "cannot switch the directory to {to}: {} ha{} uncommitted changes that the switch would overwrite; commit or stash {}, then run this again",
        list_paths(paths),
        if paths.len() == 1 { "s" } else { "ve" },
        if paths.len() == 1 { "it" } else { "them" }
    )]
    SwitchBlocked { to: String, paths: Vec<String> },
    #[error("the project directory `{path}` cannot be opened: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot access `{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "a directory in the project is nested deeper than git checkpoints can hold ({} levels); move it up or add it to .gitignore, then run `samocoder resume`",
        super::path::MAX_DIR_DEPTH
    )]
    NestingTooDeep,
    #[error("git failed in the project: {0}")]
    Git(#[from] git2::Error),
}

impl WorkspaceError {
    /// True when the error is an answer for the model (it asked for something invalid) rather
    /// than a failure of the machine (disk, permissions, git).
    pub fn is_model_error(&self) -> bool {
        matches!(
            self,
            WorkspaceError::EmptyPath
                | WorkspaceError::PathRefused { .. }
                | WorkspaceError::NotFound(_)
                | WorkspaceError::IsDirectory(_)
                | WorkspaceError::TooLarge { .. }
                | WorkspaceError::NotText { .. }
                | WorkspaceError::EmptyOld(_)
                | WorkspaceError::EditNotFound { .. }
                | WorkspaceError::EditAmbiguous { .. }
        )
    }

    pub(crate) fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        WorkspaceError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn refused(path: &str, reason: impl Into<String>) -> Self {
        WorkspaceError::PathRefused {
            path: shorten(path, 200),
            reason: reason.into(),
        }
    }
}

impl ExitStatus for WorkspaceError {
    fn exit(&self) -> Exit {
        match self {
            WorkspaceError::Open { .. }
            | WorkspaceError::Io { .. }
            | WorkspaceError::Git(_)
            | WorkspaceError::NestingTooDeep => Exit::Failure,
            _ => Exit::Usage,
        }
    }
}

/// Up to five paths, then how many more.
fn list_paths(paths: &[String]) -> String {
    if paths.is_empty() {
        return "some files".into();
    }
    let shown: Vec<String> = paths.iter().take(5).map(|p| shorten(p, 120)).collect();
    let more = paths.len().saturating_sub(5);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// A size for people: `512 B`, `3.2 KB`, `1.0 MB` (powers of 1024, one decimal).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Cuts untrusted text for an error message (char-safe, control characters escaped).
pub(crate) fn shorten(text: &str, max_chars: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max_chars)
        .collect::<String>()
        .escape_debug()
        .collect();
    if text.chars().count() > max_chars {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KB");
        assert_eq!(human_size(3_355_443), "3.2 MB");
    }

    #[test]
    fn model_errors_are_told_apart_from_io() {
        assert!(WorkspaceError::NotFound("a".into()).is_model_error());
        let io = WorkspaceError::io("a", std::io::Error::other("disk"));
        assert!(!io.is_model_error());
        assert_eq!(io.exit(), Exit::Failure);
        assert_eq!(WorkspaceError::EmptyPath.exit(), Exit::Usage);
    }

    #[test]
    fn shorten_escapes_and_cuts() {
        assert_eq!(shorten("a\0b", 10), "a\\0b");
        assert_eq!(shorten("abcdef", 3), "abc…");
    }
}
