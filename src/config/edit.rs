//! `config set`: changes one key in the file, keeping its comments and layout, and only after
//! the result has been checked to load.

use std::path::Path;

use super::error::ConfigError;
use super::layers::{parse_key, parse_value};
use super::{Env, load_text};

/// Sets `key` to `value` (parsed as TOML, else a string) in the config file at `path`, creating
/// it if needed. Nothing is written when the result would not load.
pub fn set_in_file(path: &Path, key: &str, value: &str, env: &Env) -> Result<(), ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ConfigError::Parse {
                path: path.to_path_buf(),
                at: e
                    .span()
                    .map(|s| {
                        let before = &text[..s.start.min(text.len())];
                        format!("line {}", before.matches('\n').count() + 1)
                    })
                    .unwrap_or_else(|| "somewhere".into()),
                message: e.message().trim().to_string(),
            })?;
    let parts = parse_key(key).map_err(|message| ConfigError::Override {
        origin: format!("config set {key}"),
        message,
    })?;
    let (last, parents) = parts
        .split_last()
        .ok_or_else(|| ConfigError::UnknownKey(key.into()))?;
    let not_table = |i: usize| ConfigError::Override {
        origin: format!("config set {key}"),
        message: format!("`{}` is not a table", parts[..=i].join(".")),
    };
    let mut table: &mut dyn toml_edit::TableLike = doc.as_table_mut();
    for (i, part) in parents.iter().enumerate() {
        if table.get(part).is_none() {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            table.insert(part, toml_edit::Item::Table(t));
        }
        table = table
            .get_mut(part)
            .and_then(toml_edit::Item::as_table_like_mut)
            .ok_or_else(|| not_table(i))?;
    }
    table.insert(last, toml_edit::value(to_edit_value(parse_value(value))));
    save_text(path, &doc.to_string(), env)
}

/// Writes `text` as the config file, atomically, if it loads (checked without flags or
/// environment overrides that could hide a problem).
pub fn save_text(path: &Path, text: &str, env: &Env) -> Result<(), ConfigError> {
    let env_without_overrides: Env = env
        .iter()
        .filter(|(k, _)| !k.starts_with(super::ENV_PREFIX))
        .collect();
    load_text(path, Some(text), &env_without_overrides, &[])?;
    write_atomic(path, text.as_bytes())
}

fn to_edit_value(v: toml::Value) -> toml_edit::Value {
    match v {
        toml::Value::String(s) => s.into(),
        toml::Value::Integer(i) => i.into(),
        toml::Value::Float(f) => f.into(),
        toml::Value::Boolean(b) => b.into(),
        toml::Value::Datetime(d) => d
            .to_string()
            .parse()
            .unwrap_or_else(|_| d.to_string().into()),
        toml::Value::Array(a) => {
            toml_edit::Value::Array(a.into_iter().map(to_edit_value).collect())
        }
        toml::Value::Table(t) => {
            let mut inline = toml_edit::InlineTable::new();
            for (k, v) in t {
                inline.insert(&k, to_edit_value(v));
            }
            toml_edit::Value::InlineTable(inline)
        }
    }
}

/// Writes a file by way of a temporary file in the same directory and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    let err = |source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}
