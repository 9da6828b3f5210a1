//! Confinement tests across modules: random paths never escape, symlinks never redirect.

use proptest::prelude::*;

use super::*;

fn component() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "..", ".", "a", "b", "/", "\\", "C:", ".git", ".GIT", "\0", "", "link", "x:", "~",
    ])
}

fn project_with_outside_link() -> (tempfile::TempDir, tempfile::TempDir, Workspace) {
    let proj = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
    std::fs::create_dir_all(proj.path().join("a/b")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), proj.path().join("link")).unwrap();
    let ws = Workspace::open(proj.path()).unwrap();
    (proj, outside, ws)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn resolved_paths_stay_inside_root(parts in prop::collection::vec(component(), 0..8), sep in prop::sample::select(vec!["/", "\\", ""])) {
        let (_p, outside, ws) = project_with_outside_link();
        let rel = parts.join(sep);
        if let Ok(safe) = ws.resolve(&rel) {
            prop_assert!(safe.abs().starts_with(ws.root()));
            prop_assert!(!safe.rel().is_empty());
            prop_assert!(!safe.rel().split('/').any(|c| c == ".." || c == "." || c.is_empty()));
            prop_assert!(!safe.rel().to_ascii_lowercase().split('/').any(|c| c == ".git"));
            prop_assert!(!safe.rel().contains('\0'));
            // Whatever resolved must not lead into the outside directory through the link.
            if let Ok(real) = std::fs::canonicalize(safe.abs()) {
                prop_assert!(!real.starts_with(std::fs::canonicalize(outside.path()).unwrap()));
            }
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,64}") {
        let (_p, _o, ws) = project_with_outside_link();
        if let Ok(safe) = ws.resolve(&s) {
            prop_assert!(safe.abs().starts_with(ws.root()));
        }
    }
}

#[cfg(unix)]
#[test]
fn symlink_to_outside_is_refused_for_read_and_write() {
    let (proj, outside, ws) = project_with_outside_link();
    for p in [
        "link/secret.txt",
        "link/new.txt",
        "link",
        "a/../link/secret.txt",
    ] {
        let err = ws.resolve(p).unwrap_err();
        assert!(
            err.to_string().contains("outside the project"),
            "{p}: {err}"
        );
        assert!(err.is_model_error());
    }
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        proj.path().join("a/file"),
    )
    .unwrap();
    assert!(ws.resolve("a/file").is_err());
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret.txt")).unwrap(),
        "outside"
    );
    assert!(!outside.path().join("new.txt").exists());
}

#[cfg(unix)]
#[test]
fn symlink_inside_is_followed_for_reads_and_replaced_on_write() {
    let (proj, _o, ws) = project_with_outside_link();
    std::fs::write(proj.path().join("a/b/real.txt"), "real").unwrap();
    std::os::unix::fs::symlink("b/real.txt", proj.path().join("a/alias")).unwrap();
    let alias = ws.resolve("a/alias").unwrap();
    assert_eq!(ws.read(&alias, 100).unwrap(), "real");
    ws.write_atomic(&alias, b"new", 100).unwrap();
    assert_eq!(
        std::fs::read_to_string(proj.path().join("a/b/real.txt")).unwrap(),
        "real"
    );
    assert!(
        !std::fs::symlink_metadata(proj.path().join("a/alias"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // A directory link inside the project is a fine parent.
    std::os::unix::fs::symlink("a/b", proj.path().join("bdir")).unwrap();
    let p = ws.resolve("bdir/c.txt").unwrap();
    ws.write_atomic(&p, b"c", 10).unwrap();
    assert_eq!(
        std::fs::read_to_string(proj.path().join("a/b/c.txt")).unwrap(),
        "c"
    );
}

#[cfg(unix)]
#[test]
fn symlink_into_git_dir_is_refused() {
    let (proj, _o, ws) = project_with_outside_link();
    std::fs::create_dir(proj.path().join(".git")).unwrap();
    std::fs::write(proj.path().join(".git/config"), "x").unwrap();
    std::os::unix::fs::symlink(".git", proj.path().join("g")).unwrap();
    assert!(
        ws.resolve("g/config")
            .unwrap_err()
            .to_string()
            .contains("managed by samocoder")
    );
}

#[cfg(unix)]
#[test]
fn parent_replaced_by_outside_link_after_resolve_is_refused_at_write() {
    let (proj, outside, ws) = project_with_outside_link();
    let p = ws.resolve("late/x.txt").unwrap();
    std::os::unix::fs::symlink(outside.path(), proj.path().join("late")).unwrap();
    assert!(ws.write_atomic(&p, b"x", 10).is_err());
    assert!(!outside.path().join("x.txt").exists());
}
