//! Rerunnable benchmark of what the sandbox adds to one command: `true` run N times (default
//! 200) through the real runner directly (`sh -c`), through the helper with the sandbox off
//! (parent-death supervision only), and sandboxed (namespaces, Landlock, seccomp), with and
//! without the network. Prints the median and 90th percentile of each and the median added
//! by the sandbox. Target: under 5 ms added to `true`.
//!
//! `cargo build --release && cargo run --release --example sandbox_bench [N]`
//! (the helper is `target/release/samocoder`; set SAMOCODER_BIN to use another binary).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use samocoder::config::{Env, Paths};
use samocoder::exec::sandbox::{
    Availability, SandboxConfig, SandboxFlags, SandboxMode, base_for, resolve,
};
use samocoder::exec::{
    ApprovalPolicy, CommandSpec, Runner, SandboxRuntime, ShellRunner, child_env,
};

fn runner(
    exe: &std::path::Path,
    home: &std::path::Path,
    mode: Option<SandboxMode>,
    network: bool,
) -> ShellRunner {
    let env = Env::from_process();
    let direct = ShellRunner::new(child_env(&env, &[], &[], true));
    let Some(mode) = mode else { return direct };
    let yes = Availability {
        confines_files: true,
        summary: String::new(),
        missing: vec![],
    };
    let flags = SandboxFlags {
        mode: Some(mode),
        network,
    };
    let settings = resolve(
        flags,
        &SandboxConfig::default(),
        ApprovalPolicy::Auto,
        &yes,
        None,
        &[],
    )
    .expect("settings");
    let base = base_for(&env, &Paths::under(home), &settings);
    direct.with_sandbox(SandboxRuntime {
        exe: exe.to_path_buf(),
        base,
        settings,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200);
    let exe = std::env::var_os("SAMOCODER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/samocoder"));
    if !exe.is_file() {
        return Err(format!(
            "{} is missing: run `cargo build --release` first",
            exe.display()
        )
        .into());
    }
    let exe = std::fs::canonicalize(&exe)?;
    let dir = tempfile::tempdir()?;
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let cases = [
        ("direct sh -c true", None, false),
        ("helper, sandbox off", Some(SandboxMode::Off), false),
        (
            "sandboxed, network off",
            Some(SandboxMode::WorkspaceWrite),
            false,
        ),
        (
            "sandboxed, network on",
            Some(SandboxMode::WorkspaceWrite),
            true,
        ),
    ];
    println!(
        "{n} runs of `true` each, the cases interleaved ({})",
        exe.display()
    );
    let runners: Vec<ShellRunner> = cases
        .iter()
        .map(|(_, mode, network)| runner(&exe, &dir.path().join("home"), *mode, *network))
        .collect();
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(n); cases.len()];
    rt.block_on(async {
        // Round-robin, so a noisy moment on a shared machine hits every case alike.
        for i in 0..n + 5 {
            for (k, r) in runners.iter().enumerate() {
                let spec = CommandSpec::new("true", &project, Duration::from_secs(30));
                let started = Instant::now();
                let out = r.run(spec).await.expect("run");
                assert!(out.success(), "{}: {}", cases[k].0, out.for_model());
                if i >= 5 {
                    times[k].push(started.elapsed());
                }
            }
        }
    });
    let mut medians = Vec::new();
    for ((name, _, _), t) in cases.iter().zip(times.iter_mut()) {
        t.sort();
        let median = percentile(t, 0.5);
        println!(
            "{name:<24} median {:>6.2} ms   p90 {:>6.2} ms",
            median.as_secs_f64() * 1e3,
            percentile(t, 0.9).as_secs_f64() * 1e3
        );
        medians.push(median);
    }
    let added = medians[2].saturating_sub(medians[0]);
    println!(
        "added by the sandbox (median, network off): {:.2} ms (target < 5 ms)",
        added.as_secs_f64() * 1e3
    );
    Ok(())
}
