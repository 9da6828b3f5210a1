//! Git for a directory the user already had (an adopted project). samocoder works there on a
//! branch of its own and never on the user's: a run switches the directory to samocoder's
//! branch (carrying the user's uncommitted changes along, as `git switch` does), commits only
//! what samocoder changed ([`Workspace::commit_own_changes`]: the user's changed paths stay out
//! of its commits and out of the index it writes), and switches back when it ends. History is
//! never rewritten; the user's branch never moves.
//!
//! A directory that is not a repository becomes one ([`Workspace::init_adopted`]): branch
//! `main`, samocoder's `.gitignore` only when there is none, and the files as they were
//! committed as one clearly named commit, the base samocoder's branch starts from.

use std::collections::BTreeSet;
use std::path::PathBuf;

use git2::{BranchType, Index, Repository, Signature, StatusOptions};

use super::error::WorkspaceError;
use super::fs::{Workspace, WriteOutcome};
use super::git::CommitId;
use super::path::{META_DIR, SafePath};
use super::tree::SKIPPED_DIRS;

/// The message of the commit that records a new repository's files as they were.
pub const BASELINE_MESSAGE: &str = "Existing files, as they were before samocoder (adopted)";

/// What the directory has checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// A local branch (short name, `main`).
    Branch(String),
    /// A detached HEAD at this commit.
    Detached(CommitId),
}

impl Head {
    /// As stored: `refs/heads/NAME` or the commit id.
    pub fn stored(&self) -> String {
        match self {
            Head::Branch(b) => format!("refs/heads/{b}"),
            Head::Detached(c) => c.as_str().to_string(),
        }
    }

    /// Reads what [`Head::stored`] wrote.
    pub fn parse(s: &str) -> Head {
        match s.strip_prefix("refs/heads/") {
            Some(b) => Head::Branch(b.to_string()),
            None => Head::Detached(CommitId::new(s)),
        }
    }
}

impl std::fmt::Display for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Head::Branch(b) => f.write_str(b),
            Head::Detached(c) => write!(f, "{} (detached)", c.short()),
        }
    }
}

/// Whether `dir` holds the user's work, so that `new` adopts it instead of building a new
/// project there: anything besides `.git`, or a repository with commits. An empty directory,
/// a missing one, or one with a fresh `git init` (or an unfinished one) gets a new project.
pub fn holds_work(dir: &std::path::Path) -> std::io::Result<bool> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut git = false;
    for entry in entries {
        if entry?.file_name() == ".git" {
            git = true;
        } else {
            return Ok(true);
        }
    }
    Ok(git
        && Repository::open(dir)
            .ok()
            .is_some_and(|r| r.head().ok().and_then(|h| h.target()).is_some()))
}

/// What kind of directory is being adopted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoState {
    /// The top directory of a repository with commits.
    Repo { head: Head, commit: CommitId },
    /// Not a repository, and not inside one.
    NotRepo,
    /// A repository without any commit yet.
    Unborn,
    /// Inside the repository whose top directory is this.
    InsideRepo(PathBuf),
    /// A bare repository (no work tree).
    Bare,
}

/// One path with uncommitted changes, as `git status --short` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    /// `M`, `A`, `D`, `R`, `T`, `??` (untracked) or `U` (conflict); staged changes first.
    pub code: String,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.path)
    }
}

/// What a branch holds over its base.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BranchSummary {
    /// Oldest first: (commit, first line of the message).
    pub commits: Vec<(CommitId, String)>,
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub deleted: Vec<String>,
}

fn is_meta(path: &str) -> bool {
    path == META_DIR || path.starts_with(&format!("{META_DIR}/"))
}

fn signature(repo: &Repository) -> Result<Signature<'static>, WorkspaceError> {
    Ok(match repo.signature() {
        Ok(sig) => sig.to_owned(),
        Err(_) => Signature::now("samocoder", "samocoder@localhost")?,
    })
}

impl Workspace {
    fn git(&self) -> Result<Repository, WorkspaceError> {
        Ok(Repository::open(self.root())?)
    }

    /// What kind of directory this is for adoption.
    pub fn repo_state(&self) -> Result<RepoState, WorkspaceError> {
        if !self.root().join(".git").exists() {
            return Ok(match Repository::discover(self.root()) {
                Ok(repo) => match repo.workdir() {
                    Some(top) => RepoState::InsideRepo(top.to_path_buf()),
                    None => RepoState::Bare,
                },
                Err(_)
                    if self.root().join("HEAD").is_file()
                        && self.root().join("objects").is_dir() =>
                {
                    RepoState::Bare
                }
                Err(_) => RepoState::NotRepo,
            });
        }
        let repo = self.git()?;
        if repo.is_bare() {
            return Ok(RepoState::Bare);
        }
        match repo.head() {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.code(),
                    git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
                ) =>
            {
                return Ok(RepoState::Unborn);
            }
            Err(e) => return Err(e.into()),
        }
        let head = self.checked_out()?;
        let commit = CommitId::new(repo.head()?.peel_to_commit()?.id().to_string());
        Ok(RepoState::Repo { head, commit })
    }

    /// What is checked out now.
    pub fn checked_out(&self) -> Result<Head, WorkspaceError> {
        let repo = self.git()?;
        if repo.head_detached()? {
            let id = repo.head()?.peel_to_commit()?.id();
            return Ok(Head::Detached(CommitId::new(id.to_string())));
        }
        Ok(Head::Branch(self.current_branch()?.unwrap_or_default()))
    }

    /// Every path with uncommitted changes (staged, unstaged or untracked; ignored files,
    /// samocoder's own `.samocoder/` and build/dependency directories are not changes),
    /// sorted by path.
    pub fn uncommitted(&self) -> Result<Vec<Change>, WorkspaceError> {
        let repo = self.git()?;
        let mut opts = StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false)
            .exclude_submodules(true)
            .renames_head_to_index(false);
        let mut out = Vec::new();
        for entry in repo.statuses(Some(&mut opts))?.iter() {
            let Ok(path) = entry.path() else { continue };
            // samocoder's own files, and build or dependency output (`__pycache__/`,
            // `node_modules/`, ...) that no project means to commit, are not changes.
            if is_meta(path) || path.split('/').any(|c| SKIPPED_DIRS.contains(&c)) {
                continue;
            }
            let s = entry.status();
            let code = if s.is_conflicted() {
                "U"
            } else if s.is_wt_new() && !s.is_index_new() {
                "??"
            } else if s.is_index_new() {
                "A"
            } else if s.is_index_deleted() || s.is_wt_deleted() {
                "D"
            } else if s.is_index_renamed() || s.is_wt_renamed() {
                "R"
            } else if s.is_index_typechange() || s.is_wt_typechange() {
                "T"
            } else {
                "M"
            };
            out.push(Change {
                path: path.to_string(),
                code: code.to_string(),
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Makes a directory that is not a repository one: branch `main`, samocoder's `.gitignore`
    /// when there is none, and the files committed as they are in one commit
    /// ([`BASELINE_MESSAGE`]) by the rules of a checkpoint: ignored files, new files over the
    /// user-file limit and build directories stay out (the returned checkpoint names them).
    /// An empty directory gets an empty base commit.
    pub fn init_adopted(&self) -> Result<super::Checkpoint, WorkspaceError> {
        self.ensure_repo()?;
        let mut made = self.checkpoint(BASELINE_MESSAGE)?;
        // The large files left out stay the user's, out of `git status` too (this repository
        // is samocoder's making, so its exclude file is too): one anchored, escaped line each.
        let large: Vec<String> = made
            .left_out
            .iter()
            .filter(|l| matches!(l.reason, super::LeftOutReason::TooLarge { .. }))
            .map(|l| exclude_line(&l.path))
            .collect();
        if !large.is_empty() {
            self.add_excludes("large files left out of the base commit", &large)?;
        }
        if made.commit.is_none() {
            let repo = self.git()?;
            let mut index = repo.index()?;
            let tree = repo.find_tree(index.write_tree()?)?;
            let sig = signature(&repo)?;
            let id = repo.commit(Some("HEAD"), &sig, &sig, BASELINE_MESSAGE, &tree, &[])?;
            made.commit = Some(CommitId::new(id.to_string()));
        }
        Ok(made)
    }

    /// Leaves samocoder's `.samocoder/` out of `git status` in this repository (a line in
    /// `.git/info/exclude`, which is not part of the repository's history).
    pub fn exclude_meta_dir(&self) -> Result<(), WorkspaceError> {
        self.add_excludes("samocoder's own files", &[format!("/{META_DIR}/")])
    }

    /// Appends `lines` (those not there yet) under a `# comment` to `.git/info/exclude`.
    fn add_excludes(&self, comment: &str, lines: &[String]) -> Result<(), WorkspaceError> {
        let repo = self.git()?;
        let dir = repo.commondir().join("info");
        let path = dir.join("exclude");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(WorkspaceError::io(".git/info/exclude", e)),
        };
        let missing: Vec<&String> = lines
            .iter()
            .filter(|line| !text.lines().any(|l| l.trim() == line.as_str()))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut new = text;
        if !new.is_empty() && !new.ends_with('\n') {
            new.push('\n');
        }
        new.push_str(&format!("# {comment}\n"));
        for line in missing {
            new.push_str(line);
            new.push('\n');
        }
        std::fs::create_dir_all(&dir).map_err(|e| WorkspaceError::io(".git/info", e))?;
        std::fs::write(&path, new).map_err(|e| WorkspaceError::io(".git/info/exclude", e))
    }

    /// The name of samocoder's next branch for `project`: `samocoder/<project>-<n>` with the
    /// first `n` not taken.
    pub fn next_branch_name(&self, project: &str) -> Result<String, WorkspaceError> {
        let repo = self.git()?;
        let mut base: String = project
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if base.is_empty() {
            base.push_str("project");
        }
        for n in 1..10_000 {
            let name = format!("samocoder/{base}-{n}");
            if !git2::Reference::is_valid_name(&format!("refs/heads/{name}")) {
                return Err(WorkspaceError::BranchExists(name));
            }
            if repo.find_branch(&name, BranchType::Local).is_err() {
                return Ok(name);
            }
        }
        Err(WorkspaceError::BranchExists(format!("samocoder/{base}-*")))
    }

    /// Creates branch `name` at `commit` (it must not exist).
    pub fn create_branch(&self, name: &str, commit: &CommitId) -> Result<(), WorkspaceError> {
        let repo = self.git()?;
        if repo.find_branch(name, BranchType::Local).is_ok() {
            return Err(WorkspaceError::BranchExists(name.into()));
        }
        let target = repo
            .revparse_single(commit.as_str())
            .and_then(|o| o.peel_to_commit())
            .map_err(|_| WorkspaceError::UnknownCommit(commit.to_string()))?;
        repo.branch(name, &target, false)?;
        Ok(())
    }

    /// Whether a local branch exists.
    pub fn branch_exists(&self, name: &str) -> Result<bool, WorkspaceError> {
        Ok(self.git()?.find_branch(name, BranchType::Local).is_ok())
    }

    /// Removes the temporary files of atomic writes a killed run left among `changes` (what
    /// [`Workspace::uncommitted`] found: they are untracked) and returns the other changes.
    /// An adopted repository's stale temp files are found this way instead of by a walk of the
    /// whole tree.
    pub fn drop_stale_temp_files(
        &self,
        changes: Vec<Change>,
    ) -> Result<Vec<Change>, WorkspaceError> {
        let mut out = Vec::with_capacity(changes.len());
        for c in changes {
            let name = c.path.rsplit('/').next().unwrap_or(&c.path);
            if c.code == "??" && name.starts_with(super::fs::TEMP_PREFIX) {
                let p = self.root().join(&c.path);
                if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) {
                    std::fs::remove_file(&p).map_err(|e| WorkspaceError::io(c.path.clone(), e))?;
                    continue;
                }
            }
            out.push(c);
        }
        Ok(out)
    }

    /// Deletes a local branch that is not checked out.
    pub fn delete_branch(&self, name: &str) -> Result<(), WorkspaceError> {
        let repo = self.git()?;
        let mut branch = repo.find_branch(name, BranchType::Local)?;
        branch.delete()?;
        Ok(())
    }

    /// Checks out `target` the way `git switch` does: only the paths that differ between the
    /// two commits change on disk and in the index; uncommitted changes elsewhere are carried
    /// along. When one of those paths has uncommitted changes (or an untracked file is in the
    /// way), nothing is changed and the paths are named.
    pub fn switch_to(&self, target: &Head) -> Result<(), WorkspaceError> {
        let repo = self.git()?;
        let (commit, refname) = match target {
            Head::Branch(b) => {
                let branch = repo
                    .find_branch(b, BranchType::Local)
                    .map_err(|_| WorkspaceError::UnknownCommit(b.clone()))?;
                let commit = branch.get().peel_to_commit()?;
                (commit, Some(format!("refs/heads/{b}")))
            }
            Head::Detached(c) => {
                let commit = repo
                    .revparse_single(c.as_str())
                    .and_then(|o| o.peel_to_commit())
                    .map_err(|_| WorkspaceError::UnknownCommit(c.to_string()))?;
                (commit, None)
            }
        };
        // The same tree (a branch just made at the current commit): nothing on disk changes,
        // and a checkout would still compare every file of a large tree.
        let same_tree = repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_tree().ok())
            .is_some_and(|t| t.id() == commit.tree_id());
        if same_tree {
            match refname {
                Some(r) => repo.set_head(&r)?,
                None => repo.set_head_detached(commit.id())?,
            }
            return Ok(());
        }
        let mut blocked = Vec::new();
        let result = {
            let mut checkout = git2::build::CheckoutBuilder::new();
            checkout
                .safe()
                .notify_on(git2::CheckoutNotificationType::CONFLICT)
                .notify(|_, path, _, _, _| {
                    if let Some(p) = path {
                        blocked.push(p.to_string_lossy().replace('\\', "/"));
                    }
                    true
                });
            repo.checkout_tree(commit.as_object(), Some(&mut checkout))
        };
        if let Err(e) = result {
            if e.code() == git2::ErrorCode::Conflict || !blocked.is_empty() {
                blocked.sort();
                blocked.dedup();
                return Err(WorkspaceError::SwitchBlocked {
                    to: target.to_string(),
                    paths: blocked,
                });
            }
            return Err(e.into());
        }
        match refname {
            Some(r) => repo.set_head(&r)?,
            None => repo.set_head_detached(commit.id())?,
        }
        Ok(())
    }

    /// Commits what changed in the work tree except the paths in `keep_out` (the user's
    /// uncommitted changes) and `.samocoder/`, on the branch checked out. The index is updated
    /// for those paths only, so the user's staged changes stay staged and out of the commit.
    /// The commit is `None` when samocoder changed nothing; names git refuses to index are
    /// left out and listed ([`super::Checkpoint::warning`] says so).
    pub fn commit_own_changes(
        &self,
        message: &str,
        keep_out: &BTreeSet<String>,
    ) -> Result<super::Checkpoint, WorkspaceError> {
        let repo = self.git()?;
        let mut made = super::Checkpoint {
            commit: None,
            left_out: Vec::new(),
            limit: self.user_file_limit(),
        };
        let mut ours: Vec<String> = Vec::new();
        for p in self.uncommitted()?.into_iter().map(|c| c.path) {
            if keep_out.contains(&p) {
                continue;
            }
            // A name git refuses to index (`GIT~1`, `.git:x`, made by a command) would fail
            // this commit and every later one: it stays out, uncommitted, and is named.
            if p.split('/').any(super::path::is_git_alias) {
                made.left_out.push(super::LeftOut {
                    path: p,
                    reason: super::LeftOutReason::GitAlias,
                });
                continue;
            }
            ours.push(p);
        }
        if ours.is_empty() {
            return Ok(made);
        }
        let mut index = repo.index()?;
        for p in &ours {
            let on_disk = std::fs::symlink_metadata(self.root().join(p)).is_ok();
            if on_disk {
                index.add_path(std::path::Path::new(p))?;
            } else {
                match index.remove_path(std::path::Path::new(p)) {
                    Ok(()) => {}
                    Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        index.write()?;
        let head = repo.head()?.peel_to_commit()?;
        let mut tree_index = Index::new()?;
        tree_index.read_tree(&head.tree()?)?;
        for p in &ours {
            let path = std::path::Path::new(p);
            match index.get_path(path, 0) {
                Some(entry) => tree_index.add(&entry)?,
                None => match tree_index.remove_path(path) {
                    Ok(()) => {}
                    Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                    Err(e) => return Err(e.into()),
                },
            }
        }
        let tree_id = tree_index.write_tree_to(&repo)?;
        if tree_id == head.tree_id() {
            return Ok(made);
        }
        let tree = repo.find_tree(tree_id)?;
        let sig = signature(&repo)?;
        let id = repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &[&head])?;
        made.commit = Some(CommitId::new(id.to_string()));
        Ok(made)
    }

    /// The commits of `branch` that `base` does not have, and the files they change.
    pub fn branch_summary(
        &self,
        base: &CommitId,
        branch: &str,
    ) -> Result<BranchSummary, WorkspaceError> {
        let repo = self.git()?;
        let tip = repo
            .find_branch(branch, BranchType::Local)
            .map_err(|_| WorkspaceError::UnknownCommit(branch.into()))?
            .get()
            .peel_to_commit()?;
        let base = repo
            .revparse_single(base.as_str())
            .and_then(|o| o.peel_to_commit())
            .map_err(|_| WorkspaceError::UnknownCommit(base.to_string()))?;
        let mut walk = repo.revwalk()?;
        walk.push(tip.id())?;
        walk.hide(base.id())?;
        let mut commits = Vec::new();
        for id in walk {
            let c = repo.find_commit(id?)?;
            let summary =
                String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()).into_owned();
            commits.push((CommitId::new(c.id().to_string()), summary));
        }
        commits.reverse();
        let diff = repo.diff_tree_to_tree(Some(&base.tree()?), Some(&tip.tree()?), None)?;
        let mut out = BranchSummary {
            commits,
            ..BranchSummary::default()
        };
        for d in diff.deltas() {
            let path = |f: git2::DiffFile<'_>| {
                f.path()
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default()
            };
            match d.status() {
                git2::Delta::Added | git2::Delta::Copied => out.added.push(path(d.new_file())),
                git2::Delta::Deleted => out.deleted.push(path(d.old_file())),
                git2::Delta::Renamed => {
                    out.deleted.push(path(d.old_file()));
                    out.added.push(path(d.new_file()));
                }
                _ => out.modified.push(path(d.new_file())),
            }
        }
        Ok(out)
    }

    /// Whether `path` is part of the commit checked out (a file the repository tracks).
    pub fn is_tracked(&self, path: &str) -> Result<bool, WorkspaceError> {
        let repo = self.git()?;
        let tree = repo.head()?.peel_to_tree()?;
        Ok(tree.get_path(std::path::Path::new(path)).is_ok())
    }

    /// Writes one of samocoder's own files, `.samocoder/NAME`, atomically.
    pub fn write_meta(&self, name: &str, bytes: &[u8]) -> Result<WriteOutcome, WorkspaceError> {
        let path = SafePath::meta(self.root(), name)?;
        self.write_atomic(&path, bytes, u64::MAX)
    }
}

/// A gitignore line matching exactly `path` (relative, `/`-separated) from the top.
fn exclude_line(path: &str) -> String {
    let mut out = String::from("/");
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '!' | '#') || (c == ' ') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[path = "adopt_tests.rs"]
mod tests;
