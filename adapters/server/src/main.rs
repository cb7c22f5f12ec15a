//! `whatsapp-agent [serve|migrate]`: runs the service (the default) or applies migrations.

use std::process::ExitCode;

use wa_server::{settings::Settings, shutdown_signal, telemetry, Application};

const USAGE: &str = "usage: whatsapp-agent [serve|migrate]\n\
  serve    run the HTTP service (default); migrations are applied first\n\
  migrate  apply pending database migrations and exit";

fn main() -> ExitCode {
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_string());
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if !matches!(command.as_str(), "serve" | "migrate") {
        eprintln!("unknown command {command:?}\n{USAGE}");
        return ExitCode::from(2);
    }
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
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
