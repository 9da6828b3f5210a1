//! The walk of the project's files, the hot path of the change scan: each directory is read
//! once, each listed file costs one `lstat` relative to its directory (no walk of the whole
//! path per file), and directories are shared among a few threads. A [`Watch`] can be told
//! about every directory read, so a later scan reads only the directories that changed.
//!
//! Ignore rules as the `ignore` crate applies them (and as the rest of the workspace does):
//! `.ignore` and `.gitignore` in every directory and `.git/info/exclude` at a repository root,
//! the deepest matching directory deciding for each kind, `.ignore` over `.gitignore` over
//! `exclude` (a nested repository is not a boundary: the crate's `require_git(false)`); nothing
//! above the root is read (no global ignore file). Ignored directories, `.git`, samocoder's
//! metadata directory and [`SKIPPED_DIRS`] are not entered; links are not followed (nor
//! listed); names that are not UTF-8 are skipped.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use ignore::gitignore::Gitignore;

use super::error::WorkspaceError;
use super::path::is_reserved_name;
use super::scan::FileStat;
use super::tree::SKIPPED_DIRS;
use super::watch::Watch;

/// The most threads a walk uses.
const MAX_THREADS: usize = 4;

/// The ignore files of one directory.
pub(crate) struct Level {
    dot_ignore: Option<Gitignore>,
    git_ignore: Option<Gitignore>,
    git_exclude: Option<Gitignore>,
}

/// A directory to read: where it is, and the ignore levels of its parents (root first).
pub(crate) struct Dir {
    pub abs: PathBuf,
    pub rel: String,
    pub parents: Vec<Arc<Level>>,
}

/// One directory's listed files and the subdirectories to enter.
pub(crate) struct DirListing {
    pub files: Vec<(String, FileStat)>,
    pub dirs: Vec<Dir>,
    /// The ignore levels from the root down to this directory.
    pub levels: Vec<Arc<Level>>,
}

/// Directories read before helper threads join: a small tree is walked by the calling thread
/// alone (no thread, no per-thread allocator arena).
const HELP_AFTER_DIRS: usize = 64;

#[derive(Default)]
struct State {
    queue: Vec<Dir>,
    /// Directories taken and not finished.
    active: usize,
    /// Directories read so far.
    done: usize,
    error: Option<WorkspaceError>,
    found: Vec<(String, FileStat)>,
}

/// Every listed file under `root` (canonical) with its metadata, sorted by relative path
/// (byte order). With `watch`, every directory read is watched first.
pub(crate) fn walk_files(
    root: &Path,
    watch: Option<&Watch>,
) -> Result<Vec<(String, FileStat)>, WorkspaceError> {
    walk_from(
        vec![Dir {
            abs: root.to_path_buf(),
            rel: String::new(),
            parents: Vec::new(),
        }],
        watch,
    )
}

/// [`walk_files`] below each of `dirs` (the directories themselves included).
pub(crate) fn walk_from(
    dirs: Vec<Dir>,
    watch: Option<&Watch>,
) -> Result<Vec<(String, FileStat)>, WorkspaceError> {
    let state = Mutex::new(State {
        queue: dirs,
        ..State::default()
    });
    let wake = Condvar::new();
    let helpers = std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS)) - 1;
    std::thread::scope(|s| {
        let mut spawned = false;
        let mut help = || {
            if !spawned {
                spawned = true;
                for _ in 0..helpers {
                    s.spawn(|| worker(&state, &wake, watch, &mut || {}));
                }
            }
        };
        worker(&state, &wake, watch, &mut help);
    });
    let mut state = state.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = state.error.take() {
        return Err(e);
    }
    let mut files = state.found;
    files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// Takes directories until none is left; `help` is called once the tree looks big enough.
fn worker(state: &Mutex<State>, wake: &Condvar, watch: Option<&Watch>, help: &mut dyn FnMut()) {
    let mut found = Vec::new();
    loop {
        let dir = {
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            if st.done >= HELP_AFTER_DIRS && st.queue.len() > 1 {
                drop(st);
                help();
                st = state.lock().unwrap_or_else(|p| p.into_inner());
            }
            loop {
                if st.error.is_some() || (st.queue.is_empty() && st.active == 0) {
                    st.found.append(&mut found);
                    wake.notify_all();
                    return;
                }
                if let Some(dir) = st.queue.pop() {
                    st.active += 1;
                    break dir;
                }
                st = wake.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        };
        // Watched before it is read, so no change after the read can go unseen.
        let token = watch.and_then(|w| w.before_read(&dir.abs));
        let rel = dir.rel.clone();
        let result = list_dir(dir);
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        st.active -= 1;
        st.done += 1;
        match result {
            Ok(Some(listing)) => {
                if let (Some(w), Some(token)) = (watch, token) {
                    w.after_read(token, &rel, &listing.levels);
                }
                found.extend(listing.files);
                st.queue.extend(listing.dirs);
            }
            Ok(None) => {}
            Err(e) => {
                st.error.get_or_insert(e);
            }
        }
        wake.notify_all();
    }
}

/// Lists one directory (not its subdirectories); `None` when it is gone (or is no longer a
/// directory).
pub(crate) fn list_dir(dir: Dir) -> Result<Option<DirListing>, WorkspaceError> {
    let shown = || {
        if dir.rel.is_empty() {
            ".".to_string()
        } else {
            dir.rel.clone()
        }
    };
    let entries = match std::fs::read_dir(&dir.abs) {
        Ok(rd) => rd
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| WorkspaceError::io(shown(), e))?,
        // Removed while walking: it is simply not part of the tree.
        Err(e)
            if !dir.rel.is_empty()
                && matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(WorkspaceError::io(shown(), e)),
    };
    let has = |name: &str| entries.iter().any(|e| e.file_name() == name);
    let matcher = |name: &str| has(name).then(|| Gitignore::new(dir.abs.join(name)).0);
    let exclude = dir.abs.join(".git/info/exclude");
    let level = Level {
        dot_ignore: matcher(".ignore"),
        git_ignore: matcher(".gitignore"),
        git_exclude: (has(".git") && exclude.is_file()).then(|| {
            let mut b = ignore::gitignore::GitignoreBuilder::new(&dir.abs);
            b.add(&exclude);
            b.build().unwrap_or_else(|_| Gitignore::empty())
        }),
    };
    let mut levels = dir.parents;
    levels.push(Arc::new(level));
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_reserved_name(name) {
            continue;
        }
        let Ok(ty) = entry.file_type() else { continue };
        let rel = if dir.rel.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", dir.rel)
        };
        let abs = entry.path();
        if ty.is_dir() {
            if SKIPPED_DIRS.contains(&name) || ignored(&levels, &abs, true) {
                continue;
            }
            dirs.push(Dir {
                abs,
                rel,
                parents: levels.clone(),
            });
        } else if ty.is_file() && !ignored(&levels, &abs, false) {
            // Relative to the open directory: one path component to look up.
            match entry.metadata() {
                Ok(meta) => files.push((rel, FileStat::of(&meta))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(WorkspaceError::io(rel, e)),
            }
        }
    }
    Ok(Some(DirListing {
        files,
        dirs,
        levels,
    }))
}

/// Whether the ignore rules leave `abs` out (see the module docs for the precedence).
fn ignored(levels: &[Arc<Level>], abs: &Path, is_dir: bool) -> bool {
    let mut dot = ignore::Match::None;
    let mut git = ignore::Match::None;
    let mut exclude = ignore::Match::None;
    for level in levels.iter().rev() {
        if dot.is_none()
            && let Some(m) = &level.dot_ignore
        {
            dot = m.matched(abs, is_dir).map(|_| ());
        }
        if git.is_none()
            && let Some(m) = &level.git_ignore
        {
            git = m.matched(abs, is_dir).map(|_| ());
        }
        if exclude.is_none()
            && let Some(m) = &level.git_exclude
        {
            exclude = m.matched(abs, is_dir).map(|_| ());
        }
    }
    dot.or(git).or(exclude).is_ignore()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, f.as_bytes()).unwrap();
        }
        dir
    }

    fn walked(dir: &tempfile::TempDir) -> Vec<String> {
        let root = std::fs::canonicalize(dir.path()).unwrap();
        walk_files(&root, None)
            .unwrap()
            .into_iter()
            .map(|(p, _)| p)
            .collect()
    }

    /// What the `ignore` crate's walker lists with the same settings: the reference.
    fn reference(dir: &tempfile::TempDir) -> Vec<String> {
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let mut out: Vec<String> = ignore::WalkBuilder::new(&root)
            .hidden(false)
            .parents(false)
            .git_global(false)
            .require_git(false)
            .follow_links(false)
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                let is_dir = e.file_type().is_some_and(|t| t.is_dir());
                !(is_reserved_name(&name) || (is_dir && SKIPPED_DIRS.contains(&name.as_ref())))
            })
            .build()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
            .map(|e| {
                e.path()
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn the_walk_lists_what_the_ignore_crate_lists() {
        let dir = tree(&[
            "a.txt",
            "debug.log",
            "keep.log",
            "src/main.rs",
            "src/gen/out.rs",
            "src/.gitignore",
            "docs/.ignore",
            "docs/draft.md",
            "docs/final.md",
            "build/x.o",
            "node_modules/m/index.js",
            "vendor/lib/.git/HEAD",
            "vendor/lib/code.c",
            "vendor/lib/local.tmp",
            "vendor/lib/app.log",
            ".hidden/file",
            ".git/info/exclude",
            ".git/config",
            "secret.key",
        ]);
        let r = dir.path();
        std::fs::write(r.join(".gitignore"), "*.log\n!keep.log\nbuild/\n").unwrap();
        std::fs::write(r.join("src/.gitignore"), "gen/\n").unwrap();
        // .ignore wins over .gitignore: draft.md is ignored, debug.log is brought back.
        std::fs::write(r.join("docs/.ignore"), "draft.md\n").unwrap();
        std::fs::write(r.join(".ignore"), "!debug.log\n").unwrap();
        std::fs::write(r.join(".git/info/exclude"), "secret.key\n").unwrap();
        std::fs::write(r.join("vendor/lib/.gitignore"), "*.tmp\n").unwrap();
        let got = walked(&dir);
        assert_eq!(got, reference(&dir));
        for want in [
            "a.txt",
            "debug.log",
            "keep.log",
            "docs/final.md",
            "vendor/lib/code.c",
        ] {
            assert!(got.contains(&want.to_string()), "{want} missing: {got:?}");
        }
        for gone in [
            "src/gen/out.rs",
            "docs/draft.md",
            "build/x.o",
            "node_modules/m/index.js",
            "vendor/lib/local.tmp",
            "vendor/lib/app.log",
            "secret.key",
            ".git/config",
        ] {
            assert!(!got.contains(&gone.to_string()), "{gone} listed: {got:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_are_not_followed_and_an_unreadable_directory_is_an_error() {
        let dir = tree(&["real/a.txt"]);
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        assert_eq!(walked(&dir), ["real/a.txt"]);
        let root = std::fs::canonicalize(dir.path()).unwrap();
        assert!(walk_files(&root.join("missing"), None).is_err());
    }

    #[test]
    fn many_directories_are_all_walked_once() {
        let names: Vec<String> = (0..300)
            .map(|i| format!("d{}/e{}/f{i}.txt", i % 7, i % 13))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let dir = tree(&refs);
        let mut want = names.clone();
        want.sort();
        assert_eq!(walked(&dir), want);
    }
}
