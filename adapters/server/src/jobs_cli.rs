//! `whatsapp-agent jobs [list] [--status S] [--limit N]` and `jobs retry ID`: the inbound
//! queue for operators, on the configured database (migrations are applied first).
//!
//! Lists show no phone number and no message text: ids, states, attempts, the next attempt
//! and the last error.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::SecondsFormat;
use wa_server::Settings;
use wa_sql::SqlStore;
use whatsapp_agent::ports::{JobBoard, JobBoardError, JobSummary};

/// A `jobs` command, parsed.
#[derive(Debug, PartialEq, Eq)]
pub enum JobsCommand {
    List {
        status: Option<String>,
        limit: usize,
    },
    Retry {
        id: i64,
    },
}

const STATUSES: [&str; 4] = ["pending", "running", "done", "failed"];

/// Parses the words after `jobs`.
///
/// # Errors
/// A one-line message saying what is wrong with the command line.
pub fn parse(args: &[String]) -> Result<JobsCommand, String> {
    match args.split_first() {
        None => Ok(JobsCommand::List {
            status: None,
            limit: 50,
        }),
        Some((command, rest)) if command == "list" => parse_list(rest),
        Some((command, rest)) if command == "retry" => match rest {
            [id] => id
                .parse::<i64>()
                .map(|id| JobsCommand::Retry { id })
                .map_err(|_| format!("`jobs retry` needs a job id (a number), got {id:?}")),
            [] => Err("`jobs retry` needs the job's ID (see `jobs list`)".into()),
            [_, extra, ..] => Err(format!("`jobs retry` takes one ID, got also {extra:?}")),
        },
        Some((first, _)) if first.starts_with("--") => parse_list(args),
        Some((other, _)) => Err(format!("unknown jobs command {other:?}: use list or retry")),
    }
}

fn parse_list(args: &[String]) -> Result<JobsCommand, String> {
    let mut status = None;
    let mut limit = 50;
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
            "--status" => {
                let value = value()?;
                if !STATUSES.contains(&value.as_str()) {
                    return Err(format!(
                        "unknown status {value:?}: use pending, running, done or failed"
                    ));
                }
                status = Some(value);
            }
            "--limit" => {
                limit = value()?
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or("--limit needs a number from 1 to 10000")?;
            }
            other => return Err(format!("unknown option {other:?} for `jobs list`")),
        }
    }
    Ok(JobsCommand::List { status, limit })
}

/// Runs `command` against the configured database, writing what a person reads to `out`.
/// Retrying a job that is unknown or not failed is a failure (exit code 1), said on stderr.
///
/// # Errors
/// The database cannot be opened or migrated, or reading the queue fails.
pub async fn run(
    command: JobsCommand,
    settings: &Settings,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let db = wa_sql::connect(&settings.db_settings())
        .await
        .with_context(|| format!("cannot open database {}", settings.database.redacted_url()))?;
    wa_sql::migrate(&db)
        .await
        .context("cannot apply database migrations")?;
    let store = SqlStore::new(db);
    match command {
        JobsCommand::List { status, limit } => {
            let jobs = store
                .list(status.as_deref(), limit)
                .await
                .context("cannot read the job queue")?;
            write_table(out, &jobs)?;
        }
        JobsCommand::Retry { id } => match store.retry(id).await {
            Ok(()) => writeln!(out, "job {id} queued to run again now")?,
            Err(err @ (JobBoardError::NotFound(_) | JobBoardError::NotFailed { .. })) => {
                eprintln!("error: {err}");
                return Ok(ExitCode::FAILURE);
            }
            Err(err) => return Err(anyhow::Error::new(err).context("cannot re-drive the job")),
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn write_table(out: &mut impl Write, jobs: &[JobSummary]) -> std::io::Result<()> {
    if jobs.is_empty() {
        return writeln!(out, "no jobs");
    }
    writeln!(
        out,
        "{:<8} {:<8} {:>8}  {:<20} {:<20} LAST ERROR",
        "ID", "STATUS", "ATTEMPTS", "CREATED", "NEXT ATTEMPT"
    )?;
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    for job in jobs {
        writeln!(
            out,
            "{:<8} {:<8} {:>8}  {:<20} {:<20} {}",
            job.id,
            job.status,
            job.attempts,
            time(job.created_at),
            job.next_attempt_at.map_or_else(|| "-".to_string(), time),
            job.last_error.as_deref().unwrap_or("-").replace('\n', " "),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_list_and_retry_and_refuses_the_rest() {
        assert_eq!(
            parse(&[]),
            Ok(JobsCommand::List {
                status: None,
                limit: 50
            })
        );
        assert_eq!(
            parse(&words("list --status failed --limit=5")),
            Ok(JobsCommand::List {
                status: Some("failed".into()),
                limit: 5
            })
        );
        assert_eq!(parse(&words("retry 42")), Ok(JobsCommand::Retry { id: 42 }));
        assert!(parse(&words("retry")).is_err());
        assert!(parse(&words("retry x")).is_err());
        assert!(parse(&words("list --status lost")).is_err());
        assert!(parse(&words("drop 1")).is_err());
    }
}
