//! Git commands a model may not run in an adopted repository. samocoder manages git there
//! itself (its own branch, commits that leave the user's changes out, the switch back), so a
//! command that would commit, switch branches, stage, stash, reset, restore, clean or rewrite
//! anything is refused before it runs, whatever the approval policy; read-only ones (`status`,
//! `diff`, `log`, `show`, `ls-files`, `grep`, `blame`, ...) run as usual. A heuristic over the
//! command's words, like the destructive-command check: it catches what a model writes, not
//! what a determined script hides.

/// Subcommands that only read.
const READ_ONLY: &[&str] = &[
    "status",
    "diff",
    "log",
    "show",
    "ls-files",
    "ls-tree",
    "grep",
    "blame",
    "rev-parse",
    "rev-list",
    "describe",
    "shortlog",
    "cat-file",
    "help",
    "version",
    "--version",
    "whatchanged",
    "reflog",
    "show-ref",
    "for-each-ref",
    "name-rev",
    "check-ignore",
    "var",
];

/// Subcommands that list when given no argument, or only listing options.
const LISTING: &[&str] = &["branch", "tag", "remote"];

/// Whether `git SUB ARGS` only reads, for subcommands that may also write.
fn only_reads(sub: &str, args: &[&str]) -> bool {
    let listing = |a: &&str| {
        matches!(
            *a,
            "-a" | "--all"
                | "-r"
                | "--remotes"
                | "-v"
                | "-vv"
                | "--list"
                | "-l"
                | "--show-current"
                | "--contains"
                | "--merged"
                | "--no-merged"
        )
    };
    match sub {
        s if LISTING.contains(&s) => args.iter().all(listing),
        // `git stash` alone stashes; `git worktree` alone prints help.
        "stash" => matches!(args.first(), Some(&"list") | Some(&"show")),
        "worktree" => matches!(args.first(), Some(&"list")),
        "config" => args
            .iter()
            .any(|a| matches!(*a, "--get" | "--get-all" | "--list" | "-l")),
        _ => false,
    }
}

/// Options of `git` itself that take a value (`git -C dir status`).
const VALUED: &[&str] = &["-C", "-c", "--git-dir", "--work-tree", "--namespace"];

/// The git subcommand of `command` that would change the repository, if there is one.
pub fn git_write(command: &str) -> Option<String> {
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '`' | '\n'))
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches(['"', '\'']))
        .collect();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        i += 1;
        if w != "git" && !w.ends_with("/git") {
            continue;
        }
        // Skip git's own options to find the subcommand.
        while i < words.len() && words[i].starts_with('-') {
            let opt = words[i];
            i += 1;
            if VALUED.contains(&opt) {
                i += 1;
            }
        }
        let Some(sub) = words.get(i).copied() else {
            continue;
        };
        i += 1;
        if READ_ONLY.contains(&sub) {
            continue;
        }
        let args: Vec<&str> = words[i..]
            .iter()
            .take_while(|a| *a != &"git")
            .copied()
            .collect();
        if only_reads(sub, &args) {
            continue;
        }
        return Some(format!("git {sub}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn commands_that_change_the_repository_are_caught() {
        for (cmd, sub) in [
            ("git commit -am 'done'", "git commit"),
            ("git add -A && git commit -m x", "git add"),
            ("cd src; git checkout main", "git checkout"),
            ("git -C . switch -c other", "git switch"),
            ("git stash", "git stash"),
            ("git stash pop", "git stash"),
            ("git reset --hard HEAD~1", "git reset"),
            ("git restore app.py", "git restore"),
            ("git clean -fdx", "git clean"),
            ("git branch -D main", "git branch"),
            ("/usr/bin/git rebase -i HEAD~3", "git rebase"),
            ("make && git push origin main", "git push"),
            ("git -c user.name=x commit", "git commit"),
        ] {
            assert_eq!(git_write(cmd).as_deref(), Some(sub), "{cmd}");
        }
    }

    #[test]
    fn reading_git_and_other_commands_run() {
        for cmd in [
            "git status",
            "git diff --stat && git log -3 --oneline",
            "git -C sub show HEAD:app.py",
            "git branch",
            "git branch -a",
            "git stash list",
            "python3 -m unittest",
            "digit commit",
            "legit push",
        ] {
            assert_eq!(git_write(cmd), None, "{cmd}");
        }
    }

    proptest! {
        /// Any command, any junk: no panic, and a literal `git commit` word pair is caught.
        #[test]
        fn never_panics_and_catches_a_plain_commit(prefix in "[a-z ;&|]{0,30}", suffix in ".{0,40}") {
            let _ = git_write(&format!("{prefix}{suffix}"));
            let cmd = format!("{prefix} ; git commit {suffix}");
            prop_assert!(git_write(&cmd).is_some(), "{cmd}");
        }
    }
}
