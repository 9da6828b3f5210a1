//! The helper step between fork and exec: `samocoder sandbox-exec JSON`, run by the
//! [`ShellRunner`](crate::exec::ShellRunner) for every command. It ties itself to the
//! samocoder process that started it (parent-death signal), restricts itself (namespaces,
//! Landlock, seccomp, `no_new_privs`), prints one report line, then starts `sh -c` and stays
//! as its supervisor: when samocoder dies, even by `kill -9`, the whole process group goes.
//! samocoder itself is never restricted.

use std::io::Write;
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

use super::mode::SandboxMode;
use super::policy::SandboxPolicy;

/// The hidden subcommand's name.
pub const SUBCOMMAND: &str = "sandbox-exec";
/// The first line the helper prints starts with this, then the report as JSON.
pub const REPORT_PREFIX: &str = "\u{1}samocoder-sandbox ";
/// The helper's exit code when it could not set up the sandbox (the command did not run).
pub const SETUP_FAILED: u8 = 125;

/// What the helper gets: the policy and the command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HelperRequest {
    pub policy: SandboxPolicy,
    /// The shell program (`sh -c`) and its script.
    pub program: Vec<String>,
    /// Probe only: report what can be enforced and exit without running anything.
    #[serde(default)]
    pub probe: bool,
    /// Set by the helper for its second stage (the first process of the new PID namespace):
    /// what the first stage already applied.
    #[serde(default)]
    pub stage2: Option<HelperReport>,
}

/// What the helper applied, printed as its first line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelperReport {
    pub mode: String,
    pub network: bool,
    /// e.g. ["Landlock ABI 7", "seccomp", "mount namespace", "network namespace"].
    pub layers: Vec<String>,
    /// Weaker than wanted, in words.
    pub missing: Vec<String>,
    /// Set when the sandbox could not be applied: the command did not run.
    pub error: Option<String>,
}

/// Runs the helper with the process arguments after the subcommand.
pub fn main(args: &[String]) -> ExitCode {
    let req: HelperRequest = match args.first().map(|a| serde_json::from_str(a)) {
        Some(Ok(r)) => r,
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "samocoder sandbox-exec is an internal helper; it is not meant to be run by hand"
            );
            return ExitCode::from(2);
        }
    };
    if let Some(report) = req.stage2.clone() {
        return stage2(&req, report);
    }
    let mut report = HelperReport {
        mode: req.policy.mode.as_str().into(),
        network: req.policy.network,
        ..HelperReport::default()
    };
    let guard = match supervise::prepare(req.policy.parent_pid) {
        Ok(g) => g,
        Err(e) => return fail(report, e),
    };
    if req.policy.mode != SandboxMode::Off {
        match restrict(&req, &mut report) {
            Err(e) => return fail(report, e),
            // The rest happens in the first process of the new PID namespace.
            Ok(Some(carried)) => return fork_stage2(&req, carried, guard),
            Ok(None) => {}
        }
    }
    emit(&report);
    if req.probe {
        return ExitCode::SUCCESS;
    }
    guard.run(&req.program)
}

/// Forks the second stage (the first process of the new PID namespace; a fork, not an exec,
/// so it keeps the capabilities a user namespace gave and mounting `/proc` works for every
/// user) and supervises it.
#[cfg(target_os = "linux")]
fn fork_stage2(req: &HelperRequest, carried: HelperReport, guard: supervise::Guard) -> ExitCode {
    match super::sys::fork_single_threaded() {
        Ok(super::sys::Forked::Child) => {
            let _ = supervise::unblock();
            stage2(req, carried)
        }
        Ok(super::sys::Forked::Parent(pid)) => guard.wait_for(pid),
        Err(e) => fail(carried, format!("starting the sandboxed process: {e}")),
    }
}

#[cfg(not(target_os = "linux"))]
fn fork_stage2(_req: &HelperRequest, carried: HelperReport, _guard: supervise::Guard) -> ExitCode {
    fail(carried, "no second stage on this system".into())
}

/// The second stage, first process of the command's PID namespace: its own `/proc`, then
/// Landlock and seccomp, the report, and `exec` of the command (which becomes that
/// namespace's init: when it ends, everything it left behind ends with it). Also reached
/// through `stage2` in the request (a second stage started by exec, for older helpers).
#[cfg(target_os = "linux")]
fn stage2(req: &HelperRequest, mut report: HelperReport) -> ExitCode {
    match super::ns::mount_own_proc() {
        Ok(()) => report.layers.push("PID namespace".into()),
        // Still confined by Landlock and seccomp; only other programs' /proc stays visible.
        Err(e) => report.missing.push(format!(
            "{e}: the environment of your other programs (not samocoder's) stays readable"
        )),
    }
    let no_net_ns = !req.policy.network && !report.layers.iter().any(|l| l == "network namespace");
    let private = private_dirs(&report);
    if let Err(e) = confine(&req.policy, &private, no_net_ns, &mut report) {
        return fail(report, e);
    }
    emit(&report);
    if req.probe {
        return ExitCode::SUCCESS;
    }
    let Some((cmd, args)) = req.program.split_first() else {
        return ExitCode::from(SETUP_FAILED);
    };
    use std::os::unix::process::CommandExt;
    let e = std::process::Command::new(cmd).args(args).exec();
    let _ = writeln!(std::io::stdout(), "samocoder: could not start {cmd}: {e}");
    ExitCode::from(127)
}

#[cfg(not(target_os = "linux"))]
fn stage2(_req: &HelperRequest, report: HelperReport) -> ExitCode {
    fail(report, "no second stage on this system".into())
}

/// The private writable directories the first stage mounted (carried in the report).
#[cfg(target_os = "linux")]
fn private_dirs(report: &HelperReport) -> Vec<std::path::PathBuf> {
    report
        .layers
        .iter()
        .filter_map(|l| l.strip_prefix("private "))
        .map(std::path::PathBuf::from)
        .collect()
}

fn fail(mut report: HelperReport, e: String) -> ExitCode {
    report.error = Some(e);
    emit(&report);
    ExitCode::from(SETUP_FAILED)
}

fn emit(report: &HelperReport) {
    let line = serde_json::to_string(report).unwrap_or_else(|_| "{}".into());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{REPORT_PREFIX}{line}");
    let _ = out.flush();
}

/// Namespaces, then either the second stage to run (a PID namespace was made) or Landlock
/// and seccomp applied here.
#[cfg(target_os = "linux")]
fn restrict(
    req: &HelperRequest,
    report: &mut HelperReport,
) -> Result<Option<HelperReport>, String> {
    let policy = &req.policy;
    let ns = super::ns::enter(policy)?;
    if ns.mount {
        report.layers.push("mount namespace".into());
    }
    if ns.net {
        report.layers.push("network namespace".into());
    }
    report.missing.extend(ns.problems);
    let no_net_ns = !policy.network && !ns.net;
    if ns.pid {
        let mut carried = report.clone();
        carried.layers.extend(
            ns.private_dirs
                .iter()
                .map(|d| format!("private {}", d.display())),
        );
        return Ok(Some(carried));
    }
    report.missing.push(
        "no PID namespace: the environment of your other programs (not samocoder's) stays readable"
            .into(),
    );
    confine(policy, &ns.private_dirs, no_net_ns, report)?;
    Ok(None)
}

/// No capability survives into the command, for root too (raw disk and `/proc/kcore` reads,
/// `CAP_SYS_PTRACE` past non-dumpable, mounts): the bounding set is emptied (so no exec can
/// give them back) and every other set cleared.
#[cfg(target_os = "linux")]
fn drop_capabilities() -> Result<(), String> {
    use caps::CapSet;
    let err = |e: caps::errors::CapsError| format!("dropping capabilities: {e}");
    if caps::has_cap(None, CapSet::Effective, caps::Capability::CAP_SETPCAP).unwrap_or(false) {
        for cap in caps::all() {
            caps::drop(None, CapSet::Bounding, cap).map_err(err)?;
        }
    }
    for set in [
        CapSet::Ambient,
        CapSet::Inheritable,
        CapSet::Effective,
        CapSet::Permitted,
    ] {
        caps::clear(None, set).map_err(err)?;
    }
    Ok(())
}

/// Landlock and seccomp, on this process and what it executes.
#[cfg(target_os = "linux")]
fn confine(
    policy: &SandboxPolicy,
    private: &[std::path::PathBuf],
    no_net_ns: bool,
    report: &mut HelperReport,
) -> Result<(), String> {
    report.layers.retain(|l| !l.starts_with("private "));
    drop_capabilities()?;
    let ll = super::landlock_rules::apply(policy, private, no_net_ns)?;
    report.layers.push(ll.summary);
    report.missing.extend(ll.missing);
    super::seccomp::apply(no_net_ns)?;
    report.layers.push("seccomp".into());
    if no_net_ns {
        report.missing.push("no network namespace: the network is off by refusing sockets, so local servers cannot listen either".into());
    }
    Ok(())
}

#[cfg(target_os = "macos")]
fn restrict(
    _req: &HelperRequest,
    report: &mut HelperReport,
) -> Result<Option<HelperReport>, String> {
    // The command itself is wrapped in `sandbox-exec -p PROFILE` by the runner.
    report.layers.push("Seatbelt".into());
    Ok(None)
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn restrict(
    _req: &HelperRequest,
    _report: &mut HelperReport,
) -> Result<Option<HelperReport>, String> {
    Err("this operating system has no sandbox samocoder can use".into())
}

#[cfg(unix)]
mod supervise {
    use std::process::ExitCode;

    use nix::sys::signal::{SigSet, Signal, killpg};
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    use nix::unistd::{Pid, getpgrp, getpid, getppid};

    /// Signals the helper waits for instead of dying of them.
    fn waited() -> SigSet {
        let mut set = SigSet::empty();
        for s in [
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGINT,
            Signal::SIGCHLD,
        ] {
            set.add(s);
        }
        set
    }

    pub struct Guard {
        parent: i32,
    }

    /// Blocks the waited signals (so none is lost between here and the wait), asks for
    /// SIGTERM when the parent dies, and checks the parent is still the one that started us.
    pub fn prepare(parent: u32) -> Result<Guard, String> {
        waited()
            .thread_block()
            .map_err(|e| format!("blocking signals: {e}"))?;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)
            .map_err(|e| format!("parent-death signal: {e}"))?;
        let parent = i32::try_from(parent).map_err(|_| "bad parent pid".to_string())?;
        if getppid().as_raw() != parent {
            return Err("samocoder exited before the command started".into());
        }
        Ok(Guard { parent })
    }

    impl Guard {
        /// Starts the command (std resets the signal mask in the child) and waits for it,
        /// killing the whole process group if samocoder goes away first.
        pub fn run(self, program: &[String]) -> ExitCode {
            let Some((cmd, args)) = program.split_first() else {
                return ExitCode::from(super::SETUP_FAILED);
            };
            let child = match std::process::Command::new(cmd).args(args).spawn() {
                Ok(c) => c,
                Err(e) => {
                    use std::io::Write;
                    let _ = writeln!(std::io::stdout(), "samocoder: could not start {cmd}: {e}");
                    return ExitCode::from(127);
                }
            };
            let Ok(pid) = i32::try_from(child.id()) else {
                return ExitCode::from(super::SETUP_FAILED);
            };
            self.wait_for(Pid::from_raw(pid))
        }

        /// Waits for `pid`, killing the whole process group if samocoder goes away first.
        pub fn wait_for(self, pid: Pid) -> ExitCode {
            let set = waited();
            loop {
                match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::Exited(_, code)) => {
                        return ExitCode::from(u8::try_from(code).unwrap_or(1));
                    }
                    Ok(WaitStatus::Signaled(_, sig, _)) => return die_like(sig),
                    Ok(_) => {}
                    Err(_) => return ExitCode::from(1),
                }
                match set.wait() {
                    Ok(Signal::SIGCHLD) | Err(_) => continue,
                    Ok(_) if getppid().as_raw() != self.parent => {
                        // samocoder is gone: nothing may outlive it. Only a group this
                        // helper leads (the runner makes one per command): another group is
                        // whoever started samocoder (a shell script, a CI job).
                        if getpgrp() == getpid() {
                            let _ = killpg(getpgrp(), Signal::SIGKILL);
                        }
                        let _ = killpg(pid, Signal::SIGKILL);
                        return ExitCode::from(137);
                    }
                    // SIGTERM from the runner reaches the whole group; the shell decides.
                    Ok(_) => continue,
                }
            }
        }
    }

    /// Lets the signals the helper waits for through again (for a forked second stage, whose
    /// command must not inherit them blocked).
    pub fn unblock() -> nix::Result<()> {
        waited().thread_unblock()
    }

    /// Ends the helper the way the command ended: by the same signal.
    fn die_like(sig: Signal) -> ExitCode {
        let _ = waited().thread_unblock();
        // With the default action (never changed here) the signal ends the helper; an
        // ignored one (SIGPIPE is ignored by Rust programs) falls through to 128 + N.
        let _ = nix::sys::signal::raise(sig);
        ExitCode::from(128u8.saturating_add(sig as u8))
    }
}

#[cfg(not(unix))]
mod supervise {
    use std::process::ExitCode;

    pub struct Guard;

    pub fn prepare(_parent: u32) -> Result<Guard, String> {
        Ok(Guard)
    }

    impl Guard {
        pub fn run(self, program: &[String]) -> ExitCode {
            let Some((cmd, args)) = program.split_first() else {
                return ExitCode::from(super::SETUP_FAILED);
            };
            match std::process::Command::new(cmd).args(args).status() {
                Ok(s) => ExitCode::from(s.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1)),
                Err(_) => ExitCode::from(127),
            }
        }
    }
}
