//! Helpers shared by the workspace's unit tests.

use super::fs::Workspace;

/// An empty project in a temporary directory.
pub fn new_ws() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path()).unwrap();
    (dir, ws)
}

/// A project holding `files` (path, content), directories made as needed.
pub fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    for (p, c) in files {
        let p = dir.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, c).unwrap();
    }
    let ws = Workspace::open(dir.path()).unwrap();
    (dir, ws)
}

/// Writes `c` to `p` through the workspace (as the model's tools do).
pub fn write(ws: &Workspace, p: &str, c: &str) {
    ws.write_atomic(&ws.resolve(p).unwrap(), c.as_bytes(), 1 << 20)
        .unwrap();
}
