//! Namespaces for a sandboxed command, where the kernel lets us make them: a mount namespace
//! that replaces shared places (`/tmp`, `/run`, the user's runtime directory: D-Bus, ssh-agent,
//! tmux, X11 and systemd sockets live there) with empty private ones, binds back what the
//! policy allows, hides samocoder's files and credential places that sit inside an allowed
//! directory, and makes the project's `.git` read-only; and, with the network off, a network
//! namespace that has only its own loopback. As root both come directly; otherwise through a
//! user namespace that maps the user to itself.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};

use super::mode::SandboxMode;
use super::policy::SandboxPolicy;

/// What could be set up.
#[derive(Debug, Default)]
pub struct NsOutcome {
    pub mount: bool,
    pub net: bool,
    /// Children are in a new PID namespace (the next stage mounts its own `/proc`).
    pub pid: bool,
    /// Directories that became private and writable (fresh `/tmp`, `/dev/shm`, ...).
    pub private_dirs: Vec<PathBuf>,
    pub problems: Vec<String>,
}

/// Shared directories that become private, empty and writable in the mount namespace.
const PRIVATE_WRITABLE: &[&str] = &["/tmp", "/var/tmp", "/dev/shm"];

pub fn enter(policy: &SandboxPolicy) -> Result<NsOutcome, String> {
    let mut out = NsOutcome::default();
    if policy.no_namespaces {
        out.problems.push("no mount namespace (turned off for a test): Unix sockets of other programs stay reachable by path".into());
        return Ok(out);
    }
    let want_net = !policy.network;
    let uid = nix::unistd::geteuid();
    let gid = nix::unistd::getegid();
    let base = CloneFlags::CLONE_NEWNS;
    let net = if want_net {
        CloneFlags::CLONE_NEWNET
    } else {
        CloneFlags::empty()
    };
    let user = if uid.is_root() {
        CloneFlags::empty()
    } else {
        CloneFlags::CLONE_NEWUSER
    };
    let pid = CloneFlags::CLONE_NEWPID;
    let entered = unshare(base | net | user | pid)
        .map(|()| (want_net, true))
        .or_else(|_| unshare(base | net | user).map(|()| (want_net, false)))
        .or_else(|_| unshare(base | user).map(|()| (false, false)));
    let net_ok = match entered {
        Ok((n, p)) => {
            out.pid = p;
            n
        }
        Err(e) => {
            out.problems.push(format!(
                "no mount namespace ({e}): Unix sockets of other programs stay reachable by path"
            ));
            return Ok(out);
        }
    };
    if !user.is_empty() {
        let write = |f: &str, s: String| std::fs::write(f, s).map_err(|e| format!("{f}: {e}"));
        write("/proc/self/setgroups", "deny".into())?;
        write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
        write("/proc/self/gid_map", format!("{gid} {gid} 1"))?;
    }
    out.mount = true;
    if net_ok {
        match super::sys::loopback_up() {
            Ok(()) => out.net = true,
            Err(e) => out
                .problems
                .push(format!("loopback of the network namespace: {e}")),
        }
    }
    // The working directory was opened before the mounts changed: enter it again, or
    // relative paths would still reach the old, uncovered tree (and `.git` unprotected).
    let cwd = std::env::current_dir().map_err(|e| format!("working directory: {e}"))?;
    set_up_mounts(policy, &mut out)?;
    std::env::set_current_dir(&cwd)
        .or_else(|_| std::env::set_current_dir(&policy.project))
        .map_err(|e| format!("entering {} again: {e}", cwd.display()))?;
    Ok(out)
}

fn set_up_mounts(policy: &SandboxPolicy, out: &mut NsOutcome) -> Result<(), String> {
    let fail = |what: &str, p: &Path, e: nix::Error| format!("{what} {}: {e}", p.display());
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| fail("making mounts private at", Path::new("/"), e))?;
    // Real, distinct directories to hide, outermost first (`/var/run` is usually `/run`).
    let mut hidden: Vec<PathBuf> = policy
        .hidden
        .iter()
        .filter_map(|h| std::fs::canonicalize(h).ok())
        .filter(|h| h.is_dir())
        .collect();
    hidden.sort();
    hidden.dedup();
    let outer: Vec<PathBuf> = hidden
        .iter()
        .filter(|h| !hidden.iter().any(|o| o != *h && h.starts_with(o)))
        .cloned()
        .collect();
    // What must stay visible inside hidden directories, opened before they are covered.
    let keep_roots: Vec<&PathBuf> = policy
        .write
        .iter()
        .chain(&policy.read)
        .chain(&policy.write_files)
        .chain(std::iter::once(&policy.project))
        .collect();
    let mut keep: Vec<(PathBuf, File, bool)> = Vec::new();
    for k in keep_roots {
        let Ok(real) = std::fs::canonicalize(k) else {
            continue;
        };
        if keep.iter().any(|(p, _, _)| *p == real) {
            continue;
        }
        if !outer.iter().any(|h| real.starts_with(h) && &real != h) {
            continue;
        }
        if let Ok(f) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
            .open(&real)
        {
            let is_dir = real.is_dir();
            keep.push((real, f, is_dir));
        }
    }
    for h in &outer {
        mount(
            Some("tmpfs"),
            h,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=1777,size=50%"),
        )
        .map_err(|e| fail("hiding", h, e))?;
        // Writable only when nothing is bound back beneath it: Landlock rules follow the
        // path, so a write rule on it would cover the kept directories too.
        let holds_kept = keep.iter().any(|(k, _, _)| k.starts_with(h));
        if PRIVATE_WRITABLE.iter().any(|p| Path::new(p) == h) && !holds_kept {
            out.private_dirs.push(h.clone());
        }
    }
    // Shallow first, so a kept directory inside another kept one lands on top of it.
    keep.sort_by_key(|(p, _, _)| p.components().count());
    for (path, file, is_dir) in &keep {
        let made = if *is_dir {
            std::fs::create_dir_all(path)
        } else {
            path.parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| {
                    std::fs::OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(path)
                        .map(|_| ())
                })
        };
        if made.is_err() && !path.exists() {
            continue;
        }
        let src = format!("/proc/self/fd/{}", file.as_raw_fd());
        mount(
            Some(src.as_str()),
            path,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| fail("keeping", path, e))?;
    }
    // samocoder's files and credentials inside an allowed directory: covered.
    for p in policy.protected() {
        let Ok(real) = std::fs::canonicalize(p) else {
            continue;
        };
        let inside_allowed = policy
            .read
            .iter()
            .chain(&policy.write)
            .chain(std::iter::once(&policy.project))
            .filter_map(|a| std::fs::canonicalize(a).ok())
            .any(|a| real.starts_with(&a));
        if !inside_allowed {
            continue;
        }
        let r = if real.is_dir() {
            mount(
                Some("tmpfs"),
                &real,
                Some("tmpfs"),
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some("size=4k"),
            )
        } else {
            mount(
                Some("/dev/null"),
                &real,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        };
        r.map_err(|e| fail("hiding", &real, e))?;
    }
    if policy.mode == SandboxMode::WorkspaceWrite {
        for ro in &policy.read_only {
            if !ro.is_dir() {
                continue;
            }
            mount(
                Some(ro.as_path()),
                ro,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .and_then(|()| {
                let flags =
                    MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | locked_flags(ro);
                mount(None::<&str>, ro, None::<&str>, flags, None::<&str>)
            })
            .map_err(|e| fail("making read-only", ro, e))?;
        }
    }
    Ok(())
}

/// In the new PID namespace (as its first process): a `/proc` that shows only the
/// command's own processes, so no other program's environment or memory can be read.
pub fn mount_own_proc() -> Result<(), String> {
    mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| format!("mounting /proc for the PID namespace: {e}"))
}

/// The flags of the mount holding `path` that a user namespace may not drop on remount.
fn locked_flags(path: &Path) -> MsFlags {
    use nix::sys::statvfs::{FsFlags, statvfs};
    let Ok(st) = statvfs(path) else {
        return MsFlags::empty();
    };
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            out |= ms;
        }
    }
    out
}
