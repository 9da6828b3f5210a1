//! Git checkpoints with git2 (no network). The project's own repository is used, never one
//! found in a parent directory.
//!
//! - [`Workspace::ensure_repo`] initialises a repository with the branch `main` when there is
//!   none; a new repository gets a `.gitignore` for build and dependency directories only when
//!   the project has none (an existing one is never changed). The `.gitignore` is written
//!   *before* `git init`, so a kill between the two cannot leave a repository without it;
//!   [`Workspace::restore_default_gitignore`] repairs one that an older version left so.
//! - libgit2 probes the file system at init with a file named `_git2_` + 16 hex digits in the
//!   work tree ([`is_libgit2_probe_name`]); a kill can leave one, which is never committed and
//!   is removed at run start ([`Workspace::remove_stale_probe_files`]).
//! - [`Workspace::checkpoint`] (in [`super::checkpoint`]) commits every non-ignored change.
//! - [`Workspace::restore_to`] creates a new branch at an earlier checkpoint and checks it out;
//!   the old branch keeps its history.

use git2::{Repository, StatusOptions};

use super::error::WorkspaceError;
use super::fs::Workspace;

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

/// One commit of [`Workspace::log`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: CommitId,
    pub summary: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
}

impl Workspace {
    pub(crate) fn repo(&self) -> Result<Repository, WorkspaceError> {
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
        // The `.gitignore` first (atomically): a kill right after `git init` must not leave a
        // repository whose first checkpoint commits `.env` or `node_modules/`.
        self.write_default_gitignore_if_missing()?;
        let mut opts = git2::RepositoryInitOptions::new();
        opts.initial_head("main").no_reinit(!interrupted_init);
        Repository::init_opts(self.root(), &opts)?;
        Ok(true)
    }

    /// Writes [`DEFAULT_GITIGNORE`] when the project has no `.gitignore` (nothing at that
    /// path, not even a link); returns true when it wrote one.
    fn write_default_gitignore_if_missing(&self) -> Result<bool, WorkspaceError> {
        let path = self.resolve(".gitignore")?;
        if self.exists(&path) {
            return Ok(false);
        }
        match self.create_new(&path, DEFAULT_GITIGNORE.as_bytes(), u64::MAX) {
            Ok(_) => Ok(true),
            Err(WorkspaceError::Exists(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Repairs the state a kill between `git init` and the `.gitignore` left in versions that
    /// wrote the `.gitignore` second: a repository with no commit yet and no `.gitignore` gets
    /// samocoder's (returns true when it wrote it). A repository with a commit is left alone:
    /// its history says what its owner wants. Only for directories samocoder made its
    /// repository in (not adopted ones).
    pub fn restore_default_gitignore(&self) -> Result<bool, WorkspaceError> {
        if self.head()?.is_some() {
            return Ok(false);
        }
        self.write_default_gitignore_if_missing()
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
    /// (on the current branch) with the message "Work in progress before restoring <id>" and
    /// returns that commit, so the caller can say where the changes are.
    pub fn restore_to(
        &self,
        commit: &CommitId,
        new_branch: &str,
        checkpoint_first: bool,
    ) -> Result<Option<CommitId>, WorkspaceError> {
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
        let mut kept = None;
        if self.is_dirty()? {
            if !checkpoint_first {
                return Err(WorkspaceError::DirtyWorkTree);
            }
            kept = self
                .checkpoint(&format!(
                    "Work in progress before restoring {}",
                    commit.short()
                ))?
                .commit;
        }
        let branch = repo.branch(new_branch, &target, false)?;
        let refname = branch.get().name()?.to_owned();
        let mut checkout = git2::build::CheckoutBuilder::new();
        checkout.safe();
        repo.checkout_tree(target.as_object(), Some(&mut checkout))?;
        repo.set_head(&refname)?;
        Ok(kept)
    }
}

/// True for the name of the file libgit2 creates in a work tree to probe the file system when
/// it initialises a repository (`git_fs_path_supports_symlinks`: `git_futils_mktmp` makes the
/// work tree path + `_git2_` + the 16 lower-case hex digits of a random 64-bit number, then
/// replaces it with a symlink and removes it). Older libgit2 versions used `mkstemp` on a name of
/// `_git2_` and 6 random letters or digits. Nothing else matches: `_git2_notes.txt` is a user's.
pub fn is_libgit2_probe_name(name: &str) -> bool {
    let Some(tail) = name.strip_prefix("_git2_") else {
        return false;
    };
    let hex16 = tail.len() == 16
        && tail
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let mkstemp6 = tail.len() == 6 && tail.bytes().all(|b| b.is_ascii_alphanumeric());
    hex16 || mkstemp6
}

impl Workspace {
    /// Removes libgit2's probe files ([`is_libgit2_probe_name`], a regular file or a link, at
    /// the top of the work tree where libgit2 makes them) that a kill during `git init` left;
    /// returns how many. Only call it while holding the project's run lock (no init of this
    /// project can be running then).
    pub fn remove_stale_probe_files(&self) -> Result<usize, WorkspaceError> {
        let entries = std::fs::read_dir(self.root()).map_err(|e| WorkspaceError::io(".", e))?;
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| WorkspaceError::io(".", e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str().filter(|n| is_libgit2_probe_name(n)) else {
                continue;
            };
            let ty = entry.file_type().map_err(|e| WorkspaceError::io(name, e))?;
            if !(ty.is_file() || ty.is_symlink()) {
                continue;
            }
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(WorkspaceError::io(name, e)),
            }
        }
        Ok(removed)
    }

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

    use crate::workspace::test_support::{new_ws, write};

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

    /// Regression: a kill between `git init` and writing `.gitignore` lost it for good (later
    /// checkpoints committed `.env` and `node_modules/`).
    #[test]
    fn regression_a_kill_between_git_init_and_the_gitignore_lost_it_for_good() {
        let (d, ws) = new_ws();
        // The state the kill left: a repository, no commit, no `.gitignore`.
        Repository::init(d.path()).unwrap();
        assert!(!ws.ensure_repo().unwrap());
        assert!(ws.restore_default_gitignore().unwrap());
        assert_eq!(
            std::fs::read_to_string(d.path().join(".gitignore")).unwrap(),
            DEFAULT_GITIGNORE
        );
        assert!(!ws.restore_default_gitignore().unwrap());
        write(&ws, ".env", "KEY=1\n");
        write(&ws, "app.py", "print(1)\n");
        ws.checkpoint("Task 1").unwrap().commit.unwrap();
        let repo = Repository::open(ws.root()).unwrap();
        let tree = repo.head().unwrap().peel_to_tree().unwrap();
        assert!(tree.get_name(".env").is_none() && tree.get_name("app.py").is_some());
        // Once there is history, a removed `.gitignore` is the owner's choice.
        std::fs::remove_file(d.path().join(".gitignore")).unwrap();
        assert!(!ws.restore_default_gitignore().unwrap());
        assert!(!d.path().join(".gitignore").exists());
    }

    #[test]
    fn the_gitignore_is_written_before_the_repository_exists() {
        let (d, ws) = new_ws();
        // An init that cannot finish (a file where git makes `objects/`) stands for a kill
        // right after it: the `.gitignore` is already there.
        std::fs::create_dir_all(d.path().join(".git")).unwrap();
        std::fs::write(d.path().join(".git/objects"), "").unwrap();
        assert!(ws.ensure_repo().is_err());
        assert_eq!(
            std::fs::read_to_string(d.path().join(".gitignore")).unwrap(),
            DEFAULT_GITIGNORE
        );
    }

    #[test]
    fn libgit2_probe_names_match_only_libgit2s_pattern() {
        for name in [
            "_git2_0123456789abcdef",
            "_git2_ffffffffffffffff",
            "_git2_abc123",
            "_git2_A1b2C3",
        ] {
            assert!(is_libgit2_probe_name(name), "{name}");
        }
        for name in [
            "_git2_notes.txt",
            "_git2_",
            "_git2_abc12",
            "_git2_abc1234",
            "_git2_0123456789ABCDEF",
            "_git2_0123456789abcdeg",
            "x_git2_abc123",
            "_git2_abc123.bak",
            "git2_abc123",
        ] {
            assert!(!is_libgit2_probe_name(name), "{name}");
        }
    }

    #[test]
    fn stale_libgit2_probe_files_are_removed_and_nothing_else() {
        let (d, ws) = new_ws();
        std::fs::write(d.path().join("_git2_abc123"), "").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("testing", d.path().join("_git2_0123456789abcdef")).unwrap();
        std::fs::write(d.path().join("_git2_notes.txt"), "mine").unwrap();
        std::fs::create_dir(d.path().join("_git2_dir123")).unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/_git2_abc123"), "mine").unwrap();
        let want = if cfg!(unix) { 2 } else { 1 };
        assert_eq!(ws.remove_stale_probe_files().unwrap(), want);
        assert!(std::fs::symlink_metadata(d.path().join("_git2_abc123")).is_err());
        assert!(std::fs::symlink_metadata(d.path().join("_git2_0123456789abcdef")).is_err());
        assert!(d.path().join("_git2_notes.txt").is_file());
        assert!(d.path().join("_git2_dir123").is_dir());
        assert!(d.path().join("sub/_git2_abc123").is_file());
        assert_eq!(ws.remove_stale_probe_files().unwrap(), 0);
    }
}
