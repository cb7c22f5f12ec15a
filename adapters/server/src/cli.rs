//! `whatsapp-agent keys create|list|revoke`: API key management from the command line, on the
//! configured database (migrations are applied first).
//!
//! Output goes to stdout and is meant for a person at a terminal; a created key is printed
//! once and never again.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use wa_server::Settings;
use wa_sql::SqlStore;
use whatsapp_agent::access::{Access, KeyError, Scope};
use whatsapp_agent::ports::ApiKey;

/// A `keys` command, parsed.
#[derive(Debug, PartialEq, Eq)]
pub enum KeysCommand {
    Create { name: String, scopes: Vec<Scope> },
    List,
    Revoke { prefix: String },
}

/// Parses the words after `keys`.
///
/// # Errors
/// A one-line message saying what is wrong with the command line.
pub fn parse(args: &[String]) -> Result<KeysCommand, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err("`keys` needs a command: create, list or revoke".into());
    };
    match command.as_str() {
        "create" => parse_create(rest),
        "list" => match rest {
            [] => Ok(KeysCommand::List),
            [extra, ..] => Err(format!("`keys list` takes no arguments, got {extra:?}")),
        },
        "revoke" => match rest {
            [prefix] if !prefix.starts_with('-') => Ok(KeysCommand::Revoke {
                prefix: prefix.clone(),
            }),
            [] => Err("`keys revoke` needs the key's PREFIX (see `keys list`)".into()),
            [arg] => Err(format!(
                "`keys revoke` needs a PREFIX, not the option {arg:?}"
            )),
            [_, extra, ..] => Err(format!(
                "`keys revoke` takes one PREFIX, got also {extra:?}"
            )),
        },
        other => Err(format!(
            "unknown keys command {other:?}: use create, list or revoke"
        )),
    }
}

fn parse_create(args: &[String]) -> Result<KeysCommand, String> {
    let mut name = None;
    let mut scopes = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--name" => name = Some(value()?),
            "--scope" => {
                for word in value()?.split(',').filter(|w| !w.trim().is_empty()) {
                    let scope = Scope::parse(word).ok_or_else(|| {
                        format!("unknown scope {word:?}: use --scope chat or --scope admin")
                    })?;
                    scopes.push(scope);
                }
            }
            other => return Err(format!("unknown option {other:?} for `keys create`")),
        }
    }
    let name = name
        .filter(|n| !n.trim().is_empty())
        .ok_or("`keys create` needs --name NAME")?;
    if scopes.is_empty() {
        return Err("`keys create` needs at least one --scope chat|admin".into());
    }
    Ok(KeysCommand::Create { name, scopes })
}

/// Runs `command` against the database `settings` name, writing what a person reads to `out`.
/// A key that does not exist is a failure (exit code 1) with its message on stderr.
///
/// # Errors
/// The database cannot be opened or migrated, or the key store fails.
pub async fn run(
    command: KeysCommand,
    settings: &Settings,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let db = wa_sql::connect(&settings.db_settings())
        .await
        .with_context(|| format!("cannot open database {}", settings.database.redacted_url()))?;
    wa_sql::migrate(&db)
        .await
        .context("cannot apply database migrations")?;
    let access = Access::new(Arc::new(SqlStore::new(db)), settings.access_config());
    match command {
        KeysCommand::Create { name, scopes } => {
            let created = access.create_key(&name, &scopes).await.map_err(key_error)?;
            let key = &created.key;
            writeln!(out, "key:     {}", created.secret.expose())?;
            writeln!(out, "prefix:  {}", key.prefix)?;
            writeln!(out, "name:    {}", key.name)?;
            writeln!(out, "scopes:  {}", scope_list(&key.scopes))?;
            writeln!(
                out,
                "This is the only time the key is shown: only its hash is stored."
            )?;
            if key.scopes.contains(&Scope::Chat) {
                writeln!(
                    out,
                    "User tokens for this key are HS256-signed with SHA-256 of \"user-token:\" followed by the key, with kid = {}.",
                    key.prefix
                )?;
            }
        }
        KeysCommand::List => {
            let keys = access.list_keys().await.map_err(key_error)?;
            write_table(out, &keys)?;
        }
        KeysCommand::Revoke { prefix } => {
            match access.revoke_key(&prefix).await.map_err(key_error)? {
                Some(key) => writeln!(
                    out,
                    "revoked {} ({}) at {}",
                    key.prefix,
                    key.name,
                    time(key.revoked_at)
                )?,
                None => {
                    eprintln!("error: no API key has the prefix {prefix:?} (see `whatsapp-agent keys list`)");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn key_error(err: KeyError) -> anyhow::Error {
    match err {
        KeyError::Invalid(message) => anyhow::anyhow!(message),
        KeyError::Store(err) => anyhow::Error::new(err).context("the key store failed"),
    }
}

fn scope_list(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

/// Keys as aligned columns, newest first; never a secret.
fn write_table(out: &mut impl Write, keys: &[ApiKey]) -> std::io::Result<()> {
    if keys.is_empty() {
        return writeln!(out, "no API keys");
    }
    let header = [
        "PREFIX",
        "NAME",
        "SCOPES",
        "CREATED",
        "LAST USED",
        "REVOKED",
    ]
    .map(String::from);
    let rows: Vec<[String; 6]> = keys
        .iter()
        .map(|k| {
            [
                k.prefix.clone(),
                k.name.clone(),
                scope_list(&k.scopes),
                time(Some(k.created_at)),
                time(k.last_used_at),
                time(k.revoked_at),
            ]
        })
        .collect();
    let mut widths = [0usize; 6];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn create_takes_a_name_and_one_or_more_scopes() {
        assert_eq!(
            parse(&words("create --name backend --scope chat --scope=admin")),
            Ok(KeysCommand::Create {
                name: "backend".into(),
                scopes: vec![Scope::Chat, Scope::Admin],
            })
        );
        assert_eq!(
            parse(&words("create --name=ops --scope chat,admin")),
            Ok(KeysCommand::Create {
                name: "ops".into(),
                scopes: vec![Scope::Chat, Scope::Admin],
            })
        );
    }

    #[test]
    fn bad_usage_says_what_is_wrong_in_one_line() {
        for (args, says) in [
            ("", "needs a command"),
            ("create --scope chat", "--name"),
            ("create --name x", "--scope"),
            ("create --name x --scope root", "unknown scope"),
            ("create --name x --scope chat --force", "unknown option"),
            ("create --name", "needs a value"),
            ("list all", "no arguments"),
            ("revoke", "PREFIX"),
            ("revoke a b", "one PREFIX"),
            ("rotate", "unknown keys command"),
        ] {
            let err = parse(&words(args)).expect_err(args);
            assert!(err.contains(says), "{args}: {err}");
            assert_eq!(err.lines().count(), 1, "{args}: {err}");
        }
    }

    #[test]
    fn the_table_shows_no_secret_and_dashes_for_unset_times() {
        let key = ApiKey {
            id: uuid::Uuid::nil(),
            prefix: "wak_3kX9aQ2m".into(),
            name: "patient app".into(),
            scopes: vec![Scope::Chat],
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            last_used_at: None,
            revoked_at: None,
        };
        let mut out = Vec::new();

        write_table(&mut out, &[key]).expect("written");

        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("PREFIX"), "{text}");
        assert!(
            lines[1].starts_with("wak_3kX9aQ2m  patient app  chat"),
            "{text}"
        );
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(cells[cells.len() - 2..], ["-", "-"], "{text}");
    }
}
