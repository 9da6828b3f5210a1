//! Opening project files for reading without ever blocking on, or opening, something that is
//! not a regular file.
//!
//! `open(2)` on a FIFO blocks until a writer comes (forever, and Ctrl-C cannot end a thread
//! stuck in it); on a socket it fails with `ENXIO`; on a device it may have side effects. So the
//! entry is checked with `lstat` first and only a regular file is opened, and the open itself
//! (on unix) uses `O_NONBLOCK | O_NOFOLLOW | O_NOCTTY`: if something swapped a FIFO or a link
//! in between, the open neither blocks nor follows, and the opened file's own metadata must
//! still be the regular file that was checked (same device and inode). `O_NONBLOCK` has no
//! effect on reading a regular file, so it is left set.

use std::fs::{File, Metadata};
use std::path::Path;

use super::error::WorkspaceError;

/// Why [`open_regular`] did not open a file.
#[derive(Debug)]
pub(crate) enum OpenRefusal {
    NotFound,
    IsDirectory,
    /// A FIFO, socket or device: what it is, for the message.
    Special(&'static str),
    /// A symbolic link (links are never followed here).
    Link,
    /// The entry changed between the check and the open.
    Replaced,
    Io(std::io::Error),
}

impl OpenRefusal {
    /// The error for the project path `rel`.
    pub(crate) fn into_error(self, rel: &str) -> WorkspaceError {
        match self {
            OpenRefusal::NotFound => WorkspaceError::NotFound(rel.into()),
            OpenRefusal::IsDirectory => WorkspaceError::IsDirectory(rel.into()),
            OpenRefusal::Special(kind) => WorkspaceError::NotRegular {
                path: super::error::shorten(rel, 200),
                kind,
            },
            OpenRefusal::Link => WorkspaceError::refused(rel, "it is a symbolic link"),
            OpenRefusal::Replaced => {
                WorkspaceError::refused(rel, "it was replaced while being opened; try again")
            }
            OpenRefusal::Io(e) => WorkspaceError::io(rel, e),
        }
    }
}

/// What a non-regular, non-directory, non-link entry is, in words for the model.
pub(crate) fn special_kind(ft: std::fs::FileType) -> Option<&'static str> {
    if ft.is_file() || ft.is_dir() || ft.is_symlink() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if ft.is_socket() {
            return Some("a socket");
        }
        if ft.is_char_device() {
            return Some("a character device");
        }
        if ft.is_block_device() {
            return Some("a block device");
        }
    }
    Some("a special file")
}

/// Opens the regular file at `abs` for reading (a final symbolic link is not followed: give
/// the link's target). Returns the file and its metadata as opened.
pub(crate) fn open_regular(abs: &Path) -> Result<(File, Metadata), OpenRefusal> {
    let before = std::fs::symlink_metadata(abs).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => OpenRefusal::NotFound,
        _ => OpenRefusal::Io(e),
    })?;
    check_type(&before)?;
    let file = open_nonblocking(abs).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => OpenRefusal::Replaced,
        _ if is_swap_errno(&e) => OpenRefusal::Replaced,
        _ => OpenRefusal::Io(e),
    })?;
    let after = file.metadata().map_err(OpenRefusal::Io)?;
    match check_type(&after) {
        Ok(()) if same_file(&before, &after) => Ok((file, after)),
        Ok(()) => Err(OpenRefusal::Replaced),
        // What the open found is what the model is told about.
        Err(refusal) => Err(refusal),
    }
}

/// The bytes of the regular file at `abs` (see [`open_regular`]) when it holds at most `max`;
/// `None` for anything else (not regular, too large, unreadable). For summaries of files a
/// walk listed, where a file that cannot be read is simply not summarised.
pub(crate) fn read_small(abs: &Path, max: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let (file, meta) = open_regular(abs).ok()?;
    if meta.len() > max {
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= max).then_some(bytes)
}

fn check_type(meta: &Metadata) -> Result<(), OpenRefusal> {
    let ft = meta.file_type();
    if ft.is_file() {
        Ok(())
    } else if ft.is_dir() {
        Err(OpenRefusal::IsDirectory)
    } else if ft.is_symlink() {
        Err(OpenRefusal::Link)
    } else {
        Err(OpenRefusal::Special(
            special_kind(ft).unwrap_or("a special file"),
        ))
    }
}

#[cfg(unix)]
fn open_nonblocking(abs: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY)
        .open(abs)
}

#[cfg(not(unix))]
fn open_nonblocking(abs: &Path) -> std::io::Result<File> {
    File::open(abs)
}

/// Errors of the open that mean the checked regular file was swapped for something else: a
/// link (`ELOOP` under `O_NOFOLLOW`) or a socket (`ENXIO`).
#[cfg(unix)]
fn is_swap_errno(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENXIO))
}

#[cfg(not(unix))]
fn is_swap_errno(_: &std::io::Error) -> bool {
    false
}

#[cfg(unix)]
pub(crate) fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
pub(crate) fn same_file(a: &Metadata, b: &Metadata) -> bool {
    b.is_file() && a.len() == b.len()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn mkfifo(path: &Path) {
        nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    }

    #[test]
    fn regression_opening_a_fifo_never_blocks() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("pipe");
        mkfifo(&fifo);
        // Would block forever with a plain open (no writer ever comes).
        assert!(matches!(
            open_regular(&fifo),
            Err(OpenRefusal::Special("a FIFO (named pipe)"))
        ));
    }

    #[test]
    fn regression_a_socket_is_refused_not_an_io_error() {
        let d = tempfile::tempdir().unwrap();
        let sock = d.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert!(matches!(
            open_regular(&sock),
            Err(OpenRefusal::Special("a socket"))
        ));
    }

    #[test]
    fn devices_links_and_directories_are_not_opened() {
        assert!(matches!(
            open_regular(Path::new("/dev/null")),
            Err(OpenRefusal::Special("a character device"))
        ));
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("f"), "x").unwrap();
        std::os::unix::fs::symlink(d.path().join("f"), d.path().join("l")).unwrap();
        assert!(matches!(
            open_regular(&d.path().join("l")),
            Err(OpenRefusal::Link)
        ));
        assert!(matches!(
            open_regular(d.path()),
            Err(OpenRefusal::IsDirectory)
        ));
        assert!(matches!(
            open_regular(&d.path().join("missing")),
            Err(OpenRefusal::NotFound)
        ));
        let (_, meta) = open_regular(&d.path().join("f")).unwrap();
        assert_eq!(meta.len(), 1);
        assert_eq!(read_small(&d.path().join("f"), 1).unwrap(), b"x");
        assert_eq!(read_small(&d.path().join("f"), 0), None);
        assert_eq!(read_small(&d.path().join("l"), 10), None);
    }

    #[test]
    fn a_fifo_swapped_in_after_the_check_is_refused_without_blocking() {
        // The open itself must not block: O_NONBLOCK on the FIFO, then the fstat check.
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("pipe");
        mkfifo(&fifo);
        let file = open_nonblocking(&fifo).unwrap();
        assert!(matches!(
            check_type(&file.metadata().unwrap()),
            Err(OpenRefusal::Special(_))
        ));
        // And a link swapped in is not followed.
        std::fs::write(d.path().join("f"), "x").unwrap();
        std::os::unix::fs::symlink(d.path().join("f"), d.path().join("l")).unwrap();
        let err = open_nonblocking(&d.path().join("l")).unwrap_err();
        assert!(is_swap_errno(&err), "{err}");
    }
}
