//! Directories samocoder must never take as a project (build in, `git init`, export, delete):
//! the root of the file system, the user's home or anything that contains it, and samocoder's
//! own config, data and log directories, whether the project would be inside them or hold them.

use std::path::{Path, PathBuf};

/// Why a directory is not samocoder's to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precious {
    Root,
    Home,
    ContainsHome,
    /// It is, holds, or lies inside samocoder's own files (the database, config, logs).
    Own(PathBuf),
}

impl std::fmt::Display for Precious {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Precious::Root => f.write_str("it is the root of the file system"),
            Precious::Home => f.write_str("it is your home directory"),
            Precious::ContainsHome => f.write_str("it contains your home directory"),
            Precious::Own(p) => write!(f, "it overlaps samocoder's own files ({})", p.display()),
        }
    }
}

/// Checks `dir` (resolved as far as it exists) against `homes` and samocoder's own paths.
pub fn precious(dir: &Path, homes: &[PathBuf], own: &[&Path]) -> Option<Precious> {
    let dir = resolved(dir);
    if dir.parent().is_none() {
        return Some(Precious::Root);
    }
    for home in homes.iter().map(|h| resolved(h)) {
        if home == dir {
            return Some(Precious::Home);
        }
        if home.starts_with(&dir) {
            return Some(Precious::ContainsHome);
        }
    }
    for path in own {
        let own = resolved(path);
        if own.starts_with(&dir) || dir.starts_with(&own) {
            return Some(Precious::Own(own));
        }
    }
    None
}

/// A path resolved as far as it exists (the rest appended as written).
pub fn resolved(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut cur = path;
    loop {
        if let Ok(real) = std::fs::canonicalize(cur) {
            return rest.iter().rev().fold(real, |acc, c| acc.join(c));
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_home_and_own_directories_are_refused_and_the_rest_allowed() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        let data = home.join(".local/share/samocoder");
        std::fs::create_dir_all(&data).unwrap();
        let homes = [home.clone()];
        let own = [data.as_path()];
        assert_eq!(precious(Path::new("/"), &homes, &own), Some(Precious::Root));
        assert_eq!(precious(&home, &homes, &own), Some(Precious::Home));
        assert_eq!(
            precious(t.path(), &homes, &own),
            Some(Precious::ContainsHome)
        );
        assert!(matches!(
            precious(&data.join("p"), &homes, &own),
            Some(Precious::Own(_))
        ));
        assert!(matches!(
            precious(&home.join(".local"), &homes, &own),
            Some(Precious::Own(_))
        ));
        assert_eq!(precious(&home.join("code/todo"), &homes, &own), None);
        // Through a symlink it is the same directory.
        #[cfg(unix)]
        std::os::unix::fs::symlink(&home, t.path().join("h")).unwrap();
        #[cfg(unix)]
        assert_eq!(
            precious(&t.path().join("h"), &homes, &own),
            Some(Precious::Home)
        );
    }
}
