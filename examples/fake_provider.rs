//! The fake provider server as a standalone process, for benchmarks and manual runs.
//!
//! ```text
//! cargo run --example fake_provider -- [--port N] [--script replies.json] [--ttft-ms MS] [--tps N]
//! ```
//! `--script` is a JSON array of replies as in `tests/common/fake_provider.rs` (`Reply`), e.g.
//! `[{"kind":"answer","text":"hello"},{"kind":"error","status":429,"error_type":"rate_limit_error","message":"slow down","headers":[["retry-after","1"]]}]`.
//! When the script runs out, every request gets an echo answer. Prints the base URL on stdout.

#[path = "../tests/common/fake_provider.rs"]
mod fake_provider;

use fake_provider::{FakeProvider, Reply, Timing};

fn usage() -> ! {
    eprintln!("usage: fake_provider [--port N] [--script FILE] [--ttft-ms MS] [--tps N]");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let mut port = 0u16;
    let mut script: Vec<Reply> = Vec::new();
    let mut timing = Timing::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--port" => port = value.parse().unwrap_or_else(|_| usage()),
            "--ttft-ms" => timing.ttft_ms = value.parse().unwrap_or_else(|_| usage()),
            "--tps" => timing.tokens_per_s = value.parse().unwrap_or_else(|_| usage()),
            "--script" => {
                let text = std::fs::read_to_string(&value).unwrap_or_else(|e| {
                    eprintln!("cannot read {value}: {e}");
                    std::process::exit(2)
                });
                script = serde_json::from_str(&text).unwrap_or_else(|e| {
                    eprintln!("{value} is not a JSON array of replies: {e}");
                    std::process::exit(2)
                });
            }
            _ => usage(),
        }
    }
    let server = FakeProvider::start_on(port).await.unwrap_or_else(|e| {
        eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
        std::process::exit(1)
    });
    server.set_timing(timing);
    for reply in script {
        server.push(reply);
    }
    println!("{}", server.base_url());
    let _ = tokio::signal::ctrl_c().await;
}
