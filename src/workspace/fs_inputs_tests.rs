//! File-system inputs a model can point a tool at: FIFOs, sockets, devices, and paths the OS
//! refuses. Each is an answer for the model, never a hang or a failed run.

use super::*;

fn mkfifo(path: &std::path::Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
}

fn ws() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path()).unwrap();
    (dir, ws)
}

/// Runs `f` on its own thread; fails the test instead of hanging it.
fn with_deadline<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("blocked on a FIFO for 30 s")
}

#[test]
fn regression_read_file_on_a_fifo_does_not_block() {
    with_deadline(fifo_reads);
}

fn fifo_reads() {
    let (d, ws) = ws();
    mkfifo(&d.path().join("pipe"));
    let p = ws.resolve("pipe").unwrap();
    let err = ws.read(&p, 1024).unwrap_err();
    assert!(err.is_model_error(), "{err}");
    assert_eq!(
        err.to_string(),
        "`pipe` is a FIFO (named pipe), not a regular file; samocoder reads and writes only regular files"
    );
    // Every other way a tool opens a file: edit, digest, and a link to the FIFO.
    assert!(matches!(
        ws.edit(&p, "a", "b", 1024),
        Err(WorkspaceError::NotRegular { .. })
    ));
    assert!(matches!(
        ws.digest(&p),
        Err(WorkspaceError::NotRegular { .. })
    ));
    std::os::unix::fs::symlink("pipe", d.path().join("link")).unwrap();
    let err = ws.read(&ws.resolve("link").unwrap(), 1024).unwrap_err();
    assert!(matches!(err, WorkspaceError::NotRegular { .. }), "{err}");
}

#[test]
fn regression_read_file_on_a_socket_is_a_tool_error() {
    let (d, ws) = ws();
    let _l = std::os::unix::net::UnixListener::bind(d.path().join("sock")).unwrap();
    let err = ws.read(&ws.resolve("sock").unwrap(), 1024).unwrap_err();
    assert!(err.is_model_error(), "{err}");
    assert!(
        err.to_string().contains("is a socket, not a regular file"),
        "{err}"
    );
}

#[test]
fn regression_a_path_too_long_once_absolute_is_a_tool_error() {
    let (_d, ws) = ws();
    // Legal relative path (components of 255 bytes, under 4096 in all), too long with the root.
    let comp = "d".repeat(255);
    let rel = vec![comp.as_str(); 16].join("/");
    assert!(rel.len() <= 4096);
    let err = ws
        .resolve(&rel)
        .and_then(|p| ws.read(&p, 1024))
        .unwrap_err();
    assert!(err.is_model_error(), "{err}");
    assert!(
        err.to_string().len() < 400,
        "the message cuts the path: {err}"
    );
    let err = ws
        .resolve(&rel)
        .and_then(|p| ws.write_atomic(&p, b"x", 1024))
        .unwrap_err();
    assert!(err.is_model_error(), "{err}");
}

#[test]
fn a_write_onto_a_fifo_replaces_it_without_opening_it() {
    let (d, ws) = ws();
    mkfifo(&d.path().join("pipe"));
    // Opening the FIFO for writing would block (no reader): the rename never opens it.
    let out = ws
        .write_atomic(&ws.resolve("pipe").unwrap(), b"now a file\n", 1024)
        .unwrap();
    assert!(!out.created);
    assert!(
        std::fs::symlink_metadata(d.path().join("pipe"))
            .unwrap()
            .is_file()
    );
    assert_eq!(
        std::fs::read(d.path().join("pipe")).unwrap(),
        b"now a file\n"
    );
}

#[test]
fn maps_and_listings_skip_special_files_without_opening_them() {
    let (d, ws) = ws();
    std::fs::write(d.path().join("a.py"), "def f():\n    pass\n").unwrap();
    mkfifo(&d.path().join("pipe.py"));
    let map = ws.project_map(Default::default()).unwrap().render();
    assert!(map.contains("a.py"), "{map}");
    let repo = ws.repo_map(None, 4000).unwrap();
    assert!(repo.text.contains("a.py"), "{}", repo.text);
    let err = with_deadline(move || ws.open_listed(std::path::Path::new("pipe.py")).unwrap_err());
    assert!(
        err.to_string()
            .contains("is a FIFO (named pipe), not a regular file"),
        "{err}"
    );
}
