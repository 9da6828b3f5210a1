//! Running one shell command: `sh -c` in the project directory, in its own process group,
//! stdin from /dev/null, a filtered environment, capped output, and the whole group killed on
//! timeout, on cancellation, when the runner's future is dropped, and after the command ends
//! (so a background `server &` is not left behind).
//!
//! With a [`SandboxRuntime`] the shell is started by the sandbox helper (`samocoder
//! sandbox-exec`), which confines it and kills its group if samocoder dies; its first output
//! line is its report, read here and never shown to the model.
//!
//! `sh -c` rather than `bash -lc`: a login shell would read the user's profile, which may
//! re-export the very keys removed from the environment, and is slower and less predictable.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use super::output::CappedOutput;
use super::sandbox::{
    CommandRole, GroupRecord, HelperReport, HelperRequest, SandboxMode, SandboxPolicy,
    SandboxRuntime, helper,
};
use crate::exit::{Exit, ExitStatus};

/// Called with the command's process group once it has started (the agent records it so a
/// later run can kill it if samocoder crashes).
#[derive(Clone)]
pub struct StartHook(pub std::sync::Arc<dyn Fn(&GroupRecord) + Send + Sync>);

impl std::fmt::Debug for StartHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StartHook")
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    pub command: String,
    pub cwd: PathBuf,
    pub timeout: Duration,
    /// Bytes of output kept from the start and from the end.
    pub keep_head: usize,
    pub keep_tail: usize,
    /// Cancelling it (Ctrl-C) kills the command's process group.
    pub cancel: CancellationToken,
    /// Which command this is (the install command may get the network).
    pub role: CommandRole,
    /// Told the process group once the command has started.
    pub on_start: Option<StartHook>,
}

impl CommandSpec {
    /// A spec with 8 KB head and 8 KB tail and a fresh cancellation token.
    pub fn new(command: impl Into<String>, cwd: impl Into<PathBuf>, timeout: Duration) -> Self {
        CommandSpec {
            command: command.into(),
            cwd: cwd.into(),
            timeout,
            keep_head: 8 * 1024,
            keep_tail: 8 * 1024,
            cancel: CancellationToken::new(),
            role: CommandRole::Tool,
            on_start: None,
        }
    }
}

/// The sandbox a command ran in, and what it was denied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SandboxApplied {
    pub mode: SandboxMode,
    pub network: bool,
    /// What enforced it: "mount namespace", "Landlock ABI 7", "seccomp", ...
    pub layers: Vec<String>,
    /// Protections this machine could not give, in words.
    pub missing: Vec<String>,
    /// Plain sentences about what the sandbox refused, for the model.
    pub denials: Vec<String>,
}

impl SandboxApplied {
    /// `workspace-write`, `workspace-write+network`, `off`: what is recorded with the command.
    pub fn label(&self) -> String {
        if self.network && self.mode != SandboxMode::Off {
            format!("{}+network", self.mode)
        } else {
            self.mode.to_string()
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// The exit code when the shell exited normally.
    pub exit_code: Option<i32>,
    /// The signal that ended the shell, if any.
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub cancelled: bool,
    pub duration: Duration,
    /// stdout and stderr interleaved in arrival order, capped (see `truncated`).
    pub output: String,
    pub truncated: bool,
    pub total_output_bytes: u64,
    /// The sandbox it ran in (`None`: run directly, without the helper).
    pub sandbox: Option<SandboxApplied>,
}

impl CommandOutcome {
    /// What the model is told: the status line, what the sandbox denied, then the output.
    pub fn for_model(&self) -> String {
        let mut text = self.status_line();
        for d in self.sandbox.iter().flat_map(|s| &s.denials) {
            text.push('\n');
            text.push_str(d);
        }
        text.push('\n');
        text.push_str(&self.output);
        text
    }

    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.cancelled
    }

    /// One line for the model: `exit code 1 after 2.3 s`, `timed out after 60 s`, ...
    pub fn status_line(&self) -> String {
        let secs = self.duration.as_secs_f64();
        if self.timed_out {
            format!("timed out after {secs:.1} s and was killed")
        } else if self.cancelled {
            format!("cancelled by the user after {secs:.1} s")
        } else if let Some(code) = self.exit_code {
            format!("exit code {code} after {secs:.1} s")
        } else {
            format!(
                "killed by signal {} after {secs:.1} s",
                self.signal.unwrap_or(0)
            )
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("could not start `sh` in `{cwd}`: {source}; check that the project directory exists")]
    Spawn { cwd: String, source: std::io::Error },
    #[error("lost track of the command: {0}")]
    Wait(std::io::Error),
    #[error(
        "the sandbox could not be set up for the command ({reason}); the command did not run: run with --sandbox off to run commands without a sandbox"
    )]
    Sandbox { reason: String },
}

impl ExitStatus for ExecError {
    fn exit(&self) -> Exit {
        Exit::Failure
    }
}

/// Runs commands; the agent holds an `Arc<dyn Runner>` so tests can pass a fake.
pub trait Runner: Send + Sync {
    fn run(&self, spec: CommandSpec) -> BoxFuture<'_, Result<CommandOutcome, ExecError>>;

    /// How `spec` will be confined, in words, for an approval prompt ("sandbox
    /// workspace-write, network on"); `None` when this runner has no sandbox to describe.
    fn sandbox_note(&self, _spec: &CommandSpec) -> Option<String> {
        None
    }
}

/// The real runner.
#[derive(Debug, Clone)]
pub struct ShellRunner {
    env: Vec<(String, String)>,
    grace: Duration,
    sandbox: Option<SandboxRuntime>,
}

impl ShellRunner {
    /// `env` is the child's whole environment (see [`super::env::child_env`], built with the
    /// network on: proxy variables are dropped here for commands without it). Without
    /// [`ShellRunner::with_sandbox`] commands run directly, unconfined.
    pub fn new(env: Vec<(String, String)>) -> Self {
        ShellRunner {
            env,
            grace: Duration::from_millis(500),
            sandbox: None,
        }
    }

    /// Runs every command through the sandbox helper with these settings.
    pub fn with_sandbox(mut self, sandbox: SandboxRuntime) -> Self {
        self.sandbox = Some(sandbox);
        self
    }

    /// How long SIGTERM gets before SIGKILL (default 500 ms).
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }
}

impl Runner for ShellRunner {
    fn run(&self, spec: CommandSpec) -> BoxFuture<'_, Result<CommandOutcome, ExecError>> {
        Box::pin(run_shell(self, spec))
    }

    fn sandbox_note(&self, spec: &CommandSpec) -> Option<String> {
        let rt = self.sandbox.as_ref()?;
        let network = if rt.settings.network_for(spec.role) {
            "on"
        } else {
            "off"
        };
        Some(match &rt.settings.unconfined_reason {
            Some(reason) => format!("NOT sandboxed ({reason}), network {network}"),
            None if rt.settings.mode == SandboxMode::Off => {
                format!("sandbox off (--sandbox off), network {network}")
            }
            None => format!("sandbox {}, network {network}", rt.settings.mode),
        })
    }
}

/// A sandboxed command's extra state: its policy, private temporary directory and report.
struct Sandboxed {
    policy: SandboxPolicy,
    _tmp: tempfile::TempDir,
    header: Vec<u8>,
    report: Option<HelperReport>,
    awaiting: bool,
}

/// The first stdout line of a sandboxed command is the helper's report: take it off.
fn take_header<'a>(sb: &mut Option<Sandboxed>, chunk: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
    let Some(s) = sb.as_mut().filter(|s| s.awaiting) else {
        return std::borrow::Cow::Borrowed(chunk);
    };
    s.header.extend_from_slice(chunk);
    let Some(nl) = s.header.iter().position(|b| *b == b'\n') else {
        if s.header.len() > 64 * 1024 {
            s.awaiting = false;
            return std::borrow::Cow::Owned(std::mem::take(&mut s.header));
        }
        return std::borrow::Cow::Owned(Vec::new());
    };
    s.awaiting = false;
    let rest = s.header.split_off(nl + 1);
    let line = String::from_utf8_lossy(&s.header[..nl]).into_owned();
    match line
        .strip_prefix(helper::REPORT_PREFIX)
        .and_then(|j| serde_json::from_str(j).ok())
    {
        Some(r) => {
            s.report = Some(r);
            std::borrow::Cow::Owned(rest)
        }
        None => {
            let mut all = std::mem::take(&mut s.header);
            all.extend(rest);
            std::borrow::Cow::Owned(all)
        }
    }
}

fn build_command(
    runner: &ShellRunner,
    spec: &CommandSpec,
) -> Result<(tokio::process::Command, Option<Sandboxed>), ExecError> {
    let script = format!("exec 2>&1\n{}", spec.command);
    let spawn_err = |source| ExecError::Spawn {
        cwd: spec.cwd.display().to_string(),
        source,
    };
    let Some(rt) = &runner.sandbox else {
        let mut cmd = tokio::process::Command::new("sh");
        // stderr joins stdout in one pipe, so the model sees both in the order they were written.
        cmd.arg("-c")
            .arg(script)
            .env_clear()
            .envs(runner.env.iter().map(|(k, v)| (k, v)));
        return Ok((cmd, None));
    };
    if !spec.cwd.is_dir() {
        return Err(spawn_err(std::io::Error::from(
            std::io::ErrorKind::NotFound,
        )));
    }
    let network = rt.settings.network_for(spec.role);
    let tmp = tempfile::Builder::new()
        .prefix("samocoder-cmd-")
        .tempdir()
        .map_err(spawn_err)?;
    let policy = rt.base.policy(
        rt.settings.effective_mode(),
        network,
        &spec.cwd,
        tmp.path(),
        std::process::id(),
    );
    let req = HelperRequest {
        program: super::sandbox::program_for(&policy, script),
        policy: policy.clone(),
        probe: false,
        stage2: None,
    };
    let json = serde_json::to_string(&req).map_err(|e| spawn_err(std::io::Error::other(e)))?;
    let mut cmd = tokio::process::Command::new(&rt.exe);
    cmd.arg(helper::SUBCOMMAND).arg(json).env_clear();
    let proxy = |k: &str| super::env::PROXY_VARS.contains(&k);
    cmd.envs(
        runner
            .env
            .iter()
            .filter(|(k, _)| network || !proxy(k))
            .map(|(k, v)| (k, v)),
    );
    let t = tmp.path();
    for var in ["TMPDIR", "TMP", "TEMP"] {
        cmd.env(var, t);
    }
    // Caches that would be written in the home go to the private directory unless declared.
    let has = |k: &str| runner.env.iter().any(|(n, _)| n == k);
    for (var, sub) in [
        ("XDG_CACHE_HOME", "cache"),
        ("npm_config_cache", "npm-cache"),
        ("PIP_CACHE_DIR", "pip-cache"),
    ] {
        if !has(var) {
            cmd.env(var, t.join(sub));
        }
    }
    Ok((
        cmd,
        Some(Sandboxed {
            policy,
            _tmp: tmp,
            header: Vec::new(),
            report: None,
            awaiting: true,
        }),
    ))
}

async fn run_shell(runner: &ShellRunner, spec: CommandSpec) -> Result<CommandOutcome, ExecError> {
    let started = Instant::now();
    let (mut cmd, mut sandboxed) = build_command(runner, &spec)?;
    cmd.current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|source| ExecError::Spawn {
        cwd: spec.cwd.display().to_string(),
        source,
    })?;
    if let (Some(hook), Some(rec)) = (
        &spec.on_start,
        child.id().and_then(super::sandbox::record_group),
    ) {
        (hook.0)(&rec);
    }
    let group = group::Group::new(child.id());
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let mut captured = CappedOutput::new(spec.keep_head, spec.keep_tail);
    let (mut buf_out, mut buf_err) = (vec![0u8; 8192], vec![0u8; 8192]);
    let deadline = tokio::time::Instant::now() + spec.timeout;
    let (mut status, mut timed_out, mut cancelled) = (None, false, false);
    let mut drain_until: Option<tokio::time::Instant> = None;

    while status.is_none() || out.is_some() || err.is_some() {
        tokio::select! {
            n = read_some(&mut out, &mut buf_out) => match n {
                Some(n) => captured.push(&take_header(&mut sandboxed, &buf_out[..n])),
                None => out = None,
            },
            n = read_some(&mut err, &mut buf_err) => match n {
                Some(n) => captured.push(&buf_err[..n]),
                None => err = None,
            },
            s = child.wait(), if status.is_none() => {
                status = Some(s.map_err(ExecError::Wait)?);
                // The shell is done: whatever it left running in its group goes too.
                group.terminate(runner.grace, None).await;
                drain_until = Some(tokio::time::Instant::now() + Duration::from_millis(500));
            },
            _ = tokio::time::sleep_until(deadline), if status.is_none() && !timed_out && !cancelled => {
                timed_out = true;
                group.terminate(runner.grace, Some(&mut child)).await;
            },
            _ = spec.cancel.cancelled(), if status.is_none() && !timed_out && !cancelled => {
                cancelled = true;
                group.terminate(runner.grace, Some(&mut child)).await;
            },
            // A process that escaped the group may hold the pipes open: stop reading.
            _ = sleep_until_opt(drain_until), if drain_until.is_some() => break,
        }
    }
    let Some(status) = status else {
        return Err(ExecError::Wait(std::io::Error::other(
            "the shell ended without a status",
        )));
    };
    if let Some(sb) = sandboxed.as_mut().filter(|s| s.awaiting) {
        // Output ended before a whole first line: it was not a report.
        captured.push(&std::mem::take(&mut sb.header));
    }
    let total_output_bytes = captured.total();
    let (output, truncated) = captured.finish();
    let sandbox = match sandboxed {
        None => None,
        Some(sb) => Some(applied(
            sb,
            &output,
            &spec,
            &status,
            cancelled || timed_out,
        )?),
    };
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&status);
    #[cfg(not(unix))]
    let signal = None;
    Ok(CommandOutcome {
        exit_code: status.code(),
        signal,
        timed_out,
        cancelled,
        duration: started.elapsed(),
        output,
        truncated,
        total_output_bytes,
        sandbox,
    })
}

/// The sandbox part of the outcome, or the error when the helper could not set it up.
fn applied(
    sb: Sandboxed,
    output: &str,
    spec: &CommandSpec,
    status: &std::process::ExitStatus,
    stopped: bool,
) -> Result<SandboxApplied, ExecError> {
    let report = match sb.report {
        Some(HelperReport {
            error: Some(reason),
            ..
        }) => return Err(ExecError::Sandbox { reason }),
        Some(r) => r,
        None if stopped => HelperReport::default(),
        None => {
            let reason = match status.code() {
                Some(c) => format!("the sandbox helper exited with code {c} before reporting"),
                None => "the sandbox helper was killed before reporting".to_string(),
            };
            return Err(ExecError::Sandbox { reason });
        }
    };
    let failed = status.code() != Some(0);
    let denials = if failed && sb.policy.mode != SandboxMode::Off {
        super::sandbox::denials::explain(output, &sb.policy, &spec.cwd)
    } else {
        Vec::new()
    };
    Ok(SandboxApplied {
        mode: sb.policy.mode,
        network: sb.policy.network,
        layers: report.layers,
        missing: report.missing,
        denials,
    })
}

async fn read_some(
    pipe: &mut Option<impl tokio::io::AsyncRead + Unpin>,
    buf: &mut [u8],
) -> Option<usize> {
    match pipe {
        Some(p) => match p.read(buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(n),
        },
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(unix)]
mod group {
    use std::time::Duration;

    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;

    /// The child's process group; dropping it SIGKILLs whatever is left (the runner's future
    /// was dropped or the command finished).
    pub struct Group(Option<Pid>, std::sync::atomic::AtomicBool);

    impl Group {
        pub fn new(pid: Option<u32>) -> Group {
            Group(
                pid.and_then(|p| i32::try_from(p).ok()).map(Pid::from_raw),
                std::sync::atomic::AtomicBool::new(false),
            )
        }

        fn alive(&self) -> bool {
            let alive = self.0.is_some_and(|pg| killpg(pg, None).is_ok());
            if !alive {
                // Gone for good: never signal this id again (it could be reused).
                self.1.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            alive
        }

        /// SIGTERM the group, wait up to `grace` (reaping the leader if given), then SIGKILL.
        pub async fn terminate(&self, grace: Duration, leader: Option<&mut tokio::process::Child>) {
            let Some(pg) = self.0 else { return };
            if self.1.load(std::sync::atomic::Ordering::Relaxed)
                || killpg(pg, Signal::SIGTERM).is_err()
            {
                self.1.store(true, std::sync::atomic::Ordering::Relaxed);
                return;
            }
            let end = tokio::time::Instant::now() + grace;
            if let Some(leader) = leader {
                let _ = tokio::time::timeout_at(end, leader.wait()).await;
            }
            while self.alive() && tokio::time::Instant::now() < end {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if self.alive() {
                let _ = killpg(pg, Signal::SIGKILL);
            }
        }
    }

    impl Drop for Group {
        fn drop(&mut self) {
            if let (Some(pg), false) = (self.0, self.1.load(std::sync::atomic::Ordering::Relaxed)) {
                let _ = killpg(pg, Signal::SIGKILL);
            }
        }
    }
}

#[cfg(not(unix))]
mod group {
    use std::time::Duration;

    /// Without process groups only the shell itself can be killed.
    pub struct Group;

    impl Group {
        pub fn new(_pid: Option<u32>) -> Group {
            Group
        }

        pub async fn terminate(
            &self,
            _grace: Duration,
            leader: Option<&mut tokio::process::Child>,
        ) {
            if let Some(leader) = leader {
                let _ = leader.kill().await;
            }
        }
    }
}

/// A scripted runner for tests of code that runs commands: returns the given outcomes in order
/// (the last repeats) and records every spec.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default)]
pub struct FakeRunner {
    outcomes: std::sync::Mutex<Vec<CommandOutcome>>,
    seen: std::sync::Mutex<Vec<String>>,
}

#[cfg(any(test, feature = "testing"))]
impl FakeRunner {
    pub fn new(outcomes: Vec<CommandOutcome>) -> Self {
        FakeRunner {
            outcomes: std::sync::Mutex::new(outcomes),
            seen: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// A successful outcome with the given output, for building scripts.
    pub fn ok(output: &str) -> CommandOutcome {
        CommandOutcome {
            exit_code: Some(0),
            signal: None,
            timed_out: false,
            cancelled: false,
            duration: Duration::from_millis(1),
            output: output.to_owned(),
            truncated: false,
            total_output_bytes: output.len() as u64,
            sandbox: None,
        }
    }

    /// The commands run so far.
    pub fn commands(&self) -> Vec<String> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[cfg(any(test, feature = "testing"))]
impl Runner for FakeRunner {
    fn run(&self, spec: CommandSpec) -> BoxFuture<'_, Result<CommandOutcome, ExecError>> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(spec.command.clone());
        }
        let outcome = match self.outcomes.lock() {
            Ok(mut o) if o.len() > 1 => o.remove(0),
            Ok(o) => o.first().cloned().unwrap_or_else(|| FakeRunner::ok("")),
            Err(_) => FakeRunner::ok(""),
        };
        Box::pin(async move { Ok(outcome) })
    }
}
