//! Delivering the outbox: email over SMTP (lettre), SMS and WhatsApp through a [`Provider`]:
//! an HTTP gateway when one is configured (`SANGATHAN_SMS_URL`, `SANGATHAN_WHATSAPP_URL`, see
//! [`HttpProvider`]), else one that only logs that a message went (its id and channel: never
//! the recipient or the text). Another provider: implement [`Provider`], put it in [`Providers`].

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

/// SMS or WhatsApp through an HTTP gateway, plain HTTP to a relay on this host or the private
/// network (as email goes to an SMTP relay; the relay does TLS onward). Two forms:
/// - a URL with `{to}` and `{text}` in it (Kannel's `sendsms`, most bulk-SMS HTTP APIs), e.g.
///   `http://127.0.0.1:13013/cgi-bin/sendsms?username=u&password=p&to={to}&text={text}`: a GET
///   with the recipient and text URL-encoded into it;
/// - any other URL: a POST of `{"id": …, "channel": …, "to": …, "text": …}` as JSON, with
///   `Authorization: Bearer TOKEN` when a token is set.
///
/// Any 2xx answer is sent; anything else is retried with the outbox's back-off. The URL and
/// token are secrets and the recipient and text personal data: none of them is ever logged.
pub struct HttpProvider {
    url: String,
    token: Option<String>,
    client: reqwest::Client,
}

impl HttpProvider {
    /// `what` names the setting in errors (`SANGATHAN_SMS_URL`).
    pub fn new(what: &str, url: &str, token: Option<String>) -> anyhow::Result<HttpProvider> {
        if !url.starts_with("http://") {
            anyhow::bail!(
                "{what} must be an http:// URL of a gateway relay on this host or the private network (TLS onward is the relay's)"
            );
        }
        if url.contains("{to}") != url.contains("{text}") {
            anyhow::bail!("{what}: a URL template needs both {{to}} and {{text}}");
        }
        // No redirects and no proxy from the environment: the URL may carry credentials and
        // every request carries a mobile and a message, which go to this relay and nowhere else.
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()?;
        Ok(HttpProvider { url: url.to_string(), token: token.filter(|t| !t.is_empty()), client })
    }
}

#[async_trait]
impl Provider for HttpProvider {
    async fn send(&self, item: &OutboxItem) -> Result<(), String> {
        let req = if self.url.contains("{to}") && self.url.contains("{text}") {
            let url = self
                .url
                .replace("{to}", &crate::web::urlencode(&item.recipient))
                .replace("{text}", &crate::web::urlencode(&item.body));
            self.client.get(url)
        } else {
            let body = serde_json::json!({"id": item.id, "channel": item.channel, "to": item.recipient, "text": item.body});
            let r = self.client.post(&self.url).json(&body);
            match &self.token {
                Some(t) => r.bearer_auth(t),
                None => r,
            }
        };
        // Errors name the status or the kind of failure only: reqwest's own messages carry the URL.
        match req.send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("{} gateway answered {}", item.channel, r.status().as_u16())),
            Err(e) if e.is_timeout() => Err(format!("{} gateway timed out", item.channel)),
            Err(e) if e.is_connect() => Err(format!("{} gateway unreachable", item.channel)),
            Err(_) => Err(format!("{} gateway request failed", item.channel)),
        }
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
        Self::from_vars(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// From settings looked up by variable name: `SANGATHAN_SMTP_URL`, `SANGATHAN_MAIL_FROM`,
    /// `SANGATHAN_SMS_URL` and `SANGATHAN_SMS_TOKEN`, `SANGATHAN_WHATSAPP_URL` and
    /// `SANGATHAN_WHATSAPP_TOKEN` ([`HttpProvider`]); a channel without a URL logs.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Providers> {
        let http = |url: &str, token: &str| -> anyhow::Result<Box<dyn Provider>> {
            Ok(match var(url) {
                Some(u) => Box::new(HttpProvider::new(url, &u, var(token))?),
                None => Box::new(LogProvider),
            })
        };
        let email = match var("SANGATHAN_SMTP_URL") {
            Some(url) => {
                let from = var("SANGATHAN_MAIL_FROM")
                    .unwrap_or_else(|| "Sangathan <noreply@localhost>".into());
                Some(Box::new(SmtpProvider::new(&url, &from)?) as Box<dyn Provider>)
            }
            _ => None,
        };
        Ok(Providers {
            email,
            sms: http("SANGATHAN_SMS_URL", "SANGATHAN_SMS_TOKEN")?,
            whatsapp: http("SANGATHAN_WHATSAPP_URL", "SANGATHAN_WHATSAPP_TOKEN")?,
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
    deliver_within(store, providers, None).await
}

/// [`deliver`], starting no new batch once `budget` has passed: a slow or unreachable gateway
/// then holds up a background round (its lease renewal, a stop) by at most the budget plus one
/// batch; what is left waits for the next round.
pub async fn deliver_within(
    store: &DynStore,
    providers: &Providers,
    budget: Option<std::time::Duration>,
) -> sangathan_store::Result<Delivered> {
    let started = std::time::Instant::now();
    let mut out = Delivered::default();
    // Small batches, each claimed just before it is sent, until nothing is due.
    loop {
        if budget.is_some_and(|b| started.elapsed() >= b) {
            break;
        }
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

/// How often the background jobs run, from the environment (whole seconds):
///
/// - `SANGATHAN_JOBS_TICK_SECS` (default 30): each node's round: deliver what is due, renew or
///   try the periodic jobs' lease.
/// - `SANGATHAN_JOBS_PERIOD_SECS` (default 3600): escalation, detection and the Monday digests
///   run once per period (periods start at IST midnight), on one node, whichever holds the lease.
///   It must divide a day and be at most 8 hours, so that periods line up with IST days and one
///   starts on Monday between 08:00 and 16:00 (the digests' round).
/// - `SANGATHAN_JOBS_LEASE_SECS` (default 120, or 4 ticks when longer): a node's hold on the lease
///   lapses this long after its last renewal; the longest a dead node holds the jobs up. Longer
///   than a tick (the holder renews it every round).
/// - `SANGATHAN_JOBS` (`on`, the default, or `off`): `off` runs no background job on this node
///   (it neither delivers nor takes the lease): a node that only answers requests while others
///   run the jobs, or a benchmark's server (`sangathan bench`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobTimes {
    pub tick: std::time::Duration,
    pub period: std::time::Duration,
    pub lease: std::time::Duration,
    pub off: bool,
}

impl Default for JobTimes {
    fn default() -> Self {
        JobTimes {
            tick: std::time::Duration::from_secs(30),
            period: std::time::Duration::from_secs(3600),
            lease: std::time::Duration::from_secs(120),
            off: false,
        }
    }
}

impl JobTimes {
    /// `base` with what `lookup` (an environment) sets; refused when a value is not a whole
    /// number of seconds from 1 to a week, or the lease is not longer than the tick.
    pub fn from_lookup(
        base: JobTimes,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<JobTimes> {
        let secs = |name: &str| -> anyhow::Result<Option<std::time::Duration>> {
            match lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if (1..=7 * 86400).contains(&n) => Ok(Some(std::time::Duration::from_secs(n))),
                    _ => anyhow::bail!("{name} must be a whole number of seconds from 1 to 604800, not {v:?}"),
                },
            }
        };
        let tick = secs("SANGATHAN_JOBS_TICK_SECS")?;
        let period = secs("SANGATHAN_JOBS_PERIOD_SECS")?.unwrap_or(base.period);
        let lease = secs("SANGATHAN_JOBS_LEASE_SECS")?;
        let off = match lookup("SANGATHAN_JOBS").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") => base.off,
            Some("on") => false,
            Some("off") => true,
            Some(v) => anyhow::bail!("SANGATHAN_JOBS must be on or off, not {v:?}"),
        };
        let times = JobTimes {
            tick: tick.unwrap_or(base.tick),
            period,
            // By default a lease outlasts four rounds: a slow round does not lose it.
            lease: lease.unwrap_or_else(|| base.lease.max(tick.unwrap_or(base.tick) * 4)),
            off,
        };
        let p = times.period.as_secs();
        if 86400 % p != 0 || p > 8 * 3600 {
            anyhow::bail!(
                "SANGATHAN_JOBS_PERIOD_SECS ({p}) must divide a day (86400) and be at most 28800 (8 hours): periods start at IST midnight and one must start on Monday between 08:00 and 16:00 for the weekly digests"
            );
        }
        if times.lease <= times.tick {
            anyhow::bail!(
                "SANGATHAN_JOBS_LEASE_SECS ({}) must be longer than SANGATHAN_JOBS_TICK_SECS ({}): the holder renews its lease every tick",
                times.lease.as_secs(),
                times.tick.as_secs()
            );
        }
        Ok(times)
    }
}

/// This process's name among the app nodes, `host:pid:random` (the random part tells apart a
/// restarted process that got the same pid, e.g. in a container).
pub fn node_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| "localhost".into());
        let mut r = [0u8; 4];
        getrandom::fill(&mut r).expect("the OS has randomness");
        format!("{host}:{}:{}", std::process::id(), hex::encode(r))
    })
}

/// The lease under which escalation, detection and the digests run.
pub const PERIODIC_LEASE: &str = "periodic";

/// The start of the period holding `t`: periods are counted from IST midnight (an hourly period
/// starts on the hour in India).
pub fn period_start(
    t: chrono::DateTime<chrono::Utc>,
    period: std::time::Duration,
) -> chrono::DateTime<chrono::Utc> {
    const IST: i64 = 5 * 3600 + 1800;
    let p = period.as_secs().max(1) as i64;
    let start = (t.timestamp() + IST).div_euclid(p) * p - IST;
    chrono::DateTime::from_timestamp(start, 0).unwrap_or(t)
}

/// The machine's real time, for leases and periods: never the pinned `SANGATHAN_NOW` (a
/// pinned clock would never let a dead node's lease lapse, nor a period end).
fn real_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Digests go out on Mondays from 08:00 IST.
fn digest_due(now: chrono::DateTime<chrono::Utc>) -> bool {
    let local = now.with_timezone(&clock::ist());
    chrono::Datelike::weekday(&local) == chrono::Weekday::Mon && chrono::Timelike::hour(&local) >= 8
}

/// One period's jobs: escalate overdue reports and unanswered requests to preside (each at most
/// once a day), fake-member detection over what is new, and on Mondays last week's digests (each
/// once per person and week). Each is safe to run again: a run cut short is simply repeated.
async fn run_periodic(store: &DynStore, thresholds: &sangathan_core::detection::Thresholds) -> bool {
    use crate::metrics::METRICS;
    let mut ok = true;
    match store.escalate(clock::now()).await {
        Ok(_) => METRICS.job_done("escalation", true),
        Err(e) => {
            ok = false;
            METRICS.job_done("escalation", false);
            tracing::warn!("escalation run failed: {e}");
        }
    }
    // Fake-member detection over what is new since the last run.
    match store.detect(thresholds, clock::now()).await {
        Ok(r) => {
            METRICS.job_done("detection", true);
            if r.flags_raised > 0 {
                tracing::info!("detection: {} new flags", r.flags_raised);
            }
        }
        Err(e) => {
            ok = false;
            METRICS.job_done("detection", false);
            tracing::warn!("detection run failed: {e}");
        }
    }
    // Monday from 08:00 IST: last week's digests (each once per person and week).
    let now = clock::now();
    if digest_due(now) {
        match crate::digest::send_all(store, now).await {
            Ok(_) => METRICS.job_done("digest", true),
            Err(e) => {
                ok = false;
                METRICS.job_done("digest", false);
                tracing::warn!("weekly digests failed: {e}");
            }
        }
    }
    ok
}

/// Whether this node still holds `name` by the lease table: a take that returned nothing may
/// only have met the row locked for an instant by another node's try (SKIP LOCKED), which is
/// not a loss.
async fn still_held(store: &DynStore, name: &str, node: &str) -> bool {
    match store.leases().await {
        Ok(all) => all
            .iter()
            .any(|l| l.name == name && l.holder.as_deref() == Some(node) && l.held_until.is_some_and(|u| u > real_now())),
        Err(_) => false,
    }
}

/// The period's jobs are done (by this node earlier, or by another): their rounds count as
/// successes here, so that every node's job lag stays low while one node does the work.
fn period_done_here() {
    use crate::metrics::METRICS;
    METRICS.job_done("escalation", true);
    METRICS.job_done("detection", true);
    if digest_due(clock::now()) {
        METRICS.job_done("digest", true);
    }
}

/// Run `job` while holding the lease, renewing it every third of its length. None when another
/// node took the lease meanwhile (it stopped being renewed, e.g. the database was unreachable):
/// the run is dropped there (its open transaction rolls back) and the holder runs the period.
async fn while_holding<F: std::future::Future<Output = bool>>(
    store: &DynStore,
    node: &str,
    times: &JobTimes,
    job: F,
) -> Option<bool> {
    let ttl = chrono::Duration::from_std(times.lease).unwrap_or(chrono::Duration::minutes(2));
    let mut renew = tokio::time::interval((times.lease / 3).max(std::time::Duration::from_millis(200)));
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    renew.tick().await;
    tokio::pin!(job);
    loop {
        tokio::select! {
            ok = &mut job => return Some(ok),
            _ = renew.tick() => match store.take_lease(PERIODIC_LEASE, node, ttl, real_now()).await {
                Ok(Some(_)) => {}
                Ok(None) if still_held(store, PERIODIC_LEASE, node).await => {}
                Ok(None) => return None,
                Err(e) => tracing::warn!(error = %e, "could not renew the periodic jobs' lease"),
            },
        }
    }
}

/// One round of the periodic jobs on this node: take or renew the lease; when held and the
/// current period has not been run (by any node), run it and record it. Whether this node holds
/// the lease after the round.
async fn periodic_round(
    store: &DynStore,
    thresholds: &sangathan_core::detection::Thresholds,
    node: &str,
    times: &JobTimes,
    held: bool,
) -> bool {
    let ttl = chrono::Duration::from_std(times.lease).unwrap_or(chrono::Duration::minutes(2));
    let period = period_start(real_now(), times.period);
    let lease = match store.take_lease(PERIODIC_LEASE, node, ttl, real_now()).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "could not take or renew the periodic jobs' lease");
            return held;
        }
    };
    let Some(lease) = lease else {
        if held && still_held(store, PERIODIC_LEASE, node).await {
            // Only locked for an instant by another node's try: still ours; run next round.
            return true;
        }
        if held {
            tracing::warn!(node, "the periodic jobs' lease passed to another node");
        }
        // Another node holds it: this period's work may be done already.
        if let Ok(all) = store.leases().await
            && all
                .iter()
                .any(|l| l.name == PERIODIC_LEASE && l.done_period.is_some_and(|p| p >= period))
        {
            period_done_here();
        }
        return false;
    };
    if let Some(from) = &lease.taken_from {
        tracing::warn!(node, from = %from, "took over the periodic jobs' lease: its holder stopped renewing it");
    } else if !held {
        tracing::info!(node, "holding the periodic jobs' lease");
    }
    if lease.done_period.is_some_and(|p| p >= period) {
        period_done_here();
        return true;
    }
    let started = real_now();
    match while_holding(store, node, times, run_periodic(store, thresholds)).await {
        None => {
            tracing::warn!(node, "the periodic jobs' lease passed to another node during a run: the run was dropped");
            return false;
        }
        // A job failed: the period is not recorded as done, so the next round runs it again
        // (and no other node's metrics count it as a success).
        Some(false) => return true,
        Some(true) => {}
    }
    match store
        .finish_lease(PERIODIC_LEASE, node, period, started, real_now())
        .await
    {
        Ok(true) => true,
        Ok(false) => {
            tracing::warn!(node, "a periodic run finished after its lease passed to another node: not recorded");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not record the periodic run");
            true
        }
    }
}

/// Run in the background while serving, on every app node: every tick (30 s) deliver the
/// outbox (nodes claim different items); once per period (an hour), on the one node holding the
/// periodic lease, escalate overdue reports and unanswered requests to preside, detect fake
/// members and, on Mondays, send last week's digests (see [`JobTimes`]). When `stop` turns true
/// the task finishes the round it is in, gives the lease up (another node takes it at once) and
/// ends (awaiting the handle waits for that). None when the providers are misconfigured
/// (nothing runs).
pub fn spawn_jobs(
    store: DynStore,
    thresholds: sangathan_core::detection::Thresholds,
    times: JobTimes,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    use crate::metrics::METRICS;
    if times.off {
        tracing::info!(node = node_id(), "background jobs off on this node (SANGATHAN_JOBS=off)");
        return None;
    }
    let providers = match Providers::from_env() {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("notifications disabled: {e}");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        let node = node_id();
        tracing::info!(
            node,
            tick_secs = times.tick.as_secs(),
            period_secs = times.period.as_secs(),
            lease_secs = times.lease.as_secs(),
            "background jobs started"
        );
        let mut tick = tokio::time::interval(times.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut held = false;
        loop {
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                _ = tick.tick() => {}
                // A stop (or the sender gone) between rounds: end now.
                _ = stop.changed() => break,
            }
            held = periodic_round(&store, &thresholds, node, &times, held).await;
            // A delivery round gets a third of the lease: a slow gateway cannot make this node
            // miss its renewals (or a stop) however long the backlog.
            match deliver_within(&store, &providers, Some(times.lease / 3)).await {
                Ok(_) => METRICS.job_done("delivery", true),
                Err(e) => {
                    METRICS.job_done("delivery", false);
                    tracing::warn!("outbox delivery failed: {e}");
                }
            }
        }
        if held {
            match store.release_lease(PERIODIC_LEASE, node).await {
                Ok(_) => tracing::info!(node, "gave up the periodic jobs' lease"),
                Err(e) => tracing::warn!(error = %e, "could not give up the periodic jobs' lease"),
            }
        }
        tracing::info!("background jobs stopped");
    }))
}

#[cfg(test)]
mod job_times_tests {
    use super::JobTimes;

    fn with(period: &str) -> anyhow::Result<JobTimes> {
        JobTimes::from_lookup(JobTimes::default(), |n| (n == "SANGATHAN_JOBS_PERIOD_SECS").then(|| period.to_string()))
    }

    #[test]
    fn periods_divide_a_day_and_leave_a_monday_morning_round() {
        assert_eq!(with("3600").unwrap().period.as_secs(), 3600);
        assert_eq!(with("28800").unwrap().period.as_secs(), 28800);
        assert_eq!(with("1").unwrap().period.as_secs(), 1);
        // A day or a week would start on Monday at 00:00 (or on a Thursday): no digests.
        for bad in ["86400", "604800", "7000", "43200"] {
            let e = with(bad).unwrap_err().to_string();
            assert!(e.contains("SANGATHAN_JOBS_PERIOD_SECS"), "{bad}: {e}");
        }
    }

    #[test]
    fn jobs_are_on_unless_turned_off() {
        let jobs = |v: &str| JobTimes::from_lookup(JobTimes::default(), |n| (n == "SANGATHAN_JOBS").then(|| v.to_string()));
        assert!(!JobTimes::default().off);
        assert!(jobs("off").unwrap().off);
        assert!(jobs(" OFF ").unwrap().off);
        assert!(!jobs("on").unwrap().off);
        assert!(!jobs("").unwrap().off);
        let e = jobs("no").unwrap_err().to_string();
        assert!(e.contains("SANGATHAN_JOBS must be on or off"), "{e}");
    }
}
