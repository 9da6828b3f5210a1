//! `samocoder prices import FILE`, `prices show [MODEL]` and `prices reset`: the price table
//! that costs are computed with. An imported file (LiteLLM's, models.dev's `api.json` or an
//! OpenRouter `/api/v1/models` answer, told apart by their shape) is merged into the imported
//! table under the data directory (`prices.json`), which overlays the shipped table: its
//! models win, the others stay.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{Ctx, Result, UsageError};
use crate::config::is_valid_name;
use crate::exit::Exit;
use crate::llm::pricing::{self, ImportSpec, ModelPrice, PriceTable, Pricing};

/// Largest price file read (LiteLLM's is about 3 MB).
const MAX_FILE_BYTES: u64 = 64 << 20;

#[derive(Debug, Args)]
pub struct PricesArgs {
    #[command(subcommand)]
    command: PricesCommand,
}

#[derive(Debug, Subcommand)]
enum PricesCommand {
    /// Import prices: LiteLLM's model_prices_and_context_window.json, models.dev's api.json or
    /// OpenRouter's GET /api/v1/models answer. Its prices win over the shipped ones.
    Import {
        /// The JSON file.
        file: PathBuf,
        /// The version of the file, kept with every call it prices (default: today's date).
        #[arg(long, value_name = "TEXT")]
        source: Option<String>,
        /// Only this provider's prices (LiteLLM, models.dev); for an OpenRouter answer, the
        /// provider to file them under (default: openrouter).
        #[arg(long, value_name = "NAME")]
        provider: Option<String>,
    },
    /// Show the prices in use (config overrides included) for every model or those matching MODEL.
    Show {
        /// Only models whose `PROVIDER:MODEL` contains this text.
        model: Option<String>,
    },
    /// Forget the imported prices: the shipped table (and the config's [prices]) apply again.
    Reset,
}

pub fn run(args: PricesArgs, ctx: &Ctx) -> Result<Exit> {
    match args.command {
        PricesCommand::Import {
            file,
            source,
            provider,
        } => import(ctx, &file, source, provider),
        PricesCommand::Show { model } => show(ctx, model.as_deref()),
        PricesCommand::Reset => reset(ctx),
    }
}

fn read_capped(file: &Path) -> Result<String> {
    let cannot =
        |e: &dyn std::fmt::Display| UsageError(format!("cannot read {}: {e}", file.display()));
    let meta = std::fs::metadata(file).map_err(|e| cannot(&e))?;
    if !meta.is_file() {
        return Err(cannot(&"not a regular file").into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(cannot(&format!(
            "{} MB is larger than any price list ({} MB at most)",
            meta.len() >> 20,
            MAX_FILE_BYTES >> 20
        ))
        .into());
    }
    Ok(std::fs::read_to_string(file).map_err(|e| cannot(&e))?)
}

fn import(
    ctx: &Ctx,
    file: &Path,
    source: Option<String>,
    provider: Option<String>,
) -> Result<Exit> {
    if let Some(p) = &provider
        && !is_valid_name(p)
    {
        return Err(UsageError(format!(
            "--provider {p:?} is not a provider name: use lowercase letters, digits, - and _"
        ))
        .into());
    }
    if let Some(s) = &source
        && (s.trim().is_empty() || s.chars().any(char::is_control) || s.len() > 100)
    {
        return Err(UsageError(
            "--source must be a short line of text, e.g. \"1.80.0\" or \"2026-12-01\"".into(),
        )
        .into());
    }
    let config = ctx.config()?;
    let text = read_capped(file)?;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let version = source
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| today.clone());
    let providers = match &provider {
        Some(p) => vec![p.clone()],
        None => config.providers.keys().cloned().collect(),
    };
    let spec = ImportSpec {
        providers,
        openrouter_as: provider.clone().unwrap_or_else(|| "openrouter".into()),
        version: version.clone(),
        file: file.file_name().map(|n| n.to_string_lossy().into_owned()),
        source_id: "import".into(),
    };
    let (format, mut fresh) = pricing::import(&text, &spec)?;
    // The source id is the label itself, so imports of different files or versions never
    // share an id (nor with the shipped sources, `litellm` and `models.dev`).
    fresh.rename_source("import", &format!("{} {version}", format.name()));
    fresh.version = today;

    let data_dir = &ctx.paths.data_dir;
    let dest = pricing::user_table_path(data_dir);
    // A broken imported table is replaced: importing again is what its error message says.
    let merged = match pricing::load_user_table(data_dir) {
        Ok(Some(old)) => old.overlay(fresh.clone()),
        Ok(None) => fresh.clone(),
        Err(e) => {
            ctx.ui.warn(format!("{e}; it is replaced"));
            fresh.clone()
        }
    };
    std::fs::create_dir_all(data_dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(data_dir)?;
    tmp.write_all(merged.to_json().as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(&dest).map_err(|e| e.error)?;
    if let Ok(dir) = std::fs::File::open(data_dir) {
        let _ = dir.sync_all();
    }

    let per = fresh.rows_per_provider();
    let label = fresh
        .sources
        .values()
        .next()
        .map(|s| s.label())
        .unwrap_or_default();
    if ctx.ui.json() {
        ctx.ui.json_doc(&serde_json::json!({
            "format": format.name(),
            "source": label,
            "models": fresh.models.len(),
            "per_provider": per,
            "imported_models": merged.models.len(),
            "path": dest,
        }))?;
    } else {
        let list: Vec<String> = per.iter().map(|(p, n)| format!("{p} {n}")).collect();
        ctx.ui.out(format!(
            "Imported {} prices from {label} ({}) into {}; they now win over the shipped table.",
            fresh.models.len(),
            list.join(", "),
            dest.display()
        ))?;
    }
    Ok(Exit::Ok)
}

fn reset(ctx: &Ctx) -> Result<Exit> {
    let path = pricing::user_table_path(&ctx.paths.data_dir);
    let removed = match std::fs::remove_file(&path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            return Err(UsageError(format!("cannot remove {}: {e}", path.display())).into());
        }
    };
    if ctx.ui.json() {
        ctx.ui
            .json_doc(&serde_json::json!({"removed": removed, "path": path}))?;
    } else if removed {
        ctx.ui.out(format!(
            "Removed the imported prices ({}); the shipped table applies.",
            path.display()
        ))?;
    } else {
        ctx.ui
            .out("No imported prices; the shipped table applies.")?;
    }
    Ok(Exit::Ok)
}

#[derive(Debug, Serialize)]
struct Row<'a> {
    model: &'a str,
    /// The source's label (`models.dev 1.0.398`) or `config`.
    source: String,
    /// The prices (their source id left out: `source` says it in words).
    #[serde(flatten)]
    price: ModelPrice,
}

fn show(ctx: &Ctx, filter: Option<&str>) -> Result<Exit> {
    let config = ctx.config()?;
    let user = pricing::load_user_table(&ctx.paths.data_dir)?;
    let shipped = PriceTable::shipped();
    let table = match &user {
        Some(u) => shipped.clone().overlay(u.clone()),
        None => shipped.clone(),
    };
    let mut all: Vec<(String, ModelPrice, String)> = table
        .models
        .iter()
        .map(|(k, p)| (k.clone(), p.clone(), table.label_of(p)))
        .collect();
    let pricing = Pricing::new(table.clone(), config.prices.clone());
    for key in config.prices.keys() {
        if let Ok(m) = key.parse()
            && let Some((p, _)) = pricing.price(&m)
        {
            all.retain(|(k, _, _)| k != key);
            all.push((key.clone(), p, pricing::CONFIG_LABEL.to_string()));
        }
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.retain(|(k, _, _)| filter.is_none_or(|f| k.contains(f)));
    let free: Vec<&str> = config
        .providers
        .values()
        .filter(|p| p.free)
        .map(|p| p.name.as_str())
        .collect();
    if ctx.ui.json() {
        let rows: Vec<Row<'_>> = all
            .iter()
            .map(|(k, p, s)| Row {
                model: k,
                source: s.clone(),
                price: ModelPrice {
                    source: String::new(),
                    ..p.clone()
                },
            })
            .collect();
        ctx.ui.json_doc(&serde_json::json!({
            "shipped": {"version": shipped.version, "sources": shipped.sources},
            "imported": user.as_ref().map(|u| serde_json::json!({"version": u.version, "sources": u.sources})),
            "unit": table.unit,
            "free_providers": free,
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
    let num = |v: f64| v.to_string();
    let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), num);
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|(k, p, s)| {
            vec![
                k.clone(),
                num(p.input),
                num(p.output),
                opt(p.cache_read),
                opt(p.cache_write),
                opt(p.reasoning),
                tiers_text(p),
                p.context_window
                    .map_or_else(|| "-".to_string(), |c| c.to_string()),
                s.clone(),
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
            "REASONING",
            "LONG PROMPTS",
            "CONTEXT",
            "SOURCE",
        ],
        &rows,
    ))?;
    let describe = |t: &PriceTable| {
        t.sources
            .values()
            .map(|s| match &s.licence {
                Some(l) => format!("{} ({l})", s.label()),
                None => s.label(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    ctx.ui.info(format!(
        "Shipped table of {}: {}. Prices in {}.",
        shipped.version,
        describe(&shipped),
        table.unit
    ));
    if let Some(u) = &user {
        ctx.ui
            .info(format!("Imported (they win): {}.", describe(u)));
    }
    if !free.is_empty() {
        ctx.ui
            .info(format!("Declared free (free = true): {}.", free.join(", ")));
    }
    Ok(Exit::Ok)
}

/// `>200k: 6/22.5` per tier, `-` without tiers.
fn tiers_text(p: &ModelPrice) -> String {
    if p.tiers.is_empty() {
        return "-".into();
    }
    p.tiers
        .iter()
        .map(|t| {
            let k = t.above_input_tokens.div_ceil(1000);
            format!(">{k}k: {}/{}", t.input, t.output)
        })
        .collect::<Vec<_>>()
        .join(" ")
}
