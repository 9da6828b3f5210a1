//! `samocoder prices import FILE.json` and `prices show [MODEL]`: the price table that costs
//! are computed with. An imported LiteLLM file is stored under the data directory
//! (`prices.json`) and overlays the shipped table: its models win, the others stay.
use super::Result;

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{Ctx, UsageError};
use crate::exit::Exit;
use crate::llm::pricing::{self, ModelPrice, Pricing};

#[derive(Debug, Args)]
pub struct PricesArgs {
    #[command(subcommand)]
    command: PricesCommand,
}

#[derive(Debug, Subcommand)]
enum PricesCommand {
    /// Import LiteLLM's model_prices_and_context_window.json; its prices win over the shipped ones.
    Import {
        /// The LiteLLM JSON file.
        file: PathBuf,
        /// Where the file comes from (kept in the table), e.g. "litellm 1.80.0".
        #[arg(long, value_name = "TEXT")]
        source: Option<String>,
    },
    /// Show the prices in use (config overrides included) for every model or those matching MODEL.
    Show {
        /// Only models whose `PROVIDER:MODEL` contains this text.
        model: Option<String>,
    },
}

pub fn run(args: PricesArgs, ctx: &Ctx) -> Result<Exit> {
    match args.command {
        PricesCommand::Import { file, source } => import(ctx, &file, source),
        PricesCommand::Show { model } => show(ctx, model.as_deref()),
    }
}

fn import(ctx: &Ctx, file: &std::path::Path, source: Option<String>) -> Result<Exit> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", file.display())))?;
    let mut table = pricing::import_litellm(&text)?;
    table.source = match source {
        Some(s) => format!("{} ({s})", table.source),
        None => format!("{} ({})", table.source, file.display()),
    };
    table.generated = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let dest = pricing::user_table_path(&ctx.paths.data_dir);
    std::fs::create_dir_all(&ctx.paths.data_dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(&ctx.paths.data_dir)?;
    tmp.write_all(table.to_json().as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(&dest).map_err(|e| e.error)?;
    let n = table.models.len();
    if ctx.ui.json() {
        ctx.ui.json_doc(&serde_json::json!({
            "models": n,
            "path": dest,
            "source": table.source,
        }))?;
    } else {
        ctx.ui.out(format!(
            "Imported prices for {n} models into {}; they now win over the shipped table.",
            dest.display()
        ))?;
    }
    Ok(Exit::Ok)
}

#[derive(Debug, Serialize)]
struct Row<'a> {
    model: &'a str,
    /// `table` or `override` (from the config).
    source: &'static str,
    #[serde(flatten)]
    price: &'a ModelPrice,
}

fn show(ctx: &Ctx, filter: Option<&str>) -> Result<Exit> {
    let config = ctx.config()?;
    let table = pricing::load_table(&ctx.paths.data_dir)?;
    let mut all: Vec<(String, ModelPrice, &'static str)> = table
        .models
        .iter()
        .map(|(k, p)| (k.clone(), p.clone(), "table"))
        .collect();
    let pricing = Pricing::new(table.clone(), config.prices.clone());
    for key in config.prices.keys() {
        if let Ok(m) = key.parse()
            && let Some((p, _)) = pricing.price(&m)
        {
            all.retain(|(k, _, _)| k != key);
            all.push((key.clone(), p, "override"));
        }
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.retain(|(k, _, _)| filter.is_none_or(|f| k.contains(f)));
    if ctx.ui.json() {
        let rows: Vec<Row<'_>> = all
            .iter()
            .map(|(k, p, s)| Row {
                model: k,
                source: s,
                price: p,
            })
            .collect();
        ctx.ui.json_doc(&serde_json::json!({
            "table_source": table.source,
            "generated": table.generated,
            "unit": table.unit,
            "models": rows,
        }))?;
        return Ok(Exit::Ok);
    }
    if all.is_empty() {
        return Err(UsageError(format!(
            "no known price for a model matching `{}`: add [prices.\"PROVIDER:MODEL\"] to the config",
            filter.unwrap_or("")
        ))
        .into());
    }
    let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|(k, p, s)| {
            vec![
                k.clone(),
                p.input.to_string(),
                p.output.to_string(),
                opt(p.cache_read),
                opt(p.cache_write),
                p.context_window
                    .map_or_else(|| "-".to_string(), |c| c.to_string()),
                s.to_string(),
            ]
        })
        .collect();
    ctx.ui.out(crate::ui::table(
        &[
            "MODEL",
            "IN $/M",
            "OUT $/M",
            "CACHE READ",
            "CACHE WRITE",
            "CONTEXT",
            "SOURCE",
        ],
        &rows,
    ))?;
    ctx.ui.info(format!(
        "Prices: {} ({}), {}.",
        table.source, table.generated, table.unit
    ));
    Ok(Exit::Ok)
}
