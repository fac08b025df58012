//! `portcullis`: serve the console, bootstrap the first account from a script, or recover a root user.

use std::io::BufRead as _;
use std::process::ExitCode;

use clap::Parser as _;
use server::config::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Policy(command)) = cli.command {
        // Pure computation on local files: no runtime, no database, no logs.
        return match server::policy_cli::run(command) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::from(2)
            }
        };
    }
    server::telemetry::init(cli.config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            None | Some(Command::Serve) => serve(&cli.config).await,
            Some(Command::Bootstrap { account_alias, email }) => bootstrap(&cli.config, account_alias, email).await,
            Some(Command::RecoverRoot { account, reset_password, remove_mfa }) => {
                recover_root(&cli.config, &account, reset_password, remove_mfa).await
            }
            Some(Command::Policy(_)) => Ok(()),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: &server::config::Config) -> Result<(), String> {
    let prepared = server::prepare(config).await.map_err(|e| e.to_string())?;
    let origin = prepared.public_origin.clone();
    if let Some(link) = &prepared.setup_link {
        // Printed to the terminal, never logged: the link is a one-time secret.
        println!("Portcullis has no account yet. Open this one-time link to create the first one:\n\n    {link}\n");
    }
    tracing::info!(address = %prepared.listener.local_addr().map_err(|e| e.to_string())?, public_origin = %origin, "console listening");
    println!("Portcullis console: {origin}");
    server::serve(prepared, server::shutdown_signal()).await.map_err(|e| e.to_string())
}

/// The root password for `bootstrap` and `recover-root`: PORTCULLIS_ROOT_PASSWORD, or one line of
/// standard input. Never a command-line argument (it would show in the process list).
fn root_password() -> Result<String, String> {
    match std::env::var("PORTCULLIS_ROOT_PASSWORD") {
        Ok(p) => Ok(p),
        Err(_) => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read the password: {e}"))?;
            Ok(line.trim_end_matches(['\r', '\n']).to_owned())
        }
    }
}

async fn recover_root(
    config: &server::config::Config,
    account: &str,
    reset_password: bool,
    remove_mfa: bool,
) -> Result<(), String> {
    if !reset_password && !remove_mfa {
        return Err("say what to recover: --reset-password and/or --remove-mfa".to_owned());
    }
    let password = if reset_password { Some(iam_core::Password::new(root_password()?)) } else { None };
    let services = server::Services::open(config).await.map_err(|e| e.to_string())?;
    let result = services.iam.recover_root(account, password.as_ref(), remove_mfa).await;
    services.close().await;
    let done = result.map_err(|e| e.to_string())?;
    if done.password_reset {
        println!("Set a new root password for account {}.", done.account_id);
    }
    if remove_mfa {
        println!(
            "Removed {} MFA device(s) of the root user of account {}.",
            done.removed_mfa_devices.len(),
            done.account_id
        );
    }
    Ok(())
}

async fn bootstrap(config: &server::config::Config, account_alias: String, email: String) -> Result<(), String> {
    let password = root_password()?;
    let services = server::Services::open(config).await.map_err(|e| e.to_string())?;
    let new = iam_core::accounts::NewAccount {
        alias: account_alias,
        root_email: email,
        root_password: iam_core::Password::new(password),
    };
    let result = services.iam.bootstrap(new).await;
    services.close().await;
    let account = result.map_err(|e| e.to_string())?;
    println!("Created account {} (alias {}).", account.account_id, account.alias.unwrap_or_default());
    Ok(())
}
