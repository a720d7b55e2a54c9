//! The one typed configuration: command line and environment (and `.env` in development).
//!
//! Nothing else in the server reads environment variables; everything that needs a setting gets
//! it from [`Settings`].

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Default SQLite database, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/amp_pool.db?mode=rwc";
/// Default upstream for OpenAI keys.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com";
/// Default upstream for Anthropic keys.
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// Default upstream for AMP keys.
pub const DEFAULT_AMP_BASE_URL: &str = "https://ampcode.com";

/// Default cap on open connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 2048;
/// Default time for a request's headers (and for an idle keep-alive connection).
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 15;
/// Default time for a whole request body.
pub const DEFAULT_BODY_READ_TIMEOUT_SECS: u64 = 60;

/// Default name of an instance (and of its journal file).
pub const DEFAULT_INSTANCE_NAME: &str = "pool";
/// Default interval between journal syncs.
pub const DEFAULT_JOURNAL_SYNC_MS: u64 = 200;
/// Default time in-flight requests get after SIGTERM.
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 30;

/// `amp-pool`: a self-hosted pool and proxy for OpenAI, Anthropic and AMP API keys.
#[derive(Debug, Parser)]
#[command(name = "amp-pool", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

/// What to do; `serve` when none is given.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the proxy, GraphQL API and admin UI.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) and exit.
    Schema,
    /// Manage client access tokens for /v1.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage the master key that encrypts secrets in the database.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Copy the live SQLite database to PATH (PostgreSQL: use pg_dump).
    Backup {
        /// The new file; an existing file is never overwritten.
        path: std::path::PathBuf,
    },
}

/// `amp-pool secrets …`
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Re-encrypt every secret under a new master key, in one transaction. The current key
    /// comes from AMP_POOL_MASTER_KEY or the key file as at start; afterwards start the
    /// server with the new key only.
    Rotate {
        /// The new master key: a file holding 32 bytes as base64 or hex (`openssl rand
        /// -base64 32 > new.key; chmod 600 new.key`).
        #[arg(long)]
        new_key_file: std::path::PathBuf,
    },
}

/// `amp-pool token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a client token and print it once.
    Create {
        /// A name to recognise the token by.
        name: String,
    },
}

/// `amp-pool admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Set (or create) an administrator's password. Reads the new password from ADMIN_PASSWORD,
    /// else from standard input.
    SetPassword {
        /// The administrator; defaults to ADMIN_USERNAME.
        #[arg(long)]
        username: Option<String>,
    },
}

/// Every setting of a running AMP Pool.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "0.0.0.0", global = true)]
    pub host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 8000, global = true)]
    pub port: u16,
    /// Database: `sqlite://…` (default, embedded) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// Log every SQL statement.
    #[arg(long, env = "DB_ECHO", default_value_t = false, global = true)]
    pub db_echo: bool,
    /// Secret that signs admin JWTs; generated and kept in the database when unset.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<SecretString>,
    /// How long an admin login lasts, in hours.
    #[arg(long, env = "JWT_TTL_HOURS", default_value_t = 24, global = true)]
    pub jwt_ttl_hours: u32,
    /// Administrator created on first start.
    #[arg(long, env = "ADMIN_USERNAME", default_value = "admin", global = true)]
    pub admin_username: String,
    /// Password of that first administrator; a random one is printed once when unset.
    #[arg(long, env = "ADMIN_PASSWORD", hide_env_values = true, global = true)]
    pub admin_password: Option<SecretString>,
    /// Added as the first AMP key when no AMP key exists yet.
    #[arg(long, env = "AMP_API_KEY", hide_env_values = true, global = true)]
    pub amp_api_key: Option<SecretString>,
    /// Default upstream for OpenAI keys.
    #[arg(long, env = "OPENAI_BASE_URL", default_value = DEFAULT_OPENAI_BASE_URL, global = true)]
    pub openai_base_url: String,
    /// Default upstream for Anthropic keys.
    #[arg(long, env = "ANTHROPIC_BASE_URL", default_value = DEFAULT_ANTHROPIC_BASE_URL, global = true)]
    pub anthropic_base_url: String,
    /// Default upstream for AMP keys.
    #[arg(long, env = "AMP_BASE_URL", default_value = DEFAULT_AMP_BASE_URL, global = true)]
    pub amp_base_url: String,
    /// Replaces `jwt_ttl_hours` when set. Not a flag or variable: tests set it to see sessions
    /// expire within seconds.
    #[arg(skip)]
    pub jwt_ttl_override: Option<std::time::Duration>,
    /// Replaces the period of every background job (balance refresh, retention, provider
    /// checks) when set. Not a flag or variable: tests set it to see several periods pass.
    #[arg(skip)]
    pub job_period_override: Option<std::time::Duration>,
    /// Browser origins (e.g. `https://admin.example.com`) allowed to call the server
    /// cross-site, comma-separated; none by default.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_origins: Vec<String>,
    /// Most connections open at once; past it a new connection gets a 503 and is closed.
    /// Keep it below the open-file limit (`ulimit -n`), which upstream connections share.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS, global = true)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers; an idle keep-alive connection is
    /// closed after the same time.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = DEFAULT_HEADER_READ_TIMEOUT_SECS, global = true)]
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a whole request body.
    #[arg(long, env = "BODY_READ_TIMEOUT_SECS", default_value_t = DEFAULT_BODY_READ_TIMEOUT_SECS, global = true)]
    pub body_read_timeout_secs: u64,
    /// The master key that encrypts secrets in the database: 32 bytes as base64 or 64 hex
    /// digits. When unset, the key file (`AMP_POOL_MASTER_KEY_FILE`) is used.
    #[arg(
        long,
        env = "AMP_POOL_MASTER_KEY",
        hide_env_values = true,
        global = true
    )]
    pub master_key: Option<SecretString>,
    /// The master key file, created (mode 0600) on first start; defaults to `master.key` in
    /// the data folder (beside the SQLite file, else `data/`). Instances sharing a PostgreSQL
    /// database must share the key.
    #[arg(long, env = "AMP_POOL_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<std::path::PathBuf>,
    /// Folder of the writer's journal (records not yet in the database); `journal/` beside
    /// the database by default. Put it on a durable local disk.
    #[arg(long, env = "JOURNAL_DIR", global = true)]
    pub journal_dir: Option<std::path::PathBuf>,
    /// This instance's name: its journal is `<JOURNAL_DIR>/<INSTANCE_NAME>.log`, so instances
    /// sharing a folder need different names.
    #[arg(long, env = "INSTANCE_NAME", default_value = DEFAULT_INSTANCE_NAME, global = true)]
    pub instance_name: String,
    /// Milliseconds between syncs of the journal to disk: the most a `kill -9` can lose.
    #[arg(long, env = "JOURNAL_SYNC_MS", default_value_t = DEFAULT_JOURNAL_SYNC_MS, global = true)]
    pub journal_sync_ms: u64,
    /// Seconds in-flight requests get to finish after SIGTERM before they are cancelled (and
    /// recorded as `cancelled`).
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = DEFAULT_SHUTDOWN_GRACE_SECS, global = true)]
    pub shutdown_grace_secs: u64,
    /// On PostgreSQL, pass this instance's live request events to the other instances (for
    /// their `requestEvents` subscribers); `false` saves that cost where nobody watches live.
    #[arg(long, env = "RELAY_REQUEST_EVENTS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub relay_request_events: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".into(),
            port: 8000,
            database_url: DEFAULT_DATABASE_URL.into(),
            db_echo: false,
            jwt_secret: None,
            jwt_ttl_hours: 24,
            admin_username: "admin".into(),
            admin_password: None,
            amp_api_key: None,
            openai_base_url: DEFAULT_OPENAI_BASE_URL.into(),
            anthropic_base_url: DEFAULT_ANTHROPIC_BASE_URL.into(),
            amp_base_url: DEFAULT_AMP_BASE_URL.into(),
            jwt_ttl_override: None,
            job_period_override: None,
            relay_request_events: true,
            cors_origins: Vec::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout_secs: DEFAULT_HEADER_READ_TIMEOUT_SECS,
            body_read_timeout_secs: DEFAULT_BODY_READ_TIMEOUT_SECS,
            master_key: None,
            master_key_file: None,
            journal_dir: None,
            instance_name: DEFAULT_INSTANCE_NAME.into(),
            journal_sync_ms: DEFAULT_JOURNAL_SYNC_MS,
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS,
        }
    }
}

/// A setting that cannot work, described so the user knows what to change.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// Checks every setting that can be checked without I/O.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        let scheme = self.database_url.split(':').next().unwrap_or_default();
        if !matches!(scheme, "sqlite" | "postgres" | "postgresql") {
            return Err(ConfigError(format!(
                "DATABASE_URL must start with sqlite:// or postgres://, not {:?}",
                redact_url(&self.database_url)
            )));
        }
        for (name, value) in [
            ("OPENAI_BASE_URL", &self.openai_base_url),
            ("ANTHROPIC_BASE_URL", &self.anthropic_base_url),
            ("AMP_BASE_URL", &self.amp_base_url),
        ] {
            parse_http_url(value)
                .map_err(|why| ConfigError(format!("{name} {why}, got {value:?}")))?;
        }
        if self.admin_username.trim().is_empty() {
            return Err(ConfigError("ADMIN_USERNAME must not be empty".into()));
        }
        if let Some(secret) = &self.jwt_secret
            && secret.expose_secret().len() < 16
        {
            return Err(ConfigError(
                "JWT_SECRET must be at least 16 characters (or unset to generate one)".into(),
            ));
        }
        for origin in &self.cors_origins {
            check_origin(origin)
                .map_err(|why| ConfigError(format!("CORS_ORIGINS: {origin:?} {why}")))?;
        }
        for (name, value) in [
            ("MAX_CONNECTIONS", self.max_connections as u64),
            ("HEADER_READ_TIMEOUT_SECS", self.header_read_timeout_secs),
            ("BODY_READ_TIMEOUT_SECS", self.body_read_timeout_secs),
            ("JOURNAL_SYNC_MS", self.journal_sync_ms),
        ] {
            if value == 0 {
                return Err(ConfigError(format!("{name} must be at least 1")));
            }
        }
        let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if self.instance_name.is_empty()
            || self.instance_name.starts_with('.')
            || !self.instance_name.chars().all(name_ok)
        {
            return Err(ConfigError(format!(
                "INSTANCE_NAME must be letters, digits, '-', '_' or '.' (it names a file), got {:?}",
                self.instance_name
            )));
        }
        if self.jwt_ttl_hours == 0 {
            return Err(ConfigError("JWT_TTL_HOURS must be at least 1".into()));
        }
        if let Some(key) = &self.master_key {
            crate::vault::master_key::parse(key.expose_secret())
                .map_err(|why| ConfigError(format!("AMP_POOL_MASTER_KEY {why}")))?;
        }
        Ok(())
    }

    /// How long an admin session lasts.
    pub fn jwt_ttl(&self) -> std::time::Duration {
        self.jwt_ttl_override
            .unwrap_or(std::time::Duration::from_secs(
                u64::from(self.jwt_ttl_hours) * 3600,
            ))
    }

    /// The folder for files kept beside the database: the SQLite file's folder, else `data/` in
    /// the working directory (PostgreSQL, in-memory SQLite).
    pub fn data_dir(&self) -> std::path::PathBuf {
        let sqlite_path = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))
            .and_then(|rest| rest.split('?').next())
            .filter(|path| !path.is_empty() && !path.starts_with(":memory:"));
        match sqlite_path.and_then(|path| std::path::Path::new(path).parent()) {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            Some(_) => std::path::PathBuf::from("."),
            None => std::path::PathBuf::from("data"),
        }
    }

    /// The writer's journal file for this instance.
    pub fn journal_path(&self) -> std::path::PathBuf {
        self.journal_dir
            .clone()
            .unwrap_or_else(|| self.data_dir().join("journal"))
            .join(format!("{}.log", self.instance_name))
    }

    /// How long in-flight requests get after SIGTERM.
    pub fn shutdown_grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.shutdown_grace_secs)
    }

    /// The socket address from `HOST` and `PORT`.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let ip = host.parse().map_err(|_| {
            ConfigError(format!(
                "HOST must be an IP address such as 0.0.0.0 or 127.0.0.1, got {:?}",
                self.host
            ))
        })?;
        Ok(SocketAddr::new(ip, self.port))
    }

    /// One line describing the effective configuration, secrets masked.
    pub fn summary(&self) -> String {
        format!(
            "listen={}:{} database={} db_echo={} admin={:?} jwt_secret={} openai={} anthropic={} amp={} amp_api_key={} cors_origins=[{}] max_connections={} header_read_timeout={}s body_read_timeout={}s master_key={} journal={} journal_sync={}ms shutdown_grace={}s",
            self.host,
            self.port,
            redact_url(&self.database_url),
            self.db_echo,
            self.admin_username,
            if self.jwt_secret.is_some() {
                "set"
            } else {
                "generated"
            },
            self.openai_base_url,
            self.anthropic_base_url,
            self.amp_base_url,
            if self.amp_api_key.is_some() {
                "set"
            } else {
                "unset"
            },
            self.cors_origins.join(","),
            self.max_connections,
            self.header_read_timeout_secs,
            self.body_read_timeout_secs,
            match (&self.master_key, &self.master_key_file) {
                (Some(_), _) => "env".to_string(),
                (None, Some(file)) => format!("file:{}", file.display()),
                (None, None) => format!("file:{}", self.data_dir().join("master.key").display()),
            },
            self.journal_path().display(),
            self.journal_sync_ms,
            self.shutdown_grace_secs,
        )
    }
}

/// Parses an `http://` or `https://` URL with a host, or says what is wrong with it.
pub fn parse_http_url(value: &str) -> Result<Url, &'static str> {
    // The parser would drop line breaks silently; the raw text would still reach headers and logs.
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters such as line breaks");
    }
    let url = Url::parse(value).map_err(|_| "must be a URL such as https://api.example.com")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with http:// or https://");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host");
    }
    Ok(url)
}

/// Checks that `origin` is a bare origin such as `https://admin.example.com:8443`.
fn check_origin(origin: &str) -> Result<(), &'static str> {
    let url = parse_http_url(origin)?;
    let bare = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    let with_port = url.port().map(|port| format!("{bare}:{port}"));
    if origin != bare && Some(origin) != with_port.as_deref() {
        return Err(
            "must be an origin: scheme, host and port only, e.g. https://admin.example.com",
        );
    }
    Ok(())
}

/// Hides the password of a URL such as `postgres://user:pw@host/db`.
pub fn redact_url(value: &str) -> String {
    match Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("****"));
            url.to_string()
        }
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(Settings::default().validate().is_ok());
    }

    #[test]
    fn a_bad_base_url_names_the_variable() {
        let settings = Settings {
            openai_base_url: "ftp://example.com".into(),
            ..Settings::default()
        };
        let error = settings.validate().expect_err("ftp is not http");
        assert!(
            error.0.starts_with("OPENAI_BASE_URL must start with http"),
            "{error}"
        );
    }

    #[test]
    fn a_bad_database_scheme_is_refused_without_showing_the_password() {
        let settings = Settings {
            database_url: "mysql://u:hunter2@db/x".into(),
            ..Settings::default()
        };
        let error = settings.validate().expect_err("mysql is not supported");
        assert!(error.0.contains("DATABASE_URL"), "{error}");
        assert!(!error.0.contains("hunter2"), "{error}");
    }

    #[test]
    fn the_data_folder_is_beside_the_sqlite_file() {
        let at = |url: &str| {
            Settings {
                database_url: url.into(),
                ..Settings::default()
            }
            .data_dir()
        };
        assert_eq!(at(DEFAULT_DATABASE_URL), std::path::Path::new("data"));
        assert_eq!(
            at("sqlite:///srv/amp/pool.db?mode=rwc"),
            std::path::Path::new("/srv/amp")
        );
        assert_eq!(at("sqlite://pool.db"), std::path::Path::new("."));
        assert_eq!(at("sqlite::memory:"), std::path::Path::new("data"));
        assert_eq!(at("postgres://u@h/db"), std::path::Path::new("data"));
    }

    #[test]
    fn a_cors_origin_with_a_path_is_refused() {
        let settings = Settings {
            cors_origins: vec!["https://admin.example.com/console".into()],
            ..Settings::default()
        };
        let error = settings.validate().expect_err("an origin has no path");
        assert!(error.0.starts_with("CORS_ORIGINS: "), "{error}");
        let fine = Settings {
            cors_origins: vec![
                "https://admin.example.com".into(),
                "http://127.0.0.1:5173".into(),
            ],
            ..Settings::default()
        };
        assert!(fine.validate().is_ok());
    }

    #[test]
    fn a_master_key_of_the_wrong_length_is_refused_with_its_variable() {
        let settings = Settings {
            master_key: Some(SecretString::from("c2hvcnQ=")),
            ..Settings::default()
        };
        let error = settings.validate().expect_err("8 bytes is not a key");
        assert!(
            error.0.starts_with("AMP_POOL_MASTER_KEY must be 32 bytes"),
            "{error}"
        );
        assert!(!error.0.contains("c2hvcnQ"), "{error}");
    }

    #[test]
    fn a_host_that_is_not_an_ip_is_refused() {
        let settings = Settings {
            host: "localhost:80".into(),
            ..Settings::default()
        };
        assert!(settings.validate().is_err());
    }

    #[test]
    fn request_events_are_relayed_unless_switched_off() {
        use clap::Parser;
        let on = Cli::try_parse_from(["amp-pool"]).unwrap();
        let off = Cli::try_parse_from(["amp-pool", "--relay-request-events", "false"]).unwrap();
        assert!(on.settings.relay_request_events);
        assert!(!off.settings.relay_request_events);
        assert!(Settings::default().relay_request_events);
    }
}
