//! Typed configuration: defaults, then an optional TOML file, then `DOORSTEP_*` variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub mod oidc;
pub mod payments;
pub use oidc::OidcProvider;
pub use payments::PaymentsConfig;

/// Everything the server reads from its environment. Secrets are wrapped so that they never
/// reach a log line or a debug print.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where `serve` listens (`DOORSTEP_ADDR`).
    pub addr: SocketAddr,
    /// SQLite (`sqlite://path?mode=rwc`) or PostgreSQL (`postgres://…`). May hold a password.
    pub database_url: SecretString,
    /// Largest database pool.
    pub db_max_connections: u32,
    /// The built single-page app (`web/dist`).
    pub web_dir: PathBuf,
    /// The address people use to reach the portal, for links in letters and mail.
    pub public_url: String,
    /// Origins allowed to call the API from a browser, besides the portal itself.
    pub cors_origins: Vec<String>,
    /// `tracing` filter, e.g. `info,doorstep=debug`.
    pub log: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// Whether GraphQL answers introspection queries.
    pub graphql_introspection: bool,
    /// A folder the housing management system drops its exports into.
    pub import_drop_dir: Option<PathBuf>,
    /// How often the drop folder is checked, in seconds (daily by default).
    pub import_interval_secs: u64,
    /// A folder payment providers' end-of-day files are dropped into
    /// (`DOORSTEP_RECONCILE_DROP_DIR`); reconciliation pickup is off when unset.
    pub reconcile_drop_dir: Option<PathBuf>,
    /// How often that folder is checked, in seconds (`DOORSTEP_RECONCILE_INTERVAL_SECS`).
    pub reconcile_interval_secs: u64,
    /// Whether the refresh-token cookie is `Secure` (`DOORSTEP_COOKIE_SECURE`). Defaults to
    /// true when `public_url` is https, false otherwise (plain-http localhost).
    pub cookie_secure: bool,
    /// External sign-in providers (OpenID Connect): `[oidc.<id>]` in the file,
    /// `DOORSTEP_OIDC_PROVIDERS` and `DOORSTEP_OIDC_<ID>_*` in the environment (see `oidc`).
    pub oidc_providers: Vec<OidcProvider>,
    /// Payment providers and the outbox relay (see `payments`).
    pub payments: PaymentsConfig,
    /// UNSAFE, benchmarks only (`DOORSTEP_BENCH_BASELINE`): mounts an unauthenticated
    /// raw-SQL account summary (`http::bench_baseline`) as a yardstick for `just bench`.
    /// Off by default; never turn it on where anyone else can reach the server.
    pub bench_baseline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The file form: every field optional, names as in the table in the README.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    addr: Option<String>,
    database_url: Option<String>,
    db_max_connections: Option<u32>,
    web_dir: Option<PathBuf>,
    public_url: Option<String>,
    cors_origins: Option<Vec<String>>,
    log: Option<String>,
    log_format: Option<LogFormat>,
    graphql_introspection: Option<bool>,
    import_drop_dir: Option<PathBuf>,
    import_interval_secs: Option<u64>,
    reconcile_drop_dir: Option<PathBuf>,
    reconcile_interval_secs: Option<u64>,
    cookie_secure: Option<bool>,
    oidc: Option<std::collections::BTreeMap<String, oidc::FileProvider>>,
}

/// The `DOORSTEP_*` variables that configure the server. Others that the project's own
/// scripts use are listed in `NOT_CONFIG` so that they don't draw a warning.
const KEYS: &[&str] = &[
    "ADDR",
    "DATABASE_URL",
    "DB_MAX_CONNECTIONS",
    "WEB_DIR",
    "PUBLIC_URL",
    "CORS_ORIGINS",
    "LOG",
    "LOG_FORMAT",
    "GRAPHQL_INTROSPECTION",
    "IMPORT_DROP_DIR",
    "IMPORT_INTERVAL_SECS",
    "RECONCILE_DROP_DIR",
    "RECONCILE_INTERVAL_SECS",
    "COOKIE_SECURE",
    "CONFIG",
    "BENCH_BASELINE",
];
const NOT_CONFIG_PREFIXES: &[&str] = &["TEST_", "BIN", "URL", "BENCH", "SANDBOX_", "PORTAL_URL"];

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/doorstep.db?mode=rwc";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: SecretString::from(DEFAULT_DATABASE_URL),
            db_max_connections: 16,
            web_dir: PathBuf::from("web/dist"),
            public_url: "http://127.0.0.1:8080".into(),
            cors_origins: Vec::new(),
            log: "info,sqlx=warn,sea_orm=warn".into(),
            log_format: LogFormat::Text,
            graphql_introspection: true,
            import_drop_dir: None,
            import_interval_secs: 24 * 60 * 60,
            reconcile_drop_dir: None,
            reconcile_interval_secs: 5 * 60,
            cookie_secure: false,
            oidc_providers: Vec::new(),
            payments: PaymentsConfig::default(),
            bench_baseline: false,
        }
    }
}

impl Config {
    /// Defaults, then `file` (or `DOORSTEP_CONFIG`) if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let get =
            |key: &str| env.iter().find(|(k, _)| k.strip_prefix("DOORSTEP_") == Some(key)).map(|(_, v)| v.clone());
        let mut config = Config::default();
        let mut cookie_secure: Option<bool> = None;
        let mut file_oidc = None;
        let file = file.map(Path::to_path_buf).or_else(|| get("CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            let text =
                std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
            let mut parsed: FileConfig =
                toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.clone(), message: e.to_string() })?;
            cookie_secure = parsed.cookie_secure;
            file_oidc = parsed.oidc.take();
            config.apply_file(parsed)?;
        }
        // DATABASE_URL is the conventional name; DOORSTEP_DATABASE_URL wins when both are set.
        if let Some((_, url)) = env.iter().find(|(k, _)| k == "DATABASE_URL") {
            config.database_url = SecretString::from(url.clone());
        }
        if let Some(v) = get("ADDR") {
            config.addr = parse_addr("DOORSTEP_ADDR", &v)?;
        }
        if let Some(v) = get("DATABASE_URL") {
            config.database_url = SecretString::from(v);
        }
        if let Some(v) = get("DB_MAX_CONNECTIONS") {
            config.db_max_connections = parse_num("DOORSTEP_DB_MAX_CONNECTIONS", &v)?;
        }
        if let Some(v) = get("WEB_DIR") {
            config.web_dir = PathBuf::from(v);
        }
        if let Some(v) = get("PUBLIC_URL") {
            config.public_url = v;
        }
        if let Some(v) = get("CORS_ORIGINS") {
            config.cors_origins = v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        }
        if let Some(v) = get("LOG") {
            config.log = v;
        }
        if let Some(v) = get("LOG_FORMAT") {
            config.log_format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err(invalid("DOORSTEP_LOG_FORMAT", "must be text or json")),
            };
        }
        if let Some(v) = get("GRAPHQL_INTROSPECTION") {
            config.graphql_introspection = parse_bool("DOORSTEP_GRAPHQL_INTROSPECTION", &v)?;
        }
        if let Some(v) = get("IMPORT_DROP_DIR") {
            config.import_drop_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = get("IMPORT_INTERVAL_SECS") {
            config.import_interval_secs = parse_num("DOORSTEP_IMPORT_INTERVAL_SECS", &v)?;
        }
        if let Some(v) = get("RECONCILE_DROP_DIR") {
            config.reconcile_drop_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = get("RECONCILE_INTERVAL_SECS") {
            config.reconcile_interval_secs = parse_num("DOORSTEP_RECONCILE_INTERVAL_SECS", &v)?;
        }
        if let Some(v) = get("COOKIE_SECURE") {
            cookie_secure = Some(parse_bool("DOORSTEP_COOKIE_SECURE", &v)?);
        }
        config.cookie_secure = cookie_secure.unwrap_or_else(|| config.public_url.starts_with("https://"));
        config.oidc_providers = oidc::load(file_oidc, get)?;
        config.payments = payments::load(get)?;
        if let Some(v) = get("BENCH_BASELINE") {
            config.bench_baseline = parse_bool("DOORSTEP_BENCH_BASELINE", &v)?;
        }
        config.validate()?;
        Ok(config)
    }

    fn apply_file(&mut self, f: FileConfig) -> Result<(), ConfigError> {
        if let Some(v) = f.addr {
            self.addr = parse_addr("addr", &v)?;
        }
        if let Some(v) = f.database_url {
            self.database_url = SecretString::from(v);
        }
        if let Some(v) = f.db_max_connections {
            self.db_max_connections = v;
        }
        if let Some(v) = f.web_dir {
            self.web_dir = v;
        }
        if let Some(v) = f.public_url {
            self.public_url = v;
        }
        if let Some(v) = f.cors_origins {
            self.cors_origins = v;
        }
        if let Some(v) = f.log {
            self.log = v;
        }
        if let Some(v) = f.log_format {
            self.log_format = v;
        }
        if let Some(v) = f.graphql_introspection {
            self.graphql_introspection = v;
        }
        if let Some(v) = f.import_drop_dir {
            self.import_drop_dir = Some(v);
        }
        if let Some(v) = f.import_interval_secs {
            self.import_interval_secs = v;
        }
        if let Some(v) = f.reconcile_drop_dir {
            self.reconcile_drop_dir = Some(v);
        }
        if let Some(v) = f.reconcile_interval_secs {
            self.reconcile_interval_secs = v;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database_url.expose_secret();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid("DOORSTEP_DATABASE_URL", "must start with sqlite: or postgres://"));
        }
        if self.db_max_connections == 0 {
            return Err(invalid("DOORSTEP_DB_MAX_CONNECTIONS", "must be at least 1"));
        }
        if self.import_interval_secs == 0 {
            return Err(invalid("DOORSTEP_IMPORT_INTERVAL_SECS", "must be at least 1"));
        }
        if self.reconcile_interval_secs == 0 {
            return Err(invalid("DOORSTEP_RECONCILE_INTERVAL_SECS", "must be at least 1"));
        }
        Ok(())
    }

    /// `DOORSTEP_*` variables that configure nothing: most likely a typo.
    pub fn unknown_env_keys(env: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
        env.into_iter()
            .filter_map(|(k, _)| {
                let rest = k.strip_prefix("DOORSTEP_")?.to_owned();
                let known = KEYS.contains(&rest.as_str())
                    || NOT_CONFIG_PREFIXES.iter().any(|p| rest.starts_with(p))
                    || oidc::is_env_key(&rest)
                    || payments::is_env_key(&rest);
                (!known).then_some(k)
            })
            .collect()
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.expose_secret().starts_with("postgres")
    }
}

fn invalid(key: &str, message: &str) -> ConfigError {
    ConfigError::Invalid { key: key.into(), message: message.into() }
}

fn parse_addr(key: &str, v: &str) -> Result<SocketAddr, ConfigError> {
    v.parse().map_err(|_| invalid(key, "must be HOST:PORT with an IP address, e.g. 127.0.0.1:8080"))
}

fn parse_num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, ConfigError> {
    v.trim().parse().map_err(|_| invalid(key, "must be a whole number"))
}

fn parse_bool(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(key, "must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn environment_overrides_file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doorstep.toml");
        std::fs::write(&path, "addr = \"127.0.0.1:9000\"\nlog = \"debug\"\n").unwrap();
        let c = Config::load_from(Some(&path), env(&[("DOORSTEP_LOG", "warn")])).unwrap();
        assert_eq!(c.addr.port(), 9000);
        assert_eq!(c.log, "warn");
        assert_eq!(c.web_dir, PathBuf::from("web/dist"));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = Config::load_from(None, env(&[("DOORSTEP_ADDR", "localhost")])).unwrap_err();
        assert!(err.to_string().starts_with("DOORSTEP_ADDR"), "{err}");
        let err = Config::load_from(None, env(&[("DOORSTEP_DATABASE_URL", "mysql://x")])).unwrap_err();
        assert!(err.to_string().contains("DOORSTEP_DATABASE_URL"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doorstep.toml");
        std::fs::write(&path, "adr = \"127.0.0.1:9000\"\n").unwrap();
        let err = Config::load_from(Some(&path), env(&[])).unwrap_err();
        assert!(err.to_string().contains("adr"), "{err}");
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Config::load_from(None, env(&[("DOORSTEP_DATABASE_URL", "postgres://u:hunter2@db/x")])).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(c.is_postgres());
    }

    #[test]
    fn typos_are_reported() {
        let unknown = Config::unknown_env_keys(env(&[
            ("DOORSTEP_ADRR", "x"),
            ("DOORSTEP_ADDR", "x"),
            ("DOORSTEP_TEST_DB", "sqlite"),
            ("PATH", "/bin"),
        ]));
        assert_eq!(unknown, vec!["DOORSTEP_ADRR".to_string()]);
    }
}
