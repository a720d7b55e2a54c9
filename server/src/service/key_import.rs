//! Bulk key import: thousands of keys in one call, one per line, with a report of what was
//! skipped and why.

use std::collections::HashSet;

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
};

use super::{keys::KeyDefaults, validate};
use crate::{
    entity::api_key::{Column, Entity as ApiKeys},
    error::ServiceError,
    provider::Provider,
    secret::mask,
    vault::Vault,
};

/// Most lines one import may hold.
pub const MAX_IMPORT_LINES: usize = 20_000;
/// Rows per INSERT; keeps every statement under SQLite's bound-parameter limit.
const INSERT_CHUNK: usize = 500;

/// A bulk import. Each non-empty line of `text` is `KEY` or `NAME,KEY`; lines starting with `#`
/// are comments. The other fields apply to every imported key.
#[derive(Clone, Debug, Default)]
pub struct ImportRequest {
    pub provider: Option<Provider>,
    pub text: String,
    /// Names for lines without one: `{prefix}-{last four characters}`; defaults to the provider.
    pub name_prefix: Option<String>,
    pub ua: Option<String>,
    pub proxy_ip: Option<String>,
    pub base_url: Option<String>,
    pub enabled: Option<bool>,
    pub priority: Option<i32>,
    pub weight: Option<i32>,
}

/// A line that was not imported.
#[derive(Clone, Debug, PartialEq)]
pub struct SkippedLine {
    /// 1-based line number in the submitted text.
    pub line: usize,
    /// The key, masked; empty when none could be read.
    pub key_masked: String,
    pub reason: String,
}

/// What an import did.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    pub created: usize,
    pub duplicates: Vec<SkippedLine>,
    pub invalid: Vec<SkippedLine>,
}

/// Imports every valid, new key of `request` in one transaction.
pub async fn import(
    db: &DatabaseConnection,
    vault: &Vault,
    request: ImportRequest,
) -> Result<ImportReport, ServiceError> {
    let provider = request
        .provider
        .ok_or_else(|| ServiceError::invalid("provider", "is required"))?;
    let defaults = KeyDefaults::validate(
        request.ua.as_deref(),
        request.proxy_ip.as_deref(),
        request.base_url.as_deref(),
        request.enabled,
        request.priority,
        request.weight,
    )?;
    let prefix = validate::optional_text(
        "namePrefix",
        request.name_prefix.as_deref().unwrap_or_default(),
        100,
    )?;
    let prefix = if prefix.is_empty() {
        provider.as_str().to_string()
    } else {
        prefix
    };
    let lines: Vec<&str> = request.text.lines().collect();
    if lines.len() > MAX_IMPORT_LINES {
        return Err(ServiceError::invalid(
            "text",
            format!(
                "holds {} lines; import at most {MAX_IMPORT_LINES} at a time",
                lines.len()
            ),
        ));
    }

    let txn = db.begin().await?;
    // Secrets are sealed with random nonces: duplicates are found by their keyed hash.
    let mut seen: HashSet<String> = ApiKeys::find()
        .select_only()
        .column(Column::KeyHash)
        .filter(Column::Provider.eq(provider.as_str()))
        .into_tuple::<Option<String>>()
        .all(&txn)
        .await?
        .into_iter()
        .flatten()
        .collect();

    let mut report = ImportReport::default();
    let mut rows = Vec::new();
    for (index, raw) in lines.iter().enumerate() {
        let line = index + 1;
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let (name, secret) = match raw.split_once(',') {
            Some((name, secret)) => (name.trim(), secret.trim()),
            None => ("", raw),
        };
        let secret = match validate::api_key("apiKey", secret) {
            Ok(secret) => secret,
            Err(error) => {
                report.invalid.push(skipped(line, secret, &error));
                continue;
            }
        };
        let name = if name.is_empty() {
            format!("{prefix}-{}", last_chars(&secret, 4))
        } else {
            match validate::required_text("name", name, 128) {
                Ok(name) => name,
                Err(error) => {
                    report.invalid.push(skipped(line, &secret, &error));
                    continue;
                }
            }
        };
        if !seen.insert(vault.key_hash(provider.as_str(), &secret)) {
            report.duplicates.push(SkippedLine {
                line,
                key_masked: mask(&secret),
                reason: "already in the pool or earlier in this import".into(),
            });
            continue;
        }
        rows.push(defaults.row(vault, name, provider, &secret));
    }

    report.created = rows.len();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(INSERT_CHUNK).collect();
        ApiKeys::insert_many(chunk).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(report)
}

fn skipped(line: usize, secret: &str, error: &ServiceError) -> SkippedLine {
    let reason = match error {
        ServiceError::InvalidInput { field, message } => format!("{field} {message}"),
        other => other.to_string(),
    };
    SkippedLine {
        line,
        key_masked: if secret.is_empty() {
            String::new()
        } else {
            mask(secret)
        },
        reason,
    }
}

fn last_chars(value: &str, count: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    chars[chars.len().saturating_sub(count)..].iter().collect()
}
