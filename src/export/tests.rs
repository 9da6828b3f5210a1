//! Unit tests of planning and writing archives against real temporary directories.

use std::fs;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::*;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn names(plan: &Plan) -> Vec<&str> {
    plan.entries.iter().map(|e| e.name.as_str()).collect()
}

fn skipped(plan: &Plan, reason: SkipReason) -> Vec<&str> {
    plan.skipped
        .iter()
        .filter(|s| s.reason == reason)
        .map(|s| s.path.as_str())
        .collect()
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "src/main.py", "print('hi')\n");
    write(r, ".gitignore", "build/\n*.log\n");
    write(r, ".ignore", "scratch.txt\n");
    write(r, "build/out.bin", "x");
    write(r, "debug.log", "x");
    write(r, "scratch.txt", "x");
    write(r, "sub/.gitignore", "local.txt\n");
    write(r, "sub/local.txt", "x");
    write(r, "sub/kept.txt", "kept");
    write(r, ".git/HEAD", "ref: refs/heads/main\n");
    write(r, ".samocoder/state.json", "{}");
    write(r, ".env", "KEY=secret");
    write(r, ".env.example", "KEY=");
    write(r, "certs/server.pem", "-----BEGIN");
    dir
}

#[test]
fn plan_honours_ignore_rules_metadata_and_secrets() {
    let dir = project();
    let plan = plan(dir.path(), &ExportOptions::default()).unwrap();
    assert_eq!(
        names(&plan),
        [
            ".env.example",
            ".gitignore",
            ".ignore",
            "certs",
            "src",
            "src/main.py",
            "sub",
            "sub/.gitignore",
            "sub/kept.txt",
        ]
    );
    assert_eq!(
        skipped(&plan, SkipReason::Ignored),
        ["build", "debug.log", "scratch.txt", "sub/local.txt"]
    );
    assert_eq!(skipped(&plan, SkipReason::Git), [".git"]);
    assert_eq!(skipped(&plan, SkipReason::Metadata), [".samocoder"]);
    assert_eq!(
        skipped(&plan, SkipReason::Secret),
        [".env", "certs/server.pem"]
    );
}

#[test]
fn flags_keep_git_and_secrets() {
    let dir = project();
    let opts = ExportOptions {
        include_git: true,
        include_secrets: true,
        reproducible: false,
        max_file_bytes: None,
        extra: None,
    };
    let plan = plan(dir.path(), &opts).unwrap();
    let n = names(&plan);
    for want in [".env", ".git/HEAD", "certs/server.pem"] {
        assert!(n.contains(&want), "{want} missing from {n:?}");
    }
    assert!(!n.iter().any(|x| x.starts_with(".samocoder")));
}

#[test]
fn not_a_directory_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f", "x");
    let err = plan(&dir.path().join("f"), &ExportOptions::default()).unwrap_err();
    assert_eq!(
        crate::exit::ExitStatus::exit(&err),
        crate::exit::Exit::Usage
    );
    assert!(plan(&dir.path().join("missing"), &ExportOptions::default()).is_err());
}

#[cfg(unix)]
#[test]
fn symlinks_inside_are_links_outside_are_skipped() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.txt", "outside");
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "lib/real.txt", "inside");
    symlink("lib/real.txt", r.join("alias.txt")).unwrap();
    fs::create_dir_all(r.join("a")).unwrap();
    symlink("../lib", r.join("a/libdir")).unwrap();
    symlink(outside.path().join("secret.txt"), r.join("abs")).unwrap();
    symlink("../../../../../../../../etc/passwd", r.join("escape")).unwrap();
    symlink("nowhere", r.join("dangling")).unwrap();
    // Lexically inside, but through a link that leaves the project.
    symlink(outside.path(), r.join("out")).unwrap();
    symlink("out/secret.txt", r.join("via")).unwrap();
    let plan = plan(r, &ExportOptions::default()).unwrap();
    let links: Vec<(&str, &str)> = plan
        .entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Symlink { target } => Some((e.name.as_str(), target.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        links,
        [("a/libdir", "../lib"), ("alias.txt", "lib/real.txt")]
    );
    assert_eq!(skipped(&plan, SkipReason::SymlinkAbsolute), ["abs", "out"]);
    assert_eq!(
        skipped(&plan, SkipReason::SymlinkOutside),
        ["escape", "via"]
    );
    assert_eq!(skipped(&plan, SkipReason::SymlinkDangling), ["dangling"]);
    // Nothing from outside is ever read into the archive.
    let zip = write_zip(
        &plan,
        &ExportOptions::default(),
        Cursor::new(Vec::new()),
        &mut NoProgress,
    )
    .unwrap()
    .into_inner();
    assert!(!zip.windows(7).any(|w| w == b"outside"));
}

/// A writer that fails after `budget` bytes.
struct FailingWriter {
    inner: Cursor<Vec<u8>>,
    budget: usize,
}

impl Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.inner.get_ref().len() + buf.len() > self.budget {
            return Err(io::Error::other("disk full (injected)"));
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for FailingWriter {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn failing_writer_mid_way_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "big.bin", &"0123456789".repeat(50_000));
    let plan = plan(dir.path(), &ExportOptions::default()).unwrap();
    let w = FailingWriter {
        inner: Cursor::new(Vec::new()),
        budget: 1000,
    };
    assert!(write_zip(&plan, &ExportOptions::default(), w, &mut NoProgress).is_err());
}

#[test]
fn interrupted_write_leaves_no_final_file_and_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.zip");
    let res: Result<(), ExportError> = write_atomically(&dest, false, |f| {
        f.write_all(b"PK partial").unwrap();
        Err(ExportError::Archive(io::Error::other("injected")))
    });
    assert!(res.is_err());
    assert!(!dest.exists());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn refuses_to_overwrite_without_force() {
    let src = project();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("p.zip");
    fs::write(&dest, "keep me").unwrap();
    let opts = ExportOptions::default();
    let err = export_to_file(src.path(), &dest, &opts, false, &mut NoProgress).unwrap_err();
    assert!(matches!(err, ExportError::Exists(_)));
    assert_eq!(fs::read_to_string(&dest).unwrap(), "keep me");
    export_to_file(src.path(), &dest, &opts, true, &mut NoProgress).unwrap();
    assert!(zip::ZipArchive::new(fs::File::open(&dest).unwrap()).is_ok());
}

#[test]
fn the_archive_inside_the_project_is_not_archived_into_itself() {
    let src = project();
    let dest = src.path().join("p.zip");
    fs::write(&dest, "old archive").unwrap();
    let r = export_to_file(
        src.path(),
        &dest,
        &ExportOptions::default(),
        true,
        &mut NoProgress,
    )
    .unwrap();
    assert!(
        r.skipped
            .iter()
            .any(|s| s.path == "p.zip" && s.reason == SkipReason::OutputFile)
    );
}

#[derive(Default)]
struct Counting {
    total: u64,
    done: u64,
    bytes: u64,
    finished: bool,
}

impl Progress for Counting {
    fn start(&mut self, files: u64, _bytes: u64) {
        self.total = files;
    }
    fn entry_done(&mut self, _name: &str, bytes: u64) {
        self.done += 1;
        self.bytes += bytes;
    }
    fn finish(&mut self) {
        self.finished = true;
    }
}

#[test]
fn progress_reports_every_entry_and_reproducible_bytes_match() {
    let src = project();
    let opts = ExportOptions {
        reproducible: true,
        ..Default::default()
    };
    let mut p = Counting::default();
    let mut a = Vec::new();
    let report = export_to_writer(src.path(), &opts, &mut a, &mut p).unwrap();
    assert!(p.finished);
    assert_eq!(p.done, p.total);
    assert_eq!(p.bytes, report.bytes);
    assert_eq!(report.archive_bytes, a.len() as u64);
    let mut b = Vec::new();
    export_to_writer(src.path(), &opts, &mut b, &mut NoProgress).unwrap();
    assert_eq!(a, b);
    let mut zip = zip::ZipArchive::new(Cursor::new(a)).unwrap();
    let mut text = String::new();
    zip.by_name("sub/kept.txt")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "kept");
}

#[test]
fn files_over_the_limit_are_left_out_with_their_size() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "big.bin", &"x".repeat(2000));
    write(dir.path(), "small.txt", "x");
    let opts = ExportOptions {
        max_file_bytes: Some(1000),
        ..Default::default()
    };
    let plan = plan(dir.path(), &opts).unwrap();
    assert_eq!(names(&plan), ["small.txt"]);
    assert_eq!(
        plan.skipped,
        [Skipped {
            path: "big.bin".into(),
            reason: SkipReason::TooLarge,
            size: Some(2000),
        }]
    );
    let all = super::plan(dir.path(), &ExportOptions::default()).unwrap();
    assert_eq!(names(&all), ["big.bin", "small.txt"]);
}

#[cfg(unix)]
#[test]
fn a_link_into_git_metadata_is_not_exported() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, ".git/config", "[remote] url = https://token@host/x\n");
    std::os::unix::fs::symlink(".git/config", r.join("cfg")).unwrap();
    let plan = plan(r, &ExportOptions::default()).unwrap();
    assert!(names(&plan).is_empty(), "{:?}", names(&plan));
    assert_eq!(skipped(&plan, SkipReason::SymlinkOutside), ["cfg"]);
}

#[test]
fn below_a_directory_left_out_nothing_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad:name/inner.txt", "x");
    write(dir.path(), "ok/inner.txt", "x");
    let plan = plan(dir.path(), &ExportOptions::default()).unwrap();
    assert_eq!(names(&plan), ["ok", "ok/inner.txt"]);
    assert_eq!(skipped(&plan, SkipReason::UnsafeName), ["bad:name"]);
}

#[test]
fn extra_files_go_under_a_directory_the_project_does_not_use() {
    let dir = project();
    let extra = |dirs: &[&str]| ExportOptions {
        extra: Some(super::Extra {
            dirs: dirs.iter().map(|d| d.to_string()).collect(),
            files: vec![("log.jsonl".into(), b"{}\n".to_vec())],
        }),
        ..ExportOptions::default()
    };
    let p = plan(dir.path(), &extra(&["samocoder", "other"])).unwrap();
    assert_eq!(p.extra_dir.as_deref(), Some("samocoder"));
    assert!(names(&p).contains(&"samocoder/log.jsonl"));
    std::fs::create_dir_all(dir.path().join("samocoder")).unwrap();
    std::fs::write(dir.path().join("samocoder/__init__.py"), "").unwrap();
    let p = plan(dir.path(), &extra(&["samocoder", "other"])).unwrap();
    assert_eq!(
        p.extra_dir.as_deref(),
        Some("other"),
        "the project's own samocoder/ is kept"
    );
    assert!(names(&p).contains(&"samocoder/__init__.py") && names(&p).contains(&"other/log.jsonl"));
    assert!(matches!(
        plan(dir.path(), &extra(&["samocoder"])),
        Err(super::ExportError::ExtraDirTaken(_))
    ));
}

#[test]
fn partial_names_match_only_this_destinations_pattern() {
    assert!(is_partial_name(".out.zip.aB3xY9.partial", "out.zip"));
    for name in [
        ".out.zip.aB3xY9.partial.keep",
        ".out.zip.aB3xY.partial",
        ".out.zip.aB3xY9z.partial",
        ".out.zip.aB-xY9.partial",
        "out.zip.aB3xY9.partial",
        ".other.zip.aB3xY9.partial",
        ".out.zip.partial",
        "out.zip",
    ] {
        assert!(!is_partial_name(name, "out.zip"), "{name}");
    }
}

/// Regression: an export killed before its rename left its `.NAME.zip.<6 random characters>.partial` file forever.
#[test]
fn regression_stale_partial_archives_were_left_forever() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in [
        ".out.zip.abc123.partial",
        ".out.zip.abc123.partial.keep",
        ".other.zip.abc123.partial",
    ] {
        fs::write(d.join(name), "x").unwrap();
    }
    // A running export's file: locked by its writer.
    let live = d.join(".out.zip.live99.partial");
    let held = fs::File::create(&live).unwrap();
    held.lock().unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/nonexistent", d.join(".out.zip.link12.partial")).unwrap();
    assert_eq!(remove_stale_partials(d, "out.zip"), 1);
    assert!(!d.join(".out.zip.abc123.partial").exists());
    assert!(live.exists() && d.join(".out.zip.abc123.partial.keep").exists());
    assert!(d.join(".other.zip.abc123.partial").exists());
    #[cfg(unix)]
    assert!(fs::symlink_metadata(d.join(".out.zip.link12.partial")).is_ok());
    drop(held);
    // Once its writer is gone, the next export to the same destination removes it.
    let dest = d.join("out.zip");
    write_atomically(&dest, false, |f| {
        f.write_all(b"zip").map_err(ExportError::Archive)
    })
    .unwrap();
    assert!(!live.exists());
    assert_eq!(fs::read(&dest).unwrap(), b"zip");
}

struct StopAfter(std::cell::Cell<u32>);

impl Progress for StopAfter {
    fn cancelled(&self) -> bool {
        let left = self.0.get();
        self.0.set(left.saturating_sub(1));
        left == 0
    }
}

#[test]
fn an_interrupted_export_removes_its_partial_file_and_writes_nothing() {
    let src = project();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("p.zip");
    let mut stop = StopAfter(std::cell::Cell::new(2));
    let err = export_to_file(
        src.path(),
        &dest,
        &ExportOptions::default(),
        false,
        &mut stop,
    )
    .unwrap_err();
    assert!(matches!(err, ExportError::Interrupted), "{err}");
    assert_eq!(err.exit(), crate::exit::Exit::Interrupted);
    assert_eq!(fs::read_dir(out.path()).unwrap().count(), 0);
}
