//! `samocoder-sandbox`: the sandbox helper on its own, a small binary that starts in a
//! fraction of the time of the whole `samocoder` (fewer pages and relocations), so each
//! command pays less. The runner uses it when it sits next to `samocoder`; otherwise
//! `samocoder sandbox-exec` does the same. Not meant to be run by hand.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((sub, rest)) if sub == samocoder::exec::sandbox::helper::SUBCOMMAND => {
            samocoder::exec::sandbox::helper::main(rest)
        }
        _ => samocoder::exec::sandbox::helper::main(&[]),
    }
}
