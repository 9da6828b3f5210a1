//! Deciding what goes into an archive: ignore rules, metadata, secrets, symlinks, safe names.

use std::collections::HashSet;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use ignore::WalkBuilder;

use super::report::{SkipReason, Skipped};
use super::{ExportError, ExportOptions};

/// File names (matched case-insensitively, `*` = any run of characters) that look like secrets
/// and are left out unless `include_secrets` is set.
pub const SECRET_PATTERNS: &[&str] = &[
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "*.tfvars",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".npmrc",
    ".pypirc",
    ".netrc",
    "_netrc",
    ".git-credentials",
    ".htpasswd",
    ".dockercfg",
    "credentials",
    "credentials*.json",
    "service-account*.json",
];

/// Names matching [`SECRET_PATTERNS`] that are templates without secrets and are kept.
const SECRET_EXCEPTIONS: &[&str] = &[".env.example", ".env.sample", ".env.template"];

/// Directory names that are samocoder's own metadata and never exported.
const METADATA_DIRS: &[&str] = &[".samocoder"];

/// What kind of thing an archive entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    /// A symlink stored as a link; `target` is relative, `/`-separated and stays inside.
    Symlink {
        target: String,
    },
}

/// One path that goes into the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The archive name: relative, `/`-separated, checked by [`safe_entry_name`].
    pub name: String,
    /// Where to read it from.
    pub source: PathBuf,
    pub kind: EntryKind,
    /// Size in bytes (files only).
    pub size: u64,
    /// Unix permission bits (`0o777` mask).
    pub mode: u32,
    pub modified: Option<SystemTime>,
}

/// The result of walking a project: what to store and what was left out.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Sorted by archive name.
    pub entries: Vec<Entry>,
    /// Sorted by path.
    pub skipped: Vec<Skipped>,
    /// Problems that did not stop the export (e.g. an unparsable ignore rule).
    pub warnings: Vec<String>,
    /// The directory the [`super::Extra`] files went to.
    pub extra_dir: Option<String>,
}

impl Plan {
    pub fn file_count(&self) -> u64 {
        self.count(|k| matches!(k, EntryKind::File))
    }
    pub fn total_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
    pub(crate) fn count(&self, f: impl Fn(&EntryKind) -> bool) -> u64 {
        self.entries.iter().filter(|e| f(&e.kind)).count() as u64
    }
}

/// Walks `root` and decides what goes into its archive.
pub fn plan(root: &Path, opts: &ExportOptions) -> Result<Plan, ExportError> {
    plan_excluding(root, opts, None)
}

/// [`plan`], also leaving out `exclude` (the archive being written, when it is inside `root`).
pub(crate) fn plan_excluding(
    root: &Path,
    opts: &ExportOptions,
    exclude: Option<&Path>,
) -> Result<Plan, ExportError> {
    let meta = fs::metadata(root).map_err(|_| ExportError::NotADirectory(root.to_path_buf()))?;
    if !meta.is_dir() {
        return Err(ExportError::NotADirectory(root.to_path_buf()));
    }
    let root_canon = fs::canonicalize(root).map_err(|source| ExportError::Read {
        path: root.to_path_buf(),
        source,
    })?;
    let mut plan = Plan::default();
    let kept = kept_by_ignore_rules(&root_canon, opts, &mut plan.warnings)?;
    let walk = Walk {
        root: &root_canon,
        opts,
        kept: &kept,
        exclude,
    };
    walk.dir(Path::new(""), &mut plan)?;
    if let Some(extra) = &opts.extra {
        add_extra(&mut plan, extra, &root_canon)?;
    }
    plan.entries.sort_by(|a, b| a.name.cmp(&b.name));
    plan.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(plan)
}

/// Adds `extra`'s files under the first of its directory names the project does not use.
fn add_extra(plan: &mut Plan, extra: &super::Extra, root: &Path) -> Result<(), ExportError> {
    let taken = |d: &str| {
        plan.entries
            .iter()
            .any(|e| e.name == d || e.name.starts_with(&format!("{d}/")))
    };
    let Some(dir) = extra.dirs.iter().find(|d| !taken(d)).cloned() else {
        return Err(ExportError::ExtraDirTaken(extra.dirs.clone()));
    };
    check_entry_name(&dir)?;
    plan.entries.push(Entry {
        name: dir.clone(),
        source: root.to_path_buf(),
        kind: EntryKind::Dir,
        size: 0,
        mode: 0o755,
        modified: None,
    });
    for (name, source) in &extra.files {
        let entry_name = format!("{dir}/{name}");
        check_entry_name(&entry_name)?;
        let meta = fs::metadata(source).map_err(|e| ExportError::Read {
            path: source.clone(),
            source: e,
        })?;
        plan.entries.push(Entry {
            name: entry_name,
            source: source.clone(),
            kind: EntryKind::File,
            size: meta.len(),
            mode: 0o644,
            modified: meta.modified().ok(),
        });
    }
    plan.extra_dir = Some(dir);
    Ok(())
}

/// Relative paths the `ignore` crate keeps (its `.gitignore`/`.ignore` semantics, also outside
/// a git repository; the user's global gitignore is not consulted, so exports do not depend on
/// who runs them).
fn kept_by_ignore_rules(
    root: &Path,
    opts: &ExportOptions,
    warnings: &mut Vec<String>,
) -> Result<HashSet<PathBuf>, ExportError> {
    let include_git = opts.include_git;
    let walker = WalkBuilder::new(root)
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
            (include_git || name != ".git") && !METADATA_DIRS.iter().any(|m| name == *m)
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
            Err(err) if err.io_error().is_some() => return Err(ExportError::Walk(err)),
            Err(err) => warnings.push(err.to_string()),
        }
    }
    Ok(kept)
}

struct Walk<'a> {
    root: &'a Path,
    opts: &'a ExportOptions,
    kept: &'a HashSet<PathBuf>,
    exclude: Option<&'a Path>,
}

impl Walk<'_> {
    fn dir(&self, rel_dir: &Path, plan: &mut Plan) -> Result<(), ExportError> {
        let abs_dir = self.root.join(rel_dir);
        let read = |source| ExportError::Read {
            path: abs_dir.clone(),
            source,
        };
        let mut children: Vec<_> = fs::read_dir(&abs_dir)
            .map_err(read)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(read)?;
        children.sort();
        for name in children {
            let rel = rel_dir.join(&name);
            let abs = self.root.join(&rel);
            let skip = |plan: &mut Plan, reason| {
                plan.skipped.push(Skipped {
                    path: display(&rel),
                    reason,
                })
            };
            if name == ".git" && !self.opts.include_git {
                skip(plan, SkipReason::Git);
                continue;
            }
            if METADATA_DIRS.iter().any(|m| name == *m) {
                skip(plan, SkipReason::Metadata);
                continue;
            }
            if self.exclude.is_some_and(|x| x == abs) {
                skip(plan, SkipReason::OutputFile);
                continue;
            }
            if !self.kept.contains(&rel) {
                skip(plan, SkipReason::Ignored);
                continue;
            }
            let Ok(entry_name) = safe_entry_name(&rel) else {
                skip(plan, SkipReason::UnsafeName);
                continue;
            };
            let meta = fs::symlink_metadata(&abs).map_err(|source| ExportError::Read {
                path: abs.clone(),
                source,
            })?;
            let secret = !self.opts.include_secrets && name.to_str().is_some_and(is_secret_name);
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                EntryKind::Dir
            } else if secret {
                skip(plan, SkipReason::Secret);
                continue;
            } else if ft.is_file() {
                EntryKind::File
            } else if ft.is_symlink() {
                match symlink_target(self.root, &rel) {
                    Ok(target) => EntryKind::Symlink { target },
                    Err(reason) => {
                        skip(plan, reason);
                        continue;
                    }
                }
            } else {
                skip(plan, SkipReason::SpecialFile);
                continue;
            };
            let is_dir = kind == EntryKind::Dir;
            plan.entries.push(Entry {
                name: entry_name,
                source: abs,
                size: if kind == EntryKind::File {
                    meta.len()
                } else {
                    0
                },
                mode: mode_of(&meta, &kind),
                modified: meta.modified().ok(),
                kind,
            });
            if is_dir {
                self.dir(&rel, plan)?;
            }
        }
        Ok(())
    }
}

/// Whether a file name looks like a secret (see [`SECRET_PATTERNS`]).
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if SECRET_EXCEPTIONS.contains(&lower.as_str()) {
        return false;
    }
    SECRET_PATTERNS.iter().any(|p| glob_match(p, &lower))
}

/// Matches a pattern with at most one `*`.
fn glob_match(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((prefix, suffix)) => {
            name.len() >= prefix.len() + suffix.len()
                && name.starts_with(prefix)
                && name.ends_with(suffix)
        }
    }
}

/// The archive name of a relative path: `/`-separated plain components only. Refuses
/// absolute paths, `.`/`..`, empty components, non-UTF-8 names and characters that other
/// systems read as separators or drive letters (`\`, `:`, NUL).
pub fn safe_entry_name(rel: &Path) -> Result<String, ExportError> {
    let lossy = || ExportError::UnsafeName(rel.to_string_lossy().into_owned());
    let mut parts = Vec::new();
    for c in rel.components() {
        let Component::Normal(part) = c else {
            return Err(lossy());
        };
        parts.push(part.to_str().ok_or_else(lossy)?);
    }
    let name = parts.join("/");
    check_entry_name(&name)?;
    Ok(name)
}

/// The final check on every name put into an archive.
pub(crate) fn check_entry_name(name: &str) -> Result<(), ExportError> {
    let bad = name.is_empty()
        || name.starts_with('/')
        || name.contains(['\\', ':', '\0'])
        || name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        Err(ExportError::UnsafeName(name.to_string()))
    } else {
        Ok(())
    }
}

/// The stored target of the symlink at `rel`, or why it is left out. A link is kept only when
/// its target is relative, stays inside the project both lexically and once resolved on disk,
/// and exists.
fn symlink_target(root: &Path, rel: &Path) -> Result<String, SkipReason> {
    let abs = root.join(rel);
    let target = fs::read_link(&abs).map_err(|_| SkipReason::SymlinkDangling)?;
    if target.has_root() || target.is_absolute() {
        return Err(SkipReason::SymlinkAbsolute);
    }
    let mut depth: Vec<&std::ffi::OsStr> = rel
        .parent()
        .map(|p| p.components().map(|c| c.as_os_str()).collect())
        .unwrap_or_default();
    let mut parts = Vec::new();
    for c in target.components() {
        match c {
            Component::Normal(p) => {
                depth.push(p);
                parts.push(p.to_str().ok_or(SkipReason::UnsafeName)?);
            }
            Component::ParentDir => {
                depth.pop().ok_or(SkipReason::SymlinkOutside)?;
                parts.push("..");
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return Err(SkipReason::SymlinkAbsolute),
        }
    }
    let resolved = fs::canonicalize(&abs).map_err(|_| SkipReason::SymlinkDangling)?;
    if !resolved.starts_with(root) {
        return Err(SkipReason::SymlinkOutside);
    }
    let text = parts.join("/");
    if text.is_empty() || text.contains(['\\', ':', '\0']) {
        return Err(SkipReason::UnsafeName);
    }
    Ok(text)
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata, _kind: &EntryKind) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn mode_of(_meta: &fs::Metadata, kind: &EntryKind) -> u32 {
    match kind {
        EntryKind::File => 0o644,
        EntryKind::Dir | EntryKind::Symlink { .. } => 0o755,
    }
}

/// A relative path for reports: `/`-separated, lossy for non-UTF-8 names.
fn display(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for s in [
            ".env",
            ".env.local",
            ".ENV.production",
            "server.pem",
            "tls.key",
            "id_rsa",
            "id_ed25519.pub",
            "cert.p12",
            ".npmrc",
            ".pypirc",
            "credentials.json",
            "credentials-prod.json",
        ] {
            assert!(is_secret_name(s), "{s} should be a secret");
        }
        for s in [
            ".env.example",
            ".env.sample",
            "env.rs",
            "keyboard.rs",
            "README.md",
            "key.txt",
            "credentials.md",
            "monkey",
        ] {
            assert!(!is_secret_name(s), "{s} should not be a secret");
        }
    }

    #[test]
    fn hostile_entry_names_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../b",
            "a/..",
            "./a",
            "a//b",
            "a\\..\\b",
            "C:/Windows",
            "c:evil",
            "a\0b",
            "a/",
        ] {
            assert!(check_entry_name(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "a",
            "a/b.txt",
            ".gitignore",
            "dir/.hidden/x",
            "a..b",
            "...x",
        ] {
            assert!(check_entry_name(good).is_ok(), "{good:?} refused");
        }
        assert!(safe_entry_name(Path::new("/abs/x")).is_err());
        assert!(safe_entry_name(Path::new("a/../b")).is_err());
        assert!(safe_entry_name(Path::new("./a")).is_err());
        assert_eq!(safe_entry_name(Path::new("a/b")).unwrap(), "a/b");
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_are_refused() {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"bad\xffname");
        assert!(safe_entry_name(Path::new(name)).is_err());
    }
}
