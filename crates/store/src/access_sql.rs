// Accounts, posts, sessions, one-time codes, the audit chain and members' rights: the SQL both
// backends share. `include!`d into `sqlite.rs` and `postgres.rs` after `common.rs`.

use crate::failure_key;
use crate::model::{AuditCheck, AuditEvent, AuditRecord, NewPost, PostView, SessionRecord, UserRecord};
use sangathan_core::access::{Post, Role, Scope};

/// Random bytes as hex: session ids, CSRF tokens.
fn random_hex(n: usize) -> Result<String> {
    let mut raw = vec![0u8; n];
    getrandom::fill(&mut raw).map_err(|e| StoreError::Refused(format!("no randomness: {e}")))?;
    Ok(hex::encode(raw))
}

/// A six-digit one-time code, uniformly drawn.
fn random_code() -> Result<String> {
    loop {
        let mut raw = [0u8; 4];
        getrandom::fill(&mut raw).map_err(|e| StoreError::Refused(format!("no randomness: {e}")))?;
        let v = u32::from_le_bytes(raw);
        // Reject the top sliver so that every code is equally likely.
        if v < u32::MAX - (u32::MAX % 1_000_000) {
            return Ok(format!("{:06}", v % 1_000_000));
        }
    }
}

/// Timestamps in the audit chain: microseconds (what PostgreSQL keeps), so a read-back hashes alike.
fn audit_time(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike;
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).expect("valid nanosecond")
}

/// The chain: each event's hash covers the previous hash and every field of the event.
fn audit_hash(prev: &str, id: i64, at: DateTime<Utc>, e: &AuditEvent) -> String {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::to_string(&(
        prev,
        id,
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        &e.actor,
        &e.post,
        &e.action,
        &e.record,
        e.person_id,
        &e.address,
        &e.outcome,
    ))
    .expect("serialisable");
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Where the chain starts: the genesis value, or the last archived event.
const AUDIT_GENESIS: &str = "sangathan-audit-genesis";

async fn audit_head(c: &mut Conn) -> Result<(i64, String)> {
    let last: Option<(i64, String)> = sqlx::query_as("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *c)
        .await?;
    if let Some(l) = last {
        return Ok(l);
    }
    let archived: Option<(i64, String)> =
        sqlx::query_as("SELECT last_id, last_hash FROM audit_archives ORDER BY last_id DESC LIMIT 1").fetch_optional(&mut *c).await?;
    Ok(archived.unwrap_or((0, AUDIT_GENESIS.to_string())))
}

/// Append events in the caller's transaction (which must hold the audit lock).
async fn audit_append(c: &mut Conn, events: &[AuditEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let (mut id, mut prev) = audit_head(c).await?;
    let at = audit_time(crate::clock::now());
    let mut rows = Vec::with_capacity(events.len());
    for e in events {
        id += 1;
        let hash = audit_hash(&prev, id, at, e);
        rows.push((id, e, prev.clone(), hash.clone()));
        prev = hash;
    }
    for chunk in pow2_chunks(&rows, 256) {
        let mut qb: QueryBuilder<DB> = QueryBuilder::new(format!(
            "{} audit_events (id, at, actor, post, action, record, person_id, address, outcome, prev_hash, hash) ",
            StoreImpl::INSERT_ROWS
        ));
        qb.push_values(chunk, |mut b, (id, e, prev, hash)| {
            b.push_bind(*id)
                .push_bind(at)
                .push_bind(e.actor.clone())
                .push_bind(e.post.clone())
                .push_bind(e.action.clone())
                .push_bind(e.record.clone())
                .push_bind(e.person_id)
                .push_bind(e.address.clone())
                .push_bind(e.outcome.clone())
                .push_bind(prev.clone())
                .push_bind(hash.clone());
        });
        qb.build().execute(&mut *c).await?;
    }
    // The head, so that removing the newest events is noticed too.
    set_meta(c, "audit_head", &format!("{id}:{prev}")).await?;
    Ok(())
}

type AuditRow = (i64, DateTime<Utc>, String, Option<String>, String, Option<String>, Option<i64>, Option<String>, String, String, String);

fn audit_record(r: AuditRow) -> (AuditRecord, String) {
    (
        AuditRecord {
            id: r.0,
            at: r.1,
            event: AuditEvent { actor: r.2, post: r.3, action: r.4, record: r.5, person_id: r.6, address: r.7, outcome: r.8 },
            hash: r.10,
        },
        r.9,
    )
}

const AUDIT_COLS: &str = "id, at, actor, post, action, record, person_id, address, outcome, prev_hash, hash";

async fn scope_of(c: &mut Conn, person_id: i64, today: NaiveDate) -> Result<Scope> {
    let disabled: Option<Option<DateTime<Utc>>> =
        sqlx::query_scalar("SELECT disabled_at FROM users WHERE person_id = $1").bind(person_id).fetch_optional(&mut *c).await?;
    if !matches!(disabled, Some(None)) {
        return Ok(Scope::default());
    }
    let rows: Vec<(String, i64, i64, String)> = sqlx::query_as(
        "SELECT p.role, p.unit_id, p.wing_id, p.role || '@' || u.code || ':' || w.code FROM posts p \
         JOIN units u ON u.id = p.unit_id JOIN wings w ON w.id = p.wing_id \
         WHERE p.person_id = $1 AND p.starts_on <= $2 AND (p.ends_on IS NULL OR p.ends_on >= $2)",
    )
    .bind(person_id)
    .bind(today)
    .fetch_all(&mut *c)
    .await?;
    let mut posts = Vec::with_capacity(rows.len());
    for (role, unit_id, wing_id, label) in rows {
        let Some(role) = Role::parse(&role) else { continue };
        let u = unit_by_id(c, unit_id).await?;
        posts.push(Post { role, unit: place_of(&u), wing_id, label });
    }
    Ok(Scope::new(posts))
}

/// Erase a person's personal data everywhere, in the caller's transaction; their memberships stay
/// as anonymous rows so that every count stays exact. Records merged into them are erased too.
async fn erase_in(c: &mut Conn, person_id: i64) -> Result<bool> {
    let now = crate::clock::now();
    let erased: Option<Option<DateTime<Utc>>> =
        sqlx::query_scalar("SELECT erased_at FROM people WHERE id = $1").bind(person_id).fetch_optional(&mut *c).await?;
    if !matches!(erased, Some(None)) {
        // Unknown, or erased already.
        return Ok(false);
    }
    // The person and every record once merged into them.
    let mut ids = vec![person_id];
    ids.extend(merged_records(c, &[person_id]).await?.into_iter().map(|r| r.0));
    let mut mobiles = Vec::new();
    for id in &ids {
        let (m, e, name): (Option<String>, Option<String>, String) =
            sqlx::query_as("SELECT mobile, epic, name FROM people WHERE id = $1").bind(id).fetch_one(&mut *c).await?;
        // Rejected import rows that carried the person's identifiers or name.
        let digits = m.as_deref().map(|m| m.trim_start_matches("+91").to_string());
        sqlx::query(
            "DELETE FROM import_errors WHERE value = $1 OR ($2 IS NOT NULL AND UPPER(value) LIKE '%' || $2 || '%') \
             OR ($3 IS NOT NULL AND REPLACE(REPLACE(REPLACE(value, ' ', ''), '-', ''), '.', '') LIKE '%' || $3 || '%')",
        )
        .bind(&name)
        .bind(&e)
        .bind(&digits)
        .execute(&mut *c)
        .await?;
        // Their calendar feeds stop, their charges end.
        sqlx::query("UPDATE calendar_feeds SET revoked_at = $2 WHERE revoked_at IS NULL AND (created_by = $3 OR (kind = 'person' AND target_id = $1))")
            .bind(id)
            .bind(crate::clock::now())
            .bind(format!("person:{id}"))
            .execute(&mut *c)
            .await?;
        sqlx::query("UPDATE charges SET ended_at = $2 WHERE person_id = $1 AND ended_at IS NULL").bind(id).bind(crate::clock::now()).execute(&mut *c).await?;
        // Their contact record (if they were met before joining) and meeting links go too.
        sqlx::query("DELETE FROM contacts WHERE person_id = $1").bind(id).execute(&mut *c).await?;
        sqlx::query("DELETE FROM meeting_people WHERE person_id = $1").bind(id).execute(&mut *c).await?;
        erase_volunteer_data(c, *id).await?;
        // Notifications to them and their email address go too.
        sqlx::query("DELETE FROM outbox WHERE recipient = (SELECT email FROM users WHERE person_id = $1)").bind(id).execute(&mut *c).await?;
        sqlx::query("UPDATE users SET email = NULL WHERE person_id = $1").bind(id).execute(&mut *c).await?;
        if let Some(m) = &m {
            sqlx::query("DELETE FROM one_time_codes WHERE mobile = $1").bind(m).execute(&mut *c).await?;
            sqlx::query("DELETE FROM outbox WHERE recipient = $1").bind(m).execute(&mut *c).await?;
            mobiles.push(m.clone());
        }
        sqlx::query(
            "UPDATE people SET name = '', name_key = '', search_key = '', gender = NULL, birth_year = NULL, address = NULL, \
             mobile = NULL, epic = NULL, erased_at = $2, consent_withdrawn_at = COALESCE(consent_withdrawn_at, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *c)
        .await?;
        // Membership numbers point at the person: replaced, the rows (and so the counts) kept.
        sqlx::query("UPDATE memberships SET number = 'ERASED-' || CAST(id AS TEXT) WHERE person_id = $1").bind(id).execute(&mut *c).await?;
        sqlx::query("UPDATE merges SET snapshot = '{\"erased\":true}' WHERE from_id = $1 OR into_id = $1").bind(id).execute(&mut *c).await?;
        sqlx::query("DELETE FROM idempotency WHERE response LIKE '%\"person_id\":' || CAST($1 AS TEXT) || ',%'").bind(id).execute(&mut *c).await?;
        sqlx::query("DELETE FROM correction_requests WHERE person_id = $1").bind(id).execute(&mut *c).await?;
        sqlx::query("DELETE FROM sensitive_attributes WHERE person_id = $1").bind(id).execute(&mut *c).await?;
        end_logins(c, *id, now).await?;
        sqlx::query("DELETE FROM sessions WHERE person_id = $1").bind(id).execute(&mut *c).await?;
        sqlx::query("UPDATE users SET password_hash = NULL WHERE person_id = $1").bind(id).execute(&mut *c).await?;
        sqlx::query("UPDATE posts SET ends_on = $2 WHERE person_id = $1 AND (ends_on IS NULL OR ends_on > $2)")
            .bind(id)
            .bind(crate::clock::day_of(now))
            .execute(&mut *c)
            .await?;
    }
    // Failed logins counted against a mobile are forgotten with it, unless a household member
    // still holds it: their login stays throttled.
    for m in &mobiles {
        sqlx::query("DELETE FROM login_failures WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM people WHERE mobile = $2)")
            .bind(failure_key("account", m))
            .bind(m)
            .execute(&mut *c)
            .await?;
    }
    Ok(true)
}

/// A person logs in no more, in the caller's transaction: their user is disabled, their
/// sessions end, their tokens and the calendar feeds they made (a feed's address is a
/// credential) are revoked. The number of users disabled (0 or 1). The caller clears the token
/// cache after the commit.
async fn end_logins(c: &mut Conn, person_id: i64, now: DateTime<Utc>) -> Result<u64> {
    let n = sqlx::query("UPDATE users SET disabled_at = $2 WHERE person_id = $1 AND disabled_at IS NULL")
        .bind(person_id)
        .bind(now)
        .execute(&mut *c)
        .await?
        .rows_affected();
    sqlx::query("UPDATE sessions SET ended_at = $2 WHERE person_id = $1 AND ended_at IS NULL").bind(person_id).bind(now).execute(&mut *c).await?;
    sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE person_id = $1 AND revoked_at IS NULL").bind(person_id).bind(now).execute(&mut *c).await?;
    sqlx::query("UPDATE calendar_feeds SET revoked_at = $1 WHERE created_by = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(format!("person:{person_id}"))
        .execute(&mut *c)
        .await?;
    Ok(n)
}

impl StoreImpl {
    pub(crate) async fn place_impl(&self, code: &str) -> Result<Option<Place>> {
        let mut c = self.read.acquire().await?;
        Ok(unit_by_code(&mut c, code).await?.map(|u| place_of(&u)))
    }

    pub(crate) async fn person_places_impl(&self, person_id: i64) -> Result<Option<(Place, Vec<(Place, i64)>)>> {
        let mut c = self.read.acquire().await?;
        let home: Option<i64> =
            sqlx::query_scalar("SELECT unit_id FROM people WHERE id = $1 AND erased_at IS NULL").bind(person_id).fetch_optional(&mut *c).await?;
        let Some(home) = home else { return Ok(None) };
        let home = place_of(&unit_by_id(&mut c, home).await?);
        let ms: Vec<(i64, i64)> =
            sqlx::query_as("SELECT unit_id, wing_id FROM memberships WHERE person_id = $1").bind(person_id).fetch_all(&mut *c).await?;
        let mut out = Vec::with_capacity(ms.len());
        for (u, w) in ms {
            out.push((place_of(&unit_by_id(&mut c, u).await?), w));
        }
        Ok(Some((home, out)))
    }

    pub(crate) async fn add_user_impl(
        &self,
        name: &sangathan_core::ids::PersonName,
        mobile: &Mobile,
        password_hash: Option<&str>,
        posts: &[NewPost],
        actor: &str,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        first_load_guard(&mut tx, None).await?;
        Self::lock_keys(&mut tx, &[format!("m:{}", mobile.e164())]).await?;
        let s = settings(&mut tx).await?;
        // Units and wings first: a bad post writes nothing.
        let mut resolved = Vec::new();
        for p in posts {
            let u = unit_by_code(&mut tx, &p.unit).await?.ok_or_else(|| {
                FieldError::new("post", "unknown_unit", format!("unknown unit: {}", p.unit), format!("अज्ञात इकाई: {}", p.unit))
            })?;
            if !p.role.held_at().contains(&u.kind) {
                return Err(FieldError::new(
                    "post",
                    "wrong_level",
                    format!("a {} post is not held at a {} ({})", p.role.code(), u.kind.as_str(), u.code),
                    format!("{} का पद {} स्तर पर नहीं होता ({})", p.role.code(), u.kind.as_str(), u.code),
                )
                .into());
            }
            let (wing_id, _) = s.wings.get(&p.wing).cloned().ok_or_else(|| unknown_wing(&p.wing))?;
            resolved.push((p, u, wing_id));
        }
        let key = name.key();
        let existing: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, merged_into FROM people WHERE mobile = $1 AND name_key = $2 AND erased_at IS NULL",
        )
        .bind(mobile.e164())
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await?;
        // A record merged into another person keeps its mobile and name (core's identity.rs): a
        // login on them would be someone else's mobile and name for that person.
        if let Some((_, Some(into))) = existing {
            return Err(FieldError::new(
                "mobile",
                "merged_record",
                format!("this mobile and name are a record merged into person #{into}: give the login on that person's own mobile"),
                format!("यह मोबाइल और नाम व्यक्ति #{into} में मिलाए गए रिकॉर्ड के हैं: लॉगिन उस व्यक्ति के अपने मोबाइल पर दें"),
            )
            .into());
        }
        let existing: Option<i64> = existing.map(|(id, _)| id);
        // One login per mobile: another person on the same mobile cannot be a second user.
        let other: Option<i64> = sqlx::query_scalar(
            "SELECT u.person_id FROM users u JOIN people p ON p.id = u.person_id WHERE p.mobile = $1 AND u.disabled_at IS NULL \
             AND p.merged_into IS NULL",
        )
        .bind(mobile.e164())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(o) = other
            && Some(o) != existing
        {
            return Err(FieldError::new(
                "mobile",
                "mobile_has_user",
                "another user already logs in with this mobile",
                "इस मोबाइल से कोई अन्य उपयोगकर्ता पहले से लॉग इन करता है",
            )
            .into());
        }
        let now = crate::clock::now();
        let person_id = match existing {
            Some(id) => id,
            None => {
                let home = resolved.first().map(|r| r.1.id).unwrap_or(s_state_id(&mut tx).await?);
                let (id, _) = Self::reserve_person_ids(&mut tx, 1).await?;
                sqlx::query(
                    "INSERT INTO people (id, name, name_key, search_key, mobile, unit_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id)
                .bind(name.as_str())
                .bind(&key)
                .bind(sangathan_core::search::joined_key(name.as_str()))
                .bind(mobile.e164())
                .bind(home)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                id
            }
        };
        sqlx::query(
            "INSERT INTO users (person_id, password_hash, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (person_id) DO UPDATE SET password_hash = COALESCE(excluded.password_hash, users.password_hash), disabled_at = NULL",
        )
        .bind(person_id)
        .bind(password_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (p, u, wing_id) in resolved {
            let held: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM posts WHERE person_id = $1 AND role = $2 AND unit_id = $3 AND wing_id = $4 AND ends_on IS NULL",
            )
            .bind(person_id)
            .bind(p.role.code())
            .bind(u.id)
            .bind(wing_id)
            .fetch_optional(&mut *tx)
            .await?;
            if held.is_none() {
                sqlx::query(
                    "INSERT INTO posts (person_id, role, unit_id, wing_id, starts_on, appointed_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(person_id)
                .bind(p.role.code())
                .bind(u.id)
                .bind(wing_id)
                .bind(p.starts_on)
                .bind(actor)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(person_id)
    }

    pub(crate) async fn user_by_mobile_impl(&self, mobile: &str) -> Result<Option<UserRecord>> {
        let mut c = self.read.acquire().await?;
        let r: Option<(i64, String, String, Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT p.id, p.name, p.mobile, u.password_hash, u.disabled_at FROM users u JOIN people p ON p.id = u.person_id \
             WHERE p.mobile = $1 AND p.erased_at IS NULL AND p.merged_into IS NULL ORDER BY u.disabled_at IS NULL DESC, p.id LIMIT 1",
        )
        .bind(mobile)
        .fetch_optional(&mut *c)
        .await?;
        Ok(r.map(|r| UserRecord { person_id: r.0, name: r.1, mobile: r.2, password_hash: r.3, disabled: r.4.is_some() }))
    }

    pub(crate) async fn posts_impl(&self, person_id: i64, today: NaiveDate) -> Result<Vec<PostView>> {
        let mut c = self.read.acquire().await?;
        let rows: Vec<(i64, String, String, String, String, NaiveDate, Option<NaiveDate>)> = sqlx::query_as(
            "SELECT p.id, p.role, u.code, u.name_en, w.code, p.starts_on, p.ends_on FROM posts p \
             JOIN units u ON u.id = p.unit_id JOIN wings w ON w.id = p.wing_id WHERE p.person_id = $1 ORDER BY p.id",
        )
        .bind(person_id)
        .fetch_all(&mut *c)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| PostView {
                id: r.0,
                active: r.5 <= today && r.6.is_none_or(|e| e >= today),
                role: r.1,
                unit: r.2,
                unit_name: r.3,
                wing: r.4,
                starts_on: r.5,
                ends_on: r.6,
            })
            .collect())
    }

    pub(crate) async fn scope_impl(&self, person_id: i64, today: NaiveDate) -> Result<Scope> {
        let mut c = self.read.acquire().await?;
        scope_of(&mut c, person_id, today).await
    }

    pub(crate) async fn disable_user_impl(&self, person_id: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = end_logins(&mut tx, person_id, crate::clock::now()).await?;
        tx.commit().await?;
        self.auth_cache.revoked();
        Ok(n > 0)
    }

    pub(crate) async fn issue_user_token_impl(&self, person_id: i64, label: &str) -> Result<String> {
        let token = format!("sgn_{}", random_hex(32)?);
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO api_tokens (token_hash, actor, label, created_at, person_id) VALUES ($1, $2, $3, $4, $5)")
            .bind(hash_token(&token))
            .bind(format!("person:{person_id}"))
            .bind(label)
            .bind(crate::clock::now())
            .bind(person_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    pub(crate) async fn create_session_impl(&self, person_id: i64, kind: &str) -> Result<(String, String)> {
        let raw = random_hex(32)?;
        let csrf = random_hex(24)?;
        let now = crate::clock::now();
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO sessions (id_hash, person_id, csrf, kind, created_at, last_seen) VALUES ($1, $2, $3, $4, $5, $5)")
            .bind(hash_token(&raw))
            .bind(person_id)
            .bind(&csrf)
            .bind(kind)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((raw, csrf))
    }

    pub(crate) async fn session_impl(&self, raw: &str) -> Result<Option<SessionRecord>> {
        let mut c = self.read.acquire().await?;
        let r: Option<(i64, String, String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
            "SELECT person_id, csrf, kind, created_at, last_seen FROM sessions WHERE id_hash = $1 AND ended_at IS NULL",
        )
        .bind(hash_token(raw))
        .fetch_optional(&mut *c)
        .await?;
        Ok(r.map(|r| SessionRecord { person_id: r.0, csrf: r.1, kind: r.2, created_at: r.3, last_seen: r.4 }))
    }

    pub(crate) async fn touch_session_impl(&self, raw: &str, end: bool) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = crate::clock::now();
        let sql = if end { "UPDATE sessions SET ended_at = $2 WHERE id_hash = $1" } else { "UPDATE sessions SET last_seen = $2 WHERE id_hash = $1" };
        sqlx::query(sql).bind(hash_token(raw)).bind(now).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn note_failure_impl(&self, keys: &[String]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = crate::clock::now();
        for k in keys {
            sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)").bind(k).bind(now).execute(&mut *tx).await?;
        }
        // Old failures are of no use: keep the table small.
        sqlx::query("DELETE FROM login_failures WHERE at < $1").bind(now - Duration::days(1)).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Take back the newest failure of each key (the attempt it recorded succeeded).
    pub(crate) async fn forgive_failure_impl(&self, keys: &[String]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for k in keys {
            sqlx::query("DELETE FROM login_failures WHERE key = $1 AND at = (SELECT MAX(at) FROM login_failures WHERE key = $1)")
                .bind(k)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn failures_impl(&self, key: &str, since: DateTime<Utc>) -> Result<(i64, Option<DateTime<Utc>>)> {
        let mut c = self.read.acquire().await?;
        let r: (i64, Option<DateTime<Utc>>) = sqlx::query_as("SELECT COUNT(*), MIN(at) FROM login_failures WHERE key = $1 AND at >= $2")
            .bind(key)
            .bind(since)
            .fetch_one(&mut *c)
            .await?;
        Ok(r)
    }

    pub(crate) async fn issue_code_impl(&self, mobile: &str, purpose: &str, ttl: Duration, per_window: i64, window: Duration) -> Result<Option<String>> {
        let now = crate::clock::now();
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("m:{mobile}")]).await?;
        let recent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM one_time_codes WHERE mobile = $1 AND created_at >= $2")
            .bind(mobile)
            .bind(now - window)
            .fetch_one(&mut *tx)
            .await?;
        if recent >= per_window {
            return Ok(None);
        }
        // Messages whose code has expired are of no use to the SMS relay: nothing is kept.
        sqlx::query("DELETE FROM outbox WHERE channel = 'sms' AND idem_key IS NULL AND created_at < $1").bind(now - ttl).execute(&mut *tx).await?;
        let code = random_code()?;
        // Earlier codes stop working when a new one is sent.
        sqlx::query("UPDATE one_time_codes SET used_at = $3 WHERE mobile = $1 AND purpose = $2 AND used_at IS NULL")
            .bind(mobile)
            .bind(purpose)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO one_time_codes (mobile, code_hash, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(mobile)
            .bind(hash_token(&format!("{mobile}:{purpose}:{code}")))
            .bind(purpose)
            .bind(now)
            .bind(now + ttl)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO outbox (channel, recipient, body, created_at) VALUES ('sms', $1, $2, $3)")
            .bind(mobile)
            .bind(format!("Sangathan code: {code}. Valid 10 minutes. Do not share it. / संगठन कोड: {code}। 10 मिनट तक मान्य। किसी को न बताएँ।"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(code))
    }

    /// True when `code` is the live code for this mobile and purpose; it is used up either way
    /// after five wrong tries.
    pub(crate) async fn redeem_code_impl(&self, mobile: &str, purpose: &str, code: &str) -> Result<bool> {
        let now = crate::clock::now();
        let mut tx = self.begin_write().await?;
        // Guesses at one mobile's code take turns, so the try limit holds under parallel requests.
        Self::lock_keys(&mut tx, &[format!("m:{mobile}")]).await?;
        let live: Option<(i64, String, i32)> = sqlx::query_as(
            "SELECT id, code_hash, attempts FROM one_time_codes WHERE mobile = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(mobile)
        .bind(purpose)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, hash, attempts)) = live else { return Ok(false) };
        let ok = hash == hash_token(&format!("{mobile}:{purpose}:{}", code.trim()));
        if ok || attempts + 1 >= 5 {
            sqlx::query("UPDATE one_time_codes SET used_at = $2, attempts = attempts + 1 WHERE id = $1").bind(id).bind(now).execute(&mut *tx).await?;
        } else {
            sqlx::query("UPDATE one_time_codes SET attempts = attempts + 1 WHERE id = $1").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(ok)
    }

    pub(crate) async fn outbox_impl(&self, recipient: &str) -> Result<Vec<String>> {
        let mut c = self.read.acquire().await?;
        Ok(sqlx::query_scalar("SELECT body FROM outbox WHERE recipient = $1 ORDER BY id").bind(recipient).fetch_all(&mut *c).await?)
    }

    pub(crate) async fn audit_impl(&self, events: &[AuditEvent]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &["audit-chain".to_string()]).await?;
        audit_append(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn audit_verify_impl(&self) -> Result<AuditCheck> {
        let mut c = self.read.acquire().await?;
        let anchor: Option<(i64, String)> =
            sqlx::query_as("SELECT last_id, last_hash FROM audit_archives ORDER BY last_id DESC LIMIT 1").fetch_optional(&mut *c).await?;
        let (mut last_id, mut prev) = anchor.unwrap_or((0, AUDIT_GENESIS.to_string()));
        let mut events = 0u64;
        let sql = format!("SELECT {AUDIT_COLS} FROM audit_events WHERE id > $1 ORDER BY id LIMIT 10000");
        loop {
            let rows: Vec<AuditRow> = sqlx::query_as(AssertSqlSafe(sql.clone())).bind(last_id).fetch_all(&mut *c).await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let (rec, stored_prev) = audit_record(r);
                events += 1;
                let broken = if rec.id != last_id + 1 {
                    Some(format!("events {} to {} are missing", last_id + 1, rec.id - 1))
                } else if stored_prev != prev {
                    Some("its link to the event before does not match".to_string())
                } else if audit_hash(&prev, rec.id, rec.at, &rec.event) != rec.hash {
                    Some("its content does not match its hash (altered)".to_string())
                } else {
                    None
                };
                if let Some(why) = broken {
                    return Ok(AuditCheck { events, first_broken: Some((rec.id, why)) });
                }
                last_id = rec.id;
                prev = rec.hash;
            }
        }
        if let Some(head) = meta(&mut c, "audit_head").await?
            && head != format!("{last_id}:{prev}")
        {
            let id = head.split(':').next().and_then(|s| s.parse().ok()).unwrap_or(last_id + 1);
            return Ok(AuditCheck { events, first_broken: Some((id, format!("the newest events after {last_id} are missing"))) });
        }
        Ok(AuditCheck { events, first_broken: None })
    }

    pub(crate) async fn audit_of_person_impl(&self, person_id: i64, limit: u32) -> Result<Vec<AuditRecord>> {
        let mut c = self.read.acquire().await?;
        let sql = format!("SELECT {AUDIT_COLS} FROM audit_events WHERE person_id = $1 ORDER BY id DESC LIMIT $2");
        let rows: Vec<AuditRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(person_id).bind(limit as i64).fetch_all(&mut *c).await?;
        Ok(rows.into_iter().map(|r| audit_record(r).0).collect())
    }

    /// Events before `before`, oldest first, at most `limit` (to write to an archive file).
    pub(crate) async fn audit_before_impl(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<AuditRecord>> {
        let mut c = self.read.acquire().await?;
        let sql = format!("SELECT {AUDIT_COLS} FROM audit_events WHERE at < $1 ORDER BY id LIMIT $2");
        let rows: Vec<AuditRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(before).bind(limit as i64).fetch_all(&mut *c).await?;
        Ok(rows.into_iter().map(|r| audit_record(r).0).collect())
    }

    /// Remove events up to `last_id` (already written to `file`) and record where the chain
    /// continues from. Refused unless they are the oldest events held.
    pub(crate) async fn audit_archived_impl(&self, first_id: i64, last_id: i64, file: &str) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &["audit-chain".to_string()]).await?;
        let oldest: Option<i64> = sqlx::query_scalar("SELECT MIN(id) FROM audit_events").fetch_one(&mut *tx).await?;
        if oldest != Some(first_id) {
            return Err(StoreError::Refused(format!("event {first_id} is not the oldest event held")));
        }
        let last_hash: String =
            sqlx::query_scalar("SELECT hash FROM audit_events WHERE id = $1").bind(last_id).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        let n = sqlx::query("DELETE FROM audit_events WHERE id >= $1 AND id <= $2").bind(first_id).bind(last_id).execute(&mut *tx).await?.rows_affected();
        sqlx::query("INSERT INTO audit_archives (first_id, last_id, last_hash, events, file, archived_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(first_id)
            .bind(last_id)
            .bind(last_hash)
            .bind(n as i64)
            .bind(file)
            .bind(crate::clock::now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Live people who share this mobile (a member's self-service covers their household's records).
    pub(crate) async fn people_on_mobile_impl(&self, mobile: &str) -> Result<Vec<i64>> {
        let mut c = self.read.acquire().await?;
        Ok(sqlx::query_scalar("SELECT id FROM people WHERE mobile = $1 AND merged_into IS NULL AND erased_at IS NULL ORDER BY id")
            .bind(mobile)
            .fetch_all(&mut *c)
            .await?)
    }

    pub(crate) async fn member_data_impl(&self, person_id: i64) -> Result<Option<serde_json::Value>> {
        use serde_json::json;
        let Some(m) = self.member(person_id).await? else { return Ok(None) };
        let mut c = self.read.acquire().await?;
        let consent: Option<(String, String, String, Option<DateTime<Utc>>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT consent_notice, consent_purposes, consent_by, consent_withdrawn_at, erased_at FROM people WHERE id = $1",
        )
        .bind(person_id)
        .fetch_optional(&mut *c)
        .await?;
        let Some((notice, purposes, by, withdrawn, erased)) = consent else { return Ok(None) };
        if erased.is_some() {
            return Ok(None);
        }
        let corrections: Vec<(String, String, DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT field, value, created_at, resolved_at FROM correction_requests WHERE person_id = $1 ORDER BY id",
        )
        .bind(person_id)
        .fetch_all(&mut *c)
        .await?;
        drop(c);
        let posts = self.posts_impl(person_id, crate::clock::today()).await?;
        let seen = self.audit_of_person_impl(person_id, 1000).await?;
        Ok(Some(json!({
            "person": m,
            "consent": {"notice_version": notice, "purposes": purposes.split(',').collect::<Vec<_>>(), "given_by": by, "withdrawn_at": withdrawn},
            "posts": posts,
            "correction_requests": corrections.into_iter().map(|c| json!({"field": c.0, "value": c.1, "requested_at": c.2, "resolved_at": c.3})).collect::<Vec<_>>(),
            "access_log": seen.into_iter().map(|e| json!({"at": e.at, "who": e.event.actor, "post": e.event.post, "action": e.event.action})).collect::<Vec<_>>(),
        })))
    }

    pub(crate) async fn request_correction_impl(&self, person_id: i64, field: &str, value: &str) -> Result<i64> {
        self.file_correction_impl(person_id, field, value, None).await
    }

    async fn file_correction_impl(&self, person_id: i64, field: &str, value: &str, filed_by: Option<i64>) -> Result<i64> {
        use crate::corrections::CORRECTABLE;
        if !CORRECTABLE.contains(&field) {
            return Err(FieldError::new(
                "field",
                "unknown_field",
                format!("field must be one of {}", CORRECTABLE.join(", ")),
                format!("field इनमें से एक होना चाहिए: {}", CORRECTABLE.join(", ")),
            )
            .into());
        }
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO correction_requests (person_id, field, value, created_at, filed_by) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(person_id)
        .bind(field)
        .bind(value)
        .bind(crate::clock::now())
        .bind(filed_by)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn consent_impl(&self, person_id: i64, notice: Option<(&str, &str)>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        match notice {
            Some((version, purposes)) => {
                sqlx::query("UPDATE people SET consent_notice = $2, consent_purposes = $3, consent_by = 'self', consent_withdrawn_at = NULL WHERE id = $1")
                    .bind(person_id)
                    .bind(version)
                    .bind(purposes)
                    .execute(&mut *tx)
                    .await?
            }
            None => {
                sqlx::query("UPDATE people SET consent_withdrawn_at = $2 WHERE id = $1 AND consent_withdrawn_at IS NULL")
                    .bind(person_id)
                    .bind(crate::clock::now())
                    .execute(&mut *tx)
                    .await?
            }
        };
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn erase_impl(&self, person_id: i64, event: &AuditEvent) -> Result<bool> {
        self.before_erase().await?;
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("p:{person_id}"), "audit-chain".to_string()]).await?;
        let done = erase_in(&mut tx, person_id).await?;
        if done {
            audit_append(&mut tx, std::slice::from_ref(event)).await?;
        }
        tx.commit().await?;
        self.auth_cache.revoked();
        self.after_erase(done).await?;
        Ok(done)
    }
}

async fn s_state_id(c: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT id FROM units WHERE kind = 'state' ORDER BY id LIMIT 1").fetch_one(&mut *c).await?)
}

// ---- Corrections of members' records ----

const CORRECTION_COLS: &str = "r.id, r.person_id, p.name, u.code, r.field, r.value, r.created_at, r.resolved_at, \
                               p.mobile, p.epic, p.gender, p.birth_year, p.address";

type CorrectionRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<String>,
);

fn correction_of(r: CorrectionRow) -> crate::corrections::CorrectionRequest {
    let current = match r.4.as_str() {
        "name" => Some(r.2.clone()),
        "mobile" => r.8,
        "epic" => r.9,
        "gender" => r.10,
        "birth_year" => r.11.map(|y| y.to_string()),
        "address" => r.12,
        _ => None,
    };
    crate::corrections::CorrectionRequest {
        id: r.0,
        person_id: r.1,
        name: r.2,
        unit: r.3,
        field: r.4,
        current,
        value: r.5,
        requested_at: r.6,
        resolved_at: r.7,
    }
}

fn correction_conflict(field: &str, en: &str, hi: &str) -> FieldError {
    FieldError::new(field, "identity_conflict", en, hi)
}

/// Is the request `id` there and open? Its person, field, value and who filed it.
async fn open_correction(c: &mut Conn, id: i64) -> Result<(i64, String, String, Option<i64>)> {
    type Row = (i64, String, String, Option<DateTime<Utc>>, Option<i64>);
    let r: Option<Row> =
        sqlx::query_as("SELECT person_id, field, value, resolved_at, filed_by FROM correction_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?;
    let Some((person, field, value, resolved, filed_by)) = r else { return Err(StoreError::NotFound) };
    if resolved.is_some() {
        return Err(FieldError::new(
            "correction",
            "correction_decided",
            "this correction was applied or declined already",
            "यह सुधार पहले ही लागू या अस्वीकार किया जा चुका है",
        )
        .into());
    }
    Ok((person, field, value, filed_by))
}

/// The identifier keys applying a correction takes after the person's own (`p:`): the mobile
/// and EPIC on their record and the new value's, as enrolments, logins and merges take them.
/// Sorted; an unparsable value adds none (applying it is refused anyway).
async fn correction_keys(c: &mut Conn, person_id: i64, field: &str, value: &str) -> Result<Vec<String>> {
    let on_record: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT mobile, epic FROM people WHERE id = $1").bind(person_id).fetch_optional(&mut *c).await?;
    let mut keys = Vec::new();
    if let Some((mobile, epic)) = on_record {
        keys.extend(mobile.map(|m| format!("m:{m}")));
        keys.extend(epic.map(|e| format!("e:{e}")));
    }
    match field {
        "mobile" => keys.extend(Mobile::parse(value).ok().map(|m| format!("m:{}", m.e164()))),
        "epic" => keys.extend(Epic::parse(value).ok().map(|e| format!("e:{}", e.as_str()))),
        _ => {}
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// The caller holds the person's key and every key of [`correction_keys`].
async fn correct_person(
    c: &mut Conn,
    person_id: i64,
    field: &str,
    value: &str,
    by: &crate::corrections::Reviewer,
    now: DateTime<Utc>,
) -> Result<()> {
    use chrono::Datelike;
    use sangathan_core::ids::{Gender, PersonName, check_birth_year, clean_address};
    type P = (String, Option<String>, Option<String>, Option<i64>, Option<DateTime<Utc>>);
    let p: Option<P> = sqlx::query_as("SELECT name_key, mobile, epic, merged_into, erased_at FROM people WHERE id = $1")
        .bind(person_id)
        .fetch_optional(&mut *c)
        .await?;
    let Some((name_key, mobile, epic, merged_into, erased)) = p else { return Err(StoreError::NotFound) };
    if erased.is_some() {
        return Err(StoreError::NotFound);
    }
    if let Some(into) = merged_into {
        return Err(FieldError::new(
            field,
            "merged_record",
            format!("this record was merged into person {into}: correct that record instead"),
            format!("यह रिकॉर्ड व्यक्ति {into} में मिला दिया गया है: सुधार उसी रिकॉर्ड में करें"),
        )
        .into());
    }
    match field {
        "name" => {
            let name = PersonName::parse(value)?;
            let key = name.key();
            if let Some(m) = &mobile {
                let other: Option<i64> = sqlx::query_scalar("SELECT id FROM people WHERE mobile = $1 AND name_key = $2 AND id <> $3")
                    .bind(m)
                    .bind(&key)
                    .bind(person_id)
                    .fetch_optional(&mut *c)
                    .await?;
                if other.is_some() {
                    return Err(correction_conflict(
                        "name",
                        "another person with this name is already on record with this person's mobile",
                        "इस नाम का दूसरा व्यक्ति इसी मोबाइल के साथ पहले से दर्ज है",
                    )
                    .into());
                }
            }
            sqlx::query("UPDATE people SET name = $2, name_key = $3, search_key = $4 WHERE id = $1")
                .bind(person_id)
                .bind(name.as_str())
                .bind(&key)
                .bind(sangathan_core::search::joined_key(name.as_str()))
                .execute(&mut *c)
                .await?;
        }
        "mobile" => {
            let m = Mobile::parse(value)?;
            if mobile.as_deref() == Some(m.e164()) {
                return Ok(());
            }
            // Users log in with the mobile on their person record (a one-time code sent to it
            // is enough): changing it hands over the login. Only a state admin does that, and
            // never onto a mobile another user logs in with (one login per mobile).
            let user: Option<Option<DateTime<Utc>>> =
                sqlx::query_scalar("SELECT disabled_at FROM users WHERE person_id = $1").bind(person_id).fetch_optional(&mut *c).await?;
            if user.is_some() {
                if !by.state_admin {
                    return Err(FieldError::new(
                        "mobile",
                        "user_mobile",
                        "this person logs in with their mobile: only a state admin may change it",
                        "यह व्यक्ति अपने मोबाइल से लॉग इन करता है: इसे केवल राज्य प्रशासक बदल सकते हैं",
                    )
                    .into());
                }
                let other: Option<i64> = sqlx::query_scalar(
                    "SELECT u.person_id FROM users u JOIN people p ON p.id = u.person_id \
                     WHERE p.mobile = $1 AND u.disabled_at IS NULL AND p.erased_at IS NULL AND p.merged_into IS NULL AND u.person_id <> $2",
                )
                .bind(m.e164())
                .bind(person_id)
                .fetch_optional(&mut *c)
                .await?;
                if other.is_some() {
                    return Err(FieldError::new(
                        "mobile",
                        "mobile_has_user",
                        "another user already logs in with this mobile",
                        "इस मोबाइल से कोई अन्य उपयोगकर्ता पहले से लॉग इन करता है",
                    )
                    .into());
                }
            }
            // Every record on the mobile for the name (a merged record keeps its mobile and name,
            // and the pair is unique); only live people for the household.
            let on_it: Vec<(String, Option<i64>)> =
                sqlx::query_as("SELECT name_key, merged_into FROM people WHERE mobile = $1 AND id <> $2")
                    .bind(m.e164())
                    .bind(person_id)
                    .fetch_all(&mut *c)
                    .await?;
            if on_it.iter().any(|(k, _)| *k == name_key) {
                return Err(correction_conflict(
                    "mobile",
                    "another person with this name is already on record with this mobile",
                    "इस नाम का दूसरा व्यक्ति इस मोबाइल के साथ पहले से दर्ज है",
                )
                .into());
            }
            let limit = settings(c).await?.household_limit;
            if on_it.iter().filter(|(_, into)| into.is_none()).count() >= limit {
                return Err(FieldError::new(
                    "mobile",
                    "household_limit",
                    format!("{limit} people already share this mobile number; no more can be recorded on it"),
                    format!("इस मोबाइल नंबर पर पहले से {limit} लोग दर्ज हैं; इस पर और सदस्य दर्ज नहीं हो सकते"),
                )
                .into());
            }
            sqlx::query("UPDATE people SET mobile = $2 WHERE id = $1").bind(person_id).bind(m.e164()).execute(&mut *c).await?;
        }
        "epic" => {
            let e = Epic::parse(value)?;
            if epic.as_deref() == Some(e.as_str()) {
                return Ok(());
            }
            let holder: Option<i64> =
                sqlx::query_scalar("SELECT id FROM people WHERE epic = $1 AND id <> $2").bind(e.as_str()).bind(person_id).fetch_optional(&mut *c).await?;
            if holder.is_some() {
                return Err(correction_conflict(
                    "epic",
                    "this EPIC belongs to another person on record (an EPIC belongs to one person): review the duplicates instead",
                    "यह EPIC किसी दूसरे दर्ज व्यक्ति का है (एक EPIC एक ही व्यक्ति का होता है): इसके बजाय दोहराव की समीक्षा करें",
                )
                .into());
            }
            sqlx::query("UPDATE people SET epic = $2 WHERE id = $1").bind(person_id).bind(e.as_str()).execute(&mut *c).await?;
        }
        "gender" => {
            let g = Gender::parse(value)?.ok_or_else(|| {
                FieldError::new("gender", "invalid_gender", "gender must be M, F or O (male, female, other)", "लिंग M, F या O (पुरुष, महिला, अन्य) होना चाहिए")
            })?;
            sqlx::query("UPDATE people SET gender = $2 WHERE id = $1").bind(person_id).bind(g.code()).execute(&mut *c).await?;
        }
        "birth_year" => {
            let digits: String = value.trim().chars().map(sangathan_core::ids::ascii_digit).collect();
            let year = now.year();
            let y = digits.parse::<i32>().map_err(|_| {
                FieldError::new(
                    "birth_year",
                    "invalid_birth_year",
                    format!("birth year must be between 1900 and {year}"),
                    format!("जन्म वर्ष 1900 और {year} के बीच होना चाहिए"),
                )
            })?;
            let y = check_birth_year(y, year)?;
            sqlx::query("UPDATE people SET birth_year = $2 WHERE id = $1").bind(person_id).bind(y).execute(&mut *c).await?;
        }
        "address" => {
            let a = clean_address(value)?;
            sqlx::query("UPDATE people SET address = $2 WHERE id = $1").bind(person_id).bind(a).execute(&mut *c).await?;
        }
        other => {
            return Err(FieldError::new(
                "field",
                "unknown_field",
                format!("a correction cannot change {other}"),
                format!("सुधार से {other} नहीं बदला जा सकता"),
            )
            .into());
        }
    }
    Ok(())
}

#[async_trait]
impl crate::corrections::Corrections for StoreImpl {
    async fn open_corrections(
        &self,
        unit: &str,
        wings: &Wings,
        after: i64,
        limit: u32,
    ) -> Result<Option<Vec<crate::corrections::CorrectionRequest>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        // Through a membership in the subtree in the wings; every person whose home unit is in
        // the subtree for those who see every wing (as a member's page decides).
        let home = if *wings == Wings::All {
            " OR EXISTS (SELECT 1 FROM units h WHERE h.id = p.unit_id AND (h.id = $1 OR h.state_id = $1 OR h.division_id = $1 \
             OR h.district_id = $1 OR h.pc_id = $1 OR h.ac_id = $1 OR h.sector_id = $1))"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {CORRECTION_COLS} FROM correction_requests r JOIN people p ON p.id = r.person_id JOIN units u ON u.id = p.unit_id \
             WHERE r.resolved_at IS NULL AND r.id > $2 AND p.erased_at IS NULL \
             AND (EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = r.person_id AND {} AND {}){home}) \
             ORDER BY r.id LIMIT $3",
            subtree_filter(&u),
            wings_filter(wings)
        );
        let rows: Vec<CorrectionRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(u.id)
            .bind(after)
            .bind(i64::from(limit.clamp(1, 500)))
            .fetch_all(&mut *c)
            .await?;
        Ok(Some(rows.into_iter().map(correction_of).collect()))
    }

    async fn corrections_of(&self, person_id: i64) -> Result<Vec<crate::corrections::CorrectionRequest>> {
        let mut c = self.read.acquire().await?;
        let sql = format!(
            "SELECT {CORRECTION_COLS} FROM correction_requests r JOIN people p ON p.id = r.person_id JOIN units u ON u.id = p.unit_id \
             WHERE r.person_id = $1 AND r.resolved_at IS NULL AND p.erased_at IS NULL ORDER BY r.id"
        );
        let rows: Vec<CorrectionRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(person_id).fetch_all(&mut *c).await?;
        Ok(rows.into_iter().map(correction_of).collect())
    }

    async fn correction(&self, id: i64) -> Result<Option<crate::corrections::CorrectionRequest>> {
        let mut c = self.read.acquire().await?;
        let sql = format!(
            "SELECT {CORRECTION_COLS} FROM correction_requests r JOIN people p ON p.id = r.person_id JOIN units u ON u.id = p.unit_id \
             WHERE r.id = $1 AND p.erased_at IS NULL"
        );
        let row: Option<CorrectionRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *c).await?;
        Ok(row.map(correction_of))
    }

    async fn file_correction(&self, person_id: i64, field: &str, value: &str, filed_by: Option<i64>) -> Result<i64> {
        self.file_correction_impl(person_id, field, value, filed_by).await
    }

    async fn apply_correction(
        &self,
        id: i64,
        by: &crate::corrections::Reviewer,
        now: DateTime<Utc>,
    ) -> Result<crate::corrections::CorrectionRequest> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Ok(false): the record's identifiers changed before the locks; start again. A wait
            // chosen as a deadlock's victim (PostgreSQL) starts again too.
            let once: Result<bool> = async {
                let mut tx = self.begin_write().await?;
                first_load_guard(&mut tx, None).await?;
                let (person, field, value, _) = open_correction(&mut tx, id).await?;
                // The person's key first (as merges and other reviews take it), then every
                // identifier key in one sorted call (as enrolments, logins and merges take
                // theirs). Two rounds can still close a cycle on PostgreSQL with a writer holding
                // many keys (a group of enrolments); its deadlock detector then fails one side,
                // and here that starts the correction again (below).
                Self::lock_keys(&mut tx, &[format!("p:{person}")]).await?;
                let keys = correction_keys(&mut tx, person, &field, &value).await?;
                Self::lock_keys(&mut tx, &keys).await?;
                // Read again under the locks: a concurrent review decided it first; and when the
                // record's mobile or EPIC changed before the locks were taken (an enrolment
                // completing it), start again with its keys.
                let now_keys = correction_keys(&mut tx, person, &field, &value).await?;
                if now_keys != keys {
                    if attempt < 5 {
                        return Ok(false);
                    }
                    Self::lock_keys(&mut tx, &now_keys).await?;
                }
                let (person, field, value, filed_by) = open_correction(&mut tx, id).await?;
                if filed_by.is_some() && filed_by == by.person_id {
                    return Err(FieldError::new(
                        "correction",
                        "own_correction",
                        "you asked for this correction: someone else who may change members' records applies it",
                        "यह सुधार आपने माँगा था: इसे सदस्यों के रिकॉर्ड बदल सकने वाला कोई दूसरा व्यक्ति लागू करेगा",
                    )
                    .into());
                }
                correct_person(&mut tx, person, &field, &value, by, now).await?;
                sqlx::query("UPDATE correction_requests SET resolved_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }
            .await;
            match once {
                Ok(true) => return self.correction(id).await?.ok_or(StoreError::NotFound),
                Ok(false) => continue,
                Err(StoreError::Db(err)) if attempt < 8 && Self::is_retryable(&err) => continue,
                Err(err) => return Err(err),
            }
        }
    }

    async fn decline_correction(&self, id: i64, now: DateTime<Utc>) -> Result<crate::corrections::CorrectionRequest> {
        let mut tx = self.begin_write().await?;
        let (person, _, _, _) = open_correction(&mut tx, id).await?;
        Self::lock_keys(&mut tx, &[format!("p:{person}")]).await?;
        open_correction(&mut tx, id).await?;
        sqlx::query("UPDATE correction_requests SET resolved_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *tx).await?;
        tx.commit().await?;
        self.correction(id).await?.ok_or(StoreError::NotFound)
    }

    async fn people_names(&self, ids: &[i64]) -> Result<HashMap<i64, String>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut c = self.read.acquire().await?;
        let rows: Vec<(i64, String)> = fetch_in(&mut c, "SELECT id, name FROM people WHERE id", "", &ids).await?;
        Ok(rows.into_iter().collect())
    }
}
