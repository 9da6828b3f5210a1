//! Embeds everything under `templates/` (starter projects and prompt templates) into the binary,
//! so an installed `samocoder` has them without the source tree.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.join("templates");
    println!("cargo:rerun-if-changed=templates");
    let mut files = Vec::new();
    if root.is_dir() {
        collect(&root, &root, &mut files);
    }
    files.sort();
    let mut out = String::from(
        "/// Every file under `templates/`: (`/`-separated relative path, contents).\n",
    );
    out.push_str("pub static FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        writeln!(out, "    ({rel:?}, include_bytes!({abs:?})),").expect("write to string");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_templates.rs");
    fs::write(dest, out).expect("write embedded_templates.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if path.is_file() {
            let rel = path.strip_prefix(root).expect("under templates/");
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_str().expect("template paths are UTF-8"))
                .collect::<Vec<_>>()
                .join("/");
            files.push((rel, path.to_str().expect("UTF-8 path").to_string()));
        }
    }
}
