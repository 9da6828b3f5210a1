//! The hidden `samocoder sandbox-exec JSON` helper: started by the command runner, never by
//! a person. It is dispatched before argument parsing, logging or any thread exists (namespaces
//! need a single-threaded process), so it is absent from help, completions and the man page.

use std::process::ExitCode;

use crate::exec::sandbox::helper;

/// Runs the helper when the process was started as `samocoder sandbox-exec ...`.
pub fn intercept() -> Option<ExitCode> {
    let mut args = std::env::args();
    let _exe = args.next();
    if args.next().as_deref() != Some(helper::SUBCOMMAND) {
        return None;
    }
    let rest: Vec<String> = args.collect();
    Some(helper::main(&rest))
}

/// samocoder holds keys in memory: no other process of the user may read its memory or
/// `/proc/PID/environ` (`PR_SET_DUMPABLE 0`; also no core dumps).
pub fn harden_self() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = nix::sys::prctl::set_dumpable(false);
}
