//! What changed in the project tree since samocoder last recorded it, at the cost of one `lstat`
//! per unchanged file: the records keep, next to each file's hash, the metadata it had when it
//! was hashed ([`FileStat`]: size, mtime, ctime, inode), the way git's index does. A file whose
//! metadata is unchanged is taken as unchanged and never opened; any other file is read and
//! hashed, and only a different hash makes it modified (a `touch` only refreshes the record).
//!
//! Racy files: a file whose mtime or ctime is within [`RACY_WINDOW_NS`] of the scan (or in the
//! future) could still change within the same timestamp tick without its metadata changing, so
//! its metadata is not kept (`stat: None`) and it is hashed again by the next scan.

use std::time::{SystemTime, UNIX_EPOCH};

use super::error::WorkspaceError;
use super::fs::{Workspace, hash_reader};
use super::tree::TreeDiff;

/// Timestamps this close to the scan (2 s: the coarsest common file system tick, FAT's) are
/// not trusted to show a later change.
pub const RACY_WINDOW_NS: i64 = 2_000_000_000;

/// The metadata that changes whenever a file's content can have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileStat {
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Status-change time (0 where the platform has none). Unlike the mtime, no program can
    /// set it back, so restoring an old mtime still shows as a change.
    pub ctime_ns: i64,
    /// Inode number (0 where the platform has none): an atomic replace changes it.
    pub inode: u64,
}

impl FileStat {
    pub fn of(meta: &std::fs::Metadata) -> FileStat {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
            FileStat {
                size: meta.len(),
                mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
                ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
                inode: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
            FileStat {
                size: meta.len(),
                mtime_ns,
                ctime_ns: 0,
                inode: 0,
            }
        }
    }

    /// True when a change within the same timestamp tick could go unseen.
    fn is_racy(&self, scan_started_ns: i64) -> bool {
        let threshold = scan_started_ns.saturating_sub(RACY_WINDOW_NS);
        self.mtime_ns >= threshold || self.ctime_ns >= threshold
    }
}

/// A file as the store records it: the content's hash and size, and the metadata it had when
/// it was hashed (`None`: unknown, so the next scan reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// Project-relative, `/`-separated.
    pub path: String,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    pub size: u64,
    pub stat: Option<FileStat>,
}

/// What [`Workspace::scan_tree`] found, relative to the records it was given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeChanges {
    /// Files not in the records, sorted by path.
    pub added: Vec<FileState>,
    /// Recorded files whose content changed, sorted by path.
    pub modified: Vec<FileState>,
    /// Recorded files whose content is the same but whose metadata changed (a `touch`, a git
    /// checkout, records from before the cache existed): only the cached metadata is new.
    pub refreshed: Vec<FileState>,
    /// Recorded paths that are no longer in the tree, sorted.
    pub removed: Vec<String>,
    /// Files in the tree.
    pub files: usize,
    /// Files that had to be read (the rest cost one `lstat`).
    pub hashed: usize,
}

impl TreeChanges {
    /// The content changes as paths.
    pub fn diff(&self) -> TreeDiff {
        let paths = |v: &[FileState]| v.iter().map(|f| f.path.clone()).collect();
        TreeDiff {
            added: paths(&self.added),
            modified: paths(&self.modified),
            deleted: self.removed.clone(),
        }
    }

    /// True when no record needs writing.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.modified.is_empty()
            && self.refreshed.is_empty()
            && self.removed.is_empty()
    }
}

impl Workspace {
    /// Compares the tree on disk (the same files as the project map: ignore rules applied, see
    /// [`super::tree`]) with `known`, the records of the last scan or write. Unchanged files
    /// (same [`FileStat`]) are not read.
    pub fn scan_tree(
        &self,
        known: impl IntoIterator<Item = FileState>,
    ) -> Result<TreeChanges, WorkspaceError> {
        self.scan_tree_at(known, now_ns())
    }

    /// [`Self::scan_tree`] as if it started at `started` (ns since the epoch; tests use a
    /// later time to take files out of the racy window).
    pub(crate) fn scan_tree_at(
        &self,
        known: impl IntoIterator<Item = FileState>,
        started: i64,
    ) -> Result<TreeChanges, WorkspaceError> {
        let listed = self.walk_and_watch()?;
        self.compare(known.into_iter().collect(), listed, started)
    }

    /// Compares records with listed files (both of the same part of the tree): stat first,
    /// then the hash of the files whose stat differs.
    pub(crate) fn compare(
        &self,
        mut known: Vec<FileState>,
        listed: Vec<(String, FileStat)>,
        started: i64,
    ) -> Result<TreeChanges, WorkspaceError> {
        // Both sides sorted by path (byte order, as SQLite's BINARY collation): one merge, no
        // map of every record.
        if !known.is_sorted_by(|a, b| a.path <= b.path) {
            known.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        }
        let mut known = known.into_iter().peekable();
        let mut out = TreeChanges::default();
        for (path, stat) in listed {
            while let Some(gone) = known.next_if(|k| k.path < path) {
                out.removed.push(gone.path);
            }
            let record = known.next_if(|k| k.path == path);
            if let Some(r) = &record
                && r.stat == Some(stat)
                && r.size == stat.size
            {
                out.files += 1;
                continue;
            }
            let (sha256, size) = match self.hash_file(&path) {
                Ok(h) => h,
                // Deleted (or replaced by a non-file) since the walk saw it: not in the tree.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if record.is_some() {
                        out.removed.push(path);
                    }
                    continue;
                }
                Err(e) => return Err(WorkspaceError::io(path, e)),
            };
            out.files += 1;
            out.hashed += 1;
            // The metadata is kept only when it describes what was hashed and is not racy.
            let trusted = (size == stat.size && !stat.is_racy(started)).then_some(stat);
            let state = FileState {
                path,
                sha256,
                size,
                stat: trusted,
            };
            match record {
                None => out.added.push(state),
                Some(r) if r.sha256 != state.sha256 => out.modified.push(state),
                Some(r) if r.stat != state.stat || r.size != state.size => {
                    out.refreshed.push(state)
                }
                Some(_) => {}
            }
        }
        out.removed.extend(known.map(|k| k.path));
        out.removed.sort();
        Ok(out)
    }

    /// SHA-256 and length of a project file given by its walked relative path.
    fn hash_file(&self, rel: &str) -> std::io::Result<(String, u64)> {
        // Never opened when it is no longer a regular file (a FIFO would block the scan): the
        // walk lists regular files only, so one replaced since is no longer part of the tree.
        let (file, _) = super::open::open_regular(&self.root().join(rel)).map_err(|r| match r {
            super::open::OpenRefusal::Io(e) => e,
            _ => std::io::ErrorKind::NotFound.into(),
        })?;
        hash_reader(file)
    }
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::workspace::sha256_hex;

    use crate::workspace::test_support::project;

    /// A scan an hour from now: nothing written by the test is racy any more.
    fn later(ws: &Workspace, known: Vec<FileState>) -> TreeChanges {
        ws.scan_tree_at(known, now_ns() + 3_600_000_000_000)
            .unwrap()
    }

    /// The records a store would keep after applying `changes` on top of `known`.
    fn apply(known: Vec<FileState>, c: &TreeChanges) -> Vec<FileState> {
        let mut map: HashMap<String, FileState> =
            known.into_iter().map(|f| (f.path.clone(), f)).collect();
        for f in c.added.iter().chain(&c.modified).chain(&c.refreshed) {
            map.insert(f.path.clone(), f.clone());
        }
        for p in &c.removed {
            map.remove(p);
        }
        let mut v: Vec<_> = map.into_values().collect();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    }

    #[test]
    fn first_scan_hashes_everything_and_lists_it_as_added() {
        let (_d, ws) = project(&[("a.txt", "1"), ("src/b.py", "22"), ("node_modules/x", "n")]);
        let c = ws.scan_tree(Vec::new()).unwrap();
        let added: Vec<_> = c.added.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(added, ["a.txt", "src/b.py"]);
        assert_eq!(c.added[1].sha256, sha256_hex(b"22"));
        assert_eq!(c.added[1].size, 2);
        assert_eq!((c.files, c.hashed), (2, 2));
        assert!(c.modified.is_empty() && c.removed.is_empty());
    }

    #[test]
    fn unchanged_files_are_not_read_again() {
        let (_d, ws) = project(&[("a.txt", "1"), ("b.txt", "2")]);
        let known = apply(Vec::new(), &later(&ws, Vec::new()));
        assert!(known.iter().all(|f| f.stat.is_some()), "{known:?}");
        let again = later(&ws, known);
        assert_eq!((again.files, again.hashed), (2, 0));
        assert!(again.is_empty(), "{again:?}");
    }

    #[test]
    fn scan_reports_content_changes_and_only_refreshes_a_touch() {
        let (d, ws) = project(&[("a.txt", "1"), ("b.txt", "2"), ("c.txt", "3")]);
        let known = apply(Vec::new(), &later(&ws, Vec::new()));
        std::fs::write(d.path().join("a.txt"), "changed").unwrap();
        std::fs::remove_file(d.path().join("b.txt")).unwrap();
        std::fs::write(d.path().join("new.txt"), "n").unwrap();
        // A touch: new timestamps, same content.
        let f = std::fs::File::options()
            .write(true)
            .open(d.path().join("c.txt"))
            .unwrap();
        f.set_modified(SystemTime::now() - std::time::Duration::from_secs(60))
            .unwrap();
        let c = later(&ws, known);
        assert_eq!(
            c.diff(),
            TreeDiff {
                added: vec!["new.txt".into()],
                modified: vec!["a.txt".into()],
                deleted: vec!["b.txt".into()],
            }
        );
        let refreshed: Vec<_> = c.refreshed.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(refreshed, ["c.txt"]);
        assert_eq!(c.hashed, 3);
    }

    #[test]
    fn recently_changed_files_keep_no_stat_and_are_hashed_again() {
        let (d, ws) = project(&[("fresh.txt", "v1")]);
        let known = apply(Vec::new(), &ws.scan_tree(Vec::new()).unwrap());
        assert_eq!(known[0].stat, None, "a file written just now is racy");
        // Same size and possibly the same timestamps: only reading it can tell.
        std::fs::write(d.path().join("fresh.txt"), "v2").unwrap();
        let c = ws.scan_tree(known).unwrap();
        assert_eq!(c.diff().modified, ["fresh.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn restoring_an_old_mtime_is_still_seen_as_a_change() {
        let (d, ws) = project(&[("a.txt", "one")]);
        let path = d.path().join("a.txt");
        let known = apply(Vec::new(), &later(&ws, Vec::new()));
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        // Same size, new content, the mtime put back (as `cp -p` or `tar` do): the ctime moves.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, "two").unwrap();
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(mtime).unwrap();
        drop(f);
        assert_eq!(later(&ws, known).diff().modified, ["a.txt"]);
    }

    #[test]
    fn records_without_a_stat_are_hashed_once_then_cached() {
        let (_d, ws) = project(&[("a.txt", "1")]);
        let known = vec![FileState {
            path: "a.txt".into(),
            sha256: sha256_hex(b"1"),
            size: 1,
            stat: None,
        }];
        let c = later(&ws, known.clone());
        assert!(c.diff().is_empty());
        assert_eq!(c.refreshed.len(), 1);
        assert_eq!(c.hashed, 1);
        assert_eq!(later(&ws, apply(known, &c)).hashed, 0);
    }

    #[test]
    fn records_in_any_order_are_matched_by_path() {
        let (_d, ws) = project(&[("a.b", "1"), ("a/b", "2"), ("a-b", "3"), ("z", "4")]);
        let mut known = apply(Vec::new(), &later(&ws, Vec::new()));
        known.reverse();
        known.push(FileState {
            path: "a.a".into(),
            sha256: "0".repeat(64),
            size: 1,
            stat: None,
        });
        let c = later(&ws, known);
        assert_eq!((c.files, c.hashed), (4, 0));
        assert_eq!(c.removed, ["a.a"]);
        assert!(c.added.is_empty() && c.modified.is_empty() && c.refreshed.is_empty());
    }
}
