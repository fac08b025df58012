//! Configuration, in one place: flags and environment variables (`portcullis --help`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about = "Self-hosted identity and access management, compatible with AWS IAM")]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
#[expect(clippy::large_enum_variant, reason = "parsed once at start-up")]
pub enum Command {
    /// Run the console (the default).
    Serve,
    /// Create the first account without the browser, for scripts. Reads the root password from
    /// standard input (one line) unless PORTCULLIS_ROOT_PASSWORD is set.
    Bootstrap {
        /// The account alias IAM users sign in with (3-63 lower-case letters, digits, hyphens).
        #[arg(long)]
        account_alias: String,
        /// The root user's email address.
        #[arg(long)]
        email: String,
    },
    /// Recover an account's root user from the server machine: set a new root password (read from
    /// standard input, or PORTCULLIS_ROOT_PASSWORD) and/or remove the root user's MFA devices.
    /// Recorded in the account's audit log.
    RecoverRoot {
        /// The account: its 12-digit id or its alias.
        #[arg(long)]
        account: String,
        /// Set a new root password.
        #[arg(long)]
        reset_password: bool,
        /// Remove every MFA device of the root user.
        #[arg(long)]
        remove_mfa: bool,
    },
    /// Validate policy documents, or decide a request against them.
    #[command(subcommand)]
    Policy(crate::policy_cli::PolicyCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address the console listens on.
    #[arg(long, env = "PORTCULLIS_LISTEN", default_value = "127.0.0.1:3000", global = true)]
    pub listen: SocketAddr,

    /// Folder for the embedded database and the secret key.
    #[arg(long, env = "PORTCULLIS_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Database: sqlite://PATH or postgres://USER@HOST/DB. Default: SQLite in the data folder.
    #[arg(long, env = "PORTCULLIS_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where users reach the console, e.g. https://iam.example.com (cookies, CSRF, WebAuthn).
    /// Default: http://LISTEN, or http://localhost:PORT on a loopback address.
    #[arg(long, env = "PORTCULLIS_PUBLIC_ORIGIN", global = true)]
    pub public_origin: Option<String>,

    /// The key that encrypts secrets at rest (32 bytes, mode 0600). Created if missing.
    /// Default: DATA_DIR/secret.key.
    #[arg(long, env = "PORTCULLIS_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<PathBuf>,

    /// Log format.
    #[arg(long, env = "PORTCULLIS_LOG_FORMAT", value_enum, default_value = "human", global = true)]
    pub log_format: LogFormat,

    /// Database connections per server process.
    #[arg(long, env = "PORTCULLIS_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub max_connections: u32,

    /// Reverse proxies (CIDRs, comma-separated) whose `Forwarded` / `X-Forwarded-For` headers
    /// name the client: its address is the right-most hop that is not one of them. Default: none,
    /// the TCP peer is the client.
    #[arg(long, env = "PORTCULLIS_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_cidr, global = true)]
    pub trusted_proxies: Vec<iam_policy::values::Cidr>,

    /// The header the trusted proxies write the client's address to (only that one is read).
    #[arg(long, env = "PORTCULLIS_FORWARDED_HEADER", value_enum, default_value = "x-forwarded-for", global = true)]
    pub forwarded_header: crate::client::ForwardedHeader,

    /// Minutes a console session lives without a request before it ends.
    #[arg(long, env = "PORTCULLIS_SESSION_IDLE_MINUTES", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1440), global = true)]
    pub session_idle_minutes: u32,

    /// Hours a console session lives at most after sign-in, however active (AWS's longest is 12).
    #[arg(long, env = "PORTCULLIS_SESSION_MAX_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=168), global = true)]
    pub session_max_hours: u32,

    /// Sign-in attempts (password, MFA code, new password) a client may make per minute before it
    /// is answered 429, in a burst of as many. One client is an IPv4 address or an IPv6 /64.
    #[arg(long, env = "PORTCULLIS_SIGN_IN_RATE", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub sign_in_rate: u32,

    /// The built site (wasm, JS, CSS, assets), as cargo-leptos writes it.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site", global = true)]
    pub site_root: PathBuf,
}

fn parse_cidr(text: &str) -> Result<iam_policy::values::Cidr, String> {
    iam_policy::values::Cidr::parse(text)
        .ok_or_else(|| format!("`{text}` is not an address or CIDR block (10.0.0.0/8, 2001:db8::/32)"))
}

#[derive(Debug, thiserror::Error)]
#[error("invalid public origin `{0}`: expected http(s)://HOST[:PORT] with no path")]
pub struct BadOrigin(String);

impl Config {
    pub fn session_limits(&self) -> iam_core::console_sessions::SessionLimits {
        iam_core::console_sessions::SessionLimits {
            idle_ms: i64::from(self.session_idle_minutes) * 60_000,
            absolute_ms: i64::from(self.session_max_hours) * 3_600_000,
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("portcullis.db").display()))
    }

    pub fn secret_key_file(&self) -> PathBuf {
        self.secret_key_file.clone().unwrap_or_else(|| self.data_dir.join("secret.key"))
    }

    /// The public origin, checked and without a trailing slash.
    pub fn public_origin(&self, bound: SocketAddr) -> Result<String, BadOrigin> {
        let Some(given) = &self.public_origin else {
            // On a loopback address the console is http://localhost: a secure context for the
            // browser, and a host name WebAuthn accepts as its relying party (an IP is refused).
            if bound.ip().is_loopback() {
                return Ok(format!("http://localhost:{}", bound.port()));
            }
            return Ok(format!("http://{bound}"));
        };
        let url = url::Url::parse(given).map_err(|_| BadOrigin(given.clone()))?;
        let plain = matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty();
        if !plain {
            return Err(BadOrigin(given.clone()));
        }
        Ok(url.origin().ascii_serialization())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(origin: Option<&str>) -> Config {
        let cli = Cli::parse_from(["portcullis"]);
        Config { public_origin: origin.map(str::to_owned), ..cli.config }
    }

    #[test]
    fn origins_are_checked() {
        let bound: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        assert_eq!(config(None).public_origin(bound).unwrap(), "http://localhost:3000");
        let lan: SocketAddr = "192.0.2.7:3000".parse().unwrap();
        assert_eq!(config(None).public_origin(lan).unwrap(), "http://192.0.2.7:3000");
        assert_eq!(config(Some("https://iam.example.com/")).public_origin(bound).unwrap(), "https://iam.example.com");
        assert_eq!(
            config(Some("https://iam.example.com:8443")).public_origin(bound).unwrap(),
            "https://iam.example.com:8443"
        );
        for bad in ["iam.example.com", "ftp://x", "https://x/path", "https://u@x", "https://x/?q"] {
            assert!(config(Some(bad)).public_origin(bound).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_live_in_the_data_folder() {
        let c = config(None);
        assert_eq!(c.database_url(), "sqlite://./data/portcullis.db");
        assert_eq!(c.secret_key_file(), PathBuf::from("./data/secret.key"));
    }

    #[test]
    fn subcommands_take_the_global_options() {
        let cli = Cli::parse_from([
            "portcullis",
            "bootstrap",
            "--account-alias",
            "a-b",
            "--email",
            "r@x.io",
            "--data-dir",
            "/tmp/x",
        ]);
        assert_eq!(cli.config.data_dir, PathBuf::from("/tmp/x"));
        assert!(matches!(cli.command, Some(Command::Bootstrap { .. })));
    }
}
