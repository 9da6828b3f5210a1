//! macOS: the Seatbelt profile (`sandbox-exec -p PROFILE`) for a [`SandboxPolicy`], with the
//! same rules as Landlock on Linux: reads of the system, the toolchains and the project;
//! writes to the project (not `.git`) and the private temporary directory; samocoder's own
//! files and credential places never; no network unless allowed. A pure function, tested on
//! every platform; it runs only on macOS.

use std::path::Path;

use super::mode::SandboxMode;
use super::policy::SandboxPolicy;

/// The profile text.
pub fn profile(policy: &SandboxPolicy) -> String {
    let mut p = String::from("(version 1)\n(deny default)\n");
    p.push_str("(allow process-exec process-fork signal (target same-sandbox))\n");
    p.push_str("(allow sysctl-read mach-lookup ipc-posix-shm pseudo-tty file-read-metadata)\n");
    p.push_str("(allow file-ioctl (literal \"/dev/tty\") (regex #\"^/dev/ttys\"))\n");
    let read: Vec<&Path> = policy
        .read
        .iter()
        .map(|p| p.as_path())
        .chain(
            [
                "/System",
                "/Library",
                "/private/etc",
                "/private/var/db",
                "/Applications/Xcode.app",
                "/opt/homebrew",
            ]
            .map(Path::new),
        )
        .collect();
    p.push_str("(allow file-read*");
    for r in &read {
        p.push_str(&format!(" (subpath {})", quote(r)));
    }
    for w in &policy.write {
        p.push_str(&format!(" (subpath {})", quote(w)));
    }
    p.push_str(")\n");
    let mut writes: Vec<String> = policy
        .write
        .iter()
        .map(|w| format!("(subpath {})", quote(w)))
        .collect();
    writes.extend(
        policy
            .write_files
            .iter()
            .map(|f| format!("(literal {})", quote(f))),
    );
    p.push_str(&format!("(allow file-write* {})\n", writes.join(" ")));
    if policy.mode == SandboxMode::WorkspaceWrite {
        for ro in &policy.read_only {
            p.push_str(&format!("(deny file-write* (subpath {}))\n", quote(ro)));
        }
    }
    // Later rules win in Seatbelt: these come last.
    for s in policy.protected() {
        p.push_str(&format!(
            "(deny file-read* file-write* (subpath {}))\n",
            quote(s)
        ));
    }
    if policy.network {
        p.push_str("(allow network*)\n");
    } else {
        p.push_str("(allow network* (local ip \"localhost:*\") (remote ip \"localhost:*\") (remote unix-socket (subpath ");
        p.push_str(&quote(&policy.tmp));
        p.push_str(")))\n");
    }
    p
}

/// A Seatbelt string literal: backslashes and double quotes escaped, control characters dropped.
fn quote(path: &Path) -> String {
    let mut s = String::from("\"");
    for c in path.to_string_lossy().chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            c if c.is_control() => {}
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::sandbox::SandboxBase;

    fn policy(network: bool) -> SandboxPolicy {
        let base = SandboxBase {
            homes: vec!["/Users/u".into()],
            own_dirs: vec!["/Users/u/.local/share/samocoder".into()],
            ..SandboxBase::default()
        };
        base.policy(
            SandboxMode::WorkspaceWrite,
            network,
            Path::new("/Users/u/my \"proj\""),
            Path::new("/private/tmp/sbx"),
            1,
        )
    }

    #[test]
    fn the_profile_denies_by_default_and_lets_the_project_be_written() {
        let p = profile(&policy(false));
        assert!(p.starts_with("(version 1)\n(deny default)"));
        assert!(p.contains(r#"(allow file-write* (subpath "/private/tmp/sbx") (subpath "/Users/u/my \"proj\"")"#), "{p}");
        assert!(
            p.contains(r#"(deny file-write* (subpath "/Users/u/my \"proj\"/.git"))"#),
            "{p}"
        );
        assert!(p.contains(r#"(deny file-read* file-write* (subpath "/Users/u/.ssh"))"#));
        assert!(p.contains(
            r#"(deny file-read* file-write* (subpath "/Users/u/.local/share/samocoder"))"#
        ));
        assert!(!p.contains("(allow network*)\n"));
    }

    #[test]
    fn protected_paths_come_after_every_allow_and_network_opens_with_the_flag() {
        let p = profile(&policy(true));
        let last_allow = p.rfind("(allow file-").unwrap();
        let first_deny = p.find("(deny file-read*").unwrap();
        assert!(first_deny > last_allow);
        assert!(p.contains("(allow network*)\n"));
    }

    #[test]
    fn quotes_cannot_break_out_of_a_literal() {
        assert_eq!(quote(Path::new("/a\"b\\c\n)")), r#""/a\"b\\c)""#);
    }
}
