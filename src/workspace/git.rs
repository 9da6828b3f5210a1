//! Git checkpoints with git2 (no network). The project's own repository is used, never one
//! found in a parent directory.
//!
//! - [`Workspace::ensure_repo`] initialises a repository with the branch `main` when there is
//!   none; a new repository gets a `.gitignore` for build and dependency directories only when
//!   the project has none (an existing one is never changed).
//! - [`Workspace::checkpoint`] stages every non-ignored change (deletions included) and commits,
//!   as the repository's configured identity or else `samocoder <samocoder@localhost>`. A file
//!   that is not in the repository yet is left out (and named in [`Checkpoint::left_out`]) when
//!   it is larger than [`Workspace::user_file_limit`] or lies in a build or dependency
//!   directory ([`SKIPPED_DIRS`], also when no `.gitignore` names it); files already tracked
//!   are always updated.
//! - [`Workspace::restore_to`] creates a new branch at an earlier checkpoint and checks it out;
//!   the old branch keeps its history.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use git2::{IndexAddOption, Repository, Signature, StatusOptions};

use super::error::{WorkspaceError, human_size};
use super::fs::Workspace;
use super::path::is_reserved_name;
use super::tree::SKIPPED_DIRS;

/// The `.gitignore` written into a repository samocoder creates.
pub const DEFAULT_GITIGNORE: &str = "target/\nnode_modules/\n__pycache__/\n*.pyc\n.venv/\nvenv/\n.pytest_cache/\n.mypy_cache/\n.ruff_cache/\n.tox/\ndist/\nbuild/\n*.egg-info/\n.DS_Store\n.env\n.samocoder/\n";

/// A commit id (full lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommitId(String);

impl CommitId {
    /// Parses a full or abbreviated hex id (checked against the repository on use).
    pub fn new(hex: impl Into<String>) -> CommitId {
        CommitId(hex.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 8 characters, for messages.
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(8)]
    }
}

impl std::fmt::Display for CommitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

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
        if large < self.left_out.len() {
            text.push_str("; build and dependency directories are never committed");
        }
        Some(text)
    }
}

/// One commit of [`Workspace::log`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: CommitId,
    pub summary: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
}

impl Workspace {
    fn repo(&self) -> Result<Repository, WorkspaceError> {
        Ok(Repository::open(self.root())?)
    }

    /// Makes sure the project is a git repository; returns true when one was created.
    pub fn ensure_repo(&self) -> Result<bool, WorkspaceError> {
        let git = self.root().join(".git");
        let interrupted_init = git.is_dir() && !git.join("HEAD").exists();
        if git.exists() && !interrupted_init {
            self.repo()?;
            return Ok(false);
        }
        // A `.git` without HEAD is an init that was killed half way (never a usable
        // repository): finish it instead of refusing the project forever.
        let mut opts = git2::RepositoryInitOptions::new();
        opts.initial_head("main").no_reinit(!interrupted_init);
        Repository::init_opts(self.root(), &opts)?;
        let ignore = self.root().join(".gitignore");
        if !ignore.exists() {
            let path = self.resolve(".gitignore")?;
            self.write_atomic(&path, DEFAULT_GITIGNORE.as_bytes(), u64::MAX)?;
        }
        Ok(true)
    }

    /// Commits every non-ignored change, leaving out the new files described in the module
    /// docs; the commit is `None` when nothing changed since the last one.
    pub fn checkpoint(&self, message: &str) -> Result<Checkpoint, WorkspaceError> {
        let limit = self.user_file_limit();
        let repo = self.repo()?;
        let mut index = repo.index()?;
        let tracked: HashSet<Vec<u8>> = index.iter().map(|e| e.path).collect();
        let mut large = Vec::new();
        let mut build_dirs: BTreeMap<String, usize> = BTreeMap::new();
        let root = self.root().to_path_buf();
        let mut admit = |path: &Path, _spec: &[u8]| -> i32 {
            let rel = path.to_string_lossy().replace('\\', "/");
            if tracked.contains(rel.as_bytes()) {
                return 0;
            }
            let parts: Vec<&str> = rel.split('/').collect();
            if parts.iter().any(|p| is_reserved_name(p)) {
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
        out.commit = Some(CommitId(id.to_string()));
        Ok(out)
    }

    /// The current commit, `None` before the first checkpoint.
    pub fn head(&self) -> Result<Option<CommitId>, WorkspaceError> {
        let repo = self.repo()?;
        match repo.head() {
            Ok(head) => Ok(Some(CommitId(head.peel_to_commit()?.id().to_string()))),
            Err(e)
                if matches!(
                    e.code(),
                    git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The current branch name (`None` when HEAD is detached).
    pub fn current_branch(&self) -> Result<Option<String>, WorkspaceError> {
        let repo = self.repo()?;
        let head = repo.find_reference("HEAD")?;
        Ok(head
            .symbolic_target()?
            .and_then(|t| t.strip_prefix("refs/heads/"))
            .map(str::to_owned))
    }

    /// Up to `limit` commits reachable from HEAD, newest first.
    pub fn log(&self, limit: usize) -> Result<Vec<CommitInfo>, WorkspaceError> {
        let repo = self.repo()?;
        if self.head()?.is_none() {
            return Ok(Vec::new());
        }
        let mut walk = repo.revwalk()?;
        walk.push_head()?;
        let mut out = Vec::new();
        for id in walk.take(limit) {
            let commit = repo.find_commit(id?)?;
            out.push(CommitInfo {
                id: CommitId(commit.id().to_string()),
                summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default())
                    .into_owned(),
                time: commit.time().seconds(),
            });
        }
        Ok(out)
    }

    /// True when there are changes (tracked or untracked, not ignored) since the last commit.
    pub fn is_dirty(&self) -> Result<bool, WorkspaceError> {
        let repo = self.repo()?;
        let mut opts = StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false);
        Ok(!repo.statuses(Some(&mut opts))?.is_empty())
    }

    /// Creates `new_branch` at `commit` and checks it out, keeping the current branch and its
    /// history. A dirty work tree is refused unless `checkpoint_first`, which commits it first
    /// (on the current branch) with the message "Work in progress before restoring <id>".
    pub fn restore_to(
        &self,
        commit: &CommitId,
        new_branch: &str,
        checkpoint_first: bool,
    ) -> Result<(), WorkspaceError> {
        let repo = self.repo()?;
        let target = repo
            .revparse_single(commit.as_str())
            .and_then(|o| o.peel_to_commit())
            .map_err(|_| WorkspaceError::UnknownCommit(commit.to_string()))?;
        if repo
            .find_branch(new_branch, git2::BranchType::Local)
            .is_ok()
        {
            return Err(WorkspaceError::BranchExists(new_branch.into()));
        }
        if self.is_dirty()? {
            if !checkpoint_first {
                return Err(WorkspaceError::DirtyWorkTree);
            }
            self.checkpoint(&format!(
                "Work in progress before restoring {}",
                commit.short()
            ))?;
        }
        let branch = repo.branch(new_branch, &target, false)?;
        let refname = branch.get().name()?.to_owned();
        let mut checkout = git2::build::CheckoutBuilder::new();
        checkout.safe();
        repo.checkout_tree(target.as_object(), Some(&mut checkout))?;
        repo.set_head(&refname)?;
        Ok(())
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

impl Workspace {
    /// Removes git lock files (`index.lock`, `HEAD.lock`, `refs/**/*.lock`) that a killed
    /// process left behind; returns how many. Only call it while holding the project's run lock:
    /// a live git process of the same project would otherwise lose its lock.
    pub fn remove_stale_git_locks(&self) -> Result<usize, WorkspaceError> {
        fn walk(dir: &std::path::Path, removed: &mut usize) -> std::io::Result<()> {
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let ty = entry.file_type()?;
                if ty.is_dir() {
                    walk(&entry.path(), removed)?;
                } else if ty.is_file() && entry.file_name().to_string_lossy().ends_with(".lock") {
                    std::fs::remove_file(entry.path())?;
                    *removed += 1;
                }
            }
            Ok(())
        }
        let git = self.root().join(".git");
        let mut removed = 0;
        for name in ["index.lock", "HEAD.lock", "config.lock"] {
            match std::fs::remove_file(git.join(name)) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(WorkspaceError::io(".git", e)),
            }
        }
        walk(&git.join("refs"), &mut removed).map_err(|e| WorkspaceError::io(".git/refs", e))?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_ws() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        (dir, ws)
    }

    fn write(ws: &Workspace, p: &str, c: &str) {
        ws.write_atomic(&ws.resolve(p).unwrap(), c.as_bytes(), 1 << 20)
            .unwrap();
    }

    #[test]
    fn ensure_repo_finishes_an_init_that_was_killed_half_way() {
        let (d, ws) = new_ws();
        std::fs::create_dir_all(d.path().join(".git/hooks")).unwrap();
        std::fs::write(d.path().join(".git/description"), "x").unwrap();
        assert!(ws.ensure_repo().unwrap());
        assert_eq!(ws.current_branch().unwrap().as_deref(), Some("main"));
        assert!(d.path().join(".gitignore").is_file());
        assert!(!ws.ensure_repo().unwrap());
    }

    #[test]
    fn ensure_repo_inits_main_with_a_gitignore_once() {
        let (d, ws) = new_ws();
        assert!(ws.ensure_repo().unwrap());
        assert!(!ws.ensure_repo().unwrap());
        assert_eq!(ws.current_branch().unwrap().as_deref(), Some("main"));
        assert!(
            std::fs::read_to_string(d.path().join(".gitignore"))
                .unwrap()
                .contains("node_modules/")
        );
        let (d2, ws2) = new_ws();
        std::fs::write(d2.path().join(".gitignore"), "mine\n").unwrap();
        ws2.ensure_repo().unwrap();
        assert_eq!(
            std::fs::read_to_string(d2.path().join(".gitignore")).unwrap(),
            "mine\n"
        );
    }

    #[test]
    fn checkpoint_commits_changes_and_returns_none_when_clean() {
        let (_d, ws) = new_ws();
        ws.ensure_repo().unwrap();
        assert_eq!(ws.head().unwrap(), None);
        write(&ws, "a.py", "print(1)\n");
        write(&ws, "node_modules/x.js", "ignored");
        let first = ws
            .checkpoint("Task 1: scaffold")
            .unwrap()
            .commit
            .expect("a commit");
        assert_eq!(ws.head().unwrap(), Some(first.clone()));
        assert_eq!(ws.checkpoint("nothing").unwrap().commit, None);
        assert!(!ws.is_dirty().unwrap());
        std::fs::remove_file(ws.root().join("a.py")).unwrap();
        write(&ws, "b.py", "x");
        let second = ws.checkpoint("Task 2: rename").unwrap().commit.unwrap();
        let log = ws.log(10).unwrap();
        assert_eq!(
            log.iter().map(|c| c.summary.as_str()).collect::<Vec<_>>(),
            ["Task 2: rename", "Task 1: scaffold"]
        );
        assert_eq!(log[0].id, second);
        let repo = Repository::open(ws.root()).unwrap();
        let tree = repo.head().unwrap().peel_to_tree().unwrap();
        assert!(tree.get_name("a.py").is_none() && tree.get_name("b.py").is_some());
        assert!(tree.get_name("node_modules").is_none());
        let c = repo.head().unwrap().peel_to_commit().unwrap();
        assert!(c.author().name().is_ok());
    }

    #[test]
    fn restore_branches_without_losing_history_and_refuses_dirty_trees() {
        let (_d, ws) = new_ws();
        ws.ensure_repo().unwrap();
        write(&ws, "a.txt", "v1");
        let one = ws.checkpoint("Task 1").unwrap().commit.unwrap();
        write(&ws, "a.txt", "v2");
        let two = ws.checkpoint("Task 2").unwrap().commit.unwrap();
        write(&ws, "a.txt", "dirty");
        assert!(matches!(
            ws.restore_to(&one, "retry-1", false),
            Err(WorkspaceError::DirtyWorkTree)
        ));
        ws.restore_to(&one, "retry-1", true).unwrap();
        assert_eq!(
            std::fs::read_to_string(ws.root().join("a.txt")).unwrap(),
            "v1"
        );
        assert_eq!(ws.current_branch().unwrap().as_deref(), Some("retry-1"));
        assert_eq!(ws.head().unwrap(), Some(one.clone()));
        let repo = Repository::open(ws.root()).unwrap();
        let main = repo.find_branch("main", git2::BranchType::Local).unwrap();
        let main_head = main.get().peel_to_commit().unwrap();
        assert_eq!(
            main_head.summary().unwrap(),
            Some(format!("Work in progress before restoring {}", one.short()).as_str())
        );
        assert_eq!(main_head.parent_id(0).unwrap().to_string(), two.as_str());
        assert!(matches!(
            ws.restore_to(&one, "retry-1", false),
            Err(WorkspaceError::BranchExists(_))
        ));
        assert!(matches!(
            ws.restore_to(&CommitId::new("deadbeef"), "x", false),
            Err(WorkspaceError::UnknownCommit(_))
        ));
    }

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
}
