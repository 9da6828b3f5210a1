//! [`SandboxPolicy`]: what one sandboxed command may read, write and reach, as plain data
//! built without touching the system, handed to the helper process as JSON.
//!
//! Reads are an allow-list too (Landlock only allows): the system's directories, the
//! toolchains (PATH entries and the usual places in the home), the project and the private
//! temporary directory. The home at large, samocoder's own directories and credential places
//! are never in it; [`protected_paths`] lists them so nothing declared can open them, and so
//! a mount namespace can hide any that sits inside an allowed directory.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::mode::SandboxMode;

/// System directories commands may read and execute.
pub const SYSTEM_READ: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/opt",
    "/nix/store",
    "/snap",
    "/proc",
    "/sys",
    "/var/lib",
    "/var/cache",
    "/run/systemd/resolve",
];

/// Devices commands may read and write: only these (never a disk or `/dev/mem`).
pub const DEVICES_WRITE: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
    "/dev/random",
    "/dev/urandom",
];

/// Toolchain places under the home directory commands may read (never `~/.cargo` whole: it
/// holds `credentials.toml`).
pub const HOME_TOOLCHAINS: &[&str] = &[
    ".cargo/bin",
    ".cargo/registry",
    ".cargo/git",
    ".cargo/config.toml",
    ".cargo/config",
    ".rustup",
    ".pyenv",
    ".nvm",
    ".volta",
    ".bun/bin",
    ".deno/bin",
    ".local/bin",
    ".local/lib",
    ".local/share/pnpm",
    ".sdkman",
    ".gradle/wrapper",
    ".m2/repository",
    "go/pkg",
    "go/bin",
    ".gitconfig",
    ".config/git",
];

/// Credential places under the home directory: never readable by a command.
pub const HOME_SECRETS: &[&str] = &[
    ".ssh",
    ".aws",
    ".azure",
    ".config/gcloud",
    ".kube",
    ".docker",
    ".gnupg",
    ".netrc",
    "_netrc",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".config/gh",
    ".config/hub",
    ".password-store",
    ".local/share/keyrings",
    ".terraform.d",
    ".vault-token",
    ".pgpass",
    ".my.cnf",
    ".config/op",
    ".mozilla",
    ".config/google-chrome",
    ".config/chromium",
];

/// Directories a mount namespace replaces with an empty one: shared temporary files, other
/// programs' sockets (D-Bus, ssh-agent, tmux, X11, systemd, docker) live there.
pub const HIDDEN_DIRS: &[&str] = &["/tmp", "/var/tmp", "/dev/shm", "/run", "/var/run"];

/// Why a path that is neither the project nor a system or toolchain directory is refused.
pub const OUTSIDE_READ: &str =
    "outside the project and the system and toolchain directories commands may read";

/// The parts of the machine a run knows about, from which each command's policy is built.
#[derive(Debug, Clone, Default)]
pub struct SandboxBase {
    /// `$HOME`, and the account's home from the password database when it differs.
    pub homes: Vec<PathBuf>,
    /// samocoder's config, data and log directories.
    pub own_dirs: Vec<PathBuf>,
    /// Entries of PATH and toolchain roots from the environment (CARGO_HOME, ...).
    pub toolchain_dirs: Vec<PathBuf>,
    /// `sandbox.writable` / `sandbox.readable`, already checked.
    pub writable: Vec<PathBuf>,
    pub readable: Vec<PathBuf>,
    /// The user's runtime directory (XDG_RUNTIME_DIR), hidden when a mount namespace can be made.
    pub runtime_dir: Option<PathBuf>,
    /// False only in tests of the fallback: confine without namespaces, as on a machine that
    /// cannot make them.
    pub no_namespaces: bool,
}

/// Every path no command may read: samocoder's own directories and the credential places.
pub fn protected_paths(homes: &[PathBuf], own_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = own_dirs.iter().map(|p| normalize(p)).collect();
    for h in homes {
        out.extend(HOME_SECRETS.iter().map(|s| h.join(s)));
    }
    out
}

/// What one command may do. Serialized to the helper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxPolicy {
    pub mode: SandboxMode,
    pub network: bool,
    /// The command's directory (the project root).
    pub project: PathBuf,
    /// The private temporary directory (TMPDIR).
    pub tmp: PathBuf,
    /// Read (and execute) allowed beneath these.
    pub read: Vec<PathBuf>,
    /// Read and write allowed beneath these.
    pub write: Vec<PathBuf>,
    /// Single files (devices) that may be written.
    pub write_files: Vec<PathBuf>,
    /// samocoder's own directories: never readable (hidden by the mount namespace when one
    /// sits inside an allowed path).
    pub own_dirs: Vec<PathBuf>,
    /// Credential places: never readable, hidden the same way.
    pub secrets: Vec<PathBuf>,
    /// Replaced by empty directories in the mount namespace (kept paths are bound back).
    pub hidden: Vec<PathBuf>,
    /// Made read-only in the mount namespace (the project's `.git`).
    pub read_only: Vec<PathBuf>,
    /// The samocoder process the helper belongs to: when it is gone, the command is killed.
    pub parent_pid: u32,
    /// Tests of the fallback only: make no namespaces.
    #[serde(default)]
    pub no_namespaces: bool,
}

impl SandboxBase {
    /// The policy for a command in `project` with private temporary directory `tmp`.
    pub fn policy(
        &self,
        mode: SandboxMode,
        network: bool,
        project: &Path,
        tmp: &Path,
        parent_pid: u32,
    ) -> SandboxPolicy {
        let project = normalize(project);
        let tmp = normalize(tmp);
        let protected = protected_paths(&self.homes, &self.own_dirs);
        let own_dirs: Vec<PathBuf> = self.own_dirs.iter().map(|p| normalize(p)).collect();
        let secrets: Vec<PathBuf> = protected[own_dirs.len()..].to_vec();
        let allowed = |p: &PathBuf| {
            p.is_absolute()
                && p.parent().is_some()
                && !self.homes.contains(p)
                && !protected
                    .iter()
                    .any(|s| s.starts_with(p) || p.starts_with(s))
        };
        let mut read: Vec<PathBuf> = SYSTEM_READ.iter().map(PathBuf::from).collect();
        for h in &self.homes {
            read.extend(HOME_TOOLCHAINS.iter().map(|t| h.join(t)));
        }
        for dir in &self.toolchain_dirs {
            let dir = normalize(dir);
            // `~/.pyenv/shims` runs `~/.pyenv/libexec/...`: a `bin` or `shims` entry brings its
            // parent (unless that would open a secret, which `allowed` then refuses).
            if dir.ends_with("bin") || dir.ends_with("shims") {
                read.extend(dir.parent().map(Path::to_path_buf));
            }
            read.push(dir);
        }
        read.extend(self.readable.iter().cloned());
        read.retain(allowed);
        let mut write = vec![tmp.clone()];
        write.extend(self.writable.iter().filter(|p| allowed(p)).cloned());
        match mode {
            SandboxMode::WorkspaceWrite => write.push(project.clone()),
            SandboxMode::ReadOnly | SandboxMode::Off => read.push(project.clone()),
        }
        dedup(&mut read);
        dedup(&mut write);
        let mut hidden: Vec<PathBuf> = HIDDEN_DIRS.iter().map(PathBuf::from).collect();
        if let Some(r) = &self.runtime_dir {
            hidden.push(normalize(r));
        }
        dedup(&mut hidden);
        SandboxPolicy {
            mode,
            network,
            read_only: vec![project.join(".git")],
            project,
            tmp,
            read,
            write,
            write_files: DEVICES_WRITE.iter().map(PathBuf::from).collect(),
            own_dirs,
            secrets,
            hidden,
            parent_pid,
            no_namespaces: self.no_namespaces,
        }
    }
}

impl SandboxPolicy {
    /// Why writing `path` is refused, or `None` when it is allowed.
    pub fn write_denied(&self, path: &Path) -> Option<String> {
        let path = normalize(path);
        if self.mode == SandboxMode::Off {
            return None;
        }
        if self.read_only.iter().any(|r| path.starts_with(r)) {
            return Some(
                "the project's git internals are written only by samocoder's checkpoints".into(),
            );
        }
        if self.write.iter().any(|w| path.starts_with(w)) || self.write_files.contains(&path) {
            return None;
        }
        if self.mode == SandboxMode::ReadOnly && path.starts_with(&self.project) {
            return Some("the sandbox is read-only for this run".into());
        }
        let protected = self
            .own_dirs
            .iter()
            .chain(&self.secrets)
            .any(|p| path.starts_with(p));
        let toolchain = self.read.iter().find(|r| {
            path.starts_with(r) && !SYSTEM_READ.iter().any(|s| Path::new(s) == r.as_path())
        });
        if let (false, Some(root)) = (protected, toolchain) {
            return Some(format!(
                "{} is a toolchain directory commands may only read (the user can let them write it with sandbox.writable)",
                root.display()
            ));
        }
        Some(match self.read_denied(&path) {
            Some(why) if protected => why,
            _ => "outside the project".into(),
        })
    }

    /// Why reading `path` is refused, or `None` when it is allowed.
    pub fn read_denied(&self, path: &Path) -> Option<String> {
        let path = normalize(path);
        if self.mode == SandboxMode::Off {
            return None;
        }
        if self.own_dirs.iter().any(|p| path.starts_with(p)) {
            return Some("samocoder's own files are out of reach of commands".into());
        }
        if let Some(p) = self.secrets.iter().find(|p| path.starts_with(p)) {
            return Some(format!(
                "{} holds credentials and is out of reach of commands",
                p.display()
            ));
        }
        let readable = self
            .read
            .iter()
            .chain(&self.write)
            .chain(&self.write_files)
            .any(|r| path.starts_with(r));
        (!readable).then(|| OUTSIDE_READ.into())
    }

    /// Every path that must stay out of reach.
    pub fn protected(&self) -> impl Iterator<Item = &PathBuf> {
        self.own_dirs.iter().chain(&self.secrets)
    }
}

/// `path` with `.` and `..` resolved lexically (no file system access).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn dedup(v: &mut Vec<PathBuf>) {
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|p| seen.insert(p.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> SandboxBase {
        SandboxBase {
            homes: vec!["/home/u".into()],
            own_dirs: vec![
                "/home/u/.local/share/samocoder".into(),
                "/home/u/.config/samocoder".into(),
            ],
            toolchain_dirs: vec![
                "/home/u/.pyenv/shims".into(),
                "/home/u".into(),
                "/home/u/.ssh/bin".into(),
                "/home/u/.cargo/bin".into(),
                "/home/u/bin".into(),
            ],
            writable: vec!["/home/u/.cache/pip".into()],
            readable: vec![],
            runtime_dir: Some("/run/user/1000".into()),
            no_namespaces: false,
        }
    }

    fn policy(mode: SandboxMode) -> SandboxPolicy {
        base().policy(
            mode,
            false,
            Path::new("/home/u/proj"),
            Path::new("/tmp/sbx-1"),
            42,
        )
    }

    #[test]
    fn workspace_write_allows_the_project_tmp_and_declared_caches_only() {
        let p = policy(SandboxMode::WorkspaceWrite);
        assert_eq!(p.write_denied(Path::new("/home/u/proj/src/main.py")), None);
        assert_eq!(p.write_denied(Path::new("/tmp/sbx-1/x")), None);
        assert_eq!(p.write_denied(Path::new("/home/u/.cache/pip/wheel")), None);
        assert_eq!(p.write_denied(Path::new("/dev/null")), None);
        assert_eq!(
            p.write_denied(Path::new("/home/u/x")).as_deref(),
            Some("outside the project")
        );
        assert!(
            p.write_denied(Path::new("/home/u/proj/.git/config"))
                .unwrap()
                .contains("git internals")
        );
        assert!(
            p.write_denied(Path::new("/home/u/proj/../other/f"))
                .is_some()
        );
        assert!(
            p.write_denied(Path::new("/home/u/.cargo/registry/cache/x.crate"))
                .unwrap()
                .contains("sandbox.writable")
        );
        assert!(
            p.write_denied(Path::new("/etc/passwd"))
                .unwrap()
                .contains("outside the project")
        );
    }

    #[test]
    fn reads_of_home_secrets_and_samocoder_files_are_denied() {
        let p = policy(SandboxMode::WorkspaceWrite);
        assert!(
            p.read_denied(Path::new("/home/u/.ssh/id_ed25519"))
                .unwrap()
                .contains("credentials")
        );
        assert!(
            p.read_denied(Path::new("/home/u/.local/share/samocoder/samocoder.db"))
                .unwrap()
                .contains("samocoder's own")
        );
        assert!(p.read_denied(Path::new("/home/u/notes.txt")).is_some());
        assert_eq!(p.read_denied(Path::new("/usr/bin/python3")), None);
        assert_eq!(
            p.read_denied(Path::new("/home/u/.pyenv/shims/python3")),
            None
        );
        assert_eq!(
            p.read_denied(Path::new("/home/u/.pyenv/libexec/pyenv")),
            None
        );
        assert_eq!(p.read_denied(Path::new("/home/u/.cargo/bin/cargo")), None);
        assert!(
            p.read_denied(Path::new("/home/u/.cargo/credentials.toml"))
                .is_some()
        );
    }

    #[test]
    fn the_home_itself_and_paths_holding_secrets_never_become_readable() {
        let p = policy(SandboxMode::WorkspaceWrite);
        for r in p.read.iter().chain(&p.write) {
            assert_ne!(r, Path::new("/home/u"));
            assert!(
                !p.protected().any(|s| s.starts_with(r) || r.starts_with(s)),
                "{r:?}"
            );
        }
    }

    #[test]
    fn read_only_mode_keeps_the_project_readable_only() {
        let p = policy(SandboxMode::ReadOnly);
        assert!(
            p.write_denied(Path::new("/home/u/proj/a"))
                .unwrap()
                .contains("read-only")
        );
        assert_eq!(p.read_denied(Path::new("/home/u/proj/a")), None);
        assert_eq!(p.write_denied(Path::new("/tmp/sbx-1/a")), None);
    }

    #[test]
    fn hidden_dirs_include_the_runtime_dir_and_the_policy_round_trips() {
        let p = policy(SandboxMode::WorkspaceWrite);
        assert!(p.hidden.contains(&PathBuf::from("/run/user/1000")));
        assert!(p.hidden.contains(&PathBuf::from("/tmp")));
        let back: SandboxPolicy =
            serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(normalize(Path::new("/a/./b/../c/")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("/../..")), PathBuf::from("/"));
    }
}
