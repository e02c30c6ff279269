// Verification states, the queue and member verification codes: the SQL both backends share.
// `include!`d into `sqlite.rs` and `postgres.rs` after `volunteers_sql.rs`. The rules (moves,
// which states count, codes) are `sangathan_core::verification`.

use crate::verification::*;
use sangathan_core::verification::{self as vf, Status};

const STATE_SELECT: &str = "SELECT m.id, m.number, m.person_id, p.name, p.mobile, u.code, w.code, m.status, m.verified_on, m.status_reason, \
     m.enrolled_by, m.enrolled_at, EXISTS (SELECT 1 FROM verification_codes vc WHERE vc.membership_id = m.id AND vc.used_at IS NULL) \
     FROM memberships m JOIN people p ON p.id = m.person_id JOIN units u ON u.id = m.unit_id JOIN wings w ON w.id = m.wing_id";

type StateRow = (i64, String, i64, String, Option<String>, String, String, String, Option<NaiveDate>, Option<String>, String, DateTime<Utc>, bool);

fn state_of(r: StateRow) -> MembershipState {
    MembershipState {
        membership_id: r.0,
        number: r.1,
        person_id: r.2,
        name: r.3,
        mobile_tail: r.4.map(|m| m.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect()),
        unit: r.5,
        wing: r.6,
        status: r.7,
        verified_on: r.8,
        reason: r.9,
        enrolled_by: r.10,
        enrolled_at: r.11,
        code_sent: r.12,
    }
}

async fn state_in(c: &mut Conn, id: i64) -> Result<Option<MembershipState>> {
    let sql = format!("{STATE_SELECT} WHERE m.id = $1");
    let r: Option<StateRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *c).await?;
    Ok(r.map(state_of))
}

fn no_membership(id: i64) -> StoreError {
    invalid("membership", "unknown_membership", format!("no membership {id}"), format!("सदस्यता {id} नहीं मिली"))
}

/// Move memberships to `to` in the caller's transaction; counters move exactly. Batched: a few
/// statements per 500 memberships, whatever their number.
async fn set_status_in(c: &mut Conn, ids: &[i64], to: Status, reason: Option<&str>, actor: &str, now: DateTime<Utc>) -> Result<(u64, u64)> {
    let reason = vf::reason(to, reason)?;
    let today = crate::clock::day_of(now);
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut deltas = Deltas::default();
    let mut units: HashMap<i64, UnitSpec> = HashMap::new();
    let (mut changed, mut unchanged) = (0, 0);
    type Row = (i64, String, String, i64, i64, NaiveDate, Option<NaiveDate>);
    for chunk in ids.chunks(500) {
        let list = id_list(chunk);
        let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT id, number, status, wing_id, unit_id, enrolled_on, verified_on FROM memberships WHERE id IN ({list})"
        )))
        .fetch_all(&mut *c)
        .await?;
        if rows.len() != chunk.len() {
            let found: HashSet<i64> = rows.iter().map(|r| r.0).collect();
            let missing = chunk.iter().find(|i| !found.contains(i)).copied().unwrap_or(0);
            return Err(no_membership(missing));
        }
        let need: Vec<i64> = rows.iter().map(|r| r.4).filter(|u| !units.contains_key(u)).collect::<HashSet<_>>().into_iter().collect();
        if !need.is_empty() {
            let sql = format!("SELECT {UNIT_COLS} FROM units u WHERE u.id IN ({})", id_list(&need));
            let found: Vec<UnitTuple> = sqlx::query_as(AssertSqlSafe(sql)).fetch_all(&mut *c).await?;
            for t in found {
                let u = spec_of(t);
                units.insert(u.id, u);
            }
        }
        // Grouped by the state they leave, so that each UPDATE can be guarded on it.
        let mut by_from: BTreeMap<&'static str, Vec<i64>> = BTreeMap::new();
        for (id, number, status, wing_id, unit_id, enrolled_on, verified_on) in &rows {
            let from = Status::parse(status)?;
            if from == to {
                unchanged += 1;
                continue;
            }
            if !from.may_become(to) {
                let mut e = vf::cannot_move(from, to);
                e.en = format!("{number}: {}", e.en);
                e.hi = format!("{number}: {}", e.hi);
                return Err(e.into());
            }
            let u = units.get(unit_id).ok_or_else(|| StoreError::Refused(format!("membership {number}: its unit is gone")))?;
            let (da, _) = from.deltas(to);
            if da != 0 {
                deltas.count(u, *wing_id, *enrolled_on, da);
            }
            if from.counts_verified() {
                deltas.count_verified(u, *wing_id, verified_on.unwrap_or(today), -1);
            }
            if to.counts_verified() {
                deltas.count_verified(u, *wing_id, today, 1);
            }
            by_from.entry(from.code()).or_default().push(*id);
        }
        let new_verified_on = to.counts_verified().then_some(today);
        for (from, moved) in by_from {
            // The guard on the old state: a concurrent change makes this fail, never double-count.
            let n = sqlx::query(AssertSqlSafe(format!(
                "UPDATE memberships SET status = $1, verified_on = $2, status_reason = $3 WHERE id IN ({}) AND status = $4",
                id_list(&moved)
            )))
            .bind(to.code())
            .bind(new_verified_on)
            .bind(&reason)
            .bind(from)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if n != moved.len() as u64 {
                return Err(StoreError::Refused("memberships changed while this was being done; try again".into()));
            }
            let mut qb: QueryBuilder<DB> = QueryBuilder::new("INSERT INTO membership_states (membership_id, from_status, to_status, reason, by_actor, at) ");
            qb.push_values(&moved, |mut b, id| {
                b.push_bind(*id).push_bind(from).push_bind(to.code()).push_bind(reason.clone()).push_bind(actor.to_string()).push_bind(now);
            });
            qb.build().execute(&mut *c).await?;
            changed += moved.len() as u64;
        }
    }
    deltas.apply(c).await?;
    Ok((changed, unchanged))
}

#[async_trait]
impl Verification for StoreImpl {
    async fn membership_state(&self, id: i64) -> Result<Option<MembershipState>> {
        let mut c = self.read.acquire().await?;
        state_in(&mut c, id).await
    }

    async fn set_status(&self, ids: &[i64], to: &str, reason: Option<&str>, actor: &str, now: DateTime<Utc>) -> Result<StatusChange> {
        let to = Status::parse(to)?;
        if ids.is_empty() || ids.len() > 10_000 {
            return Err(invalid("ids", "bad_ids", "give 1 to 10,000 memberships".into(), "1 से 10,000 सदस्यताएँ दें".into()));
        }
        let mut tx = self.begin_write().await?;
        let mut keys: Vec<String> = ids.iter().map(|i| format!("membership:{i}")).collect();
        keys.sort();
        keys.dedup();
        Self::lock_keys(&mut tx, &keys).await?;
        let (changed, unchanged) = set_status_in(&mut tx, ids, to, reason, actor, now).await?;
        let mut memberships = Vec::new();
        for id in ids.iter().take(200) {
            if let Some(s) = state_in(&mut tx, *id).await? {
                memberships.push(s);
            }
        }
        tx.commit().await?;
        Ok(StatusChange { changed, unchanged, memberships })
    }

    async fn verification_queue(&self, unit: &str, wings: &Wings, after: i64, limit: u32) -> Result<Option<Vec<MembershipState>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        // The whole state needs no unit filter (and then pages walk the primary key in order).
        let within = if u.kind == UnitKind::State { "($1 = $1)".to_string() } else { subtree_filter(&u) };
        let sql = format!(
            "{STATE_SELECT} WHERE {within} AND {} AND m.status = 'pending' AND m.id > $2 AND p.erased_at IS NULL ORDER BY m.id LIMIT $3",
            wings_filter(wings)
        );
        let rows: Vec<StateRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).bind(after).bind(limit.clamp(1, 200) as i64).fetch_all(&mut *c).await?;
        Ok(Some(rows.into_iter().map(state_of).collect()))
    }

    async fn send_verification_code(&self, membership_id: i64, now: DateTime<Utc>) -> Result<String> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("membership:{membership_id}")]).await?;
        let s = state_in(&mut tx, membership_id).await?.ok_or_else(|| no_membership(membership_id))?;
        if s.status != "pending" {
            return Err(invalid("membership", "not_pending", format!("membership {} is {}, not pending", s.number, s.status), format!("सदस्यता {} {} है, लंबित नहीं", s.number, s.status)));
        }
        if s.mobile_tail.is_none() {
            return Err(invalid("mobile", "no_mobile", "this member has no mobile to send a code to".into(), "इस सदस्य का कोई मोबाइल नहीं है जिस पर कोड भेजा जाए".into()));
        }
        let sent_today: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM verification_codes WHERE membership_id = $1 AND created_at > $2")
            .bind(membership_id)
            .bind(now - Duration::hours(24))
            .fetch_one(&mut *tx)
            .await?;
        if sent_today >= 3 {
            return Err(invalid("membership", "too_many_codes", "three codes were sent in the last 24 hours; verify by hand or wait".into(), "पिछले 24 घंटे में तीन कोड भेजे जा चुके हैं; हाथ से सत्यापित करें या प्रतीक्षा करें".into()));
        }
        // Earlier codes stop working: only the newest one counts.
        sqlx::query("UPDATE verification_codes SET used_at = $2 WHERE membership_id = $1 AND used_at IS NULL")
            .bind(membership_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let code = random_code()?;
        let token = random_hex(16)?;
        sqlx::query(
            "INSERT INTO verification_codes (membership_id, code_hash, link_hash, created_at, expires_at, attempts) VALUES ($1, $2, $3, $4, $5, 0)",
        )
        .bind(membership_id)
        .bind(hash_token(&format!("verify:{membership_id}:{code}")))
        .bind(hash_token(&token))
        .bind(now)
        .bind(vf::code_expiry(now))
        .execute(&mut *tx)
        .await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM verification_codes WHERE membership_id = $1").bind(membership_id).fetch_one(&mut *tx).await?;
        notify_in(
            &mut tx,
            &[Notice {
                person_id: s.person_id,
                key: format!("verify:{membership_id}:{n}"),
                subject: "Confirm your membership".into(),
                body: format!(
                    "सदस्यता की पुष्टि का कोड: {code} (सदस्यता {}). इसे नामांकन करने वाले कार्यकर्ता को बताएं या /m/verify/{token} पर डालें।\n\
                     Your membership confirmation code: {code} (membership {}). Tell it to the worker who enrolled you or enter it at /m/verify/{token}.",
                    s.number, s.number
                ),
            }],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    async fn confirm_verification_code(&self, membership_id: i64, code: &str, actor: &str, now: DateTime<Utc>) -> Result<MembershipState> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("membership:{membership_id}")]).await?;
        let s = state_in(&mut tx, membership_id).await?.ok_or_else(|| no_membership(membership_id))?;
        if s.status != "pending" {
            return Err(invalid("membership", "not_pending", format!("membership {} is {}, not pending", s.number, s.status), format!("सदस्यता {} {} है, लंबित नहीं", s.number, s.status)));
        }
        let r = check_code(&mut tx, membership_id, code, now).await?;
        if let Err(e) = r {
            // The failed attempt is counted even though the answer is an error.
            tx.commit().await?;
            return Err(e.into());
        }
        set_status_in(&mut tx, &[membership_id], Status::Verified, None, actor, now).await?;
        let s = state_in(&mut tx, membership_id).await?.expect("exists");
        tx.commit().await?;
        Ok(s)
    }

    async fn confirm_by_link(&self, token: &str, code: &str, now: DateTime<Utc>) -> Result<MembershipState> {
        let id: Option<i64> = {
            let mut c = self.read.acquire().await?;
            sqlx::query_scalar("SELECT membership_id FROM verification_codes WHERE link_hash = $1")
                .bind(hash_token(token.trim()))
                .fetch_optional(&mut *c)
                .await?
        };
        let Some(id) = id else { return Err(StoreError::NotFound) };
        self.confirm_verification_code(id, code, "member", now).await
    }
}

/// Check the newest unused code of a membership; a wrong code counts an attempt (written in the
/// caller's transaction even when the answer is an error).
async fn check_code(c: &mut Conn, membership_id: i64, code: &str, now: DateTime<Utc>) -> Result<std::result::Result<(), FieldError>> {
    let row: Option<(i64, String, DateTime<Utc>, Option<DateTime<Utc>>, i64)> = sqlx::query_as(
        "SELECT id, code_hash, expires_at, used_at, attempts FROM verification_codes WHERE membership_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(membership_id)
    .fetch_optional(&mut *c)
    .await?;
    let Some((id, hash, expires, used, attempts)) = row else {
        return Ok(Err(FieldError::new("code", "no_code", "no code was sent for this membership", "इस सदस्यता के लिए कोई कोड नहीं भेजा गया")));
    };
    if let Err(e) = vf::code_usable(expires, used.is_some(), attempts, now) {
        return Ok(Err(e));
    }
    let typed: String = code.chars().filter(char::is_ascii_digit).collect();
    if hash_token(&format!("verify:{membership_id}:{typed}")) != hash {
        sqlx::query("UPDATE verification_codes SET attempts = attempts + 1 WHERE id = $1").bind(id).execute(&mut *c).await?;
        return Ok(Err(FieldError::new("code", "wrong_code", "that is not the code that was sent", "यह भेजा गया कोड नहीं है")));
    }
    sqlx::query("UPDATE verification_codes SET used_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *c).await?;
    Ok(Ok(()))
}
