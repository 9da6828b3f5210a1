//! Deciding what goes into an archive: ignore rules, metadata, secrets, symlinks, sizes, safe
//! names. The project is listed (and later read) through the workspace, which owns the
//! confinement rules (where a link may lead); this module owns the archive's rules.

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use super::report::{SkipReason, Skipped};
use super::{ExportError, ExportOptions};
use crate::workspace::{LinkTarget, Listed, ListedKind, Workspace, WorkspaceError};

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
    /// Where it is, relative to the project root (read through [`Workspace::open_listed`]).
    pub rel: PathBuf,
    pub kind: EntryKind,
    /// Size in bytes (files only).
    pub size: u64,
    /// Unix permission bits (`0o777` mask).
    pub mode: u32,
    pub modified: Option<SystemTime>,
    /// The content of a file made for the archive ([`super::Extra`]); `None` for the project's
    /// files, which are read through the workspace.
    pub generated: Option<Vec<u8>>,
}

/// The result of walking a project: what to store and what was left out.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The project the entries are read from.
    pub workspace: Workspace,
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
    let workspace = Workspace::open(root).map_err(|e| match e {
        WorkspaceError::Open { .. } => ExportError::NotADirectory(root.to_path_buf()),
        e => ExportError::Workspace(e),
    })?;
    let listing = workspace.list_all(opts.include_git)?;
    let mut plan = Plan {
        workspace,
        entries: Vec::new(),
        skipped: Vec::new(),
        warnings: listing.warnings,
        extra_dir: None,
    };
    // A directory left out takes everything below it along (listed when it was entered).
    let mut left_out_dir: Option<PathBuf> = None;
    for item in listing.entries {
        if left_out_dir
            .as_ref()
            .is_some_and(|d| item.rel.starts_with(d))
        {
            continue;
        }
        let is_dir = item.kind == ListedKind::Dir;
        match decide(&plan.workspace, &item, opts, exclude) {
            Ok(entry) => plan.entries.push(entry),
            Err((reason, size)) => {
                plan.skipped.push(Skipped {
                    path: display(&item.rel),
                    reason,
                    size,
                });
                if is_dir {
                    left_out_dir = Some(item.rel.clone());
                }
            }
        }
    }
    if let Some(extra) = &opts.extra {
        add_extra(&mut plan, extra)?;
    }
    plan.entries.sort_by(|a, b| a.name.cmp(&b.name));
    plan.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(plan)
}

/// Adds `extra`'s files under the first of its directory names the project does not use.
fn add_extra(plan: &mut Plan, extra: &super::Extra) -> Result<(), ExportError> {
    let taken = |d: &str| {
        plan.entries
            .iter()
            .any(|e| e.name == d || e.name.starts_with(&format!("{d}/")))
    };
    let Some(dir) = extra.dirs.iter().find(|d| !taken(d)).cloned() else {
        return Err(ExportError::ExtraDirTaken(extra.dirs.clone()));
    };
    check_entry_name(&dir)?;
    let now = SystemTime::now();
    plan.entries.push(Entry {
        name: dir.clone(),
        rel: PathBuf::new(),
        kind: EntryKind::Dir,
        size: 0,
        mode: 0o755,
        modified: Some(now),
        generated: None,
    });
    for (name, content) in &extra.files {
        let entry_name = format!("{dir}/{name}");
        check_entry_name(&entry_name)?;
        plan.entries.push(Entry {
            name: entry_name,
            rel: PathBuf::new(),
            kind: EntryKind::File,
            size: content.len() as u64,
            mode: 0o644,
            modified: Some(now),
            generated: Some(content.clone()),
        });
    }
    plan.extra_dir = Some(dir);
    Ok(())
}

/// The archive entry for a listed path, or why (and for a file over the limit, how big) it is
/// left out.
fn decide(
    ws: &Workspace,
    item: &Listed,
    opts: &ExportOptions,
    exclude: Option<&Path>,
) -> Result<Entry, (SkipReason, Option<u64>)> {
    let name = item.rel.file_name().unwrap_or_default();
    if name == ".git" && !opts.include_git {
        return Err((SkipReason::Git, None));
    }
    if METADATA_DIRS.iter().any(|m| name == *m) {
        return Err((SkipReason::Metadata, None));
    }
    if exclude.is_some_and(|x| x == ws.root().join(&item.rel)) {
        return Err((SkipReason::OutputFile, None));
    }
    if item.ignored {
        return Err((SkipReason::Ignored, None));
    }
    let entry_name = safe_entry_name(&item.rel).map_err(|_| (SkipReason::UnsafeName, None))?;
    let secret = !opts.include_secrets && name.to_str().is_some_and(is_secret_name);
    let kind = match &item.kind {
        ListedKind::Dir => EntryKind::Dir,
        _ if secret => return Err((SkipReason::Secret, None)),
        ListedKind::File => EntryKind::File,
        ListedKind::Symlink(LinkTarget::Inside(target)) => {
            if target.contains(['\\', ':', '\0']) {
                return Err((SkipReason::UnsafeName, None));
            }
            EntryKind::Symlink {
                target: target.clone(),
            }
        }
        ListedKind::Symlink(LinkTarget::Absolute) => {
            return Err((SkipReason::SymlinkAbsolute, None));
        }
        ListedKind::Symlink(LinkTarget::Outside) => {
            return Err((SkipReason::SymlinkOutside, None));
        }
        ListedKind::Symlink(LinkTarget::Dangling) => {
            return Err((SkipReason::SymlinkDangling, None));
        }
        ListedKind::Symlink(LinkTarget::UnsafeName) => return Err((SkipReason::UnsafeName, None)),
        ListedKind::Other => return Err((SkipReason::SpecialFile, None)),
    };
    let size = if kind == EntryKind::File {
        item.meta.len()
    } else {
        0
    };
    if let Some(limit) = opts.max_file_bytes
        && size > limit
    {
        return Err((SkipReason::TooLarge, Some(size)));
    }
    Ok(Entry {
        name: entry_name,
        rel: item.rel.clone(),
        size,
        mode: mode_of(&item.meta, &kind),
        modified: item.meta.modified().ok(),
        kind,
        generated: None,
    })
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
