//! Turns what a failed sandboxed command printed into plain sentences for the model ("the
//! sandbox denied writing /home/u/x: outside the project"), so it can adapt instead of
//! retrying. The kernel does not tell the parent what it refused, so this reads the errors
//! programs print (shells, coreutils, Python, Node, Rust) and checks each path they name
//! against the policy: a path the policy allows is never reported.

use std::path::{Path, PathBuf};

use super::policy::{OUTSIDE_READ, SandboxPolicy};

/// At most this many sentences per command.
const MAX: usize = 5;

const DENIED: &[&str] = &[
    // Hidden places (another program's /proc entry, a covered /tmp) look missing.
    "no such file or directory",
    "permission denied",
    "operation not permitted",
    "read-only file system",
    "eacces",
    "eperm",
    "erofs",
];
const NETWORK: &[&str] = &[
    "network is unreachable",
    "temporary failure in name resolution",
    "name or service not known",
    "could not resolve host",
    "failed to establish a new connection",
    "getaddrinfo",
    "enetunreach",
    "eai_again",
    "nodename nor servname",
    "address family not supported",
];
const WRITE_WORDS: &[&str] = &[
    "cannot create",
    "cannot touch",
    "cannot remove",
    "cannot make",
    "cannot move",
    "cannot open",
    "failed to create",
    "failed to write",
    "mkdir",
    "unlink",
    "rename",
    "open for writing",
    "read-only file system",
    "erofs",
    "errno 30",
    "copyfile",
];

/// The sentences for `output` of a command that ran under `policy` in `cwd`.
pub fn explain(output: &str, policy: &SandboxPolicy, cwd: &Path) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if out.len() < MAX && !out.contains(&s) {
            out.push(s);
        }
    };
    for line in output.lines().take(10_000) {
        let lower = line.to_ascii_lowercase();
        if !policy.network && NETWORK.iter().any(|n| lower.contains(n)) {
            push("the sandbox has no network for this command (model and test commands run offline; the user can allow it with --network)".into());
            continue;
        }
        if !DENIED.iter().any(|d| lower.contains(d)) {
            continue;
        }
        if lower.contains("keyctl") || lower.contains("keyring") {
            push("the sandbox denied the kernel keyring: keys are out of reach of commands".into());
            continue;
        }
        if lower.contains("ptrace") {
            push("the sandbox denied tracing processes (ptrace)".into());
            continue;
        }
        let writing = WRITE_WORDS.iter().any(|w| lower.contains(w));
        for raw in paths_in(line) {
            let path = if raw.is_absolute() {
                raw
            } else {
                cwd.join(raw)
            };
            let path = super::policy::normalize(&path);
            if let Some(why) = other_process(&path) {
                push(format!(
                    "the sandbox denied reading {}: {why}",
                    path.display()
                ));
                continue;
            }
            let read = policy.read_denied(&path);
            let write = policy.write_denied(&path);
            let shown = path.display();
            match (writing, read, write) {
                (true, _, Some(why)) => push(format!("the sandbox denied writing {shown}: {why}")),
                (_, Some(why), _) if why != OUTSIDE_READ => {
                    push(format!("the sandbox denied reading {shown}: {why}"))
                }
                (false, Some(why), _) => {
                    push(format!("the sandbox denied access to {shown}: {why}"))
                }
                (true, Some(why), None) => {
                    push(format!("the sandbox denied reading {shown}: {why}"))
                }
                // Reading an allowed place failed for reasons of its own.
                (false, None, _) | (true, None, None) => {}
            }
        }
    }
    out
}

/// `/proc/PID/...` of another process: out of reach (Landlock scopes ptrace-like access).
fn other_process(path: &Path) -> Option<&'static str> {
    let mut parts = path.strip_prefix("/proc").ok()?.components();
    let first = parts.next()?.as_os_str().to_str()?;
    (first.chars().all(|c| c.is_ascii_digit()) && parts.next().is_some())
        .then_some("other processes' environment and memory are out of reach of commands")
}

/// Paths a line names: quoted ones and words that start with `/`, `./`, `~/` or contain `/`.
fn paths_in(line: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find(['\'', '"', '`', '‘', '“']) {
        let q = rest[i..].chars().next().unwrap_or('\'');
        let close = match q {
            '‘' => '’',
            '“' => '”',
            '`' => '\'',
            c => c,
        };
        let after = &rest[i + q.len_utf8()..];
        match after.find([close, q]) {
            Some(j) => {
                let inner = &after[..j];
                if looks_like_path(inner) {
                    found.push(PathBuf::from(inner));
                }
                let len = after[j..].chars().next().map_or(1, char::len_utf8);
                rest = &after[j + len..];
            }
            None => break,
        }
    }
    for word in line.split([' ', '\t', ',', '(', ')', '\'', '"', '`', '‘', '’', '“', '”']) {
        let word = word.trim_end_matches([':', ';', '.']);
        if !word.starts_with('-')
            && looks_like_path(word)
            && !found.iter().any(|p| p.as_os_str() == word)
        {
            found.push(PathBuf::from(word));
        }
    }
    found
}

fn looks_like_path(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 4096
        && s.contains('/')
        && !s.contains("://")
        && !s.chars().any(|c| c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::sandbox::{SandboxBase, SandboxMode};
    use proptest::prelude::*;

    fn policy(network: bool) -> SandboxPolicy {
        let base = SandboxBase {
            homes: vec!["/home/u".into()],
            own_dirs: vec!["/home/u/.local/share/samocoder".into()],
            ..SandboxBase::default()
        };
        base.policy(
            SandboxMode::WorkspaceWrite,
            network,
            Path::new("/home/u/proj"),
            Path::new("/tmp/sbx"),
            1,
        )
    }

    fn explain_one(out: &str) -> Vec<String> {
        explain(out, &policy(false), Path::new("/home/u/proj"))
    }

    #[test]
    fn writes_outside_the_project_are_named_with_the_reason() {
        for out in [
            "sh: 1: cannot create /home/u/x: Permission denied",
            "touch: cannot touch '/home/u/x': Permission denied",
            "rm: cannot remove '/home/u/x': Operation not permitted",
        ] {
            assert_eq!(
                explain_one(out),
                ["the sandbox denied writing /home/u/x: outside the project"],
                "{out}"
            );
        }
        // Read or write cannot be told from these: both are refused there.
        for out in [
            "PermissionError: [Errno 13] Permission denied: '/home/u/x'",
            "Error: EACCES: permission denied, open '/home/u/x'",
        ] {
            assert_eq!(
                explain_one(out),
                [format!(
                    "the sandbox denied access to /home/u/x: {OUTSIDE_READ}"
                )],
                "{out}"
            );
        }
    }

    #[test]
    fn reads_of_secrets_and_other_processes_are_named() {
        let v = explain_one("cat: /home/u/.ssh/id_ed25519: Permission denied");
        assert_eq!(
            v,
            [
                "the sandbox denied reading /home/u/.ssh/id_ed25519: /home/u/.ssh holds credentials and is out of reach of commands"
            ]
        );
        let v = explain_one("tr: /proc/1234/environ: Permission denied");
        assert!(v[0].contains("other processes"), "{v:?}");
        let v = explain_one(
            "sqlite3: unable to open /home/u/.local/share/samocoder/samocoder.db: Permission denied",
        );
        assert!(v[0].contains("samocoder's own files"), "{v:?}");
    }

    #[test]
    fn git_internals_and_relative_paths() {
        let v = explain_one("fatal: cannot create '.git/index.lock': Read-only file system");
        assert!(
            v[0].contains("/home/u/proj/.git/index.lock") && v[0].contains("checkpoints"),
            "{v:?}"
        );
        let v = explain_one("sh: 2: cannot create .git/config: Read-only file system");
        assert!(
            v[0].starts_with("the sandbox denied writing /home/u/proj/.git/config"),
            "{v:?}"
        );
        let v = explain_one(
            "head: cannot open '/home/u/.local/share/samocoder/samocoder.db' for reading: No such file or directory",
        );
        assert!(v[0].contains("samocoder's own files"), "{v:?}");
    }

    #[test]
    fn allowed_paths_and_unrelated_errors_are_not_blamed_on_the_sandbox() {
        assert!(explain_one("cannot create /home/u/proj/x: Permission denied").is_empty());
        assert!(
            explain_one(
                "python3: can't open file 'src/missing.py': [Errno 2] No such file or directory"
            )
            .is_empty()
        );
        assert!(explain_one("cat: /usr/share/nothing: No such file or directory").is_empty());
        assert!(explain_one("AssertionError: 1 != 2").is_empty());
        assert!(
            explain(
                "curl: (6) Could not resolve host: example.com",
                &policy(true),
                Path::new("/home/u/proj")
            )
            .is_empty()
        );
    }

    #[test]
    fn network_keyring_and_ptrace() {
        assert!(explain_one("urllib.error.URLError: <urlopen error [Errno -3] Temporary failure in name resolution>")[0].contains("no network"));
        assert!(explain_one("keyctl_read: Operation not permitted")[0].contains("keyring"));
    }

    proptest! {
        /// Every path named in a sentence appears in the output (relative ones joined to the
        /// project), nothing allowed is blamed, and there are never more than MAX sentences.
        #[test]
        fn sentences_only_name_paths_from_the_output(lines in proptest::collection::vec("[ -~]{0,60}", 0..20), path in "/[a-z./]{1,20}") {
            let mut out = lines.join("\n");
            out.push_str(&format!("\ncannot create {path}: Permission denied\n"));
            let p = policy(false);
            let v = explain(&out, &p, Path::new("/home/u/proj"));
            prop_assert!(v.len() <= MAX);
            for s in &v {
                if let Some(rest) = s.strip_prefix("the sandbox denied writing ").or_else(|| s.strip_prefix("the sandbox denied reading ")).or_else(|| s.strip_prefix("the sandbox denied access to ")) {
                    let named = rest.split(": ").next().unwrap();
                    let named_path = Path::new(named);
                    prop_assert!(p.write_denied(named_path).is_some() || p.read_denied(named_path).is_some() || named.starts_with("/proc/"));
                    let tail = named_path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                    prop_assert!(out.contains(&tail), "{named} not in output");
                }
            }
        }
    }
}
