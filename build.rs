//! Embeds everything under `templates/` (starter projects and prompt templates) into the binary,
//! so an installed `samocoder` has them without the source tree; and hands the linker the
//! release binary's function order (`linker/samocoder.order`, docs/link-order.md).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

#[path = "linker/fnv.rs"]
mod fnv;
use fnv::fnv1a64;

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
    link_order(&manifest);
}

/// Release builds of `samocoder` link the functions that common commands run first and
/// together (the list in `linker/samocoder.order`), so a command maps a few megabytes of the
/// binary instead of most of it. Only where the linker is known to be LLD, rustc's own on
/// x86_64-unknown-linux-gnu since 1.90, and no linker is configured; `SAMOCODER_LINK_ORDER=0`
/// turns it off. A list made for another rustc or Cargo.lock still links (names it does not
/// find are skipped) but saves less: the build says so.
fn link_order(manifest: &Path) {
    println!("cargo:rerun-if-changed=linker/samocoder.order");
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-env-changed=SAMOCODER_LINK_ORDER");
    let file = manifest.join("linker/samocoder.order");
    let var = |name: &str| env::var(name).unwrap_or_default();
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let own_linker = env::var_os("RUSTC_LINKER").is_some()
        || flags.split('\x1f').any(|f| {
            f.contains("linker") || f.contains("fuse-ld") || f.contains("link-self-contained")
        });
    let Some(path) = file.to_str().filter(|p| !p.contains(',')) else {
        return;
    };
    if var("SAMOCODER_LINK_ORDER") == "0"
        || var("PROFILE") != "release"
        || var("TARGET") != "x86_64-unknown-linux-gnu"
        || own_linker
        || !file.is_file()
    {
        return;
    }
    let rustc = std::process::Command::new(env::var_os("RUSTC").unwrap_or("rustc".into()))
        .arg("-V")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let minor = rustc
        .strip_prefix("rustc 1.")
        .and_then(|r| r.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    if minor.is_none_or(|m| m < 90) {
        return;
    }
    println!("cargo:rustc-link-arg-bin=samocoder=-Wl,--symbol-ordering-file={path}");
    println!("cargo:rustc-link-arg-bin=samocoder=-Wl,--no-warn-symbol-ordering");
    let list = fs::read_to_string(&file).unwrap_or_default();
    let lock = fs::read(manifest.join("Cargo.lock")).unwrap_or_default();
    let made_for = |key: &str| {
        list.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .unwrap_or("")
            .to_string()
    };
    if made_for("# rustc:") != rustc || made_for("# Cargo.lock fnv1a64:") != fnv1a64(&lock) {
        println!(
            "cargo:warning=linker/samocoder.order was made for another rustc or Cargo.lock: the \
             binary works but uses more memory; run scripts/link-order.sh to refresh it"
        );
    }
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
