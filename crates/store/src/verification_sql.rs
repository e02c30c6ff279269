// Verification states, the queue and member verification codes: the SQL both backends share.
// `include!`d into `sqlite.rs` and `postgres.rs` after `volunteers_sql.rs`. The rules (moves,
// which states count, codes) are `sangathan_core::verification`.

use crate::verification::*;
use sangathan_core::verification::{self as vf, Reply, Status};

/// Memberships made from sheets (the CLI's and the web app's imports): their enroller is whoever
/// uploaded the file, so rules about enrollers' pace and peers leave them out. Migration 0020's
/// partial index `memberships_ac_enroller` says the same words: a query uses that index only
/// when its condition is written exactly so (the SQLite test
/// `detections_per_ac_reads_use_their_index_alone` fails if it is not).
const SHEETS: &str = "('import', 'web-import')";

/// Detection's per-AC counts of each enroller's counted members (padding), for the ACs in
/// `ids` (a literal id list). Answered from `memberships_ac_enroller` alone (see the SQLite
/// test `detections_per_ac_reads_use_their_index_alone`).
fn ac_counts_sql(ids: &str) -> String {
    format!(
        "SELECT m.enrolled_by, a.code, a.id, COUNT(*) FROM memberships m JOIN units a ON a.id = m.ac_id \
         WHERE m.ac_id IN ({ids}) AND m.status IN {COUNTED} AND m.channel NOT IN {SHEETS} GROUP BY m.enrolled_by, a.code, a.id"
    )
}

/// Each enroller's verified and rejected members per AC (rejection rates), like [`ac_counts_sql`].
fn ac_checked_sql(ids: &str) -> String {
    format!(
        "SELECT m.enrolled_by, a.code, a.id, CAST(SUM(CASE WHEN m.status = 'verified' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN m.status = 'rejected' THEN 1 ELSE 0 END) AS BIGINT) FROM memberships m JOIN units a ON a.id = m.ac_id \
         WHERE m.ac_id IN ({ids}) AND m.status IN ('verified', 'rejected') AND m.channel NOT IN {SHEETS} GROUP BY m.enrolled_by, a.code, a.id"
    )
}

/// One enroller's members in one AC with the given statuses (`$1` the AC, `$2` the enroller): a
/// finding's members. `+id`: sorted after reading them through `memberships_ac_enroller`, not
/// found by walking the whole AC in id order.
fn enroller_in_ac_sql(statuses: &str) -> String {
    format!("SELECT id FROM memberships WHERE ac_id = $1 AND enrolled_by = $2 AND status IN {statuses} AND channel NOT IN {SHEETS} ORDER BY +id")
}

fn is_sheet(channel: &str) -> bool {
    matches!(channel, "import" | "web-import")
}

/// How the campaign of a wing verifies its members: the campaign running on `today`, else the
/// latest one; every way when the wing has none.
async fn methods_of_wing(c: &mut Conn, wing_id: i64, today: NaiveDate) -> Result<Vec<Method>> {
    let v: Option<String> = sqlx::query_scalar(
        "SELECT verify_by FROM campaigns WHERE wing_id = $1 \
         ORDER BY CASE WHEN start_date <= $2 AND end_date >= $2 THEN 0 ELSE 1 END, start_date DESC, id DESC LIMIT 1",
    )
    .bind(wing_id)
    .bind(today)
    .fetch_optional(&mut *c)
    .await?;
    Ok(Method::parse_set(v.as_deref().unwrap_or(""))?)
}

/// Refused unless every membership's campaign verifies by `method`.
async fn method_allowed(c: &mut Conn, ids: &[i64], method: Method, now: DateTime<Utc>) -> Result<()> {
    let today = crate::clock::day_of(now);
    for chunk in ids.chunks(500) {
        let wings: Vec<i64> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT DISTINCT wing_id FROM memberships WHERE id IN ({})", id_list(chunk)))).fetch_all(&mut *c).await?;
        for w in wings {
            method.must_be_in(&methods_of_wing(c, w, today).await?)?;
        }
    }
    Ok(())
}

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
        if to == Status::Verified {
            // Verifying by hand is the office-bearer's check: the campaign must use it.
            method_allowed(&mut tx, ids, Method::Officer, now).await?;
        }
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
        self.send_code_by(membership_id, Method::Code, now).await
    }

    async fn request_missed_call(&self, membership_id: i64, now: DateTime<Utc>) -> Result<()> {
        self.send_code_by(membership_id, Method::MissedCall, now).await.map(|_| ())
    }

    async fn inbound_confirmation(&self, mobile: &str, reply: Option<&Reply>, now: DateTime<Utc>) -> Result<Inbound> {
        let mobile = Mobile::parse(mobile)?;
        let stored = mobile.e164().to_string();
        // The memberships on this mobile asked to confirm this way, still waiting.
        let candidates: Vec<(i64, i64, String)> = {
            let mut c = self.read.acquire().await?;
            sqlx::query_as(
                "SELECT vc.id, vc.membership_id, vc.code_hash FROM verification_codes vc JOIN memberships m ON m.id = vc.membership_id \
                 JOIN people p ON p.id = m.person_id WHERE p.mobile = $1 AND vc.method = 'missed_call' AND vc.used_at IS NULL \
                 AND vc.expires_at > $2 AND vc.attempts < $3 AND m.status = 'pending' ORDER BY vc.id",
            )
            .bind(&stored)
            .bind(now)
            .bind(vf::CODE_MAX_ATTEMPTS)
            .fetch_all(&mut *c)
            .await?
        };
        if candidates.is_empty() {
            return Ok(Inbound::default());
        }
        let mut tx = self.begin_write().await?;
        let keys: Vec<String> = candidates.iter().map(|c| format!("membership:{}", c.1)).collect();
        Self::lock_keys(&mut tx, &keys).await?;
        let chosen: Vec<&(i64, i64, String)> = match reply.and_then(Reply::code) {
            Some(code) => {
                let hit: Vec<_> = candidates.iter().filter(|c| hash_token(&format!("verify:{}:{code}", c.1)) == c.2).collect();
                if hit.is_empty() {
                    for c in &candidates {
                        sqlx::query("UPDATE verification_codes SET attempts = attempts + 1 WHERE id = $1").bind(c.0).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    // Answered, not refused: a provider would send a refused message again.
                    return Ok(Inbound { wrong_code: true, ..Inbound::default() });
                }
                hit
            }
            // "NO" refuses one membership; a household's mobile needs the code to say whose.
            None if matches!(reply, Some(Reply::No(_))) && candidates.len() > 1 => {
                tx.commit().await?;
                return Ok(Inbound { needs_code: true, ..Inbound::default() });
            }
            None => candidates.iter().collect(),
        };
        let mut out = Inbound::default();
        let (to, reason, actor) = match reply {
            Some(Reply::No(_)) => (Status::Rejected, Some("the member replied that they never joined"), "member:sms"),
            Some(_) => (Status::Verified, None, "member:sms"),
            None => (Status::Verified, None, "member:missed-call"),
        };
        for (code_id, membership_id, _) in chosen {
            // Still pending and still a way this campaign verifies (a rejection always counts).
            let ok = match state_in(&mut tx, *membership_id).await? {
                Some(s) if s.status == "pending" => to == Status::Rejected || method_allowed(&mut tx, &[*membership_id], Method::MissedCall, now).await.is_ok(),
                _ => false,
            };
            if !ok {
                continue;
            }
            sqlx::query("UPDATE verification_codes SET used_at = $2 WHERE id = $1").bind(code_id).bind(now).execute(&mut *tx).await?;
            set_status_in(&mut tx, &[*membership_id], to, reason, actor, now).await?;
            out.memberships.push(*membership_id);
            if to == Status::Verified {
                out.verified += 1;
            } else {
                out.rejected += 1;
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn confirm_verification_code(&self, membership_id: i64, code: &str, actor: &str, now: DateTime<Utc>) -> Result<MembershipState> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("membership:{membership_id}")]).await?;
        let s = state_in(&mut tx, membership_id).await?.ok_or_else(|| no_membership(membership_id))?;
        if s.status != "pending" {
            return Err(invalid("membership", "not_pending", format!("membership {} is {}, not pending", s.number, s.status), format!("सदस्यता {} {} है, लंबित नहीं", s.number, s.status)));
        }
        method_allowed(&mut tx, &[membership_id], Method::Code, now).await?;
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

    async fn leaderboard(&self, unit: &str, wings: &Wings, limit: u32) -> Result<Option<Vec<EnrollerRow>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        if !matches!(u.kind, UnitKind::Ac | UnitKind::Sector | UnitKind::Booth) {
            return Err(invalid(
                "unit",
                "leaderboard_level",
                "leaderboards compare enrollers within an AC: choose an AC, sector or booth".into(),
                "लीडरबोर्ड एक विधानसभा के भीतर नामांकनकर्ताओं की तुलना करता है: विधानसभा, सेक्टर या बूथ चुनें".into(),
            ));
        }
        let sql = format!(
            "SELECT m.enrolled_by, CAST(SUM(CASE WHEN m.status = 'verified' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN m.status = 'pending' THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(CASE WHEN m.status = 'rejected' THEN 1 ELSE 0 END) AS BIGINT) \
             FROM memberships m WHERE {} AND {} AND m.channel NOT IN {SHEETS} GROUP BY m.enrolled_by",
            subtree_filter(&u),
            wings_filter(wings)
        );
        let mut rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).fetch_all(&mut *c).await?;
        let ids: Vec<i64> = rows.iter().filter_map(|r| person_id_of(&r.0)).collect();
        let mut names: HashMap<i64, String> = HashMap::new();
        for chunk in ids.chunks(500) {
            let found: Vec<(i64, String)> =
                sqlx::query_as(AssertSqlSafe(format!("SELECT id, name FROM people WHERE id IN ({}) AND erased_at IS NULL", id_list(chunk)))).fetch_all(&mut *c).await?;
            names.extend(found);
        }
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.3.cmp(&b.3)).then(a.0.cmp(&b.0)));
        Ok(Some(
            rows.into_iter()
                .take(limit.clamp(1, 500) as usize)
                .enumerate()
                .map(|(i, (who, verified, pending, rejected))| EnrollerRow {
                    rank: i as u32 + 1,
                    name: person_id_of(&who).and_then(|p| names.get(&p).cloned()),
                    enroller: who,
                    verified,
                    pending,
                    rejected,
                    verified_percent: (verified + rejected > 0).then(|| (1000.0 * verified as f64 / (verified + rejected) as f64).round() / 10.0),
                })
                .collect(),
        ))
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

impl StoreImpl {
    /// A new code for a membership by `method` (earlier ones stop working), its message in the
    /// outbox; the link token (code messages carry a link to the member's confirmation page).
    async fn send_code_by(&self, membership_id: i64, method: Method, now: DateTime<Utc>) -> Result<String> {
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
        method_allowed(&mut tx, &[membership_id], method, now).await?;
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
            "INSERT INTO verification_codes (membership_id, code_hash, link_hash, created_at, expires_at, attempts, method) VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(membership_id)
        .bind(hash_token(&format!("verify:{membership_id}:{code}")))
        .bind(hash_token(&token))
        .bind(now)
        .bind(vf::code_expiry(now))
        .bind(if method == Method::MissedCall { "missed_call" } else { "code" })
        .execute(&mut *tx)
        .await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM verification_codes WHERE membership_id = $1").bind(membership_id).fetch_one(&mut *tx).await?;
        notify_in(
            &mut tx,
            &[Notice {
                person_id: s.person_id,
                key: format!("verify:{membership_id}:{n}"),
                subject: "Confirm your membership".into(),
                body: if method == Method::MissedCall {
                    format!(
                        "सदस्यता {} की पुष्टि के लिए इस मोबाइल से इसी नंबर पर मिस्ड कॉल दें या जवाब में लिखें: YES {code}. \
                         अगर आपने सदस्यता नहीं ली, तो जवाब दें: NO {code}\n\
                         To confirm membership {}, give a missed call to this number from this mobile or reply: YES {code}. \
                         If you did not join, reply: NO {code}",
                        s.number, s.number
                    )
                } else {
                    format!(
                        "सदस्यता की पुष्टि का कोड: {code} (सदस्यता {}). इसे नामांकन करने वाले कार्यकर्ता को बताएं या /m/verify/{token} पर डालें।\n\
                         Your membership confirmation code: {code} (membership {}). Tell it to the worker who enrolled you or enter it at /m/verify/{token}.",
                        s.number, s.number
                    )
                },
            }],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(token)
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

// ---- Detection and flags ----

use futures::TryStreamExt;
use sangathan_core::detection::{self as dt, Finding, Thresholds};

const FLAG_SELECT: &str = "SELECT f.id, f.rule, f.reason, f.reason_hi, u.code, f.status, f.created_at, f.resolved_by, f.note FROM flags f \
     JOIN units u ON u.id = f.unit_id";

type FlagRow = (i64, String, String, String, String, String, DateTime<Utc>, Option<String>, Option<String>);

async fn flag_in(c: &mut Conn, id: i64) -> Result<Option<Flag>> {
    let r: Option<FlagRow> = sqlx::query_as(AssertSqlSafe(format!("{FLAG_SELECT} WHERE f.id = $1"))).bind(id).fetch_optional(&mut *c).await?;
    let Some(r) = r else { return Ok(None) };
    Ok(Some(flag_with_members(c, r).await?))
}

async fn flag_with_members(c: &mut Conn, r: FlagRow) -> Result<Flag> {
    let members: Vec<(i64, String, i64, String, String, String, String)> = sqlx::query_as(
        "SELECT m.id, m.number, m.person_id, u.code, w.code, m.status, m.enrolled_by FROM flag_members fm JOIN memberships m ON m.id = fm.membership_id \
         JOIN units u ON u.id = m.unit_id JOIN wings w ON w.id = m.wing_id WHERE fm.flag_id = $1 ORDER BY m.id",
    )
    .bind(r.0)
    .fetch_all(&mut *c)
    .await?;
    Ok(Flag {
        id: r.0,
        rule: r.1,
        reason: r.2,
        reason_hi: r.3,
        unit: r.4,
        status: r.5,
        created_at: r.6,
        resolved_by: r.7,
        note: r.8,
        members: members
            .into_iter()
            .map(|m| FlagMember { membership_id: m.0, number: m.1, person_id: m.2, unit: m.3, wing: m.4, status: m.5, enrolled_by: m.6 })
            .collect(),
    })
}

/// Write one finding (about `unit_id`): a new flag, or an open one's members and reason brought
/// up to date; a resolved one is left as decided. Returns (raised, updated).
async fn save_finding(c: &mut Conn, f: &Finding, unit_id: i64, now: DateTime<Utc>) -> Result<(u64, u64)> {
    if f.members.is_empty() {
        return Ok((0, 0));
    }
    // A subject decided before keeps its decision; for an enroller, members found since then make
    // a new flag (key `…#N`), so a padder cleared once is not cleared for ever. A booth's address
    // or name found genuine stays decided.
    let mut key = f.key.clone();
    let mut known: HashSet<i64> = HashSet::new();
    let mut have: Option<(i64, String)> = None;
    for _ in 0..20 {
        have = sqlx::query_as("SELECT id, status FROM flags WHERE key = $1").bind(&key).fetch_optional(&mut *c).await?;
        match &have {
            Some((id, status)) if status != "open" && !matches!(f.rule, "shared_address" | "repeated_name") => {
                let ms: Vec<i64> = sqlx::query_scalar("SELECT membership_id FROM flag_members WHERE flag_id = $1").bind(*id).fetch_all(&mut *c).await?;
                known.extend(ms);
                key = format!("{}#{id}", f.key);
            }
            _ => break,
        }
    }
    let fresh: Vec<i64> = f.members.iter().copied().filter(|m| !known.contains(m)).collect();
    if fresh.is_empty() || have.as_ref().is_some_and(|(_, s)| s != "open") {
        return Ok((0, 0));
    }
    let f = &Finding { key, members: fresh, ..f.clone() };
    let (id, raised) = match have {
        Some((id, _)) => {
            sqlx::query("UPDATE flags SET reason = $2, reason_hi = $3, updated_at = $4 WHERE id = $1")
                .bind(id)
                .bind(&f.en)
                .bind(&f.hi)
                .bind(now)
                .execute(&mut *c)
                .await?;
            sqlx::query("DELETE FROM flag_members WHERE flag_id = $1").bind(id).execute(&mut *c).await?;
            (id, false)
        }
        None => {
            // Two runs at once (the hourly job and a manual one) may race here: the second leaves it.
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO flags (rule, key, unit_id, reason, reason_hi, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $6) \
                 ON CONFLICT (key) DO NOTHING RETURNING id",
            )
            .bind(f.rule)
            .bind(&f.key)
            .bind(unit_id)
            .bind(&f.en)
            .bind(&f.hi)
            .bind(now)
            .fetch_optional(&mut *c)
            .await?;
            let Some(id) = id else { return Ok((0, 0)) };
            (id, true)
        }
    };
    let mut ms = f.members.clone();
    ms.sort_unstable();
    ms.dedup();
    for chunk in ms.chunks(1000) {
        let mut qb: QueryBuilder<DB> = QueryBuilder::new("INSERT INTO flag_members (flag_id, membership_id) ");
        qb.push_values(chunk, |mut b, m| {
            b.push_bind(id).push_bind(*m);
        });
        qb.build().execute(&mut *c).await?;
    }
    Ok(if raised { (1, 0) } else { (0, 1) })
}

type RunFindings = (Vec<Finding>, Option<i64>);

/// The per-enroller rules (runs of mobiles and EPIC serials, far apart, hourly rate) over one
/// read of the enroller's counted members, sorted here.
async fn enroller_in_memory(c: &mut Conn, who: &str, t: &Thresholds) -> Result<RunFindings> {
    type Row = (i64, Option<String>, Option<String>, DateTime<Utc>, i64, Option<i64>, String);
    let mut rows: Vec<Row> = sqlx::query_as(
        "SELECT m.id, p.mobile, p.epic, m.enrolled_at, m.ac_id, CAST(a.district_id AS BIGINT), m.channel FROM memberships m \
         JOIN people p ON p.id = m.person_id JOIN units a ON a.id = m.ac_id WHERE m.enrolled_by = $1 AND m.status IN ('pending', 'verified')",
    )
    .bind(who)
    .fetch_all(&mut *c)
    .await?;
    let first_ac = rows.iter().filter(|r| r.1.is_some()).min_by_key(|r| (&r.1, r.0)).map(|r| r.4);
    let mut found = Vec::new();
    let mut runs = dt::Runs::new(who, "mobile", t);
    let mut mobiles: Vec<(u64, i64)> =
        rows.iter().filter_map(|r| r.1.as_ref().and_then(|m| Mobile::from_stored(m.clone()).national().parse::<u64>().ok()).map(|n| (n, r.0))).collect();
    mobiles.sort_unstable();
    for (n, id) in mobiles {
        runs.push(id, n);
    }
    found.extend(runs.finish());
    let mut epics = dt::Runs::new(who, "EPIC", t);
    let mut serials: Vec<(String, u64, i64)> =
        rows.iter().filter_map(|r| r.2.as_deref().and_then(dt::epic_serial).map(|(letters, n)| (letters, n, r.0))).collect();
    serials.sort_unstable();
    let mut series = String::new();
    for (letters, n, id) in serials {
        if letters != series {
            epics.close();
            series = letters;
        }
        epics.push(id, n);
    }
    found.extend(epics.finish());
    rows.sort_unstable_by_key(|r| (r.3, r.0));
    let mut far = dt::FarApart::new(who, t);
    let mut hourly = dt::Hourly::new(who, t);
    for (id, _, _, at, _, district, channel) in &rows {
        if let Some(d) = district {
            far.push(*at, *d, *id);
        }
        if !is_sheet(channel) {
            hourly.push(*at, *id);
        }
    }
    found.extend(far.finish());
    found.extend(hourly.finish());
    Ok((found, first_ac))
}

/// The same rules, streaming the enroller's members from the database in each order.
async fn enroller_streamed(c: &mut Conn, who: &str, t: &Thresholds) -> Result<RunFindings> {
    let mut found = Vec::new();
    let mut runs = dt::Runs::new(who, "mobile", t);
    let mut first_ac: Option<i64> = None;
    {
        let mut rows = sqlx::query_as::<_, (i64, String, i64)>(
            "SELECT m.id, p.mobile, m.ac_id FROM memberships m JOIN people p ON p.id = m.person_id \
             WHERE m.enrolled_by = $1 AND m.status IN ('pending', 'verified') AND p.mobile IS NOT NULL ORDER BY p.mobile",
        )
        .bind(who)
        .fetch(&mut *c);
        while let Some((id, mobile, ac)) = rows.try_next().await? {
            first_ac.get_or_insert(ac);
            // Stored as validated E.164; its ten digits as a number.
            if let Ok(n) = Mobile::from_stored(mobile).national().parse::<u64>() {
                runs.push(id, n);
            }
        }
    }
    found.extend(runs.finish());
    let mut epics = dt::Runs::new(who, "EPIC", t);
    let mut series = String::new();
    {
        let mut rows = sqlx::query_as::<_, (i64, String)>(
            "SELECT m.id, p.epic FROM memberships m JOIN people p ON p.id = m.person_id \
             WHERE m.enrolled_by = $1 AND m.status IN ('pending', 'verified') AND p.epic IS NOT NULL ORDER BY p.epic",
        )
        .bind(who)
        .fetch(&mut *c);
        while let Some((id, epic)) = rows.try_next().await? {
            if let Some((letters, n)) = dt::epic_serial(&epic) {
                if letters != series {
                    epics.close();
                    series = letters;
                }
                epics.push(id, n);
            }
        }
    }
    found.extend(epics.finish());
    let mut far = dt::FarApart::new(who, t);
    let mut hourly = dt::Hourly::new(who, t);
    {
        let mut rows = sqlx::query_as::<_, (i64, DateTime<Utc>, Option<i64>, String)>(
            "SELECT m.id, m.enrolled_at, CAST(a.district_id AS BIGINT), m.channel FROM memberships m JOIN units a ON a.id = m.ac_id \
             WHERE m.enrolled_by = $1 AND m.status IN ('pending', 'verified') ORDER BY m.enrolled_at",
        )
        .bind(who)
        .fetch(&mut *c);
        while let Some((id, at, district, channel)) = rows.try_next().await? {
            if let Some(d) = district {
                far.push(at, d, id);
            }
            if !is_sheet(&channel) {
                hourly.push(at, id);
            }
        }
    }
    found.extend(far.finish());
    found.extend(hourly.finish());
    Ok((found, first_ac))
}

#[async_trait]
impl Detection for StoreImpl {
    async fn detect(&self, t: &Thresholds, now: DateTime<Utc>) -> Result<DetectRun> {
        let started = std::time::Instant::now();
        let mut c = self.read.acquire().await?;
        Self::long_reads(&mut c, true).await?;
        let r = self.detect_on(&mut c, t, now, started).await;
        Self::long_reads(&mut c, false).await?;
        r
    }

    async fn flags_within(&self, unit: &str, open_only: bool) -> Result<Option<Vec<Flag>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        let sql = format!("{FLAG_SELECT} WHERE {} AND (NOT $2 OR f.status = 'open') ORDER BY f.id", unit_within(u.kind));
        let rows: Vec<FlagRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).bind(open_only).fetch_all(&mut *c).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(flag_with_members(&mut c, r).await?);
        }
        Ok(Some(out))
    }

    async fn flag(&self, id: i64) -> Result<Option<Flag>> {
        let mut c = self.read.acquire().await?;
        flag_in(&mut c, id).await
    }

    async fn resolve_flag(&self, id: i64, fake: bool, note: &str, actor: &str, now: DateTime<Utc>) -> Result<Flag> {
        let note = note.trim();
        if fake && note.is_empty() {
            return Err(invalid("note", "reason_required", "say why these members are fake".into(), "बताएं कि ये सदस्य फ़र्ज़ी क्यों हैं".into()));
        }
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("flag:{id}")]).await?;
        let f = flag_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        if f.status != "open" {
            return Err(invalid("flag", "flag_resolved", format!("flag {id} was already resolved as {}", f.status), format!("फ़्लैग {id} पहले ही {} के रूप में निपटाया जा चुका है", f.status)));
        }
        if fake {
            // Members still counted are rejected; those already rejected, lapsed or cancelled stay.
            let ids: Vec<i64> = f.members.iter().filter(|m| m.status == "pending" || m.status == "verified").map(|m| m.membership_id).collect();
            if !ids.is_empty() {
                set_status_in(&mut tx, &ids, Status::Rejected, Some(&format!("flag {id} ({}): {note}", f.rule)), actor, now).await?;
            }
        }
        sqlx::query("UPDATE flags SET status = $2, resolved_by = $3, resolved_at = $4, note = $5, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(if fake { "fake" } else { "genuine" })
            .bind(actor)
            .bind(now)
            .bind(note)
            .execute(&mut *tx)
            .await?;
        let f = flag_in(&mut tx, id).await?.expect("exists");
        tx.commit().await?;
        Ok(f)
    }
}

impl StoreImpl {
    async fn detect_on(&self, c: &mut Conn, t: &Thresholds, now: DateTime<Utc>, started: std::time::Instant) -> Result<DetectRun> {
        let state: Option<(i64, DateTime<Utc>)> = sqlx::query_as("SELECT last_membership, ran_at FROM detection_state WHERE id = 1").fetch_optional(&mut *c).await?;
        let last = state.map_or(0, |s| s.0);
        // Ids come from a sequence: one below the last run's top may have committed after that
        // run read. Memberships enrolled shortly before it are read again, so none is skipped.
        let since = state.map_or(now, |s| s.1 - Duration::minutes(15));
        let top: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM memberships").fetch_one(&mut *c).await?;
        let new_memberships = (top - last).max(0) as u64;
        let mut findings: Vec<(Finding, i64)> = Vec::new();
        {
            // What the new memberships touch (and those enrolled just before the last run).
            let touched: Vec<(String, i64, i64)> =
                sqlx::query_as("SELECT DISTINCT enrolled_by, ac_id, unit_id FROM memberships WHERE (id > $1 AND id <= $2) OR enrolled_at >= $3")
                    .bind(last)
                    .bind(top)
                    .bind(since)
                    .fetch_all(&mut *c)
                    .await?;
            let enrollers: Vec<String> = touched.iter().map(|x| x.0.clone()).collect::<HashSet<_>>().into_iter().collect();
            let mut acs: HashSet<i64> = touched.iter().map(|x| x.1).collect();
            // ...and the ACs where members were verified or rejected since (rejection rates move).
            let checked: Vec<i64> = sqlx::query_scalar(
                "SELECT DISTINCT m.ac_id FROM membership_states s JOIN memberships m ON m.id = s.membership_id WHERE s.at >= $1",
            )
            .bind(since)
            .fetch_all(&mut *c)
            .await?;
            acs.extend(checked);
            let mut acs: Vec<i64> = acs.into_iter().collect();
            acs.sort_unstable();
            let booths: Vec<i64> = touched.iter().map(|x| x.2).collect::<HashSet<_>>().into_iter().collect();
            // Padding and rejections: enrollers against the median of their AC (imports are sheets,
            // not enrollers). A few ACs at a time keeps each sort small.
            for chunk in acs.chunks(20) {
                let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(AssertSqlSafe(ac_counts_sql(&id_list(chunk)))).fetch_all(&mut *c).await?;
                let counts: Vec<(String, String, usize)> = rows.iter().map(|r| (r.0.clone(), r.1.clone(), r.3 as usize)).collect();
                for (row, mut f) in dt::padding(&counts, t) {
                    let (who, ac_id) = (&rows[row].0, rows[row].2);
                    f.members = sqlx::query_scalar(AssertSqlSafe(enroller_in_ac_sql(COUNTED)))
                    .bind(ac_id)
                    .bind(who)
                    .fetch_all(&mut *c)
                    .await?;
                    findings.push((f, ac_id));
                }
                let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(AssertSqlSafe(ac_checked_sql(&id_list(chunk)))).fetch_all(&mut *c).await?;
                let checked: Vec<(String, String, usize, usize)> = rows.iter().map(|r| (r.0.clone(), r.1.clone(), r.3 as usize, r.4 as usize)).collect();
                for (row, mut f) in dt::rejections(&checked, t) {
                    let (who, ac_id) = (&rows[row].0, rows[row].2);
                    // Those still to check, and those already rejected (the evidence).
                    f.members = sqlx::query_scalar(AssertSqlSafe(enroller_in_ac_sql("('pending', 'rejected')")))
                    .bind(ac_id)
                    .bind(who)
                    .fetch_all(&mut *c)
                    .await?;
                    findings.push((f, ac_id));
                }
            }
            // Runs of mobiles and EPIC serials, and one enroller in two districts within minutes:
            // each enroller's members streamed in order, so memory stays flat however many.
            for who in &enrollers {
                // One read of the enroller's members, sorted here three ways; an enroller with
                // more than `in_memory_max` members is streamed from the database in each order
                // instead, so memory stays flat however many.
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE enrolled_by = $1").bind(who).fetch_one(&mut *c).await?;
                let (found, first_ac) = if n as usize <= t.in_memory_max { enroller_in_memory(c, who, t).await? } else { enroller_streamed(c, who, t).await? };
                for f in found {
                    let ac = match f.members.first() {
                        Some(m) => sqlx::query_scalar::<_, i64>("SELECT ac_id FROM memberships WHERE id = $1").bind(*m).fetch_one(&mut *c).await?,
                        None => first_ac.unwrap_or(0),
                    };
                    findings.push((f, ac));
                }
            }
            // Crowded booths: one address, or one name, shared by too many. One read of each
            // 500 booths' counted members, grouped here both ways.
            for chunk in booths.chunks(500) {
                let rows: Vec<(i64, String, i64, Option<String>, Option<String>)> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT m.unit_id, u.code, m.id, LOWER(TRIM(p.address)), p.name_key FROM memberships m JOIN people p ON p.id = m.person_id \
                     JOIN units u ON u.id = m.unit_id WHERE m.unit_id IN ({}) AND m.status IN {COUNTED} ORDER BY m.id",
                    id_list(chunk)
                )))
                .fetch_all(&mut *c)
                .await?;
                let mut groups: BTreeMap<(i64, &'static str, String), (String, Vec<i64>)> = BTreeMap::new();
                for (unit_id, code, id, address, name) in rows {
                    for (kind, value) in [("address", address), ("name", name)] {
                        if let Some(v) = value.filter(|v| !v.is_empty()) {
                            groups.entry((unit_id, kind, v)).or_insert_with(|| (code.clone(), Vec::new())).1.push(id);
                        }
                    }
                }
                for ((unit_id, kind, value), (code, ids)) in groups {
                    let max = if kind == "address" { t.address_max } else { t.name_max };
                    if ids.len() > max {
                        for f in dt::crowded(kind, &[(code, value, ids)], t) {
                            findings.push((f, unit_id));
                        }
                    }
                }
            }
        }
        // Codes never confirmed (every run: time alone makes these).
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            // Still pending, so never confirmed: a code went out before the cut-off.
            "SELECT m.enrolled_by, m.id, m.ac_id FROM memberships m WHERE m.status = 'pending' AND m.id IN (SELECT vc.membership_id \
             FROM verification_codes vc WHERE vc.created_at < $1) ORDER BY m.enrolled_by, m.id",
        )
        .bind(now - Duration::days(t.unconfirmed_days))
        .fetch_all(&mut *c)
        .await?;
        let mut by_enroller: BTreeMap<String, (Vec<i64>, i64)> = BTreeMap::new();
        for (who, id, ac) in rows {
            let e = by_enroller.entry(who).or_insert((Vec::new(), ac));
            e.0.push(id);
        }
        for (who, (ids, ac)) in by_enroller {
            if let Some(f) = dt::unconfirmed(&who, &ids, t) {
                findings.push((f, ac));
            }
        }
        let (mut raised, mut updated) = (0, 0);
        for chunk in findings.chunks(50) {
            let mut tx = self.begin_write().await?;
            for (f, unit) in chunk {
                let (r, u) = save_finding(&mut tx, f, *unit, now).await?;
                raised += r;
                updated += u;
            }
            tx.commit().await?;
        }
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO detection_state (id, last_membership, ran_at) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET last_membership = excluded.last_membership, ran_at = excluded.ran_at",
        )
        .bind(top)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(DetectRun { new_memberships, flags_raised: raised, flags_updated: updated, seconds: started.elapsed().as_secs_f64() })
    }
}
