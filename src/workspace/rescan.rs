//! The scan after a command: with a change watch ([`super::watch`]) only the directories where
//! something happened are read again, and only their records are compared; without one (or
//! when the watch cannot vouch for the tree) it is a full [`Workspace::scan_tree`].
//!
//! Two steps, so that the store hands over only the records that matter:
//! [`Workspace::prepare_rescan`] lists what changed and says which [`Scope`]s need records
//! ([`Rescan::scopes`]); [`Workspace::finish_rescan`] compares them.

use std::collections::HashSet;
use std::sync::Arc;

use super::error::WorkspaceError;
use super::fs::Workspace;
use super::scan::{FileStat, FileState, TreeChanges, now_ns};
use super::walk::{Dir, list_dir, walk_files, walk_from};
use super::watch::{Drained, Watch, WatchSlot, is_under};

/// A part of the tree: the files directly in `dir`, or everything below it when `recursive`
/// (`dir` is relative, `""` for the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub dir: String,
    pub recursive: bool,
}

impl Scope {
    /// True when `path` (a file's relative path) is in this scope.
    pub fn contains(&self, path: &str) -> bool {
        is_under(path, &self.dir, self.recursive)
    }
}

/// What [`Workspace::prepare_rescan`] found.
pub struct Rescan {
    started: i64,
    kind: Kind,
}

enum Kind {
    Full,
    Partial {
        scopes: Vec<Scope>,
        listed: Vec<(String, FileStat)>,
    },
}

impl Rescan {
    /// The parts of the tree whose records [`Workspace::finish_rescan`] needs; `None`: all.
    pub fn scopes(&self) -> Option<&[Scope]> {
        match &self.kind {
            Kind::Full => None,
            Kind::Partial { scopes, .. } => Some(scopes),
        }
    }
}

impl Workspace {
    /// Watches the directories each full scan reads, so later rescans read only those where
    /// something happened (Linux; elsewhere every scan stays a full one).
    pub fn with_change_watch(mut self) -> Workspace {
        self.watch = Some(Arc::new(WatchSlot::default()));
        self
    }

    /// The full walk; starts a new watch when watching is on.
    pub(crate) fn walk_and_watch(&self) -> Result<Vec<(String, FileStat)>, WorkspaceError> {
        let Some(slot) = &self.watch else {
            return walk_files(self.root(), None);
        };
        slot.set(None);
        let watch = Watch::new().map(Arc::new);
        let listed = walk_files(self.root(), watch.as_deref())?;
        slot.set(watch.filter(|w| !w.is_broken()));
        Ok(listed)
    }

    /// Lists what changed since the last scan (see the module docs).
    pub fn prepare_rescan(&self) -> Result<Rescan, WorkspaceError> {
        let started = now_ns();
        let full = Rescan {
            started,
            kind: Kind::Full,
        };
        let Some(watch) = self.watch.as_ref().and_then(|s| s.get()) else {
            return Ok(full);
        };
        let dirty = match watch.drain() {
            Drained::Rescan => return Ok(full),
            Drained::Dirty(d) => d,
        };
        let mut scopes = Vec::new();
        let mut listed = Vec::new();
        let mut gone = Vec::new();
        let mut new_dirs = Vec::new();
        for dir in dirty {
            let abs = self.root().join(&dir.rel);
            let parents = dir.levels[..dir.levels.len().saturating_sub(1)].to_vec();
            let this = Dir {
                abs: abs.clone(),
                rel: dir.rel.clone(),
                parents,
            };
            // Replaced by another directory under the same name: read it whole.
            if !dir.rel.is_empty() && abs.is_dir() && !watch.watched_as(&abs, &dir.rel) {
                gone.push(dir.rel.clone());
                scopes.push(Scope {
                    dir: dir.rel.clone(),
                    recursive: true,
                });
                new_dirs.push(this);
                continue;
            }
            let Some(listing) = list_dir(this)? else {
                gone.push(dir.rel.clone());
                scopes.push(Scope {
                    dir: dir.rel,
                    recursive: true,
                });
                continue;
            };
            scopes.push(Scope {
                dir: dir.rel.clone(),
                recursive: false,
            });
            listed.extend(listing.files);
            let present: HashSet<&str> = listing.dirs.iter().map(|d| d.rel.as_str()).collect();
            for sub in watch.subdirs_of(&dir.rel) {
                if !present.contains(sub.as_str()) {
                    scopes.push(Scope {
                        dir: sub.clone(),
                        recursive: true,
                    });
                    gone.push(sub);
                }
            }
            for sub in listing.dirs {
                if !watch.watched_as(&sub.abs, &sub.rel) {
                    scopes.push(Scope {
                        dir: sub.rel.clone(),
                        recursive: true,
                    });
                    new_dirs.push(sub);
                }
            }
        }
        // Forget what left before watching what came (a moved directory keeps its inode).
        for rel in &gone {
            watch.forget_under(rel);
        }
        listed.extend(walk_from(new_dirs, Some(&watch))?);
        if watch.is_broken() {
            if let Some(slot) = &self.watch {
                slot.set(None);
            }
            return Ok(full);
        }
        Ok(Rescan {
            started,
            kind: Kind::Partial { scopes, listed },
        })
    }

    /// Compares the records of the rescan's scopes (all records for a full one) with the tree.
    pub fn finish_rescan(
        &self,
        rescan: Rescan,
        known: impl IntoIterator<Item = FileState>,
    ) -> Result<TreeChanges, WorkspaceError> {
        match rescan.kind {
            Kind::Full => self.scan_tree_at(known, rescan.started),
            Kind::Partial { scopes, mut listed } => {
                let known: Vec<FileState> = known
                    .into_iter()
                    .filter(|k| scopes.iter().any(|s| s.contains(&k.path)))
                    .collect();
                listed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                listed.dedup_by(|a, b| a.0 == b.0);
                self.compare(known, listed, rescan.started)
            }
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;

    /// Records as a store keeps them after applying `c` (stat left out of comparisons).
    fn apply(known: &mut BTreeMap<String, FileState>, c: &TreeChanges) {
        for f in c.added.iter().chain(&c.modified).chain(&c.refreshed) {
            known.insert(f.path.clone(), f.clone());
        }
        for p in &c.removed {
            known.remove(p);
        }
    }

    fn contents(known: &BTreeMap<String, FileState>) -> Vec<(String, String, u64)> {
        known
            .values()
            .map(|f| (f.path.clone(), f.sha256.clone(), f.size))
            .collect()
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Rescans with the watched workspace, restricting the records to the scopes as the store
    /// does, and checks the result against a full scan of the same records.
    fn check(ws: &Workspace, known: &mut BTreeMap<String, FileState>) -> (TreeChanges, bool) {
        let plain = Workspace::open(ws.root()).unwrap();
        let mut truth = known.clone();
        apply(
            &mut truth,
            &plain.scan_tree(known.values().cloned()).unwrap(),
        );
        let rescan = ws.prepare_rescan().unwrap();
        let partial = rescan.scopes().is_some();
        let given: Vec<FileState> = match rescan.scopes() {
            None => known.values().cloned().collect(),
            Some(scopes) => known
                .values()
                .filter(|k| scopes.iter().any(|s| s.contains(&k.path)))
                .cloned()
                .collect(),
        };
        let changes = ws.finish_rescan(rescan, given).unwrap();
        apply(known, &changes);
        assert_eq!(contents(known), contents(&truth));
        (changes, partial)
    }

    fn primed(files: &[&str]) -> (tempfile::TempDir, Workspace, BTreeMap<String, FileState>) {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            write(dir.path(), f, f);
        }
        let ws = Workspace::open(dir.path()).unwrap().with_change_watch();
        let mut known = BTreeMap::new();
        apply(&mut known, &ws.scan_tree(Vec::new()).unwrap());
        (dir, ws, known)
    }

    #[test]
    fn a_rescan_of_an_unchanged_tree_reads_no_directory() {
        let (_d, ws, mut known) = primed(&["a.txt", "src/b.rs", "src/deep/c.rs"]);
        let rescan = ws.prepare_rescan().unwrap();
        assert_eq!(rescan.scopes(), Some(&[][..]));
        let c = ws.finish_rescan(rescan, known.values().cloned()).unwrap();
        assert!(c.is_empty() && c.files == 0, "{c:?}");
        assert_eq!(check(&ws, &mut known).0.files, 0);
    }

    #[test]
    fn a_rescan_sees_edits_new_and_removed_directories_moves_and_replacements() {
        let stable: Vec<String> = (0..30).map(|i| format!("stable/s{i}.txt")).collect();
        let mut files: Vec<&str> = stable.iter().map(String::as_str).collect();
        files.extend([
            "a.txt",
            "src/b.rs",
            "src/deep/c.rs",
            "old/x.txt",
            "keep/y.txt",
            "moved/z.txt",
        ]);
        let (d, ws, mut known) = primed(&files);
        let r = d.path();
        write(r, "src/deep/c.rs", "changed");
        write(r, "new/dir/n.txt", "new");
        std::fs::remove_dir_all(r.join("old")).unwrap();
        std::fs::rename(r.join("moved"), r.join("elsewhere")).unwrap();
        std::fs::rename(r.join("keep"), r.join("kept")).unwrap();
        write(r, "keep/fresh.txt", "a new directory under the old name");
        write(r, "node_modules/m/i.js", "ignored");
        let (c, partial) = check(&ws, &mut known);
        assert!(
            partial && c.files < 10,
            "only the changed directories were read: {c:?}"
        );
        let paths: Vec<&str> = known
            .keys()
            .map(String::as_str)
            .filter(|p| !p.starts_with("stable/"))
            .collect();
        assert_eq!(
            paths,
            [
                "a.txt",
                "elsewhere/z.txt",
                "keep/fresh.txt",
                "kept/y.txt",
                "new/dir/n.txt",
                "src/b.rs",
                "src/deep/c.rs"
            ]
        );
        // The moved and new directories are watched under their new names.
        write(r, "elsewhere/w.txt", "w");
        write(r, "kept/v.txt", "v");
        write(r, "new/dir/m.txt", "m");
        assert!(check(&ws, &mut known).1);
        assert!(known.contains_key("elsewhere/w.txt") && known.contains_key("kept/v.txt"));
        assert!(known.contains_key("new/dir/m.txt"));
    }

    #[test]
    fn an_ignore_file_change_makes_the_rescan_a_full_one() {
        let (d, ws, mut known) = primed(&["a.log", "b.txt"]);
        write(d.path(), ".gitignore", "*.log\n");
        let rescan = ws.prepare_rescan().unwrap();
        assert!(rescan.scopes().is_none());
        let c = ws.finish_rescan(rescan, known.values().cloned()).unwrap();
        apply(&mut known, &c);
        assert!(!known.contains_key("a.log"));
        // And the next one is watched again.
        assert!(ws.prepare_rescan().unwrap().scopes().is_some());
    }

    #[test]
    fn without_a_watch_every_rescan_is_full() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.txt", "a");
        let ws = Workspace::open(dir.path()).unwrap();
        ws.scan_tree(Vec::new()).unwrap();
        assert!(ws.prepare_rescan().unwrap().scopes().is_none());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Write(u8, u8),
        Remove(u8, u8),
        RemoveDir(u8),
        MoveDir(u8, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..4u8, 0..4u8).prop_map(|(d, f)| Op::Write(d, f)),
            (0..4u8, 0..4u8).prop_map(|(d, f)| Op::Remove(d, f)),
            (0..4u8).prop_map(Op::RemoveDir),
            (0..4u8, 0..4u8).prop_map(|(a, b)| Op::MoveDir(a, b)),
        ]
    }

    fn run(r: &Path, op: &Op, n: usize) {
        let dir = |d: u8| {
            if d == 0 {
                String::new()
            } else {
                format!("d{d}/")
            }
        };
        match op {
            Op::Write(d, f) => write(r, &format!("{}f{f}.txt", dir(*d)), &format!("{n}")),
            Op::Remove(d, f) => {
                let _ = std::fs::remove_file(r.join(format!("{}f{f}.txt", dir(*d))));
            }
            Op::RemoveDir(d) if *d > 0 => {
                let _ = std::fs::remove_dir_all(r.join(format!("d{d}")));
            }
            Op::MoveDir(a, b) if *a > 0 && *b > 0 && a != b => {
                let _ = std::fs::remove_dir_all(r.join(format!("d{b}")));
                let _ = std::fs::rename(r.join(format!("d{a}")), r.join(format!("d{b}")));
            }
            _ => {}
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever happens between scans, a rescan leaves the records a full scan would.
        #[test]
        fn rescans_agree_with_full_scans(batches in prop::collection::vec(prop::collection::vec(op(), 1..6), 1..5)) {
            let (d, ws, mut known) = primed(&["f0.txt", "d1/f0.txt", "d2/f1.txt", "d3/f2.txt"]);
            for (i, batch) in batches.iter().enumerate() {
                for (j, op) in batch.iter().enumerate() {
                    run(d.path(), op, i * 10 + j);
                }
                check(&ws, &mut known);
            }
        }
    }
}
