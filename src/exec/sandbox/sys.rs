//! The two system calls of the sandbox that no safe wrapper covers: bringing the loopback
//! interface of a fresh network namespace up (`SIOCSIFFLAGS`), so a command's own tests can
//! still listen on and connect to 127.0.0.1 while the machine's network stays out of reach;
//! and `fork` of the single-threaded helper, so the first process of the PID namespace keeps
//! the capabilities it needs to mount its own `/proc` (an exec would drop them for a user
//! who is not root).
#![allow(unsafe_code)]

use std::os::fd::AsRawFd;

/// Sets `IFF_UP` on `lo` in the current network namespace.
pub fn loopback_up() -> std::io::Result<()> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(std::io::Error::from)?;
    loopback_up_with(sock.as_raw_fd())
}

fn loopback_up_with(fd: i32) -> std::io::Result<()> {
    // SAFETY: `ifreq` is a plain C struct for which all-zero bytes are a valid value; the
    // name is a NUL-terminated "lo" within IFNAMSIZ; the pointer passed to ioctl is valid and
    // exclusively borrowed for the duration of each call; `fd` is an open socket owned by
    // the caller for that time. SIOCGIFFLAGS/SIOCSIFFLAGS read and write only `ifr_flags`.
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        if libc::ioctl(fd, libc::SIOCGIFFLAGS as _, &mut req) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(fd, libc::SIOCSIFFLAGS as _, &mut req) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Which side of a fork this is.
pub enum Forked {
    Child,
    Parent(nix::unistd::Pid),
}

/// Forks the helper, which must be single-threaded (checked: it refuses otherwise).
pub fn fork_single_threaded() -> std::io::Result<Forked> {
    let threads = std::fs::read_to_string("/proc/self/status")?
        .lines()
        .find_map(|l| l.strip_prefix("Threads:").map(|n| n.trim().to_string()));
    if threads.as_deref() != Some("1") {
        return Err(std::io::Error::other(
            "the sandbox helper is not single-threaded; refusing to fork",
        ));
    }
    // SAFETY: the process has exactly one thread (checked above; the helper is dispatched in
    // `main` before anything can start a thread, and nothing here starts one), so no lock or
    // allocator state can be held by another thread at the fork: the child may run any code,
    // allocation included, before it execs or exits.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => Ok(Forked::Child),
        Ok(nix::unistd::ForkResult::Parent { child }) => Ok(Forked::Parent(child)),
        Err(e) => Err(e.into()),
    }
}
