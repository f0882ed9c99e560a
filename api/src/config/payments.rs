//! Payment providers and the outbox to the housing management system, from `DOORSTEP_*`
//! variables:
//!
//! | variable | default | what |
//! |---|---|---|
//! | `DOORSTEP_PAYMENT_PROVIDER` | `sandbox` | who hosts the card page for payments started in the portal (`sandbox` or `govuk_pay`) |
//! | `DOORSTEP_SANDBOX_URL` | `http://127.0.0.1:8090` | the sandbox provider |
//! | `DOORSTEP_SANDBOX_SECRET` | a development default | the sandbox's signing secret; `DOORSTEP_SANDBOX_SECRET_PREVIOUS` is also accepted while rotating |
//! | `DOORSTEP_GOVUK_PAY_URL`, `_API_KEY`, `_WEBHOOK_SECRET`, `_WEBHOOK_SECRET_PREVIOUS` | unset | a GOV.UK Pay-style provider |
//! | `DOORSTEP_EVENT_GRID_KEY`, `_KEY_PREVIOUS` | unset | the key an Event Grid-style subscription sends in `X-Doorstep-Key` |
//! | `DOORSTEP_HMS_OUTBOX_DIR` | unset | the folder the outbox relay drops payment CSV files into |
//! | `DOORSTEP_HMS_OUTBOX_URL`, `_API_KEY` | unset | the HMS endpoint the relay posts payments to |
//! | `DOORSTEP_OUTBOX_INTERVAL_MS` | `1000` | how often the relay looks for work |

use std::path::PathBuf;

use secrecy::SecretString;

use super::{ConfigError, invalid, parse_num};

/// The sandbox's development secret. Only the sandbox provider accepts it.
pub const SANDBOX_DEV_SECRET: &str = "sandbox-development-secret";

#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    /// The provider that hosts the card page for payments started in the portal.
    pub provider: String,
    pub sandbox_url: String,
    /// Active sandbox secrets, newest first.
    pub sandbox_secrets: Vec<SecretString>,
    pub govuk_pay: Option<GovUkPay>,
    /// Keys an Event Grid-style subscription may present; empty means the endpoint is off.
    pub event_grid_keys: Vec<SecretString>,
    pub hms_outbox_dir: Option<PathBuf>,
    pub hms_outbox_url: Option<String>,
    pub hms_outbox_api_key: Option<SecretString>,
    pub outbox_interval_ms: u64,
}

#[derive(Debug, Clone)]
pub struct GovUkPay {
    pub base_url: String,
    pub api_key: SecretString,
    pub webhook_secrets: Vec<SecretString>,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        PaymentsConfig {
            provider: "sandbox".into(),
            sandbox_url: "http://127.0.0.1:8090".into(),
            sandbox_secrets: vec![SecretString::from(SANDBOX_DEV_SECRET)],
            govuk_pay: None,
            event_grid_keys: Vec::new(),
            hms_outbox_dir: None,
            hms_outbox_url: None,
            hms_outbox_api_key: None,
            outbox_interval_ms: 1000,
        }
    }
}

/// The `DOORSTEP_*` names this module reads (besides the `SANDBOX_` ones).
pub fn is_env_key(rest: &str) -> bool {
    rest == "PAYMENT_PROVIDER"
        || rest.starts_with("GOVUK_PAY_")
        || rest.starts_with("EVENT_GRID_KEY")
        || rest.starts_with("HMS_OUTBOX_")
        || rest == "OUTBOX_INTERVAL_MS"
}

pub fn load(get: impl Fn(&str) -> Option<String>) -> Result<PaymentsConfig, ConfigError> {
    let mut c = PaymentsConfig::default();
    let secrets = |a: &str, b: &str| -> Vec<SecretString> {
        [get(a), get(b)].into_iter().flatten().filter(|s| !s.is_empty()).map(SecretString::from).collect()
    };
    if let Some(v) = get("SANDBOX_URL") {
        c.sandbox_url = v.trim_end_matches('/').to_owned();
    }
    let sandbox = secrets("SANDBOX_SECRET", "SANDBOX_SECRET_PREVIOUS");
    if !sandbox.is_empty() {
        c.sandbox_secrets = sandbox;
    }
    if let Some(url) = get("GOVUK_PAY_URL") {
        let api_key = get("GOVUK_PAY_API_KEY")
            .ok_or_else(|| invalid("DOORSTEP_GOVUK_PAY_API_KEY", "is required when DOORSTEP_GOVUK_PAY_URL is set"))?;
        let webhook_secrets = secrets("GOVUK_PAY_WEBHOOK_SECRET", "GOVUK_PAY_WEBHOOK_SECRET_PREVIOUS");
        if webhook_secrets.is_empty() {
            return Err(invalid("DOORSTEP_GOVUK_PAY_WEBHOOK_SECRET", "is required when DOORSTEP_GOVUK_PAY_URL is set"));
        }
        c.govuk_pay = Some(GovUkPay {
            base_url: url.trim_end_matches('/').to_owned(),
            api_key: SecretString::from(api_key),
            webhook_secrets,
        });
    }
    c.event_grid_keys = secrets("EVENT_GRID_KEY", "EVENT_GRID_KEY_PREVIOUS");
    if let Some(p) = get("PAYMENT_PROVIDER") {
        match p.as_str() {
            "sandbox" => {}
            "govuk_pay" if c.govuk_pay.is_some() => {}
            "govuk_pay" => return Err(invalid("DOORSTEP_PAYMENT_PROVIDER", "govuk_pay needs DOORSTEP_GOVUK_PAY_URL")),
            _ => return Err(invalid("DOORSTEP_PAYMENT_PROVIDER", "must be sandbox or govuk_pay")),
        }
        c.provider = p;
    }
    c.hms_outbox_dir = get("HMS_OUTBOX_DIR").map(PathBuf::from);
    c.hms_outbox_url = get("HMS_OUTBOX_URL");
    c.hms_outbox_api_key = get("HMS_OUTBOX_API_KEY").map(SecretString::from);
    if let Some(v) = get("OUTBOX_INTERVAL_MS") {
        c.outbox_interval_ms = parse_num("DOORSTEP_OUTBOX_INTERVAL_MS", &v)?;
        if c.outbox_interval_ms == 0 {
            return Err(invalid("DOORSTEP_OUTBOX_INTERVAL_MS", "must be at least 1"));
        }
    }
    Ok(c)
}

impl PaymentsConfig {
    /// The origin (scheme://host:port) of the page the SPA frames, for `frame-src`.
    pub fn frame_origin(&self) -> Option<String> {
        let url = match self.provider.as_str() {
            "govuk_pay" => self.govuk_pay.as_ref().map(|g| g.base_url.as_str())?,
            _ => self.sandbox_url.as_str(),
        };
        origin_of(url)
    }
}

/// `scheme://host[:port]` of a URL, or None when it is not an http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && !host.contains(char::is_whitespace)).then(|| format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_keep_scheme_host_and_port_only() {
        assert_eq!(origin_of("http://127.0.0.1:8090/pay/x").as_deref(), Some("http://127.0.0.1:8090"));
        assert_eq!(origin_of("https://pay.example").as_deref(), Some("https://pay.example"));
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("http:// bad"), None);
    }

    #[test]
    fn govuk_pay_needs_its_secrets() {
        let env = [("GOVUK_PAY_URL", "https://pay.example")];
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        let err = load(get).unwrap_err();
        assert!(err.to_string().contains("DOORSTEP_GOVUK_PAY_API_KEY"), "{err}");
    }
}
