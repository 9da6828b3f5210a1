//! Reading and atomic writing of project files.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::{WorkspaceError, human_size};
use super::open::open_regular;
use super::path::{self, SafePath};

/// The name prefix of the temporary files of atomic writes.
pub(crate) const TEMP_PREFIX: &str = ".samocoder-tmp-";

/// The default of [`Workspace::with_user_file_limit`]: 5 MiB.
pub const DEFAULT_USER_FILE_LIMIT: u64 = 5 * 1024 * 1024;

/// The project directory: the only door to project files.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    user_file_limit: u64,
    /// Set by [`Workspace::with_change_watch`].
    pub(crate) watch: Option<std::sync::Arc<super::watch::WatchSlot>>,
}

/// A file's content hash and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// Lower-case hex SHA-256.
    pub sha256: String,
    pub size: u64,
}

/// What a write did: the new content's hash and size, and whether the file is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Lower-case hex SHA-256 of the bytes written.
    pub sha256: String,
    pub size: u64,
    pub created: bool,
}

impl Workspace {
    /// Opens an existing project directory (the root is canonicalised, so symlink checks compare
    /// real paths).
    pub fn open(root: impl AsRef<Path>) -> Result<Workspace, WorkspaceError> {
        let root = root.as_ref();
        let open_err = |source| WorkspaceError::Open {
            path: root.display().to_string(),
            source,
        };
        let root = std::fs::canonicalize(root).map_err(open_err)?;
        if !root.is_dir() {
            return Err(open_err(std::io::Error::other("not a directory")));
        }
        Ok(Workspace {
            root,
            user_file_limit: DEFAULT_USER_FILE_LIMIT,
            watch: None,
        })
    }

    /// Sets the size above which a file samocoder did not write is kept out of checkpoints
    /// (see [`Workspace::checkpoint`]). Give at least the largest file samocoder itself may
    /// write, so that its own files are always committed.
    pub fn with_user_file_limit(mut self, bytes: u64) -> Workspace {
        self.user_file_limit = bytes;
        self
    }

    /// See [`Workspace::with_user_file_limit`].
    pub fn user_file_limit(&self) -> u64 {
        self.user_file_limit
    }

    /// The canonical project root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// True while the project root still is a directory (it may be moved or deleted under a
    /// run).
    pub fn root_is_present(&self) -> bool {
        std::fs::metadata(&self.root).is_ok_and(|m| m.is_dir())
    }

    /// Checks a path from the model; see [`super::path`] for the rules.
    pub fn resolve(&self, rel: &str) -> Result<SafePath, WorkspaceError> {
        path::resolve(&self.root, rel)
    }

    /// Reads a UTF-8 text file of at most `max_bytes`.
    pub fn read(&self, path: &SafePath, max_bytes: u64) -> Result<String, WorkspaceError> {
        let bytes = self.read_bytes(path, max_bytes)?;
        if bytes.contains(&0) {
            return Err(WorkspaceError::NotText {
                path: path.rel().into(),
                why: "it contains NUL bytes".into(),
            });
        }
        String::from_utf8(bytes).map_err(|e| WorkspaceError::NotText {
            path: path.rel().into(),
            why: format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
        })
    }

    fn read_bytes(&self, path: &SafePath, max_bytes: u64) -> Result<Vec<u8>, WorkspaceError> {
        let rel = path.rel();
        let (file, meta) = self.open_for_read(path)?;
        let too_large = |size| WorkspaceError::TooLarge {
            path: rel.into(),
            size: human_size(size),
            limit: human_size(max_bytes),
        };
        if meta.len() > max_bytes {
            return Err(too_large(meta.len()));
        }
        // The file may grow between the stat and the read: never read more than the cap.
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(max_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| WorkspaceError::io(rel, e))?;
        if bytes.len() as u64 > max_bytes {
            return Err(too_large(bytes.len() as u64));
        }
        Ok(bytes)
    }

    /// Opens a resolved path for reading: a regular file only (never a FIFO, socket or device,
    /// and never blocking, see [`super::open`]); a final link inside the project is followed
    /// to its (canonical) target, as [`Workspace::resolve`] allows.
    pub(crate) fn open_for_read(
        &self,
        path: &SafePath,
    ) -> Result<(std::fs::File, std::fs::Metadata), WorkspaceError> {
        let rel = path.rel();
        let is_link = match std::fs::symlink_metadata(path.abs()) {
            Ok(m) => m.file_type().is_symlink(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(WorkspaceError::NotFound(rel.into()));
            }
            Err(e) => return Err(WorkspaceError::io(rel, e)),
        };
        let target = if is_link {
            match path::link_dest(&self.root, path.abs()) {
                path::LinkDest::Inside(target) => target,
                path::LinkDest::Broken => return Err(WorkspaceError::NotFound(rel.into())),
                _ => {
                    return Err(WorkspaceError::refused(
                        rel,
                        "it is a symbolic link that does not lead to a file in the project",
                    ));
                }
            }
        } else {
            path.abs().to_path_buf()
        };
        open_regular(&target).map_err(|r| r.into_error(rel))
    }

    /// True when something (a file, a directory, a link) is at `path`.
    pub fn exists(&self, path: &SafePath) -> bool {
        std::fs::symlink_metadata(path.abs()).is_ok()
    }

    /// The SHA-256 and size of a file's content, read in chunks (any size, any bytes).
    pub fn digest(&self, path: &SafePath) -> Result<FileDigest, WorkspaceError> {
        let rel = path.rel();
        let (file, _) = self.open_for_read(path)?;
        let (sha256, size) = hash_reader(file).map_err(|e| WorkspaceError::io(rel, e))?;
        Ok(FileDigest { sha256, size })
    }

    /// Removes a file (not a directory). A missing file is not an error.
    pub fn remove_file(&self, path: &SafePath) -> Result<(), WorkspaceError> {
        match std::fs::symlink_metadata(path.abs()) {
            Ok(m) if m.is_dir() => Err(WorkspaceError::IsDirectory(path.rel().into())),
            Ok(_) => {
                std::fs::remove_file(path.abs()).map_err(|e| WorkspaceError::io(path.rel(), e))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(WorkspaceError::io(path.rel(), e)),
        }
    }

    /// Like [`Self::write_atomic`], but never replaces anything: when something already is at
    /// `path` (even created between a check and this call) nothing is written and the error
    /// is [`WorkspaceError::Exists`].
    pub fn create_new(
        &self,
        path: &SafePath,
        bytes: &[u8],
        max_bytes: u64,
    ) -> Result<WriteOutcome, WorkspaceError> {
        let rel = path.rel();
        if bytes.len() as u64 > max_bytes {
            return Err(WorkspaceError::TooLarge {
                path: rel.into(),
                size: human_size(bytes.len() as u64),
                limit: human_size(max_bytes),
            });
        }
        if self.exists(path) {
            return Err(WorkspaceError::Exists(rel.into()));
        }
        let parent = self.create_parents(path)?;
        let io = |e| WorkspaceError::io(rel, e);
        let mut tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&parent)
            .map_err(io)?;
        tmp.write_all(bytes).map_err(io)?;
        if let Some(p) = default_permissions() {
            tmp.as_file().set_permissions(p).map_err(io)?;
        }
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist_noclobber(path.abs()).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                WorkspaceError::Exists(rel.into())
            } else {
                io(e.error)
            }
        })?;
        if let Ok(dir) = std::fs::File::open(&parent) {
            let _ = dir.sync_all();
        }
        Ok(WriteOutcome {
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
            created: true,
        })
    }

    /// Deletes the temporary files of atomic writes that a killed process left behind
    /// (`.samocoder-tmp-*`); returns how many. Walks what the tree scan walks (ignore rules
    /// honoured, `.git` and build/dependency directories such as `node_modules` skipped, links
    /// not followed), so its cost does not grow with ignored folders; a temp file left inside
    /// an ignored folder stays, and is never checkpointed or scanned either. Call it before a
    /// run starts writing, so none ends up in a checkpoint.
    pub fn remove_stale_temp_files(&self) -> Result<usize, WorkspaceError> {
        let mut removed = 0;
        for entry in self.walker() {
            let entry = entry.map_err(|e| WorkspaceError::io(".", std::io::Error::other(e)))?;
            let is_temp = entry.file_type().is_some_and(|t| t.is_file())
                && entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX);
            if !is_temp {
                continue;
            }
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(WorkspaceError::io(entry.path().display().to_string(), e)),
            }
        }
        Ok(removed)
    }

    /// Writes `bytes` atomically: parent directories are created (each checked), the content
    /// goes to a temporary file in the same directory, is fsynced and renamed over the target.
    /// An existing file keeps its permissions; a symlink at the target is replaced, not followed,
    /// and so is a FIFO, socket or device: the rename replaces the directory entry and never
    /// opens what was there.
    pub fn write_atomic(
        &self,
        path: &SafePath,
        bytes: &[u8],
        max_bytes: u64,
    ) -> Result<WriteOutcome, WorkspaceError> {
        self.write_atomic_with(path, bytes, max_bytes, |_| Ok(()))
    }

    /// [`Self::write_atomic`] with a hook run just before the rename (tests inject failures).
    pub(crate) fn write_atomic_with(
        &self,
        path: &SafePath,
        bytes: &[u8],
        max_bytes: u64,
        before_rename: impl FnOnce(&Path) -> std::io::Result<()>,
    ) -> Result<WriteOutcome, WorkspaceError> {
        let rel = path.rel();
        if bytes.len() as u64 > max_bytes {
            return Err(WorkspaceError::TooLarge {
                path: rel.into(),
                size: human_size(bytes.len() as u64),
                limit: human_size(max_bytes),
            });
        }
        let parent = self.create_parents(path)?;
        let existing = match std::fs::symlink_metadata(path.abs()) {
            Ok(m) if m.is_dir() => return Err(WorkspaceError::IsDirectory(rel.into())),
            Ok(m) => Some(m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(WorkspaceError::io(rel, e)),
        };
        let io = |e| WorkspaceError::io(rel, e);
        let mut tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&parent)
            .map_err(io)?;
        tmp.write_all(bytes).map_err(io)?;
        let permissions = match &existing {
            Some(m) if m.is_file() => Some(m.permissions()),
            _ => default_permissions(),
        };
        if let Some(p) = permissions {
            tmp.as_file().set_permissions(p).map_err(io)?;
        }
        tmp.as_file().sync_all().map_err(io)?;
        before_rename(tmp.path()).map_err(io)?;
        tmp.persist(path.abs()).map_err(|e| io(e.error))?;
        // Make the rename itself durable; not every platform can open a directory.
        if let Ok(dir) = std::fs::File::open(&parent) {
            let _ = dir.sync_all();
        }
        Ok(WriteOutcome {
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
            created: existing.is_none(),
        })
    }

    /// Creates the missing parents of `path`, refusing to go through files or outward links.
    fn create_parents(&self, path: &SafePath) -> Result<PathBuf, WorkspaceError> {
        let rel = path.rel();
        let mut dir = self.root.clone();
        let parts: Vec<&str> = rel.split('/').collect();
        for (i, part) in parts[..parts.len() - 1].iter().enumerate() {
            dir.push(part);
            match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    // Re-check at write time: the link must still point inside the project.
                    path::resolve(&self.root, &parts[..=i].join("/"))?;
                    if !dir.is_dir() {
                        return Err(WorkspaceError::refused(
                            rel,
                            "a parent of it is not a directory",
                        ));
                    }
                }
                Ok(_) => {
                    return Err(WorkspaceError::refused(
                        rel,
                        format!("`{}` is a file", parts[..=i].join("/")),
                    ));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir(&dir)
                        .or_else(|e| {
                            if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() {
                                Ok(())
                            } else {
                                Err(e)
                            }
                        })
                        .map_err(|e| WorkspaceError::io(rel, e))?;
                }
                Err(e) => return Err(WorkspaceError::io(rel, e)),
            }
        }
        Ok(dir)
    }
}

#[cfg(unix)]
fn default_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    // tempfile creates 0600; a new project file should be readable like any other.
    Some(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions() -> Option<std::fs::Permissions> {
    None
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 (lower-case hex) and length of everything `r` yields.
pub(crate) fn hash_reader(mut r: impl Read) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok((hex(&hasher.finalize()), len)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        len += n as u64;
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_file_cleanup_does_not_walk_ignored_folders() {
        let (d, ws) = ws();
        std::fs::write(d.path().join(".gitignore"), "dist/\n").unwrap();
        for dir in ["node_modules/pkg", "dist/js", "src"] {
            std::fs::create_dir_all(d.path().join(dir)).unwrap();
            std::fs::write(d.path().join(dir).join(".samocoder-tmp-1"), "torn").unwrap();
        }
        assert_eq!(ws.remove_stale_temp_files().unwrap(), 1);
        assert!(!d.path().join("src/.samocoder-tmp-1").exists());
        assert!(d.path().join("node_modules/pkg/.samocoder-tmp-1").exists());
        assert!(d.path().join("dist/js/.samocoder-tmp-1").exists());
    }

    #[test]
    fn stale_temp_files_are_removed_and_nothing_else() {
        let (d, ws) = ws();
        std::fs::create_dir_all(d.path().join("src/.git")).unwrap();
        std::fs::write(d.path().join(".samocoder-tmp-abc"), "torn").unwrap();
        std::fs::write(d.path().join("src/.samocoder-tmp-def"), "torn").unwrap();
        std::fs::write(d.path().join("src/keep.py"), "x").unwrap();
        std::fs::create_dir_all(d.path().join(".git")).unwrap();
        std::fs::write(d.path().join(".git/.samocoder-tmp-x"), "git's").unwrap();
        assert_eq!(ws.remove_stale_temp_files().unwrap(), 2);
        assert!(d.path().join("src/keep.py").exists());
        assert!(d.path().join(".git/.samocoder-tmp-x").exists());
        assert!(!d.path().join(".samocoder-tmp-abc").exists());
    }

    fn ws() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        (dir, ws)
    }

    #[test]
    fn write_then_read_round_trips_and_creates_parents() {
        let (_d, ws) = ws();
        let p = ws.resolve("src/deep/mod.rs").unwrap();
        let out = ws.write_atomic(&p, b"hello\n", 1024).unwrap();
        assert!(out.created);
        assert_eq!(out.size, 6);
        assert_eq!(out.sha256, sha256_hex(b"hello\n"));
        assert_eq!(ws.read(&p, 1024).unwrap(), "hello\n");
        assert!(!ws.write_atomic(&p, b"again", 1024).unwrap().created);
    }

    #[test]
    fn read_errors_are_written_for_the_model() {
        let (d, ws) = ws();
        std::fs::write(d.path().join("big.txt"), vec![b'a'; 3_355_443]).unwrap();
        let err = ws
            .read(&ws.resolve("big.txt").unwrap(), 1024 * 1024)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`big.txt` is 3.2 MB, larger than the 1.0 MB limit"
        );
        std::fs::write(d.path().join("bin"), b"a\0b").unwrap();
        assert!(
            ws.read(&ws.resolve("bin").unwrap(), 100)
                .unwrap_err()
                .to_string()
                .contains("NUL")
        );
        std::fs::write(d.path().join("latin1"), b"caf\xe9").unwrap();
        assert!(
            ws.read(&ws.resolve("latin1").unwrap(), 100)
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
        let err = ws
            .read(&ws.resolve("missing.rs").unwrap(), 100)
            .unwrap_err();
        assert!(matches!(err, WorkspaceError::NotFound(_)) && err.is_model_error());
        std::fs::create_dir(d.path().join("dir")).unwrap();
        assert!(matches!(
            ws.read(&ws.resolve("dir").unwrap(), 100),
            Err(WorkspaceError::IsDirectory(_))
        ));
    }

    #[test]
    fn create_new_never_replaces_and_digest_matches_the_write() {
        let (d, ws) = ws();
        let p = ws.resolve("a/new.txt").unwrap();
        assert!(!ws.exists(&p));
        let out = ws.create_new(&p, b"first", 100).unwrap();
        assert!(out.created && ws.exists(&p));
        let digest = ws.digest(&p).unwrap();
        assert_eq!((digest.sha256, digest.size), (out.sha256, 5));
        let err = ws.create_new(&p, b"second", 100).unwrap_err();
        assert!(matches!(err, WorkspaceError::Exists(_)), "{err}");
        assert_eq!(std::fs::read(d.path().join("a/new.txt")).unwrap(), b"first");
        ws.remove_file(&p).unwrap();
        ws.remove_file(&p).unwrap();
        assert!(!ws.exists(&p));
        assert!(matches!(ws.digest(&p), Err(WorkspaceError::NotFound(_))));
    }

    #[test]
    fn oversized_write_is_refused_and_nothing_written() {
        let (d, ws) = ws();
        let p = ws.resolve("x.txt").unwrap();
        let err = ws.write_atomic(&p, &[b'a'; 2048], 1024).unwrap_err();
        assert!(err.is_model_error());
        assert!(!d.path().join("x.txt").exists());
    }

    #[test]
    fn failure_before_rename_keeps_old_content_and_leaves_no_temp() {
        let (d, ws) = ws();
        let p = ws.resolve("a/file.txt").unwrap();
        ws.write_atomic(&p, b"old", 100).unwrap();
        let err = ws
            .write_atomic_with(&p, b"new content", 100, |tmp| {
                assert!(tmp.exists(), "the temp file is written before the rename");
                Err(std::io::Error::other("simulated crash"))
            })
            .unwrap_err();
        assert!(err.to_string().contains("simulated crash"));
        assert_eq!(std::fs::read(d.path().join("a/file.txt")).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(d.path().join("a"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("file.txt")]);
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_kept_and_new_files_are_0644() {
        use std::os::unix::fs::PermissionsExt;
        let (d, ws) = ws();
        let script = d.path().join("run.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        ws.write_atomic(&ws.resolve("run.sh").unwrap(), b"#!/bin/sh\necho hi\n", 100)
            .unwrap();
        assert_eq!(
            std::fs::metadata(&script).unwrap().permissions().mode() & 0o777,
            0o755
        );
        ws.write_atomic(&ws.resolve("new.txt").unwrap(), b"x", 100)
            .unwrap();
        let mode = std::fs::metadata(d.path().join("new.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn writing_below_a_file_or_onto_a_directory_is_refused() {
        let (d, ws) = ws();
        std::fs::write(d.path().join("f"), "x").unwrap();
        assert!(
            ws.resolve("f/g.txt").is_err()
                || ws
                    .write_atomic(&ws.resolve("f/g.txt").unwrap(), b"x", 9)
                    .is_err()
        );
        std::fs::create_dir(d.path().join("dir")).unwrap();
        let err = ws
            .write_atomic(&ws.resolve("dir").unwrap(), b"x", 9)
            .unwrap_err();
        assert!(matches!(err, WorkspaceError::IsDirectory(_)));
    }
}
