//! Reading and merging the layers: defaults, the config file, `SAMOCODER__*` environment
//! variables, and `-c key=value` flags, in that order.

use std::path::Path;

use serde::Deserialize;
use toml::{Table, Value};

use super::Env;
use super::error::ConfigError;
use super::raw::RawConfig;
use super::source::{Source, Sources, join};

/// Prefix of environment overrides: `SAMOCODER__BUDGET__PER_RUN_USD=5` sets `budget.per_run_usd`.
pub const ENV_PREFIX: &str = "SAMOCODER__";

/// The merged TOML of all layers and where each value came from.
pub(super) struct Merged {
    pub table: Table,
    pub sources: Sources,
}

pub(super) fn merge_layers(
    defaults: &str,
    file: Option<(&Path, &str)>,
    env: &Env,
    flags: &[String],
) -> Result<Merged, ConfigError> {
    let mut table: Table = toml::from_str(defaults).expect("built-in defaults are valid TOML");
    let mut sources = Sources::default();
    sources.record("", &Value::Table(table.clone()), &Source::Default);

    if let Some((path, text)) = file {
        let file_table = parse_file(path, text)?;
        let source = Source::File(path.to_path_buf());
        for (k, v) in file_table {
            sources.record(&join("", &k), &v, &source);
            merge_into(&mut table, k, v);
        }
    }

    for (name, value) in env.iter() {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let origin = format!("environment variable {name}");
        let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::Override {
                origin,
                message:
                    "name the key as SAMOCODER__SECTION__KEY (double underscores between parts)"
                        .into(),
            });
        }
        apply(
            &mut table,
            &mut sources,
            &path,
            parse_value(value),
            Source::Env(name.into()),
            &origin,
        )?;
    }

    for flag in flags {
        let origin = format!("-c {flag}");
        let (key, value) = flag.split_once('=').ok_or_else(|| ConfigError::Override {
            origin: origin.clone(),
            message: "write it as KEY=VALUE, e.g. -c budget.per_run_usd=2".into(),
        })?;
        let path = parse_key(key.trim()).map_err(|message| ConfigError::Override {
            origin: origin.clone(),
            message,
        })?;
        apply(
            &mut table,
            &mut sources,
            &path,
            parse_value(value.trim()),
            Source::Flag(flag.clone()),
            &origin,
        )?;
    }
    Ok(Merged { table, sources })
}

/// Parses the file twice: as free TOML (for merging) and against the schema (for unknown keys
/// and wrong types, with line and column).
fn parse_file(path: &Path, text: &str) -> Result<Table, ConfigError> {
    let to_err = |e: toml::de::Error| ConfigError::Parse {
        path: path.to_path_buf(),
        at: e
            .span()
            .map(|s| line_col(text, s.start))
            .unwrap_or_else(|| "somewhere".into()),
        message: e.message().trim().replace('\n', " "),
    };
    let table: Table = toml::from_str(text).map_err(to_err)?;
    toml::from_str::<RawConfig>(text).map_err(to_err)?;
    Ok(table)
}

fn line_col(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {col}")
}

/// Sets one override after checking it against the schema on its own, so an unknown key or a
/// wrong type is reported against the flag or variable that caused it.
fn apply(
    table: &mut Table,
    sources: &mut Sources,
    path: &[String],
    value: Value,
    source: Source,
    origin: &str,
) -> Result<(), ConfigError> {
    let err = |message: String| ConfigError::Override {
        origin: origin.to_string(),
        message,
    };
    let mut alone = Table::new();
    set_path(&mut alone, path, value.clone()).map_err(err)?;
    RawConfig::deserialize(Value::Table(alone))
        .map_err(|e| err(e.to_string().trim().replace('\n', " ")))?;
    set_path(table, path, value.clone()).map_err(err)?;
    let key = path.iter().fold(String::new(), |acc, k| join(&acc, k));
    sources.record(&key, &value, &source);
    Ok(())
}

/// Merges `value` into `table[key]`: tables merge key by key, anything else replaces.
fn merge_into(table: &mut Table, key: String, value: Value) {
    match (table.get_mut(&key), value) {
        (Some(Value::Table(existing)), Value::Table(new)) => {
            for (k, v) in new {
                merge_into(existing, k, v);
            }
        }
        (_, value) => {
            table.insert(key, value);
        }
    }
}

/// Sets a dotted path, creating tables on the way; merges when the value is a table.
pub(super) fn set_path(table: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut cur = table;
    for (i, part) in parents.iter().enumerate() {
        let entry = cur
            .entry(part.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        cur = match entry {
            Value::Table(t) => t,
            _ => return Err(format!("`{}` is not a table", path[..=i].join("."))),
        };
    }
    merge_into(cur, last.clone(), value);
    Ok(())
}

/// Reads a value at a dotted path.
pub(super) fn get_path<'a>(table: &'a Table, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut cur = table.get(first)?;
    for part in rest {
        cur = cur.as_table()?.get(part)?;
    }
    Some(cur)
}

/// Parses a dotted key as TOML does (`prices."openai:gpt-4.1".input_per_mtok`).
pub(super) fn parse_key(key: &str) -> Result<Vec<String>, String> {
    let keys = toml_edit::Key::parse(key).map_err(|_| {
        format!("`{key}` is not a config key; write a dotted path such as budget.per_run_usd")
    })?;
    Ok(keys.into_iter().map(|k| k.get().to_string()).collect())
}

/// A value from the command line or environment: TOML when it parses as TOML, else a string.
pub(super) fn parse_value(raw: &str) -> Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| Value::String(raw.to_string())),
        Err(_) => Value::String(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_as_toml_or_fall_back_to_strings() {
        assert_eq!(parse_value("2"), Value::Integer(2));
        assert_eq!(parse_value("2.5"), Value::Float(2.5));
        assert_eq!(
            parse_value("openai:gpt-4.1"),
            Value::String("openai:gpt-4.1".into())
        );
        assert_eq!(
            parse_value(r#"["openai:gpt-4.1"]"#),
            Value::Array(vec![Value::String("openai:gpt-4.1".into())])
        );
    }

    #[test]
    fn keys_may_be_quoted() {
        assert_eq!(
            parse_key(r#"prices."openai:gpt-4.1".input_per_mtok"#).unwrap(),
            vec!["prices", "openai:gpt-4.1", "input_per_mtok"]
        );
        assert!(parse_key("a..b").is_err());
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("a = 1\nbb = 2\n", 6), "line 2, column 1");
        assert_eq!(line_col("a = 1\nbb = 2\n", 9), "line 2, column 4");
    }
}
