//! The Landlock ruleset of a sandboxed command, from its [`SandboxPolicy`].

use std::path::PathBuf;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, LandlockStatus, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

use super::policy::SandboxPolicy;

/// The newest ABI this code knows what to ask of; older kernels get what they support.
const WANT: ABI = ABI::V9;

/// What was enforced, in words ("Landlock ABI 7").
pub struct Enforced {
    pub summary: String,
    /// What this kernel's Landlock cannot do, in words.
    pub missing: Vec<String>,
}

/// Restricts this thread (and what it executes). `extra_write`: private directories made by
/// the mount namespace. `block_tcp`: deny TCP bind/connect too (no network namespace).
pub fn apply(
    policy: &SandboxPolicy,
    extra_write: &[PathBuf],
    block_tcp: bool,
) -> Result<Enforced, String> {
    let err = |e: landlock::RulesetError| format!("Landlock: {e}");
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(WANT))
        .map_err(err)?
        .scope(Scope::AbstractUnixSocket | Scope::Signal)
        .map_err(err)?;
    if block_tcp {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(WANT))
            .map_err(err)?;
    }
    let mut created = ruleset.create().map_err(err)?;
    let read = AccessFs::from_read(WANT);
    let all = AccessFs::from_all(WANT);
    let file = AccessFs::from_file(WANT);
    let rules = policy
        .read
        .iter()
        .map(|p| (p, read))
        .chain(policy.write.iter().chain(extra_write).map(|p| (p, all)))
        .chain(policy.write_files.iter().map(|p| (p, file)));
    for (path, access) in rules {
        // Paths that do not exist on this machine are simply not granted.
        let Ok(fd) = PathFd::new(path) else { continue };
        let access = if path.is_dir() { access } else { access & file };
        created = created
            .add_rule(PathBeneath::new(fd, access))
            .map_err(err)?;
    }
    let status = created.restrict_self().map_err(err)?;
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, kernel_abi } => kernel_abi.unwrap_or(effective_abi as i32),
        LandlockStatus::NotEnabled => return Err("Landlock is built into this kernel but not enabled (add `landlock` to the lsm= boot parameter)".into()),
        LandlockStatus::NotImplemented => return Err("this kernel has no Landlock (Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK is needed)".into()),
    };
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err(format!("Landlock ABI {abi} could not enforce the rules"));
    }
    let mut missing = Vec::new();
    if abi < 3 {
        missing.push("truncation is not confined (Landlock ABI < 3)".to_string());
    }
    if abi < 6 {
        missing.push(
            "signals and abstract Unix sockets are not scoped (Landlock ABI < 6)".to_string(),
        );
    }
    Ok(Enforced {
        summary: format!("Landlock ABI {abi}"),
        missing,
    })
}
