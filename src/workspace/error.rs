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
    #[error(
        "`{path}` is {kind}, not a regular file; samocoder reads and writes only regular files"
    )]
    NotRegular { path: String, kind: &'static str },
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
    #[error(
        "the disk of the project is full (writing `{path}`: {source}); free some space, then run `samocoder resume`"
    )]
    NoSpace {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the project directory `{0}` is gone (moved or deleted); put it back, then run `samocoder resume`"
    )]
    RootGone(String),
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
    /// True when the error is an answer for the model (it asked for something invalid, or
    /// something the file system refuses for that path) rather than a failure of the machine
    /// (a full disk, a vanished project, git). Only meaningful for errors of a tool on a path
    /// the model gave: an OS error is classified by [`os_error_is_about_the_path`].
    pub fn is_model_error(&self) -> bool {
        match self {
            WorkspaceError::EmptyPath
            | WorkspaceError::PathRefused { .. }
            | WorkspaceError::NotFound(_)
            | WorkspaceError::IsDirectory(_)
            | WorkspaceError::TooLarge { .. }
            | WorkspaceError::NotRegular { .. }
            | WorkspaceError::NotText { .. }
            | WorkspaceError::EmptyOld(_)
            | WorkspaceError::EditNotFound { .. }
            | WorkspaceError::EditAmbiguous { .. } => true,
            WorkspaceError::Io { source, .. } => os_error_is_about_the_path(source),
            _ => false,
        }
    }

    /// An OS error on the project path `path` (cut for messages); a full disk or quota is
    /// [`WorkspaceError::NoSpace`].
    pub(crate) fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        let path = shorten(&path.into(), 200);
        if is_disk_full(&source) {
            WorkspaceError::NoSpace { path, source }
        } else {
            WorkspaceError::Io { path, source }
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
            | WorkspaceError::NoSpace { .. }
            | WorkspaceError::RootGone(_)
            | WorkspaceError::Git(_)
            | WorkspaceError::NestingTooDeep => Exit::Failure,
            _ => Exit::Usage,
        }
    }
}

/// The errno of an OS error, also when a library wrapped it (tempfile adds the path and keeps
/// only the kind on the outside).
fn errno(e: &std::io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        let inner = e.get_ref()?;
        let io = match inner.downcast_ref::<std::io::Error>() {
            Some(io) => io,
            None => inner.source()?.downcast_ref::<std::io::Error>()?,
        };
        io.raw_os_error()
    })
}

/// True when `e`, raised by a tool working on a path the model gave, is about that path: the
/// model can choose another path or give up on this one, so the error goes back to it as the
/// tool's result instead of failing the run (and failing it again on every resume). Anything
/// not listed (I/O errors, no memory, too many open files, a stale NFS handle, an unknown
/// error) is the machine's and stops the run; a full disk never reaches here (see
/// [`WorkspaceError::NoSpace`]).
pub(crate) fn os_error_is_about_the_path(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    if let Some(code) = errno(e) {
        return matches!(
            code,
            libc::ENAMETOOLONG // too long once absolute, or a component over the limit
                | libc::ENOTDIR // a parent is a file
                | libc::EISDIR
                | libc::ELOOP // a link loop, or a link where none may be
                | libc::EACCES
                | libc::EPERM
                | libc::EROFS // a read-only mount inside the project
                | libc::EINVAL // a name the file system does not take
                | libc::EILSEQ // a name not valid in the file system's encoding
                | libc::ENXIO // a socket, or a device without its driver
                | libc::ENODEV
                | libc::ETXTBSY // a running executable
                | libc::EBUSY // a mount point
                | libc::EEXIST
                | libc::ENOTEMPTY
                | libc::EFBIG // larger than the file system takes
                | libc::EMLINK
                | libc::EXDEV
                | libc::ENOENT // a directory on the way vanished (a command removed it)
        );
    }
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::InvalidFilename
            | K::NotADirectory
            | K::IsADirectory
            | K::PermissionDenied
            | K::ReadOnlyFilesystem
            | K::InvalidInput
            | K::AlreadyExists
            | K::DirectoryNotEmpty
            | K::FileTooLarge
            | K::ExecutableFileBusy
            | K::ResourceBusy
            | K::TooManyLinks
            | K::CrossesDevices
            | K::NotFound
    )
}

/// The disk (or the user's quota) is full: not the model's doing.
fn is_disk_full(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    if let Some(code) = errno(e) {
        return code == libc::ENOSPC || code == libc::EDQUOT;
    }
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
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

    #[cfg(unix)]
    #[test]
    fn regression_os_errors_on_a_model_path_are_tool_errors_classified_by_errno() {
        let os = |code| WorkspaceError::io("a/b", std::io::Error::from_raw_os_error(code));
        for code in [
            libc::ENAMETOOLONG,
            libc::ENOTDIR,
            libc::EISDIR,
            libc::ELOOP,
            libc::EACCES,
            libc::EPERM,
            libc::EROFS,
            libc::EINVAL,
            libc::EILSEQ,
            libc::ENXIO,
            libc::ETXTBSY,
            libc::EFBIG,
        ] {
            let e = os(code);
            assert!(e.is_model_error(), "errno {code}: {e}");
        }
        for code in [
            libc::EIO,
            libc::ENOMEM,
            libc::EMFILE,
            libc::ENFILE,
            libc::ESTALE,
        ] {
            let e = os(code);
            assert!(!e.is_model_error(), "errno {code}: {e}");
            assert_eq!(e.exit(), Exit::Failure);
        }
        // A wrapped error (tempfile adds the path) is classified by the errno inside it.
        let wrapped = std::io::Error::other(std::io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        assert!(WorkspaceError::io("x", wrapped).is_model_error());
    }

    #[cfg(unix)]
    #[test]
    fn regression_a_full_disk_stops_the_run_with_what_to_do() {
        for code in [libc::ENOSPC, libc::EDQUOT] {
            let e = WorkspaceError::io("src/a.py", std::io::Error::from_raw_os_error(code));
            assert!(matches!(e, WorkspaceError::NoSpace { .. }), "{e}");
            assert!(!e.is_model_error());
            assert_eq!(e.exit(), Exit::Failure);
            let m = e.to_string();
            assert!(m.contains("disk of the project is full"), "{m}");
            assert!(m.contains("samocoder resume"), "{m}");
        }
        // Also through tempfile's wrapper, which hides the errno and keeps only the kind.
        let wrapped = std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "No space left on device at path /p/.samocoder-tmp-1",
        );
        assert!(matches!(
            WorkspaceError::io("x", wrapped),
            WorkspaceError::NoSpace { .. }
        ));
    }

    #[test]
    fn io_errors_cut_a_long_model_path() {
        let long = "a/".repeat(2000);
        let e = WorkspaceError::io(long, std::io::Error::other("x"));
        assert!(e.to_string().len() < 300, "{e}");
    }

    #[test]
    fn shorten_escapes_and_cuts() {
        assert_eq!(shorten("a\0b", 10), "a\\0b");
        assert_eq!(shorten("abcdef", 3), "abc…");
    }
}
