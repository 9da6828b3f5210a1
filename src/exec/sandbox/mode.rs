//! The user's sandbox choice (`--sandbox`, `--network`, `[sandbox]` in the config) and its
//! resolution into [`SandboxSettings`], once per run.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::exec::ApprovalPolicy;
use crate::exit::{Exit, ExitStatus};

/// How much a command may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    /// Write only to the project (not its `.git`) and a private temporary directory.
    #[default]
    WorkspaceWrite,
    /// Write only to the private temporary directory.
    ReadOnly,
    /// No confinement (the environment is still built from the allow-list).
    Off,
}

impl SandboxMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxMode::WorkspaceWrite => "workspace-write",
            SandboxMode::ReadOnly => "read-only",
            SandboxMode::Off => "off",
        }
    }
}

impl std::fmt::Display for SandboxMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SandboxMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "workspace-write" | "workspace_write" => Ok(SandboxMode::WorkspaceWrite),
            "read-only" | "read_only" | "readonly" => Ok(SandboxMode::ReadOnly),
            "off" | "none" => Ok(SandboxMode::Off),
            _ => Err(format!(
                "unknown sandbox mode `{s}`; use workspace-write, read-only or off"
            )),
        }
    }
}

/// Which command is being run (what it is for): the network rule differs for the architect's
/// install command. Also the `purpose` of command events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandRole {
    /// A command the model asked for with `run_command`.
    #[default]
    Tool,
    /// The architecture's install command (dependencies: may need the network).
    Install,
    /// The test command.
    Test,
}

/// What the machine can enforce, found by [`super::probe`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    /// True when writes and reads can be confined (Landlock on Linux, Seatbelt on macOS).
    pub confines_files: bool,
    /// e.g. "Landlock ABI 7, seccomp, mount and network namespaces".
    pub summary: String,
    /// What is missing, in words, when something is.
    pub missing: Vec<String>,
}

impl Availability {
    pub fn none(reason: impl Into<String>) -> Availability {
        Availability {
            confines_files: false,
            summary: "no sandbox".into(),
            missing: vec![reason.into()],
        }
    }
}

/// The `[sandbox]` config section.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// `workspace-write` (default), `read-only` or `off`.
    pub mode: Option<SandboxMode>,
    /// Network for model and test commands (default off).
    pub network: Option<bool>,
    /// Network for the architect's install command (default on).
    pub install_network: Option<bool>,
    /// Extra directories commands may write to (caches: `~/.cache/pip`, `~/.cargo/registry`).
    pub writable: Vec<String>,
    /// Extra directories commands may read (toolchains outside the usual places).
    pub readable: Vec<String>,
}

/// The flags of `new`/`resume` that choose the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SandboxFlags {
    pub mode: Option<SandboxMode>,
    /// `--network`: every command of this run may use the network.
    pub network: bool,
}

/// The sandbox of one run, resolved from flags, config and the machine.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxSettings {
    pub mode: SandboxMode,
    pub network: bool,
    pub install_network: bool,
    pub writable: Vec<PathBuf>,
    pub readable: Vec<PathBuf>,
    /// Set when the user asked for a sandbox this machine cannot give and approves each
    /// command (`--approve ask`): commands run unconfined after the prompt says so.
    pub unconfined_reason: Option<String>,
}

impl SandboxSettings {
    /// Whether a command of `role` gets the network.
    pub fn network_for(&self, role: CommandRole) -> bool {
        self.network || (role == CommandRole::Install && self.install_network)
    }

    /// The mode actually applied (off when the machine cannot confine).
    pub fn effective_mode(&self) -> SandboxMode {
        if self.unconfined_reason.is_some() {
            SandboxMode::Off
        } else {
            self.mode
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "this machine cannot sandbox commands ({reason}); with --yes samocoder does not run the model's commands unconfined: pass --sandbox off (or set sandbox.mode = \"off\") to run them without a sandbox, or --approve ask to approve each one"
    )]
    Unavailable { reason: String },
    #[error("sandbox.{key} `{path}`: {why}")]
    BadPath {
        key: &'static str,
        path: String,
        why: String,
    },
}

impl ExitStatus for SandboxError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

/// Flags + config + what the machine can do -> this run's sandbox. `home` expands `~/` in
/// the config's paths; `protected` are the paths no command may reach (samocoder's own
/// directories, credential places), which a declared path must not contain or be inside.
pub fn resolve(
    flags: SandboxFlags,
    config: &SandboxConfig,
    policy: ApprovalPolicy,
    available: &Availability,
    home: Option<&std::path::Path>,
    protected: &[PathBuf],
) -> Result<SandboxSettings, SandboxError> {
    let mode = flags.mode.or(config.mode).unwrap_or_default();
    let expand = |key: &'static str, list: &[String]| -> Result<Vec<PathBuf>, SandboxError> {
        list.iter()
            .map(|raw| {
                let bad = |why: &str| SandboxError::BadPath {
                    key,
                    path: raw.clone(),
                    why: why.into(),
                };
                let path = match (raw.strip_prefix("~/"), home) {
                    (Some(rest), Some(h)) => h.join(rest),
                    (Some(_), None) => return Err(bad("`~` needs HOME to be set")),
                    (None, _) => PathBuf::from(raw),
                };
                if !path.is_absolute() {
                    return Err(bad("use an absolute path or one starting with ~/"));
                }
                let path = super::policy::normalize(&path);
                if path.parent().is_none() || home.is_some_and(|h| path == h) {
                    return Err(bad("that would open the whole file system or your home"));
                }
                if let Some(p) = protected
                    .iter()
                    .find(|p| p.starts_with(&path) || path.starts_with(p))
                {
                    return Err(bad(&format!(
                        "it overlaps {}, which commands must never reach",
                        p.display()
                    )));
                }
                Ok(path)
            })
            .collect()
    };
    let mut settings = SandboxSettings {
        mode,
        network: flags.network || config.network.unwrap_or(false),
        install_network: flags.network || config.install_network.unwrap_or(true),
        writable: expand("writable", &config.writable)?,
        readable: expand("readable", &config.readable)?,
        unconfined_reason: None,
    };
    if mode != SandboxMode::Off && !available.confines_files {
        let reason = available.missing.join("; ");
        match policy {
            ApprovalPolicy::Auto => return Err(SandboxError::Unavailable { reason }),
            ApprovalPolicy::Ask | ApprovalPolicy::Never => {
                settings.unconfined_reason = Some(reason);
            }
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yes() -> Availability {
        Availability {
            confines_files: true,
            summary: "test".into(),
            missing: vec![],
        }
    }

    #[test]
    fn defaults_are_workspace_write_without_network_but_installs_get_it() {
        let s = resolve(
            SandboxFlags::default(),
            &SandboxConfig::default(),
            ApprovalPolicy::Auto,
            &yes(),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(s.mode, SandboxMode::WorkspaceWrite);
        assert!(!s.network_for(CommandRole::Tool));
        assert!(!s.network_for(CommandRole::Test));
        assert!(s.network_for(CommandRole::Install));
    }

    #[test]
    fn flags_win_over_config() {
        let config = SandboxConfig {
            mode: Some(SandboxMode::ReadOnly),
            install_network: Some(false),
            ..SandboxConfig::default()
        };
        let s = resolve(
            SandboxFlags::default(),
            &config,
            ApprovalPolicy::Auto,
            &yes(),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(s.mode, SandboxMode::ReadOnly);
        assert!(!s.network_for(CommandRole::Install));
        let flags = SandboxFlags {
            mode: Some(SandboxMode::Off),
            network: true,
        };
        let s = resolve(flags, &config, ApprovalPolicy::Auto, &yes(), None, &[]).unwrap();
        assert_eq!(s.mode, SandboxMode::Off);
        assert!(s.network_for(CommandRole::Tool));
    }

    #[test]
    fn no_sandbox_under_yes_is_refused_unless_off_and_ask_runs_unconfined() {
        let none = Availability::none("Landlock is not enabled in this kernel");
        let cfg = SandboxConfig::default();
        let err = resolve(
            SandboxFlags::default(),
            &cfg,
            ApprovalPolicy::Auto,
            &none,
            None,
            &[],
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("--sandbox off") && msg.contains("Landlock is not enabled"),
            "{msg}"
        );
        assert_eq!(err.exit(), Exit::Usage);
        let off = SandboxFlags {
            mode: Some(SandboxMode::Off),
            network: false,
        };
        let s = resolve(off, &cfg, ApprovalPolicy::Auto, &none, None, &[]).unwrap();
        assert_eq!(s.effective_mode(), SandboxMode::Off);
        let s = resolve(
            SandboxFlags::default(),
            &cfg,
            ApprovalPolicy::Ask,
            &none,
            None,
            &[],
        )
        .unwrap();
        assert_eq!(s.effective_mode(), SandboxMode::Off);
        assert!(s.unconfined_reason.unwrap().contains("Landlock"));
    }

    #[test]
    fn declared_paths_expand_home_and_refuse_what_would_open_secrets() {
        let home = PathBuf::from("/home/u");
        let protected = vec![
            home.join(".ssh"),
            PathBuf::from("/home/u/.local/share/samocoder"),
        ];
        let cfg = |w: &str| SandboxConfig {
            writable: vec![w.into()],
            ..SandboxConfig::default()
        };
        let ok = resolve(
            SandboxFlags::default(),
            &cfg("~/.cache/pip"),
            ApprovalPolicy::Auto,
            &yes(),
            Some(&home),
            &protected,
        )
        .unwrap();
        assert_eq!(ok.writable, [PathBuf::from("/home/u/.cache/pip")]);
        for bad in [
            "~",
            "/",
            "relative/dir",
            "~/.local",
            "~/.ssh/keys",
            "/home/u/./.ssh/../",
        ] {
            let err = resolve(
                SandboxFlags::default(),
                &cfg(bad),
                ApprovalPolicy::Auto,
                &yes(),
                Some(&home),
                &protected,
            );
            assert!(
                matches!(err, Err(SandboxError::BadPath { .. })),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn modes_parse_and_print() {
        for m in [
            SandboxMode::WorkspaceWrite,
            SandboxMode::ReadOnly,
            SandboxMode::Off,
        ] {
            assert_eq!(m.as_str().parse::<SandboxMode>(), Ok(m));
        }
        assert!("strict".parse::<SandboxMode>().is_err());
    }
}
