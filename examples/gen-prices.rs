//! Regenerates `src/llm/prices.json` from LiteLLM's price table, with the same library function
//! as `samocoder prices import`:
//!
//! ```sh
//! cargo run --example gen-prices -- ../shared/data/litellm-model-prices.json \
//!     "litellm 1.109.1 wheel" 2026-11-25 > src/llm/prices.json
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, version, date] = args.as_slice() else {
        eprintln!("usage: gen-prices LITELLM_JSON VERSION YYYY-MM-DD > src/llm/prices.json");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {file}: {e}");
            return ExitCode::from(2);
        }
    };
    match samocoder::llm::pricing::import_litellm(&text) {
        Ok(mut table) => {
            table.source = format!(
                "LiteLLM model_prices_and_context_window.json ({version}, MIT), chat models of {}",
                samocoder::llm::pricing::BUILTIN_PROVIDERS.join(", ")
            );
            table.generated = date.clone();
            print!("{}", table.to_json());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
