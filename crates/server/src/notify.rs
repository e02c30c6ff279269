//! Delivering the outbox: email over SMTP (lettre), SMS and WhatsApp through a [`Provider`].
//! No SMS or WhatsApp provider is reachable from here, so the shipped one only logs that a
//! message went (its id and channel: never the recipient or the text). To plug in a real one,
//! implement [`Provider`] and put it in [`Providers`].

use async_trait::async_trait;
use sangathan_store::meetings::OutboxItem;
use sangathan_store::{DynStore, clock};

#[async_trait]
pub trait Provider: Send + Sync {
    /// Send one message; an error is retried later with back-off.
    async fn send(&self, item: &OutboxItem) -> Result<(), String>;

    /// Read what the provider's inbound webhook posted: a missed call or a reply SMS. A real
    /// provider maps its own format here; the default reads Sangathan's own JSON,
    /// `{"from": MOBILE, "kind": "missed_call" | "sms", "text": …}`.
    fn parse_inbound(&self, body: &[u8]) -> Result<Inbound, String> {
        serde_json::from_slice(body).map_err(|e| format!("not an inbound message: {e}"))
    }
}

/// A missed call or SMS that reached the organisation's number.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct Inbound {
    /// The caller's or sender's mobile, as the network gives it.
    pub from: String,
    /// `missed_call` or `sms`.
    pub kind: String,
    /// The SMS text (none for a call).
    #[serde(default)]
    pub text: Option<String>,
}

/// Logs the message's id and channel and calls it sent.
pub struct LogProvider;

#[async_trait]
impl Provider for LogProvider {
    async fn send(&self, item: &OutboxItem) -> Result<(), String> {
        tracing::info!(id = item.id, channel = %item.channel, "notification handed to the logging provider");
        Ok(())
    }
}

/// Email through an SMTP relay, `smtp://HOST:PORT` (plain SMTP to a relay on this host or the
/// private network; the relay does TLS onward).
pub struct SmtpProvider {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl SmtpProvider {
    pub fn new(url: &str, from: &str) -> anyhow::Result<SmtpProvider> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| anyhow::anyhow!("SANGATHAN_SMTP_URL must look like smtp://HOST:PORT"))?;
        let (host, port) = match rest.trim_end_matches('/').rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse::<u16>()?),
            None => (rest.trim_end_matches('/').to_string(), 25),
        };
        let transport =
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(host)
                .port(port)
                .timeout(Some(std::time::Duration::from_secs(20)))
                .build();
        Ok(SmtpProvider {
            transport,
            from: from.parse()?,
        })
    }
}

#[async_trait]
impl Provider for SmtpProvider {
    async fn send(&self, item: &OutboxItem) -> Result<(), String> {
        use lettre::AsyncTransport;
        let to: lettre::message::Mailbox = item
            .recipient
            .parse()
            .map_err(|e| format!("bad address: {e}"))?;
        let msg = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(
                item.subject
                    .clone()
                    .unwrap_or_else(|| "संगठन / Sangathan".into()),
            )
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(item.body.clone())
            .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport
            .send(msg)
            .await
            .map(|_| ())
            .map_err(|e| format!("smtp: {e}"))
    }
}

/// One provider per channel. Email stays queued while no SMTP relay is configured.
pub struct Providers {
    pub email: Option<Box<dyn Provider>>,
    pub sms: Box<dyn Provider>,
    pub whatsapp: Box<dyn Provider>,
}

impl Providers {
    /// From the environment: `SANGATHAN_SMTP_URL` (e.g. `smtp://127.0.0.1:25`) and
    /// `SANGATHAN_MAIL_FROM` (default `Sangathan <noreply@localhost>`); SMS and WhatsApp log.
    pub fn from_env() -> anyhow::Result<Providers> {
        let email = match std::env::var("SANGATHAN_SMTP_URL") {
            Ok(url) if !url.is_empty() => {
                let from = std::env::var("SANGATHAN_MAIL_FROM")
                    .unwrap_or_else(|_| "Sangathan <noreply@localhost>".into());
                Some(Box::new(SmtpProvider::new(&url, &from)?) as Box<dyn Provider>)
            }
            _ => None,
        };
        Ok(Providers {
            email,
            sms: Box::new(LogProvider),
            whatsapp: Box::new(LogProvider),
        })
    }

    fn for_channel(&self, channel: &str) -> Option<&dyn Provider> {
        match channel {
            "email" => self.email.as_deref(),
            "sms" => Some(self.sms.as_ref()),
            "whatsapp" => Some(self.whatsapp.as_ref()),
            _ => None,
        }
    }
}

/// What one delivery round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Delivered {
    pub sent: u64,
    pub failed: u64,
    /// Waiting for a provider that is not configured (email without SMTP).
    pub held: u64,
}

/// Send what is due now, each message at most once (it is marked sent right after it went).
pub async fn deliver(
    store: &DynStore,
    providers: &Providers,
) -> sangathan_store::Result<Delivered> {
    let mut out = Delivered::default();
    // Small batches, each claimed just before it is sent, until nothing is due.
    loop {
        let batch = store.outbox_due(clock::now(), 20).await?;
        if batch.is_empty() {
            break;
        }
        for item in batch {
            let Some(p) = providers.for_channel(&item.channel) else {
                out.held += 1;
                continue;
            };
            match p.send(&item).await {
                Ok(()) => {
                    store.outbox_done(item.id, None, clock::now()).await?;
                    out.sent += 1;
                }
                Err(e) => {
                    tracing::warn!(id = item.id, channel = %item.channel, "notification not delivered; will retry");
                    store.outbox_done(item.id, Some(&e), clock::now()).await?;
                    out.failed += 1;
                }
            }
        }
    }
    Ok(out)
}

/// A WhatsApp click-to-chat link that shares `text` (no provider needed).
pub fn whatsapp_share(text: &str) -> String {
    format!("https://wa.me/?text={}", crate::web::urlencode(text))
}

/// Run in the background while serving: deliver every 30 s; hourly, escalate overdue reports and
/// unanswered requests to preside (each at most once a day) and, on Mondays, send last week's
/// digests. When `stop` turns true the task finishes the round it is in and ends (awaiting the
/// handle waits for that). None when the providers are misconfigured (nothing runs).
pub fn spawn_jobs(
    store: DynStore,
    thresholds: sangathan_core::detection::Thresholds,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    use crate::metrics::METRICS;
    let providers = match Providers::from_env() {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("notifications disabled: {e}");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        let mut last_escalation: Option<std::time::Instant> = None;
        loop {
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                _ = tick.tick() => {}
                // A stop (or the sender gone) between rounds: end now.
                _ = stop.changed() => break,
            }
            if last_escalation.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(3600)) {
                last_escalation = Some(std::time::Instant::now());
                match store.escalate(clock::now()).await {
                    Ok(_) => METRICS.job_done("escalation", true),
                    Err(e) => {
                        METRICS.job_done("escalation", false);
                        tracing::warn!("escalation run failed: {e}");
                    }
                }
                // Fake-member detection over what is new since the last run.
                match store.detect(&thresholds, clock::now()).await {
                    Ok(r) => {
                        METRICS.job_done("detection", true);
                        if r.flags_raised > 0 {
                            tracing::info!("detection: {} new flags", r.flags_raised);
                        }
                    }
                    Err(e) => {
                        METRICS.job_done("detection", false);
                        tracing::warn!("detection run failed: {e}");
                    }
                }
                // Monday from 08:00 IST: last week's digests (each once per person and week).
                let now = clock::now();
                let local = now.with_timezone(&clock::ist());
                if chrono::Datelike::weekday(&local) == chrono::Weekday::Mon
                    && chrono::Timelike::hour(&local) >= 8
                {
                    match crate::digest::send_all(&store, now).await {
                        Ok(_) => METRICS.job_done("digest", true),
                        Err(e) => {
                            METRICS.job_done("digest", false);
                            tracing::warn!("weekly digests failed: {e}");
                        }
                    }
                }
            }
            match deliver(&store, &providers).await {
                Ok(_) => METRICS.job_done("delivery", true),
                Err(e) => {
                    METRICS.job_done("delivery", false);
                    tracing::warn!("outbox delivery failed: {e}");
                }
            }
        }
        tracing::info!("background jobs stopped");
    }))
}
