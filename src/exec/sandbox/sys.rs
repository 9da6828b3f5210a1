//! The one system call of the sandbox that no safe wrapper covers: bringing the loopback
//! interface of a fresh network namespace up (`SIOCSIFFLAGS`), so a command's own tests can
//! still listen on and connect to 127.0.0.1 while the machine's network stays out of reach.
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
