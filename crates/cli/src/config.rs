//! `--config FILE` (or `SANGATHAN_CONFIG`): the installation's settings from a TOML file. Each
//! setting stands for an environment variable, and the environment wins over the file: the file
//! only fills in variables that are not set. Values are never printed (secrets live here), and
//! neither is the file's text in an error: a bad file is named with its line number only.
//!
//! ```toml
//! db = "sqlite:///var/lib/sangathan/sangathan.db"
//! addr = "127.0.0.1:8080"
//! metrics_addr = "127.0.0.1:9464"
//! secure_cookies = true
//! log = "info,sqlx=error"
//! log_format = "json"
//! smtp_url = "smtp://127.0.0.1:25"
//! mail_from = "Sangathan <noreply@example.org>"
//! inbound_secret = "a long random string"
//! sms_url = "http://127.0.0.1:13013/cgi-bin/sendsms?username=u&password=p&to={to}&text={text}"
//! trusted_proxies = ["127.0.0.1"]
//!
//! [detect]
//! hourly_max = 80
//! ```

use anyhow::{anyhow, bail};
use std::path::{Path, PathBuf};

/// Each top-level setting of the file, the environment variable it stands for, and what it is.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    ("db", "SANGATHAN_DB", "database URL (sqlite://FILE or postgres://…)"),
    ("addr", "SANGATHAN_ADDR", "address `serve` listens on"),
    ("metrics_addr", "SANGATHAN_METRICS_ADDR", "serve /metrics on this address only"),
    ("secure_cookies", "SANGATHAN_SECURE_COOKIES", "session cookies marked Secure (behind TLS)"),
    ("log", "RUST_LOG", "log filter"),
    ("log_format", "SANGATHAN_LOG_FORMAT", "`text` or `json`"),
    ("log_codes", "SANGATHAN_LOG_CODES", "one-time codes in the log (development only)"),
    ("smtp_url", "SANGATHAN_SMTP_URL", "email relay"),
    ("mail_from", "SANGATHAN_MAIL_FROM", "sender of email notifications"),
    ("sms_url", "SANGATHAN_SMS_URL", "SMS gateway relay (http://…; `{to}`/`{text}` in it: a GET, else a JSON POST)"),
    ("sms_token", "SANGATHAN_SMS_TOKEN", "bearer token for the SMS gateway's JSON POST"),
    ("whatsapp_url", "SANGATHAN_WHATSAPP_URL", "WhatsApp gateway relay, like sms_url"),
    ("whatsapp_token", "SANGATHAN_WHATSAPP_TOKEN", "bearer token for the WhatsApp gateway"),
    ("inbound_secret", "SANGATHAN_INBOUND_SECRET", "the SMS provider's webhook secret"),
    ("trusted_proxies", "SANGATHAN_TRUSTED_PROXIES", "reverse proxies whose X-Forwarded-For is believed"),
    ("import_batch", "SANGATHAN_IMPORT_BATCH", "rows per import transaction"),
    ("jobs", "SANGATHAN_JOBS", "on (default) or off: off runs no background job on this node"),
    ("jobs_tick_secs", "SANGATHAN_JOBS_TICK_SECS", "seconds between background job rounds (outbox delivery, lease renewal)"),
    ("jobs_period_secs", "SANGATHAN_JOBS_PERIOD_SECS", "escalation, detection and digests run once per this many seconds"),
    ("jobs_lease_secs", "SANGATHAN_JOBS_LEASE_SECS", "seconds a dead node's hold on the periodic jobs lasts"),
    ("read_ahead", "SANGATHAN_READ_AHEAD", "on (default) or off: on, `serve` has the OS read the SQLite file into memory at start"),
    ("audit_retain_days", "SANGATHAN_AUDIT_RETAIN_DAYS", "days `audit archive` keeps"),
];

/// The file named by `--config FILE` / `--config=FILE` on the command line, else by
/// `SANGATHAN_CONFIG`. Read before clap so that the file can feed clap's `env` defaults.
pub fn path_from(args: &[String]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(p) = a.strip_prefix("--config=") {
            return Some(PathBuf::from(p));
        }
    }
    std::env::var_os("SANGATHAN_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The (variable, value) pairs a file's text stands for, every setting checked by name.
pub fn parse(path: &Path, text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let name = path.display();
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        match line {
            Some(l) => anyhow!("{name}: not valid TOML at line {l}: {}", e.message().trim()),
            None => anyhow!("{name}: not valid TOML: {}", e.message().trim()),
        }
    })?;
    let mut out = Vec::new();
    for (key, value) in &table {
        if key == "detect" {
            let toml::Value::Table(t) = value else {
                bail!("{name}: `detect` must be a table ([detect])");
            };
            for (k, v) in t {
                if !sangathan_core::detection::Thresholds::NAMES.contains(&k.as_str()) {
                    bail!(
                        "{name}: unknown setting detect.{k} (known: {})",
                        sangathan_core::detection::Thresholds::NAMES.join(", ")
                    );
                }
                out.push((
                    format!("SANGATHAN_DETECT_{}", k.to_ascii_uppercase()),
                    scalar(&name.to_string(), &format!("detect.{k}"), v, false)?,
                ));
            }
            continue;
        }
        let Some((_, var, _)) = SETTINGS.iter().find(|s| s.0 == key) else {
            bail!(
                "{name}: unknown setting {key} (known: {}, and the [detect] table)",
                SETTINGS.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
            );
        };
        out.push((
            var.to_string(),
            scalar(&name.to_string(), key, value, key == "log_codes")?,
        ));
    }
    Ok(out)
}

/// A setting's value as its variable holds it; `ones` writes booleans as 1/0.
fn scalar(file: &str, key: &str, v: &toml::Value, ones: bool) -> anyhow::Result<String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) if ones => if *b { "1" } else { "0" }.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(a) if a.iter().all(|x| x.is_str()) => a
            .iter()
            .filter_map(|x| x.as_str())
            .collect::<Vec<_>>()
            .join(","),
        _ => bail!("{file}: {key} must be a string, a number or true/false"),
    })
}

/// Read the file (if one is named) and set each of its variables the environment lacks.
///
/// Must run before any other thread exists (it sets environment variables): first thing in `main`.
pub fn apply(args: &[String]) -> anyhow::Result<()> {
    let Some(path) = path_from(args) else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow!("cannot read the configuration file {}: {e}", path.display()))?;
    for (var, value) in parse(&path, &text)? {
        if std::env::var_os(&var).is_none() {
            // SAFETY: called from `main` before the runtime or any other thread is started, so
            // nothing reads the environment concurrently.
            unsafe { std::env::set_var(&var, value) };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_map_to_variables() {
        let v = parse(
            Path::new("x.toml"),
            "db = \"sqlite://a.db\"\nsecure_cookies = true\nlog_codes = false\nimport_batch = 250\n[detect]\nhourly_max = 80\n",
        )
        .unwrap();
        assert!(v.contains(&("SANGATHAN_DB".into(), "sqlite://a.db".into())));
        assert!(v.contains(&("SANGATHAN_SECURE_COOKIES".into(), "true".into())));
        assert!(v.contains(&("SANGATHAN_LOG_CODES".into(), "0".into())));
        assert!(v.contains(&("SANGATHAN_IMPORT_BATCH".into(), "250".into())));
        assert!(v.contains(&("SANGATHAN_DETECT_HOURLY_MAX".into(), "80".into())));
    }

    #[test]
    fn errors_never_show_values() {
        let e = parse(Path::new("x.toml"), "inbound_secret = \"hunter2-hunter2-hunter2\nx = 1\n")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("line 1"), "{e}");
        let e = parse(Path::new("x.toml"), "db_url = \"postgres://u:secretpw@h/db\"\n")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secretpw") && e.contains("unknown setting db_url"), "{e}");
    }

    #[test]
    fn the_flag_wins_over_the_variable() {
        let a: Vec<String> = ["sangathan", "--config=/x.toml", "serve"].map(String::from).to_vec();
        assert_eq!(path_from(&a), Some(PathBuf::from("/x.toml")));
        let a: Vec<String> = ["sangathan", "--config", "/y.toml"].map(String::from).to_vec();
        assert_eq!(path_from(&a), Some(PathBuf::from("/y.toml")));
    }
}
