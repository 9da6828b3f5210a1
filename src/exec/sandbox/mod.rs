//! The OS sandbox every command runs in. The policy (what a command may read, write and
//! reach) is data built here ([`policy`], [`mode`]); the helper process ([`helper`], run as
//! the hidden `samocoder sandbox-exec`) enforces it on itself between fork and exec:
//! Linux namespaces ([`ns`]), Landlock ([`landlock_rules`]) and seccomp ([`seccomp`]);
//! macOS Seatbelt ([`seatbelt`]). What a denied command printed is explained to the model
//! ([`denials`]); process groups left by a crash are killed on the next run ([`stale`]).

pub mod denials;
pub mod helper;
#[cfg(target_os = "linux")]
mod landlock_rules;
pub mod mode;
#[cfg(target_os = "linux")]
mod ns;
pub mod policy;
pub mod seatbelt;
#[cfg(target_os = "linux")]
pub mod seccomp;
pub mod stale;
#[cfg(target_os = "linux")]
mod sys;

use std::path::{Path, PathBuf};

pub use helper::{HelperReport, HelperRequest};
pub use mode::{
    Availability, CommandRole, SandboxConfig, SandboxError, SandboxFlags, SandboxMode,
    SandboxSettings, resolve,
};
pub use policy::{SandboxBase, SandboxPolicy, protected_paths};
pub use stale::{GroupRecord, StaleGroup, kill_stale_group, record_group};

use crate::config::{Config, Env, Paths};
use crate::exec::ApprovalPolicy;

/// What the runner needs to sandbox commands: the helper binary (samocoder itself), the
/// machine's paths and this run's settings.
#[derive(Debug, Clone)]
pub struct SandboxRuntime {
    pub exe: PathBuf,
    pub base: SandboxBase,
    pub settings: SandboxSettings,
}

/// The machine's side of every policy: home, samocoder's directories, toolchains, runtime dir.
pub fn base_for(env: &Env, paths: &Paths, settings: &SandboxSettings) -> SandboxBase {
    let mut toolchain_dirs: Vec<PathBuf> = env
        .get("PATH")
        .map(|p| {
            std::env::split_paths(p)
                .filter(|d| d.is_absolute())
                .collect()
        })
        .unwrap_or_default();
    for var in [
        "CARGO_HOME",
        "RUSTUP_HOME",
        "PYENV_ROOT",
        "NVM_DIR",
        "VOLTA_HOME",
        "GOROOT",
        "GOPATH",
        "JAVA_HOME",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "GEM_HOME",
    ] {
        if let Some(v) = env.non_empty(var) {
            let p = PathBuf::from(v);
            // CARGO_HOME holds credentials.toml: only its bin, registry and git are read.
            if var == "CARGO_HOME" {
                toolchain_dirs
                    .extend(["bin", "registry", "git", "config.toml", "config"].map(|s| p.join(s)));
            } else {
                toolchain_dirs.push(p);
            }
        }
    }
    SandboxBase {
        homes: homes(env),
        own_dirs: vec![
            paths.data_dir.clone(),
            paths.config_dir.clone(),
            paths.log_dir.clone(),
        ],
        toolchain_dirs,
        writable: settings.writable.clone(),
        readable: settings.readable.clone(),
        runtime_dir: env.non_empty("XDG_RUNTIME_DIR").map(PathBuf::from),
        no_namespaces: no_namespaces(env),
    }
}

/// The paths no command may reach, for checking declared paths.
pub fn protected_for(env: &Env, paths: &Paths) -> Vec<PathBuf> {
    protected_paths(
        &homes(env),
        &[
            paths.data_dir.clone(),
            paths.config_dir.clone(),
            paths.log_dir.clone(),
        ],
    )
}

/// `$HOME`, then the account's home from the password database when it is another one
/// (toolchains and credentials live there even when HOME points elsewhere).
fn homes(env: &Env) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = env
        .non_empty("HOME")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    #[cfg(unix)]
    if let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::getuid())
        && !out.contains(&user.dir)
        && user.dir.is_absolute()
        && user.dir.parent().is_some()
    {
        out.push(user.dir);
    }
    out
}

/// The helper binary: `samocoder-sandbox` next to this executable when it is there (it
/// starts faster), else this executable itself (`samocoder sandbox-exec`).
pub fn helper_exe() -> PathBuf {
    let me = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("samocoder"));
    let name = format!("samocoder-sandbox{}", std::env::consts::EXE_SUFFIX);
    match me.parent().map(|d| d.join(&name)) {
        Some(small) if small.is_file() => small,
        _ => me,
    }
}

/// Debug builds only: set (to anything) to make the probe find no sandbox, so tests can see
/// what a machine without Landlock does. Release builds do not contain it.
#[cfg(debug_assertions)]
pub const TEST_NO_SANDBOX_VAR: &str = "SAMOCODER_INSECURE_TEST_NO_SANDBOX";

/// Debug builds only: set (to anything) to confine commands without namespaces, as on a
/// machine that cannot make them, so tests can check the fallback.
#[cfg(debug_assertions)]
pub const TEST_NO_NAMESPACES_VAR: &str = "SAMOCODER_INSECURE_TEST_NO_NAMESPACES";

fn no_namespaces(env: &Env) -> bool {
    #[cfg(debug_assertions)]
    if env.get(TEST_NO_NAMESPACES_VAR).is_some() {
        return true;
    }
    let _ = env;
    false
}

/// Flags + config + the machine -> this run's sandbox, ready for the runner. Probes the
/// machine (one helper run, a few milliseconds) unless the sandbox is off.
pub fn prepare(
    flags: SandboxFlags,
    config: &Config,
    approval: ApprovalPolicy,
    env: &Env,
    paths: &Paths,
) -> Result<SandboxRuntime, SandboxError> {
    let exe = helper_exe();
    let wanted = flags.mode.or(config.sandbox.mode).unwrap_or_default();
    let available = if wanted == SandboxMode::Off {
        Availability {
            confines_files: true,
            summary: "off".into(),
            missing: vec![],
        }
    } else {
        let empty = SandboxSettings {
            mode: wanted,
            network: false,
            install_network: false,
            writable: vec![],
            readable: vec![],
            unconfined_reason: None,
        };
        #[cfg(debug_assertions)]
        if env.get(TEST_NO_SANDBOX_VAR).is_some() {
            return finish(
                flags,
                config,
                approval,
                env,
                paths,
                exe,
                Availability::none(format!("{TEST_NO_SANDBOX_VAR} is set")),
            );
        }
        probe(&exe, &base_for(env, paths, &empty))
    };
    finish(flags, config, approval, env, paths, exe, available)
}

fn finish(
    flags: SandboxFlags,
    config: &Config,
    approval: ApprovalPolicy,
    env: &Env,
    paths: &Paths,
    exe: PathBuf,
    available: Availability,
) -> Result<SandboxRuntime, SandboxError> {
    let home = env.non_empty("HOME").map(PathBuf::from);
    let protected = protected_for(env, paths);
    let settings = resolve(
        flags,
        &config.sandbox,
        approval,
        &available,
        home.as_deref(),
        &protected,
    )?;
    // A declared cache that does not exist yet could never be made by a command (its parent
    // is not writable): make it now.
    for dir in &settings.writable {
        let _ = std::fs::create_dir_all(dir);
    }
    let base = base_for(env, paths, &settings);
    Ok(SandboxRuntime {
        exe,
        base,
        settings,
    })
}

/// What this machine can enforce: the helper is run once in probe mode (it restricts
/// itself exactly as for a command, reports, and exits).
pub fn probe(exe: &Path, base: &SandboxBase) -> Availability {
    if !cfg!(any(target_os = "linux", target_os = "macos")) {
        return Availability::none("samocoder has no sandbox for this operating system");
    }
    if cfg!(target_os = "macos") && !Path::new("/usr/bin/sandbox-exec").exists() {
        return Availability::none("/usr/bin/sandbox-exec is missing");
    }
    let Ok(dir) = tempfile::Builder::new()
        .prefix("samocoder-probe-")
        .tempdir()
    else {
        return Availability::none("cannot make a temporary directory to probe the sandbox");
    };
    let policy = base.policy(
        SandboxMode::WorkspaceWrite,
        false,
        dir.path(),
        dir.path(),
        std::process::id(),
    );
    let req = HelperRequest {
        policy,
        program: vec![],
        probe: true,
        stage2: None,
    };
    let Ok(json) = serde_json::to_string(&req) else {
        return Availability::none("cannot encode the probe");
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.arg(helper::SUBCOMMAND)
        .arg(json)
        .current_dir(dir.path())
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // In a group of its own, like every command: a helper whose samocoder dies kills its
    // whole group, which must never be the caller's (a script or CI job running samocoder).
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let out = cmd.output();
    let report = match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .and_then(|l| l.strip_prefix(helper::REPORT_PREFIX))
            .and_then(|j| serde_json::from_str::<HelperReport>(j).ok()),
        Err(e) => return Availability::none(format!("cannot run the sandbox helper: {e}")),
    };
    match report {
        Some(HelperReport { error: Some(e), .. }) => Availability::none(e),
        Some(r) => Availability {
            confines_files: true,
            summary: r.layers.join(", "),
            missing: r.missing,
        },
        None => Availability::none("the sandbox helper gave no report"),
    }
}

/// The program the helper starts for `script`: `sh -c`, wrapped in Seatbelt on macOS.
pub fn program_for(policy: &SandboxPolicy, script: String) -> Vec<String> {
    let sh = vec!["sh".to_string(), "-c".to_string(), script];
    if cfg!(target_os = "macos") && policy.mode != SandboxMode::Off {
        let mut v = vec![
            "/usr/bin/sandbox-exec".to_string(),
            "-p".to_string(),
            seatbelt::profile(policy),
        ];
        v.extend(sh);
        return v;
    }
    sh
}
