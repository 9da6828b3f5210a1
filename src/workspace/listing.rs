//! Every entry of the project directory, for exports: what it is, whether the ignore rules
//! leave it out, and for a symbolic link whether it stays inside (the same check as
//! [`Workspace::resolve`]). Listed files are read back through [`Workspace::open_listed`].

use std::collections::HashSet;
use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use super::error::WorkspaceError;
use super::fs::Workspace;
use super::open::{OpenRefusal, open_regular};
use super::path::{LinkDest, META_DIR, link_dest};

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListedKind {
    File,
    Dir,
    Symlink(LinkTarget),
    /// A socket, FIFO or device.
    Other,
}

/// Where a symbolic link points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// A relative target that stays inside the project both as written and once resolved on
    /// disk (and not into `.git` or [`META_DIR`]): `/`-separated, as it can be stored.
    Inside(String),
    /// An absolute target.
    Absolute,
    /// It leads outside the project (as written, or through other links).
    Outside,
    /// The target does not exist.
    Dangling,
    /// The target is not valid UTF-8.
    UnsafeName,
}

/// One entry below the root.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Relative to the root, as on disk (possibly not UTF-8).
    pub rel: PathBuf,
    pub kind: ListedKind,
    /// Left out by `.gitignore`, `.ignore` or `.git/info/exclude` (outside a repository too;
    /// the user's global ignore file is not read).
    pub ignored: bool,
    /// The entry's own metadata (links not followed).
    pub meta: std::fs::Metadata,
}

/// [`Workspace::list_all`]'s result.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Depth first, each directory's entries sorted by name.
    pub entries: Vec<Listed>,
    /// Problems that did not stop the listing (an unparsable ignore rule).
    pub warnings: Vec<String>,
}

impl Workspace {
    /// Every entry below the root, links not followed. Ignored directories, [`META_DIR`] and
    /// `.git` (unless `include_git`) are listed but not entered.
    pub fn list_all(&self, include_git: bool) -> Result<Listing, WorkspaceError> {
        let mut listing = Listing::default();
        let kept = self.kept_by_ignore_rules(include_git, &mut listing.warnings)?;
        self.list_dir(Path::new(""), include_git, &kept, &mut listing.entries)?;
        Ok(listing)
    }

    fn list_dir(
        &self,
        rel_dir: &Path,
        include_git: bool,
        kept: &HashSet<PathBuf>,
        out: &mut Vec<Listed>,
    ) -> Result<(), WorkspaceError> {
        let abs_dir = self.root().join(rel_dir);
        let io = |e| WorkspaceError::io(abs_dir.display().to_string(), e);
        let mut names: Vec<_> = std::fs::read_dir(&abs_dir)
            .map_err(io)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(io)?;
        names.sort();
        for name in names {
            let rel = rel_dir.join(&name);
            let abs = self.root().join(&rel);
            let meta = std::fs::symlink_metadata(&abs)
                .map_err(|e| WorkspaceError::io(abs.display().to_string(), e))?;
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                ListedKind::Dir
            } else if ft.is_file() {
                ListedKind::File
            } else if ft.is_symlink() {
                ListedKind::Symlink(self.link_target(&rel))
            } else {
                ListedKind::Other
            };
            let ignored = !kept.contains(&rel);
            let enter = kind == ListedKind::Dir
                && !ignored
                && name != OsStr::new(META_DIR)
                && (include_git || name != OsStr::new(".git"));
            out.push(Listed {
                rel: rel.clone(),
                kind,
                ignored,
                meta,
            });
            if enter {
                self.list_dir(&rel, include_git, kept, out)?;
            }
        }
        Ok(())
    }

    /// Relative paths the `ignore` crate keeps.
    fn kept_by_ignore_rules(
        &self,
        include_git: bool,
        warnings: &mut Vec<String>,
    ) -> Result<HashSet<PathBuf>, WorkspaceError> {
        let root = self.root();
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .parents(false)
            .ignore(true)
            .git_ignore(true)
            .git_exclude(true)
            .git_global(false)
            .require_git(false)
            .follow_links(false)
            .filter_entry(move |e| {
                let name = e.file_name();
                (include_git || name != ".git") && name != META_DIR
            })
            .build();
        let mut kept = HashSet::new();
        for item in walker {
            match item {
                Ok(entry) => {
                    if let Ok(rel) = entry.path().strip_prefix(root) {
                        kept.insert(rel.to_path_buf());
                    }
                }
                Err(err) => match err.io_error() {
                    Some(e) => {
                        return Err(WorkspaceError::io(
                            root.display().to_string(),
                            std::io::Error::new(e.kind(), err.to_string()),
                        ));
                    }
                    None => warnings.push(err.to_string()),
                },
            }
        }
        Ok(kept)
    }

    /// Where the link at `rel` points: relative and inside as written (never climbing above
    /// the root from the link's directory), and inside once resolved on disk.
    fn link_target(&self, rel: &Path) -> LinkTarget {
        let abs = self.root().join(rel);
        let Ok(target) = std::fs::read_link(&abs) else {
            return LinkTarget::Dangling;
        };
        if target.has_root() || target.is_absolute() {
            return LinkTarget::Absolute;
        }
        let mut depth = rel.parent().map_or(0, |p| p.components().count());
        let mut parts = Vec::new();
        for c in target.components() {
            match c {
                Component::Normal(p) => {
                    depth += 1;
                    let Some(p) = p.to_str() else {
                        return LinkTarget::UnsafeName;
                    };
                    parts.push(p);
                }
                Component::ParentDir => {
                    if depth == 0 {
                        return LinkTarget::Outside;
                    }
                    depth -= 1;
                    parts.push("..");
                }
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return LinkTarget::Absolute,
            }
        }
        match link_dest(self.root(), &abs) {
            LinkDest::Inside(_) if !parts.is_empty() => LinkTarget::Inside(parts.join("/")),
            LinkDest::Inside(_) => LinkTarget::UnsafeName,
            LinkDest::Broken | LinkDest::Unresolvable => LinkTarget::Dangling,
            LinkDest::Outside | LinkDest::Reserved => LinkTarget::Outside,
        }
    }

    /// Opens a listed regular file for reading. Checked again at open time: every directory
    /// on the way must be a real directory (no link), and the file opened must be the regular
    /// file found there (not a link's target swapped in since the listing).
    pub fn open_listed(&self, rel: &Path) -> Result<std::fs::File, WorkspaceError> {
        let shown = || rel.display().to_string();
        let refused = |why: &str| WorkspaceError::refused(&shown(), why);
        let mut at = self.root().to_path_buf();
        let parts: Vec<Component<'_>> = rel.components().collect();
        for (i, c) in parts.iter().enumerate() {
            let Component::Normal(name) = c else {
                return Err(refused("it is not a plain relative path"));
            };
            at.push(name);
            if i + 1 < parts.len() {
                let m =
                    std::fs::symlink_metadata(&at).map_err(|e| WorkspaceError::io(shown(), e))?;
                if !m.is_dir() {
                    return Err(refused("a directory on the way is not a real directory"));
                }
            }
        }
        let (file, _) = open_regular(&at).map_err(|r| match r {
            OpenRefusal::Io(e) => WorkspaceError::io(shown(), e),
            OpenRefusal::NotFound | OpenRefusal::Replaced => {
                refused("it was replaced while being read")
            }
            special @ OpenRefusal::Special(_) => special.into_error(&shown()),
            _ => refused("it is no longer a regular file"),
        })?;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn open_listed_refuses_links_on_the_way_and_in_place() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "inside").unwrap();
        symlink(outside.path(), dir.path().join("out")).unwrap();
        symlink(outside.path().join("secret.txt"), dir.path().join("l.txt")).unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut ws.open_listed(Path::new("a.txt")).unwrap(), &mut text)
            .unwrap();
        assert_eq!(text, "inside");
        assert!(ws.open_listed(Path::new("out/secret.txt")).is_err());
        assert!(ws.open_listed(Path::new("l.txt")).is_err());
        assert!(ws.open_listed(Path::new("../x")).is_err());
    }

    #[test]
    fn listing_marks_ignored_entries_and_does_not_enter_them() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::write(r.join(".gitignore"), "build/\n").unwrap();
        std::fs::create_dir_all(r.join("build/deep")).unwrap();
        std::fs::create_dir_all(r.join(".git")).unwrap();
        std::fs::write(r.join(".git/HEAD"), "x").unwrap();
        std::fs::write(r.join("a.txt"), "x").unwrap();
        let ws = Workspace::open(r).unwrap();
        let l = ws.list_all(false).unwrap();
        let rels: Vec<(String, bool)> = l
            .entries
            .iter()
            .map(|e| (e.rel.display().to_string(), e.ignored))
            .collect();
        assert_eq!(
            rels,
            [
                (".git".to_string(), true),
                (".gitignore".to_string(), false),
                ("a.txt".to_string(), false),
                ("build".to_string(), true),
            ]
        );
        let with_git = ws.list_all(true).unwrap();
        assert!(
            with_git
                .entries
                .iter()
                .any(|e| e.rel == Path::new(".git/HEAD"))
        );
    }
}
