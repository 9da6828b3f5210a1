//! Git checkpoints: a commit of every change the ignore rules allow (deletions included), as
//! the repository's configured identity or else `samocoder <samocoder@localhost>`. A file that
//! is not in the repository yet is left out (and named in [`Checkpoint::left_out`]) when it is
//! larger than [`Workspace::user_file_limit`] or lies in a build or dependency directory
//! ([`SKIPPED_DIRS`], also when no `.gitignore` names it); files already tracked are always
//! updated (leaving one out would commit a stale version). libgit2's probe files at the top of
//! the work tree ([`super::git::is_libgit2_probe_name`]) are never taken in.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use git2::{IndexAddOption, Signature};

use super::error::{WorkspaceError, human_size, shorten};
use super::fs::Workspace;
use super::git::{CommitId, is_libgit2_probe_name};
use super::path::{is_git_alias, is_reserved_name};
use super::tree::SKIPPED_DIRS;

/// What [`Workspace::checkpoint`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checkpoint {
    /// The new commit; `None` when nothing changed since the last one.
    pub commit: Option<CommitId>,
    /// New files the checkpoint did not take in, sorted by path.
    pub left_out: Vec<LeftOut>,
    /// The size limit that applied ([`Workspace::user_file_limit`]).
    pub limit: u64,
}

/// A path a checkpoint left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    /// A file, or a directory (ending in `/`) for [`LeftOutReason::BuildDirectory`].
    pub path: String,
    pub reason: LeftOutReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftOutReason {
    /// A new file larger than the limit.
    TooLarge { size: u64 },
    /// New files under a build or dependency directory ([`SKIPPED_DIRS`]).
    BuildDirectory { files: usize },
    /// A file whose name git refuses to index because a file system takes it for `.git`
    /// (`GIT~1`, `.git:stream`, ...; see [`is_git_alias`]), made by a command: committing it
    /// would fail every checkpoint from then on.
    GitAlias,
}

impl Checkpoint {
    /// One line for the user naming what was left out (at most five paths), if anything was.
    pub fn warning(&self) -> Option<String> {
        if self.left_out.is_empty() {
            return None;
        }
        let large = self
            .left_out
            .iter()
            .filter(|l| matches!(l.reason, LeftOutReason::TooLarge { .. }))
            .count();
        let shown: Vec<String> = self
            .left_out
            .iter()
            .take(5)
            .map(|l| match l.reason {
                LeftOutReason::TooLarge { size } => format!("{} ({})", l.path, human_size(size)),
                LeftOutReason::BuildDirectory { files } => {
                    format!(
                        "{} ({files} file{})",
                        l.path,
                        if files == 1 { "" } else { "s" }
                    )
                }
                LeftOutReason::GitAlias => format!("`{}`", shorten(&l.path, 120)),
            })
            .collect();
        let more = self.left_out.len().saturating_sub(shown.len());
        let mut text = format!("the checkpoint left out {}", shown.join(", "));
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        if large > 0 {
            text.push_str(&format!(
                "; new files over {} that samocoder did not write are not committed: commit them yourself with git, or raise limits.max_user_file_bytes",
                human_size(self.limit)
            ));
        }
        let aliases = self
            .left_out
            .iter()
            .filter(|l| l.reason == LeftOutReason::GitAlias)
            .count();
        if aliases > 0 {
            text.push_str(
                "; git refuses names that Windows or macOS take for `.git`: rename or delete them",
            );
        }
        if large + aliases < self.left_out.len() {
            text.push_str("; build and dependency directories are never committed");
        }
        Some(text)
    }
}

impl Workspace {
    /// Commits every non-ignored change, leaving out the new files described in the module
    /// docs; the commit is `None` when nothing changed since the last one.
    pub fn checkpoint(&self, message: &str) -> Result<Checkpoint, WorkspaceError> {
        let limit = self.user_file_limit();
        let repo = self.repo()?;
        let mut index = repo.index()?;
        let tracked: HashSet<Vec<u8>> = index.iter().map(|e| e.path).collect();
        let mut large = Vec::new();
        let mut build_dirs: BTreeMap<String, usize> = BTreeMap::new();
        let mut aliases = Vec::new();
        let root = self.root().to_path_buf();
        let mut admit = |path: &Path, _spec: &[u8]| -> i32 {
            let rel = path.to_string_lossy().replace('\\', "/");
            if tracked.contains(rel.as_bytes()) {
                return 0;
            }
            let parts: Vec<&str> = rel.split('/').collect();
            // A nested repository's `.git` and samocoder's own directory are skipped quietly;
            // any other name git would refuse is named in the warning.
            if let Some(i) = parts.iter().position(|p| is_git_alias(p) && *p != ".git") {
                aliases.push(LeftOut {
                    path: parts[..=i].join("/"),
                    reason: LeftOutReason::GitAlias,
                });
                return 1;
            }
            if parts.iter().any(|p| is_reserved_name(p)) {
                return 1;
            }
            // libgit2's file-system probe, left by a kill during `git init`: never the user's.
            if let [name] = parts.as_slice()
                && is_libgit2_probe_name(name)
            {
                return 1;
            }
            let dirs = &parts[..parts.len().saturating_sub(1)];
            if let Some(i) = dirs.iter().position(|p| SKIPPED_DIRS.contains(p)) {
                *build_dirs
                    .entry(format!("{}/", dirs[..=i].join("/")))
                    .or_default() += 1;
                return 1;
            }
            match std::fs::symlink_metadata(root.join(path)) {
                Ok(m) if m.is_file() && m.len() > limit => {
                    large.push(LeftOut {
                        path: rel,
                        reason: LeftOutReason::TooLarge { size: m.len() },
                    });
                    1
                }
                _ => 0,
            }
        };
        index
            .add_all(["*"], IndexAddOption::DEFAULT, Some(&mut admit))
            .map_err(nesting_error)?;
        index.update_all(["*"], None).map_err(nesting_error)?;
        index.write()?;
        let mut left_out = large;
        aliases.dedup();
        left_out.extend(aliases);
        left_out.extend(build_dirs.into_iter().map(|(path, files)| LeftOut {
            path,
            reason: LeftOutReason::BuildDirectory { files },
        }));
        left_out.sort_by(|a, b| a.path.cmp(&b.path));
        let tree_id = index.write_tree()?;
        let parent = match repo.head() {
            Ok(head) => Some(head.peel_to_commit()?),
            Err(e)
                if matches!(
                    e.code(),
                    git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
                ) =>
            {
                None
            }
            Err(e) => return Err(e.into()),
        };
        let unchanged = match &parent {
            Some(p) => p.tree_id() == tree_id,
            None => repo.find_tree(tree_id)?.is_empty(),
        };
        let mut out = Checkpoint {
            commit: None,
            left_out,
            limit,
        };
        if unchanged {
            return Ok(out);
        }
        let tree = repo.find_tree(tree_id)?;
        let sig = match repo.signature() {
            Ok(sig) => sig,
            Err(_) => Signature::now("samocoder", "samocoder@localhost")?,
        };
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        let id = repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)?;
        out.commit = Some(CommitId::new(id.to_string()));
        Ok(out)
    }
}

/// libgit2 stops walking a work tree nested deeper than it can hold: say what to do.
fn nesting_error(e: git2::Error) -> WorkspaceError {
    if e.message().contains("nesting too deep") {
        WorkspaceError::NestingTooDeep
    } else {
        e.into()
    }
}

#[cfg(test)]
mod tests {
    use git2::Repository;

    use super::*;

    use crate::workspace::test_support::{new_ws, write};

    #[test]
    fn checkpoint_leaves_out_large_new_files_and_build_dirs_and_says_so() {
        let (d, ws) = new_ws();
        let ws = ws.with_user_file_limit(1000);
        // The user's own .gitignore, which does not name node_modules.
        std::fs::write(d.path().join(".gitignore"), "*.log\n").unwrap();
        ws.ensure_repo().unwrap();
        write(&ws, "app.py", "print(1)\n");
        std::fs::write(d.path().join("model.bin"), vec![0u8; 5000]).unwrap();
        std::fs::write(d.path().join("small.bin"), vec![0u8; 1000]).unwrap();
        std::fs::create_dir_all(d.path().join("web/node_modules/x")).unwrap();
        std::fs::write(d.path().join("web/node_modules/x/a.js"), "a").unwrap();
        std::fs::write(d.path().join("web/node_modules/x/b.js"), "b").unwrap();
        let cp = ws.checkpoint("Task 1").unwrap();
        assert!(cp.commit.is_some());
        assert_eq!(
            cp.left_out,
            [
                LeftOut {
                    path: "model.bin".into(),
                    reason: LeftOutReason::TooLarge { size: 5000 }
                },
                LeftOut {
                    path: "web/node_modules/".into(),
                    reason: LeftOutReason::BuildDirectory { files: 2 }
                },
            ]
        );
        let warning = cp.warning().unwrap();
        assert!(warning.contains("model.bin (4.9 KB)"), "{warning}");
        assert!(warning.contains("web/node_modules/ (2 files)"), "{warning}");
        assert!(warning.contains("limits.max_user_file_bytes"), "{warning}");
        let repo = Repository::open(ws.root()).unwrap();
        let tree = repo.head().unwrap().peel_to_tree().unwrap();
        assert!(tree.get_name("app.py").is_some() && tree.get_name("small.bin").is_some());
        assert!(tree.get_name("model.bin").is_none() && tree.get_name("web").is_none());
        // Nothing else changed: no commit, and the same files are still named.
        let again = ws.checkpoint("Task 2").unwrap();
        assert_eq!(again.commit, None);
        assert_eq!(again.left_out.len(), 2);
        assert_eq!(Checkpoint::default().warning(), None);
    }

    #[cfg(unix)]
    #[test]
    fn regression_a_name_git_refuses_made_by_a_command_does_not_fail_every_checkpoint() {
        let (d, ws) = new_ws();
        ws.ensure_repo().unwrap();
        // What a command could make: none of these can be written through the workspace.
        for p in [
            "GIT~1/x",
            "src/.git::$INDEX_ALLOCATION/y",
            "src/.git:$DATA",
            ".GIT./z",
        ] {
            let abs = d.path().join(p);
            std::fs::create_dir_all(abs.parent().unwrap()).unwrap();
            std::fs::write(abs, "x").unwrap();
            assert!(ws.resolve(p).is_err(), "{p}");
        }
        write(&ws, "app.py", "print(1)\n");
        let cp = ws.checkpoint("Task 1").unwrap();
        assert!(cp.commit.is_some());
        let paths: Vec<&str> = cp.left_out.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                ".GIT.",
                "GIT~1",
                "src/.git:$DATA",
                "src/.git::$INDEX_ALLOCATION"
            ]
        );
        let warning = cp.warning().unwrap();
        assert!(warning.contains("`GIT~1`"), "{warning}");
        assert!(warning.contains("rename or delete them"), "{warning}");
        assert!(!warning.contains("build and dependency"), "{warning}");
        // And the next checkpoint works too.
        write(&ws, "app.py", "print(2)\n");
        let again = ws.checkpoint("Task 2").unwrap();
        assert!(again.commit.is_some() && again.left_out.len() == 4);
        let repo = Repository::open(ws.root()).unwrap();
        let tree = repo.head().unwrap().peel_to_tree().unwrap();
        assert!(tree.get_name("app.py").is_some() && tree.get_name("GIT~1").is_none());
        assert!(tree.get_name("src").is_none());
    }

    #[test]
    fn checkpoint_keeps_updating_tracked_files_over_the_limit() {
        let (d, ws) = new_ws();
        ws.ensure_repo().unwrap();
        std::fs::write(d.path().join("data.csv"), "a,b\n").unwrap();
        ws.checkpoint("Task 1").unwrap();
        let ws = ws.with_user_file_limit(10);
        std::fs::write(d.path().join("data.csv"), "a,b\n".repeat(100)).unwrap();
        let cp = ws.checkpoint("Task 2").unwrap();
        assert!(cp.commit.is_some() && cp.left_out.is_empty(), "{cp:?}");
    }

    #[test]
    fn the_deepest_path_the_workspace_accepts_can_be_checkpointed() {
        let (_d, ws) = new_ws();
        ws.ensure_repo().unwrap();
        let deepest = format!(
            "{}f.txt",
            "d/".repeat(crate::workspace::path::MAX_DIR_DEPTH)
        );
        write(&ws, &deepest, "deep");
        assert!(ws.checkpoint("deep").unwrap().commit.is_some());
        assert!(ws.resolve(&format!("d/{deepest}")).is_err());
    }

    #[test]
    fn a_tree_too_deep_for_git_is_a_clear_error() {
        let (d, ws) = new_ws();
        ws.ensure_repo().unwrap();
        // Made by a command, not through the workspace.
        let dir = d
            .path()
            .join("d/".repeat(crate::workspace::path::MAX_DIR_DEPTH + 1));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("f.txt"), "x").unwrap();
        let err = ws.checkpoint("deep").unwrap_err();
        assert!(matches!(err, WorkspaceError::NestingTooDeep), "{err}");
        assert!(err.to_string().contains(".gitignore"), "{err}");
    }

    /// Regression: libgit2's `_git2_*` probe file, left in the work tree by a kill during
    /// `git init`, was committed in task 1.
    #[test]
    fn regression_libgit2_probe_file_was_committed_in_task_1() {
        let (d, ws) = new_ws();
        ws.ensure_repo().unwrap();
        for name in ["_git2_0123456789abcdef", "_git2_abc123", "_git2_notes.txt"] {
            std::fs::write(d.path().join(name), "").unwrap();
        }
        std::fs::create_dir_all(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/_git2_abc123"), "a user's file").unwrap();
        ws.checkpoint("Task 1").unwrap().commit.unwrap();
        let repo = Repository::open(ws.root()).unwrap();
        let tree = repo.head().unwrap().peel_to_tree().unwrap();
        assert!(tree.get_name("_git2_0123456789abcdef").is_none());
        assert!(tree.get_name("_git2_abc123").is_none());
        assert!(tree.get_name("_git2_notes.txt").is_some());
        assert!(tree.get_path(Path::new("sub/_git2_abc123")).is_ok());
    }
}
