//! `samocoder export --dir`: what goes in, what stays out, and how the archive is written.

use std::fs;
use std::io::{Cursor, Read};
use std::path::Path;

use crate::common::{self, Env};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// A project under the scratch directory, named `proj`.
fn project(env: &Env) -> std::path::PathBuf {
    let root = env.work().join("proj");
    write(&root, "README.md", "# proj\n");
    write(&root, "src/app.py", "print('hi')\n");
    write(&root, ".gitignore", "node_modules/\n*.log\n");
    write(&root, "node_modules/dep/index.js", "x");
    write(&root, "debug.log", "x");
    write(&root, ".git/config", "[core]\n");
    write(&root, ".samocoder/run.json", "{}");
    write(&root, ".env", "OPENAI_API_KEY=sk-test-secret\n");
    write(&root, ".env.example", "OPENAI_API_KEY=\n");
    write(&root, "deploy/id_ed25519", "PRIVATE KEY");
    root
}

fn zip_names(bytes: &[u8]) -> Vec<String> {
    let zip = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).expect("a valid zip");
    zip.file_names()
        .map(|n| n.expect("a UTF-8 name").into_owned())
        .collect::<Vec<_>>()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn default_export_honours_ignores_and_leaves_out_secrets() {
    let env = Env::new();
    project(&env);
    let out = env
        .cmd()
        .args(["export", "--dir", "proj"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let bytes = fs::read(env.work().join("proj.zip")).unwrap();
    let names = sorted(zip_names(&bytes));
    assert_eq!(
        names,
        [
            ".env.example",
            ".gitignore",
            "README.md",
            "deploy/",
            "src/",
            "src/app.py"
        ]
    );
    assert!(!bytes.windows(14).any(|w| w == b"sk-test-secret"));
    let err = common::stderr(&out);
    assert!(err.contains("skipped .env: looks like a secret"), "{err}");
    assert!(err.contains("skipped deploy/id_ed25519"), "{err}");
}

#[test]
fn flags_include_secrets_and_git() {
    let env = Env::new();
    project(&env);
    env.cmd()
        .args(["export", "--dir", "proj", "-o", "all.zip"])
        .args(["--include-secrets", "--include-git"])
        .assert()
        .success();
    let names = zip_names(&fs::read(env.work().join("all.zip")).unwrap());
    for want in [".env", "deploy/id_ed25519", ".git/config"] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    assert!(!names.iter().any(|n| n.starts_with(".samocoder")));
    assert!(!names.iter().any(|n| n.starts_with("node_modules")));
}

#[test]
fn json_summary_lists_skipped_paths_with_reasons() {
    let env = Env::new();
    project(&env);
    let out = env
        .cmd()
        .args(["--json", "export", "--dir", "proj", "-o", "p.zip"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let v: serde_json::Value = serde_json::from_str(common::stdout(&out).trim()).unwrap();
    assert_eq!(v["path"], "p.zip");
    assert_eq!(v["files"], 4);
    assert_eq!(v["directories"], 2);
    assert_eq!(v["symlinks"], 0);
    assert!(v["bytes"].as_u64().unwrap() > 0);
    assert_eq!(
        v["archive_bytes"].as_u64().unwrap(),
        fs::metadata(env.work().join("p.zip")).unwrap().len()
    );
    let skipped: Vec<(String, String)> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().into(),
                s["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        (".env", "secret"),
        (".git", "git"),
        (".samocoder", "metadata"),
        ("debug.log", "ignored"),
        ("deploy/id_ed25519", "secret"),
        ("node_modules", "ignored"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(skipped, want);
}

#[test]
fn refuses_to_overwrite_without_force() {
    let env = Env::new();
    project(&env);
    fs::write(env.work().join("proj.zip"), "precious").unwrap();
    let out = env
        .cmd()
        .args(["export", "--dir", "proj"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("--force"));
    assert_eq!(env.read(env.work().join("proj.zip")), "precious");
    env.cmd()
        .args(["export", "--dir", "proj", "--force"])
        .assert()
        .success();
    assert!(zip_names(&fs::read(env.work().join("proj.zip")).unwrap()).len() > 3);
}

#[test]
fn stdout_output_is_a_valid_zip() {
    let env = Env::new();
    project(&env);
    let out = env
        .cmd()
        .args(["export", "--dir", "proj", "-o", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(zip_names(&out.stdout).contains(&"src/app.py".to_string()));
    env.cmd()
        .args(["--json", "export", "--dir", "proj", "-o", "-"])
        .assert()
        .code(2);
}

#[test]
fn reproducible_exports_are_byte_identical() {
    let env = Env::new();
    let root = project(&env);
    let run = |name: &str| {
        env.cmd()
            .args(["export", "--dir", "proj", "--reproducible", "-o", name])
            .assert()
            .success();
        fs::read(env.work().join(name)).unwrap()
    };
    let a = run("a.zip");
    // Touch every file: new mtimes must not change a reproducible archive.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    fs::write(root.join("README.md"), "# proj\n").unwrap();
    let b = run("b.zip");
    assert_eq!(a, b);
}

#[test]
fn missing_directory_is_exit_2_and_writes_nothing() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["export", "--dir", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("not a directory"));
    assert_eq!(fs::read_dir(env.work()).unwrap().count(), 0);
}

#[test]
fn entry_names_are_always_safe() {
    let env = Env::new();
    let root = project(&env);
    write(&root, "weird name with spaces/..dots../x", "x");
    env.cmd()
        .args(["export", "--dir", "proj", "-o", "p.zip"])
        .assert()
        .success();
    for name in zip_names(&fs::read(env.work().join("p.zip")).unwrap()) {
        assert!(!name.starts_with('/') && !name.contains('\\'), "{name}");
        assert!(!name.split('/').any(|p| p == ".." || p == "."), "{name}");
    }
}

#[cfg(unix)]
mod unix {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn symlinks_and_permissions() {
        let env = Env::new();
        let root = project(&env);
        let outside = env.work().join("outside.txt");
        fs::write(&outside, "OUTSIDE-CONTENT").unwrap();
        symlink(&outside, root.join("abs-link")).unwrap();
        symlink("../outside.txt", root.join("rel-out")).unwrap();
        symlink("src/app.py", root.join("app-link.py")).unwrap();
        write(&root, "run.sh", "#!/bin/sh\necho hi\n");
        fs::set_permissions(root.join("run.sh"), fs::Permissions::from_mode(0o750)).unwrap();
        let out = env
            .cmd()
            .args(["--json", "export", "--dir", "proj", "-o", "p.zip"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::stderr(&out));
        let v: serde_json::Value = serde_json::from_str(common::stdout(&out).trim()).unwrap();
        assert_eq!(v["symlinks"], 1);
        let text = v["skipped"].to_string();
        assert!(
            text.contains(r#"{"path":"abs-link","reason":"symlink_absolute"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#"{"path":"rel-out","reason":"symlink_outside"}"#),
            "{text}"
        );

        let bytes = fs::read(env.work().join("p.zip")).unwrap();
        assert!(!bytes.windows(15).any(|w| w == b"OUTSIDE-CONTENT"));
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        {
            let mut link = zip.by_name("app-link.py").unwrap();
            assert!(link.is_symlink());
            let mut target = String::new();
            link.read_to_string(&mut target).unwrap();
            assert_eq!(target, "src/app.py");
        }
        assert_eq!(
            zip.by_name("run.sh").unwrap().unix_mode().unwrap() & 0o777,
            0o750
        );

        // Reproducible mode keeps only the exec bit.
        env.cmd()
            .args(["export", "--dir", "proj", "-o", "r.zip", "--reproducible"])
            .assert()
            .success();
        let mut zip =
            zip::ZipArchive::new(fs::File::open(env.work().join("r.zip")).unwrap()).unwrap();
        assert_eq!(
            zip.by_name("run.sh").unwrap().unix_mode().unwrap() & 0o777,
            0o755
        );
        assert_eq!(
            zip.by_name("README.md").unwrap().unix_mode().unwrap() & 0o777,
            0o644
        );
    }
}

#[test]
fn export_project_by_name_writes_name_zip_without_metadata() {
    let env = Env::new();
    let dir = super::files::todo_project(&env);
    fs::create_dir_all(dir.join(".samocoder")).unwrap();
    fs::write(dir.join(".samocoder/state.json"), "{}").unwrap();
    let out = env
        .cmd()
        .args(["export", "todo", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let zip = env.work().join("todo.zip");
    let names = zip_names(&fs::read(&zip).unwrap());
    assert!(names.contains(&"todo/store.py".to_string()), "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| !n.starts_with(".git/") && !n.starts_with(".samocoder")),
        "{names:?}"
    );

    let again = env.cmd().args(["export", "todo"]).output().unwrap();
    assert_ne!(
        again.status.code(),
        Some(0),
        "refuses to overwrite without --force"
    );
    let out = env
        .cmd()
        .args(["export", "todo", "-o", "other.zip"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(env.work().join("other.zip").exists());
}

#[test]
fn export_needs_a_project_or_a_dir_and_a_known_project() {
    let env = Env::new();
    let out = env.cmd().arg("export").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = env.cmd().args(["export", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("nope"));
    let out = env
        .cmd()
        .args(["export", "x", "--dir", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_large_user_binary_is_left_out_unless_asked() {
    let env = Env::new();
    let root = project(&env);
    // Over the 5 MiB default; a small data file stays in.
    fs::write(root.join("model.bin"), vec![7u8; 6 * 1024 * 1024]).unwrap();
    fs::write(root.join("data.csv"), "a,b\n".repeat(1000)).unwrap();
    let out = env
        .cmd()
        .args(["--json", "export", "--dir", "proj"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let report: serde_json::Value = serde_json::from_str(common::stdout(&out).trim()).unwrap();
    let skipped = report["skipped"].as_array().unwrap();
    let big = skipped
        .iter()
        .find(|s| s["path"] == "model.bin")
        .expect("model.bin named as skipped");
    assert_eq!(big["reason"], "too_large");
    assert_eq!(big["size"], 6 * 1024 * 1024);
    let names = zip_names(&fs::read(env.work().join("proj.zip")).unwrap());
    assert!(!names.contains(&"model.bin".to_string()), "{names:?}");
    assert!(names.contains(&"data.csv".to_string()), "{names:?}");
    // The human view says why and how to keep it.
    let out = env
        .cmd()
        .args(["export", "--dir", "proj", "--force"])
        .output()
        .unwrap();
    let err = common::stderr(&out);
    assert!(err.contains("skipped model.bin (6.0 MB)"), "{err}");
    assert!(err.contains("--include-large"), "{err}");
    // Asked for: kept.
    let out = env
        .cmd()
        .args(["export", "--dir", "proj", "--force", "--include-large"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let names = zip_names(&fs::read(env.work().join("proj.zip")).unwrap());
    assert!(names.contains(&"model.bin".to_string()), "{names:?}");
}

/// A project with one large file of incompressible bytes, so that writing its archive takes
/// long enough to interrupt.
fn big_project(env: &Env) -> std::path::PathBuf {
    let dir = env.work().join("big");
    fs::create_dir_all(&dir).unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..48 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    fs::write(dir.join("data.bin"), bytes).unwrap();
    dir
}

fn partials(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect()
}

/// Starts `export --dir big -o out.zip` and waits until its partial file exists; returns the
/// child, or `None` when the export finished first (a very fast machine).
fn start_big_export(env: &Env, dir: &Path) -> Option<std::process::Child> {
    let mut child = env
        .std_cmd()
        .args([
            "export",
            "--dir",
            dir.to_str().unwrap(),
            "--include-large",
            "-o",
            "out.zip",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !partials(&env.work())
        .iter()
        .any(|n| n.starts_with(".out.zip."))
    {
        if child.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Some(child)
}

/// Regression: an export interrupted with SIGTERM (or Ctrl-C) left `.out.zip.XXXXXX.partial`
/// behind forever: the default signal action ended the process without removing it.
#[test]
fn regression_an_interrupted_export_left_its_partial_file_forever() {
    let env = Env::new();
    let dir = big_project(&env);
    let Some(child) = start_big_export(&env, &dir) else {
        eprintln!("the export finished before it could be interrupted; nothing to check");
        return;
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    eprintln!("export after SIGTERM: {:?}", out.status);
    if out.status.code() == Some(0) {
        // The signal came after the rename: a complete archive, and nothing left over.
        assert!(env.work().join("out.zip").is_file());
    } else {
        assert_eq!(out.status.code(), Some(130), "{:?}", out.status);
        assert!(!env.work().join("out.zip").exists());
    }
    assert_eq!(partials(&env.work()), Vec::<String>::new());
}

/// After `kill -9` (no handler can run) the partial file stays, and the next export to the
/// same destination removes it; other files that look alike are never touched.
#[test]
fn a_partial_file_left_by_kill_9_is_removed_by_the_next_export_to_that_destination() {
    let env = Env::new();
    let dir = big_project(&env);
    let work = env.work();
    for name in [".out.zip.abc123.partial.keep", ".other.zip.abc123.partial"] {
        fs::write(work.join(name), "not ours").unwrap();
    }
    let Some(mut child) = start_big_export(&env, &dir) else {
        eprintln!("the export finished before it could be killed; nothing to check");
        return;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let left = partials(&work);
    assert!(
        left.iter()
            .any(|n| n.starts_with(".out.zip.") && n.len() == ".out.zip.".len() + 14),
        "{left:?}"
    );
    fs::remove_file(dir.join("data.bin")).unwrap();
    fs::write(dir.join("small.txt"), "small\n").unwrap();
    let out = env
        .cmd()
        .args(["export", "--dir", dir.to_str().unwrap(), "-o", "out.zip"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(partials(&work), [".other.zip.abc123.partial".to_string()]);
    assert_eq!(
        fs::read_to_string(work.join(".out.zip.abc123.partial.keep")).unwrap(),
        "not ours"
    );
}
