//! The seccomp filter of a sandboxed command: the kernel keyring, tracing other processes,
//! loading kernel code and changing mounts fail with `EPERM`; with the network off and no
//! network namespace, so does opening any socket but a Unix one. Calls of another ABI (i386
//! through `int 0x80`) kill the process; x32 calls fail with `ENOSYS`.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, sock_filter,
};

/// Denied always, by name (for messages and tests) and number.
pub fn denied_syscalls() -> Vec<(&'static str, i64)> {
    vec![
        ("keyctl", libc::SYS_keyctl),
        ("add_key", libc::SYS_add_key),
        ("request_key", libc::SYS_request_key),
        ("ptrace", libc::SYS_ptrace),
        ("process_vm_readv", libc::SYS_process_vm_readv),
        ("process_vm_writev", libc::SYS_process_vm_writev),
        ("bpf", libc::SYS_bpf),
        ("perf_event_open", libc::SYS_perf_event_open),
        ("kexec_load", libc::SYS_kexec_load),
        ("kexec_file_load", libc::SYS_kexec_file_load),
        ("init_module", libc::SYS_init_module),
        ("finit_module", libc::SYS_finit_module),
        ("delete_module", libc::SYS_delete_module),
        ("mount", libc::SYS_mount),
        ("umount2", libc::SYS_umount2),
        ("pivot_root", libc::SYS_pivot_root),
        ("move_mount", libc::SYS_move_mount),
        ("open_tree", libc::SYS_open_tree),
        ("fsopen", libc::SYS_fsopen),
        ("open_by_handle_at", libc::SYS_open_by_handle_at),
        ("setns", libc::SYS_setns),
        ("swapon", libc::SYS_swapon),
        ("swapoff", libc::SYS_swapoff),
        ("reboot", libc::SYS_reboot),
        // io_uring can open sockets and files without the system calls filtered here.
        ("io_uring_setup", libc::SYS_io_uring_setup),
        ("io_uring_enter", libc::SYS_io_uring_enter),
        ("io_uring_register", libc::SYS_io_uring_register),
    ]
}

/// The filter program. `block_sockets`: refuse every socket family but `AF_UNIX`.
pub fn program(block_sockets: bool) -> Result<BpfProgram, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = denied_syscalls()
        .into_iter()
        .map(|(_, nr)| (nr, Vec::new()))
        .collect();
    if block_sockets {
        let not_unix = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Ne,
            libc::AF_UNIX as u64,
        )
        .map_err(|e| e.to_string())?;
        rules.insert(
            libc::SYS_socket,
            vec![SeccompRule::new(vec![not_unix]).map_err(|e| e.to_string())?],
        );
    }
    let arch = std::env::consts::ARCH.try_into().map_err(|_| {
        format!(
            "seccomp filters are not built for {}",
            std::env::consts::ARCH
        )
    })?;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| e.to_string())?;
    let mut prog: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    // After the architecture check (3 instructions): x32 system call numbers (bit 30 set)
    // would not match the numbers above, so they fail as a whole.
    #[cfg(target_arch = "x86_64")]
    {
        const X32_BIT: u32 = 0x4000_0000;
        let guard = [
            sock_filter {
                code: 0x20,
                jt: 0,
                jf: 0,
                k: 0,
            }, // ld [nr]
            sock_filter {
                code: 0x35,
                jt: 0,
                jf: 1,
                k: X32_BIT,
            }, // jge X32_BIT
            sock_filter {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
            },
        ];
        prog.splice(3..3, guard);
    }
    Ok(prog)
}

/// Installs the filter on this thread (the helper is single-threaded; the command inherits it).
pub fn apply(block_sockets: bool) -> Result<(), String> {
    let prog = program(block_sockets)?;
    seccompiler::apply_filter(&prog).map_err(|e| format!("seccomp: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_checks_arch_then_x32_then_the_number() {
        let prog = program(true).unwrap();
        // ld arch; jeq; kill
        assert_eq!(prog[0].code, 0x20);
        assert_eq!(prog[2].k, libc::SECCOMP_RET_KILL_PROCESS);
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!((prog[3].code, prog[3].k), (0x20, 0));
            assert_eq!(prog[5].k, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32);
            // seccompiler loads the number again right after the guard.
            assert_eq!((prog[6].code, prog[6].k), (0x20, 0));
        }
        assert!(prog.len() > denied_syscalls().len());
        assert!(program(false).unwrap().len() < prog.len());
    }

    #[test]
    fn the_keyring_calls_are_denied() {
        let names: Vec<&str> = denied_syscalls().into_iter().map(|(n, _)| n).collect();
        for n in [
            "keyctl",
            "add_key",
            "request_key",
            "ptrace",
            "io_uring_setup",
        ] {
            assert!(names.contains(&n), "{n}");
        }
    }
}
