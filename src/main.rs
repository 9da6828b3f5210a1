//! The `samocoder` binary: parse, run, exit. Everything else lives in the library.

fn main() -> std::process::ExitCode {
    // The sandbox helper runs before anything else (it must stay single-threaded).
    if let Some(code) = samocoder::cli::sandbox_exec::intercept() {
        return code;
    }
    samocoder::cli::sandbox_exec::harden_self();
    samocoder::cli::main()
}
