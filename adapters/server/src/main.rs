//! `whatsapp-agent [serve|migrate|keys …|jobs …]`: runs the service (the default), applies
//! migrations, manages API keys, or shows and re-drives the inbound job queue.

mod cli;
mod jobs_cli;

use std::process::ExitCode;

use wa_server::{settings::Settings, shutdown_signal, telemetry, Application};

/// The service's allocator. Under a thousand concurrent turns the system allocator kept about a
/// fifth more memory resident than was in use (freed memory between live blocks, per thread);
/// this one, with the settings in `.cargo/config.toml`, keeps the peak near what is in use.
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const USAGE: &str = "usage: whatsapp-agent [serve|migrate|keys ...|jobs ...]
  serve      run the HTTP service (default); migrations are applied first
  migrate    apply pending database migrations and exit
  keys create --name NAME --scope chat|admin [--scope ...]
             create an API key and print it; it is shown only this once
  keys list  list API keys: prefix, name, scopes, created, last used, revoked
  keys revoke PREFIX
             revoke a key; every instance refuses it within auth.key_cache_secs
  jobs [list] [--status pending|running|done|failed] [--limit N]
             list inbound jobs: state, attempts, next attempt, last error
  jobs retry ID
             run a failed job again now (its reply is sent, not generated again)
The keys and jobs commands use the configured database; migrations are applied first.";

fn main() -> ExitCode {
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_string());
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if command == "jobs" {
        return jobs_main();
    }
    if !matches!(command.as_str(), "serve" | "migrate" | "keys") {
        eprintln!("unknown command {command:?}\n{USAGE}");
        return ExitCode::from(2);
    }
    let keys = if command == "keys" {
        let args: Vec<String> = std::env::args().skip(2).collect();
        if args
            .first()
            .is_some_and(|a| matches!(a.as_str(), "-h" | "--help" | "help"))
        {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        match cli::parse(&args) {
            Ok(keys) => Some(keys),
            Err(err) => {
                eprintln!("error: {err} (see `whatsapp-agent help`)");
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    if let Some(keys) = keys {
        return run_keys(keys, &settings);
    }
    telemetry::init(&settings.log);
    for key in &settings.unknown_keys {
        tracing::warn!(%key, "unknown setting ignored (a typo, or a setting that no longer exists?)");
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        if command == "migrate" {
            let db = wa_sql::connect(&settings.db_settings()).await?;
            wa_sql::migrate(&db).await?;
            tracing::info!(database = %settings.database.redacted_url(), "migrations applied");
            return Ok(());
        }
        let app = Application::build(settings).await?;
        app.run_until(shutdown_signal()).await?;
        anyhow::Ok(())
    });
    drop(runtime);
    wa_server::traces::shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a `keys` command. No log subscriber is installed, so stdout holds only what the
/// command prints (a created key is meant to be copied from it).
fn run_keys(command: cli::KeysCommand, settings: &Settings) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(cli::run(command, settings, &mut std::io::stdout()));
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a `jobs` command, like [`run_keys`] without a log subscriber.
fn jobs_main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(2).collect();
    if args
        .first()
        .is_some_and(|a| matches!(a.as_str(), "-h" | "--help" | "help"))
    {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let command = match jobs_cli::parse(&args) {
        Ok(command) => command,
        Err(err) => {
            eprintln!("error: {err} (see `whatsapp-agent help`)");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(jobs_cli::run(command, &settings, &mut std::io::stdout())) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
