//! External sign-in providers (OpenID Connect), each named by an id and configured by its
//! issuer URL, client id and secret. Any standard provider works this way: Google
//! (`https://accounts.google.com`), Microsoft Entra ID
//! (`https://login.microsoftonline.com/<tenant>/v2.0`), or a landlord's own.
//!
//! In a file:
//!
//! ```toml
//! [oidc.google]
//! name = "Google"
//! issuer = "https://accounts.google.com"
//! client_id = "…apps.googleusercontent.com"
//! client_secret = "…"
//! scopes = ["openid", "email", "profile"]   # optional; this is the default
//! ```
//!
//! In the environment, `DOORSTEP_OIDC_PROVIDERS=google,landlord` says which providers are on
//! (all of the file's when unset; empty for none), and `DOORSTEP_OIDC_<ID>_ISSUER`,
//! `_CLIENT_ID`, `_CLIENT_SECRET`, `_NAME`, `_SCOPES` set or override each field (`<ID>` in
//! capitals with `-` as `_`).

use std::collections::BTreeMap;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::ConfigError;

/// The scopes asked for when a provider names none.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "email", "profile"];

/// One external identity provider.
#[derive(Debug, Clone)]
pub struct OidcProvider {
    /// Lower-case letters, digits and `-`: the `{provider}` in `/api/v1/auth/oidc/{provider}/…`.
    pub id: String,
    /// What the sign-in button says: "Sign in with {name}".
    pub name: String,
    /// The issuer URL, exactly as the provider's discovery document and ID tokens give it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Always includes `openid`.
    pub scopes: Vec<String>,
}

/// A provider as a config file gives it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileProvider {
    name: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scopes: Option<Vec<String>>,
}

const FIELDS: &[&str] = &["ISSUER", "CLIENT_ID", "CLIENT_SECRET", "NAME", "SCOPES"];

/// Whether `rest` (a variable's name after `DOORSTEP_`) is one of ours.
pub fn is_env_key(rest: &str) -> bool {
    let Some(tail) = rest.strip_prefix("OIDC_") else { return false };
    tail == "PROVIDERS"
        || FIELDS.iter().any(|f| tail.strip_suffix(f).is_some_and(|id| id.len() > 1 && id.ends_with('_')))
}

fn env_id(id: &str) -> String {
    id.to_ascii_uppercase().replace('-', "_")
}

fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// An issuer must be https, except on this machine (a provider started by the tests or a
/// developer), and must be a plain URL: no query, no fragment.
pub fn check_issuer(issuer: &str) -> Result<(), String> {
    let url = Url::parse(issuer).map_err(|e| format!("is not a URL ({e})"))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("must not have a query, a fragment or credentials".into());
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        _ => Err("must be an https URL (plain http only for localhost)".into()),
    }
}

/// `localhost`, `127.0.0.0/8` or `[::1]`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// The providers: the file's, then the environment's changes, checked.
pub fn load(
    file: Option<BTreeMap<String, FileProvider>>,
    get: impl Fn(&str) -> Option<String>,
) -> Result<Vec<OidcProvider>, ConfigError> {
    let mut file = file.unwrap_or_default();
    let ids: Vec<String> = match get("OIDC_PROVIDERS") {
        Some(list) => list.split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect(),
        None => file.keys().cloned().collect(),
    };
    let mut providers: Vec<OidcProvider> = Vec::with_capacity(ids.len());
    for id in ids {
        let invalid = |field: &str, message: &str| ConfigError::Invalid {
            key: format!("DOORSTEP_OIDC_{}_{field} (or [oidc.{id}] {})", env_id(&id), field.to_ascii_lowercase()),
            message: message.to_owned(),
        };
        if !valid_id(&id) {
            return Err(ConfigError::Invalid {
                key: "DOORSTEP_OIDC_PROVIDERS".into(),
                message: format!("{id:?}: a provider id is 1 to 32 lower-case letters, digits and -"),
            });
        }
        if providers.iter().any(|p| p.id == id) {
            return Err(ConfigError::Invalid {
                key: "DOORSTEP_OIDC_PROVIDERS".into(),
                message: format!("{id:?} is listed twice"),
            });
        }
        let f = file.remove(&id).unwrap_or_default();
        let env = |field: &str| get(&format!("OIDC_{}_{field}", env_id(&id))).filter(|v| !v.trim().is_empty());
        let issuer =
            env("ISSUER").or(f.issuer).map(|s| s.trim().to_owned()).ok_or_else(|| invalid("ISSUER", "is required"))?;
        check_issuer(&issuer).map_err(|m| invalid("ISSUER", &m))?;
        let client_id = env("CLIENT_ID")
            .or(f.client_id)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("CLIENT_ID", "is required"))?;
        let client_secret = env("CLIENT_SECRET")
            .or(f.client_secret)
            .filter(|s| !s.is_empty())
            .map(SecretString::from)
            .ok_or_else(|| invalid("CLIENT_SECRET", "is required"))?;
        let name = env("NAME").or(f.name).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).unwrap_or(id.clone());
        if name.chars().count() > 60 {
            return Err(invalid("NAME", "must be at most 60 characters"));
        }
        let mut scopes: Vec<String> = match env("SCOPES") {
            Some(s) => s.split([' ', ',']).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            None => f.scopes.unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()),
        };
        if scopes.iter().any(|s| s.is_empty() || !s.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')) {
            return Err(invalid("SCOPES", "each scope is printable ASCII without spaces, quotes or backslashes"));
        }
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".to_owned());
        }
        let mut seen = std::collections::HashSet::new();
        scopes.retain(|s| seen.insert(s.clone()));
        providers.push(OidcProvider { id, name, issuer, client_id, client_secret, scopes });
    }
    Ok(providers)
}

impl OidcProvider {
    /// For tests: a provider with the default scopes.
    pub fn new(id: &str, name: &str, issuer: &str, client_id: &str, client_secret: &str) -> OidcProvider {
        OidcProvider {
            id: id.to_owned(),
            name: name.to_owned(),
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: SecretString::from(client_secret.to_owned()),
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Whether two configurations describe the same client at the same provider (the
    /// secret included), so caches keyed by issuer stay right.
    pub fn same_client(&self, other: &OidcProvider) -> bool {
        self.issuer == other.issuer
            && self.client_id == other.client_id
            && self.client_secret.expose_secret() == other.client_secret.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn getter(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    #[test]
    fn environment_configures_a_provider() {
        let p = load(
            None,
            getter(&[
                ("OIDC_PROVIDERS", "Local, my-landlord"),
                ("OIDC_LOCAL_ISSUER", "http://127.0.0.1:4000"),
                ("OIDC_LOCAL_CLIENT_ID", "doorstep"),
                ("OIDC_LOCAL_CLIENT_SECRET", "s3cret"),
                ("OIDC_LOCAL_NAME", "Local ID"),
                ("OIDC_MY_LANDLORD_ISSUER", "https://id.landlord.example"),
                ("OIDC_MY_LANDLORD_CLIENT_ID", "portal"),
                ("OIDC_MY_LANDLORD_CLIENT_SECRET", "x"),
                ("OIDC_MY_LANDLORD_SCOPES", "email profile"),
            ]),
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].id.as_str(), p[0].name.as_str()), ("local", "Local ID"));
        assert_eq!(p[0].scopes, ["openid", "email", "profile"]);
        assert_eq!((p[1].id.as_str(), p[1].name.as_str()), ("my-landlord", "my-landlord"));
        assert_eq!(p[1].scopes, ["openid", "email", "profile"]);
        assert!(!format!("{p:?}").contains("s3cret"), "secrets never print");
    }

    #[test]
    fn file_then_environment() {
        let file: BTreeMap<String, FileProvider> = toml::from_str(
            "[google]\nname = \"Google\"\nissuer = \"https://accounts.google.com\"\nclient_id = \"a\"\n\
             client_secret = \"b\"\nscopes = [\"openid\", \"email\"]\n",
        )
        .unwrap();
        let p = load(Some(file), getter(&[("OIDC_GOOGLE_CLIENT_SECRET", "from-env")])).unwrap();
        assert_eq!(p[0].issuer, "https://accounts.google.com");
        assert_eq!(p[0].client_secret.expose_secret(), "from-env");
        assert_eq!(p[0].scopes, ["openid", "email"]);
        let none = load(None, getter(&[("OIDC_PROVIDERS", "")])).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn the_whole_config_reads_providers_and_knows_their_variables() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doorstep.toml");
        std::fs::write(
            &path,
            "[oidc.landlord]\nname = \"Our ID\"\nissuer = \"https://id.landlord.example\"\nclient_id = \"portal\"\n",
        )
        .unwrap();
        let env = vec![("DOORSTEP_OIDC_LANDLORD_CLIENT_SECRET".to_owned(), "from-env".to_owned())];
        let c = crate::Config::load_from(Some(&path), env.clone()).unwrap();
        assert_eq!(c.oidc_providers.len(), 1);
        assert_eq!((c.oidc_providers[0].id.as_str(), c.oidc_providers[0].name.as_str()), ("landlord", "Our ID"));
        assert!(crate::Config::unknown_env_keys(env).is_empty());
        let typo = vec![("DOORSTEP_OIDC_LANDLORD_CLIENT_SECRETT".to_owned(), "x".to_owned())];
        assert_eq!(crate::Config::unknown_env_keys(typo).len(), 1);
    }

    #[test]
    fn mistakes_name_the_variable() {
        let err = load(None, getter(&[("OIDC_PROVIDERS", "local"), ("OIDC_LOCAL_CLIENT_ID", "x")])).unwrap_err();
        assert!(err.to_string().contains("DOORSTEP_OIDC_LOCAL_ISSUER"), "{err}");
        let err = load(
            None,
            getter(&[
                ("OIDC_PROVIDERS", "plain"),
                ("OIDC_PLAIN_ISSUER", "http://id.example"),
                ("OIDC_PLAIN_CLIENT_ID", "x"),
                ("OIDC_PLAIN_CLIENT_SECRET", "y"),
            ]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("https"), "{err}");
        let err = load(None, getter(&[("OIDC_PROVIDERS", "no_underscores")])).unwrap_err();
        assert!(err.to_string().contains("DOORSTEP_OIDC_PROVIDERS"), "{err}");
    }

    #[test]
    fn issuers() {
        assert!(check_issuer("https://accounts.google.com").is_ok());
        assert!(check_issuer("https://login.microsoftonline.com/abc/v2.0").is_ok());
        assert!(check_issuer("http://localhost:4000").is_ok());
        assert!(check_issuer("http://127.0.0.1:4000").is_ok());
        assert!(check_issuer("http://id.example").is_err());
        assert!(check_issuer("https://id.example/?tenant=1").is_err());
        assert!(check_issuer("not a url").is_err());
    }

    #[test]
    fn env_keys() {
        for ok in ["OIDC_PROVIDERS", "OIDC_LOCAL_ISSUER", "OIDC_MY_LANDLORD_CLIENT_SECRET", "OIDC_X_SCOPES"] {
            assert!(is_env_key(ok), "{ok}");
        }
        for bad in ["OIDC_LOCAL_ISUER", "OIDC_ISSUER", "OIDC_PROVIDER", "OIDCX"] {
            assert!(!is_env_key(bad), "{bad}");
        }
    }
}
