//! Path confinement: every path the model gives is resolved here before any file is touched.
//!
//! Rules (all paths are relative to the project root):
//! - Backslashes are treated as separators (`src\main.rs` is `src/main.rs`), so a model that
//!   writes Windows-style paths gets what it meant; a file name containing `\` is not possible.
//! - Refused: empty paths, absolute paths (`/x`, `\x`, `C:\x`, `C:x`, `\\?\x`), NUL bytes,
//!   `..` that would climb above the root (`a/../b` is fine and becomes `b`), the project's
//!   `.git` and samocoder's [`META_DIR`] at any depth, and every name a file system may take for
//!   them (see [`is_git_alias`]: case, trailing dots and spaces, `GIT~1`, NTFS streams, HFS+
//!   ignorable code points), components over 255 bytes, paths over 4096 bytes, and paths
//!   nested more than [`MAX_DIR_DEPTH`] directories deep (git checkpoints cannot hold them:
//!   libgit2 stops walking a work tree at that depth, which would fail the checkpoint after the
//!   model calls were paid).
//! - Symlinks: every existing ancestor that is a symlink must resolve inside the root (and not
//!   into `.git`). A symlink as the final component is followed for reading only when its target
//!   is inside the root; a write replaces the link itself with a regular file (the atomic rename
//!   never writes through it), so a link can never redirect a write outside the project.
//!   Checks run at resolve time: a process racing to swap a directory for a link between the
//!   check and the write is outside this model (commands the user approved could do worse).

use std::path::{Component, Path, PathBuf};

use super::error::WorkspaceError;

/// The directory name samocoder reserves for its own metadata inside a project.
pub const META_DIR: &str = ".samocoder";

const MAX_COMPONENT_BYTES: usize = 255;
const MAX_PATH_BYTES: usize = 4096;

/// The most directories a project path may go through: libgit2 refuses to walk a work tree
/// nested deeper ("directory nesting too deep"), so a deeper file could never be checkpointed.
pub const MAX_DIR_DEPTH: usize = 99;

/// A path checked to be inside the project: `rel` uses `/` separators, `abs` is under the root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SafePath {
    rel: String,
    abs: PathBuf,
}

impl SafePath {
    /// samocoder's own file `META_DIR/name` under `root` (never a path from a model): `name`
    /// must be one plain file name.
    pub(crate) fn meta(root: &Path, name: &str) -> Result<SafePath, WorkspaceError> {
        let plain = !name.is_empty()
            && name.len() <= MAX_COMPONENT_BYTES
            && !name.contains(['/', '\\', '\0'])
            && name != "."
            && name != ".."
            && !is_reserved_name(name);
        if !plain {
            return Err(WorkspaceError::refused(name, "not a plain file name"));
        }
        Ok(SafePath {
            rel: format!("{META_DIR}/{name}"),
            abs: root.join(META_DIR).join(name),
        })
    }

    /// The normalised path relative to the project root, with `/` separators.
    pub fn rel(&self) -> &str {
        &self.rel
    }

    /// The absolute path under the (canonical) project root.
    pub fn abs(&self) -> &Path {
        &self.abs
    }
}

impl std::fmt::Display for SafePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rel)
    }
}

/// True for a component the workspace never lets the model touch: `.git` or [`META_DIR`],
/// or a name that a file system may take for one of them (see [`is_git_alias`]).
pub fn is_reserved_name(name: &str) -> bool {
    let base = alias_base(name);
    base.eq_ignore_ascii_case(".git")
        || base.eq_ignore_ascii_case("git~1")
        || base.eq_ignore_ascii_case(META_DIR)
}

/// True for a component that git refuses to put in an index because some file system takes
/// it for `.git` (git's `verify_path` with `core.protectNTFS`, on by default everywhere, and
/// `core.protectHFS`, on by default on macOS): `.git` in any case with trailing dots or
/// spaces (Windows drops them), the NTFS short name `git~1`, an NTFS alternate data stream
/// of either (`.git::$INDEX_ALLOCATION` is the directory itself, `.git:foo` a stream of it),
/// and `.git` with code points HFS+ ignores (zero-width joiners, direction marks, U+FEFF)
/// anywhere in it. Deliberately wider than git where cheap: every such name is refused on
/// every platform, so a project made on Linux checks out on Windows and macOS.
pub(crate) fn is_git_alias(name: &str) -> bool {
    let base = alias_base(name);
    base.eq_ignore_ascii_case(".git") || base.eq_ignore_ascii_case("git~1")
}

/// The name a Windows or macOS file system would see: HFS+-ignorable code points dropped,
/// an NTFS stream suffix (from the first `:`) and a `\`-separated rest cut off, trailing dots
/// and spaces trimmed.
fn alias_base(name: &str) -> String {
    let visible: String = name.chars().filter(|&c| !is_hfs_ignorable(c)).collect();
    let end = visible.find([':', '\\']).unwrap_or(visible.len());
    visible[..end].trim_end_matches(['.', ' ']).to_owned()
}

/// Code points HFS+ leaves out when it compares names (git's list in `utf8.c`).
fn is_hfs_ignorable(c: char) -> bool {
    matches!(c, '\u{200c}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{206a}'..='\u{206f}' | '\u{feff}')
}

/// Splits and normalises `rel` lexically; returns the components (without `.`/`..`).
pub(crate) fn normalise(rel: &str) -> Result<Vec<String>, WorkspaceError> {
    if rel.is_empty() {
        return Err(WorkspaceError::EmptyPath);
    }
    if rel.contains('\0') {
        return Err(WorkspaceError::refused(rel, "it contains a NUL byte"));
    }
    if rel.len() > MAX_PATH_BYTES {
        return Err(WorkspaceError::refused(rel, "it is longer than 4096 bytes"));
    }
    let bytes = rel.as_bytes();
    if bytes[0] == b'/' || bytes[0] == b'\\' {
        return Err(WorkspaceError::refused(
            rel,
            "absolute paths are not allowed; use a path relative to the project root",
        ));
    }
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(WorkspaceError::refused(
            rel,
            "drive letters are not allowed; use a path relative to the project root",
        ));
    }
    let mut parts: Vec<String> = Vec::new();
    for comp in rel.split(['/', '\\']) {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(WorkspaceError::refused(
                        rel,
                        "it points outside the project",
                    ));
                }
            }
            name => {
                if name.len() > MAX_COMPONENT_BYTES {
                    return Err(WorkspaceError::refused(
                        rel,
                        "a path component is longer than 255 bytes",
                    ));
                }
                if is_reserved_name(name) {
                    return Err(WorkspaceError::refused(
                        rel,
                        format!("`{name}` is managed by samocoder and cannot be accessed"),
                    ));
                }
                parts.push(name.to_owned());
            }
        }
    }
    if parts.is_empty() {
        return Err(WorkspaceError::refused(
            rel,
            "it names the project root, not a file",
        ));
    }
    if parts.len() - 1 > MAX_DIR_DEPTH {
        return Err(WorkspaceError::refused(
            rel,
            format!(
                "it is nested {} directories deep; git checkpoints hold at most {MAX_DIR_DEPTH}, so use a shallower path",
                parts.len() - 1
            ),
        ));
    }
    Ok(parts)
}

/// Resolves `rel` under the canonical `root`, checking every existing symlink on the way.
pub(crate) fn resolve(root: &Path, rel: &str) -> Result<SafePath, WorkspaceError> {
    let parts = normalise(rel)?;
    let mut abs = root.to_path_buf();
    let last = parts.len() - 1;
    let mut exists = true;
    for (i, part) in parts.iter().enumerate() {
        abs.push(part);
        if !exists {
            continue;
        }
        let meta = match std::fs::symlink_metadata(&abs) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                exists = false;
                continue;
            }
            Err(e) if i < last && e.kind() == std::io::ErrorKind::NotADirectory => {
                return Err(WorkspaceError::refused(rel, "a parent of it is a file"));
            }
            Err(e) => return Err(WorkspaceError::io(rel, e)),
        };
        if meta.file_type().is_symlink() {
            check_link_target(root, &abs, rel, i == last)?;
        }
    }
    Ok(SafePath {
        rel: parts.join("/"),
        abs,
    })
}

/// Where a symbolic link leads, as far as confinement cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkDest {
    /// Inside the project, outside `.git` and [`META_DIR`]: the canonical target.
    Inside(PathBuf),
    /// The target (or a link on the way to it) does not exist.
    Broken,
    /// The target cannot be resolved for another reason (a link loop, no permission).
    Unresolvable,
    /// Outside the project.
    Outside,
    /// Into `.git` or [`META_DIR`].
    Reserved,
}

/// Resolves the link at `link` (under the canonical `root`) on disk: the one check of where a
/// link leads, for [`resolve`] and for listings (exports).
pub(crate) fn link_dest(root: &Path, link: &Path) -> LinkDest {
    let target = match std::fs::canonicalize(link) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return LinkDest::Broken,
        Err(_) => return LinkDest::Unresolvable,
    };
    let Ok(inside) = target.strip_prefix(root) else {
        return LinkDest::Outside;
    };
    let reserved = inside.components().any(|c| match c {
        Component::Normal(name) => name.to_str().is_none_or(is_reserved_name),
        _ => false,
    });
    if reserved {
        LinkDest::Reserved
    } else {
        LinkDest::Inside(target)
    }
}

/// A symlink on the path must point inside the root (a dangling final link is allowed: the
/// write replaces the link itself and a read reports it missing).
fn check_link_target(
    root: &Path,
    link: &Path,
    rel: &str,
    is_last: bool,
) -> Result<(), WorkspaceError> {
    match link_dest(root, link) {
        LinkDest::Inside(_) => Ok(()),
        LinkDest::Broken if is_last => Ok(()),
        LinkDest::Broken | LinkDest::Unresolvable => Err(WorkspaceError::refused(
            rel,
            "it goes through a broken symbolic link",
        )),
        LinkDest::Outside => Err(WorkspaceError::refused(
            rel,
            "it goes through a symbolic link that points outside the project",
        )),
        LinkDest::Reserved => Err(WorkspaceError::refused(
            rel,
            "it goes through a symbolic link into a directory managed by samocoder",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> Result<String, String> {
        normalise(s).map(|p| p.join("/")).map_err(|e| e.to_string())
    }

    #[test]
    fn normalises_relative_paths() {
        assert_eq!(norm("src/main.rs").unwrap(), "src/main.rs");
        assert_eq!(norm("./src//lib.rs").unwrap(), "src/lib.rs");
        assert_eq!(norm("a/../b").unwrap(), "b");
        assert_eq!(norm("src\\main.rs").unwrap(), "src/main.rs");
        assert_eq!(norm("a/b/").unwrap(), "a/b");
    }

    #[test]
    fn refuses_escapes_and_absolute_forms() {
        for bad in [
            "",
            "/etc/passwd",
            "\\x",
            "\\\\?\\C:\\x",
            "C:\\x",
            "C:x",
            "c:/x",
            "..",
            "../x",
            "a/../../x",
            "a\0b",
            ".",
            "a/..",
            "./",
        ] {
            assert!(norm(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn refuses_reserved_names_at_any_depth() {
        for bad in [
            ".git",
            ".GIT/config",
            "a/.git/hooks/x",
            ".git./x",
            "x/.Git /y",
            ".samocoder/db",
        ] {
            let err = norm(bad).unwrap_err();
            assert!(err.contains("managed by samocoder"), "{bad}: {err}");
        }
        assert!(norm(".github/workflows/ci.yml").is_ok());
        assert!(norm(".gitignore").is_ok());
    }

    #[test]
    fn paths_deeper_than_git_checkpoints_can_hold_are_refused() {
        let at_limit = format!("{}file.txt", "d/".repeat(MAX_DIR_DEPTH));
        assert!(norm(&at_limit).is_ok());
        let deeper = format!("d/{at_limit}");
        let err = norm(&deeper).unwrap_err();
        assert!(err.contains("nested 100 directories deep"), "{err}");
        assert!(err.contains("at most 99"), "{err}");
        // `..` counts what the path names, not how it is written.
        assert!(norm(&format!("x/../{at_limit}")).is_ok());
    }

    #[test]
    fn refuses_overlong_paths() {
        assert!(norm(&"a".repeat(256)).is_err());
        assert!(norm(&"a".repeat(255)).is_ok());
        let long = vec!["abcdefgh"; 600].join("/");
        assert!(norm(&long).unwrap_err().contains("4096"));
    }
}

#[cfg(test)]
mod git_names_tests {
    use proptest::prelude::*;

    use super::*;

    /// Names git refuses in an index (checked with git 2.47's `update-index --cacheinfo`).
    const REFUSED_BY_GIT: &[&str] = &[
        ".git",
        ".GIT",
        ".Git",
        ".git.",
        ".git ",
        ".git. . ",
        "git~1",
        "GIT~1",
        "Git~1 .",
        ".git::$INDEX_ALLOCATION",
        ".git:$DATA",
        ".git:foo",
        ".git:",
        "GIT~1:x",
        ".g\u{200c}it",
        ".gi\u{feff}t",
        "\u{200c}.git",
        ".git\u{200d}",
        ".GI\u{206a}t",
        ".g\u{202e}it",
        ".gi\u{200f}T",
    ];

    /// Names close to them that are ordinary files.
    const ORDINARY: &[&str] = &[
        ".github",
        ".gitignore",
        ".gitmodules",
        ".gitattributes",
        "git~2",
        ".git~1",
        "x.git:foo",
        "a.git",
        "git",
        "GIT~10",
        "git~1.txt",
        ".gitx",
        "x:.git",
        ".g\u{200b}it",
    ];

    #[test]
    fn regression_names_git_refuses_to_index_are_reserved() {
        for name in REFUSED_BY_GIT {
            assert!(is_git_alias(name), "{name:?}");
            assert!(is_reserved_name(name), "{name:?}");
            let err = normalise(&format!("src/{name}/x.py"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("managed by samocoder"), "{name:?}: {err}");
            assert!(normalise(name).is_err(), "{name:?}");
        }
        for name in ORDINARY {
            assert!(!is_reserved_name(name), "{name:?}");
            assert!(normalise(&format!("src/{name}")).is_ok(), "{name:?}");
        }
        assert!(is_reserved_name(".samocoder.") && is_reserved_name(".SAMOCODER"));
    }

    /// A repository that refuses what git refuses on any platform.
    fn strict_repo() -> (tempfile::TempDir, git2::Repository) {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let mut config = repo.config().unwrap();
        config.set_bool("core.protectNTFS", true).unwrap();
        config.set_bool("core.protectHFS", true).unwrap();
        (dir, repo)
    }

    fn index_takes(repo: &git2::Repository, path: &str) -> bool {
        let mut index = repo.index().unwrap();
        let entry = git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: 0,
            id: git2::Oid::ZERO_SHA1,
            flags: 0,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        };
        index.add_frombuffer(&entry, b"x").is_ok()
    }

    #[test]
    fn regression_libgit2_refuses_the_names_samocoder_reserves() {
        let (_d, repo) = strict_repo();
        for name in REFUSED_BY_GIT {
            for path in [
                format!("{name}/x"),
                format!("dir/{name}/x"),
                format!("dir/{name}"),
            ] {
                assert!(!index_takes(&repo, &path), "libgit2 took {path:?}");
                assert!(normalise(&path).is_err(), "samocoder took {path:?}");
            }
        }
        for name in ORDINARY {
            assert!(index_takes(&repo, &format!("dir/{name}")), "{name:?}");
        }
    }

    /// Names built from the pieces git's checks look at, plus arbitrary ones.
    fn names() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just(".".to_string()),
            Just("g".to_string()),
            Just("G".to_string()),
            Just("i".to_string()),
            Just("I".to_string()),
            Just("t".to_string()),
            Just("T".to_string()),
            Just("~1".to_string()),
            Just("~".to_string()),
            Just(" ".to_string()),
            Just(":".to_string()),
            Just("$DATA".to_string()),
            Just("\\".to_string()),
            Just(".git".to_string()),
            Just("git~1".to_string()),
            Just("modules".to_string()),
            Just(".samocoder".to_string()),
            prop::sample::select(vec![
                '\u{200c}', '\u{200d}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202e}', '\u{206a}',
                '\u{206f}', '\u{feff}', '\u{200b}', 'é', '\u{0130}',
            ])
            .prop_map(String::from),
            "[a-zA-Z0-9._~ -]{1,3}",
        ];
        prop_oneof![
            4 => prop::collection::vec(piece, 1..7).prop_map(|p| p.concat()),
            1 => "[^/\\x00]{1,12}",
        ]
        .prop_filter("a file name", |n| {
            !n.is_empty() && n != "." && n != ".." && !n.contains('/') && n.len() <= 255
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever samocoder accepts as a path component, git's library indexes (even with
        /// the NTFS and HFS protections on), so a checkpoint never fails on a name the model
        /// was allowed to write.
        #[test]
        fn every_name_samocoder_accepts_libgit2_indexes(name in names()) {
            let (_d, repo) = strict_repo();
            if !is_reserved_name(&name) {
                // Backslashes are separators for samocoder: what it would write is the
                // normalised path.
                if let Ok(parts) = normalise(&format!("dir/{name}")) {
                    let path = parts.join("/");
                    prop_assert!(index_takes(&repo, &path), "libgit2 refused {:?}", path);
                }
            } else {
                let refused = normalise(&format!("dir/{name}")).is_err();
                prop_assert!(refused, "samocoder took {:?}", name);
            }
        }
    }
}
