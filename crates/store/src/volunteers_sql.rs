// Programmes, duties, rosters, check-in, activation, follow-ups and bulletins: the SQL both
// backends share. `include!`d into `sqlite.rs` and `postgres.rs` after `meetings_sql.rs`. The
// rules (overlap, candidate order, codes, check-in window, activity) are
// `sangathan_core::volunteers`.

use crate::volunteers::*;
use sangathan_core::volunteers as vt;

/// The wing whose members are the volunteer force.
const VOLUNTEER_WING: &str = "volunteers";

/// Every roster write takes this one key (an advisory lock on PostgreSQL; SQLite has one writer):
/// headcounts and "no two overlapping shifts" are then checked and written without a race.
const ROSTER_KEY: &str = "roster";

const PROGRAMME_SELECT: &str = "SELECT p.id, w.code, u.code, v.code, v.name_en, p.meeting_id, p.title, p.kind, p.starts_at, p.ends_at, p.expected, \
     (SELECT CAST(COALESCE(SUM(d.headcount), 0) AS BIGINT) FROM duties d WHERE d.programme_id = p.id), \
     (SELECT COUNT(*) FROM duty_assignments a JOIN duties d ON d.id = a.duty_id WHERE d.programme_id = p.id AND a.status <> 'declined') \
     FROM programmes p JOIN wings w ON w.id = p.wing_id JOIN units u ON u.id = p.unit_id JOIN units v ON v.id = p.venue_id";

type ProgrammeRow = (i64, String, String, String, String, i64, String, String, DateTime<Utc>, DateTime<Utc>, i64, i64, i64);

fn programme_of(r: ProgrammeRow) -> Programme {
    Programme {
        id: r.0,
        wing: r.1,
        unit: r.2,
        venue: r.3,
        venue_name: r.4,
        meeting_id: r.5,
        title: r.6,
        kind: r.7,
        starts_at: r.8,
        ends_at: r.9,
        expected: r.10 as u32,
        places: r.11 as u32,
        filled: r.12 as u32,
    }
}

async fn programme_in(c: &mut Conn, id: i64) -> Result<Option<Programme>> {
    let sql = format!("{PROGRAMME_SELECT} WHERE p.id = $1");
    let r: Option<ProgrammeRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *c).await?;
    Ok(r.map(programme_of))
}

fn no_programme(id: i64) -> StoreError {
    invalid("programme", "unknown_programme", format!("no programme {id}"), format!("कार्यक्रम {id} नहीं मिला"))
}

fn no_duty(id: i64) -> StoreError {
    invalid("duty", "unknown_duty", format!("no duty {id}"), format!("ड्यूटी {id} नहीं मिली"))
}

fn person_id_of(actor: &str) -> Option<i64> {
    actor.strip_prefix("person:").and_then(|s| s.parse().ok())
}

async fn duty_in(c: &mut Conn, id: i64) -> Result<Option<Duty>> {
    let row: Option<(i64, i64, String, String, DateTime<Utc>, DateTime<Utc>, i64, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT d.id, d.programme_id, d.kind, d.label, d.starts_at, d.ends_at, d.headcount, d.leader_id, l.name \
         FROM duties d LEFT JOIN people l ON l.id = d.leader_id WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let people: Vec<(i64, String, String, Option<DateTime<Utc>>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT a.person_id, p.name, a.status, ck.in_at, ck.out_at FROM duty_assignments a JOIN people p ON p.id = a.person_id \
         LEFT JOIN checkins ck ON ck.programme_id = $2 AND ck.person_id = a.person_id \
         WHERE a.duty_id = $1 ORDER BY CASE a.status WHEN 'confirmed' THEN 0 WHEN 'asked' THEN 1 ELSE 2 END, a.assigned_at, a.person_id",
    )
    .bind(id)
    .bind(r.1)
    .fetch_all(&mut *c)
    .await?;
    let people: Vec<Assignment> = people
        .into_iter()
        .map(|p| Assignment { person_id: p.0, name: p.1, status: p.2, checked_in_at: p.3, checked_out_at: p.4 })
        .collect();
    let filled = people.iter().filter(|p| p.status != "declined").count() as u32;
    let confirmed = people.iter().filter(|p| p.status == "confirmed").count() as u32;
    let headcount = r.6 as u32;
    Ok(Some(Duty {
        id: r.0,
        programme_id: r.1,
        kind: r.2,
        label: r.3,
        starts_at: r.4,
        ends_at: r.5,
        headcount,
        leader: r.7,
        leader_name: r.8,
        filled,
        confirmed,
        gap: headcount.saturating_sub(filled),
        people,
    }))
}

/// The venue's AC and district (the venue itself when it is one), for "within reach".
fn reach_of(venue: &UnitSpec) -> (Option<i64>, Option<i64>) {
    let ac = if venue.kind == UnitKind::Ac { Some(venue.id) } else { venue.anc.ac };
    let district = if venue.kind == UnitKind::District { Some(venue.id) } else { venue.anc.district };
    (ac, district)
}

/// Is a live person one of `top`'s people: placed within it, a member there, or holding a post
/// there (or, with `posts_above`, a post at a unit above it)?
async fn belongs_to(c: &mut Conn, person: i64, top: &UnitSpec, posts_above: bool) -> Result<bool> {
    let above = if posts_above { format!(" OR ps.unit_id IN ({})", id_list(&top.anc.rollup(top.id))) } else { String::new() };
    let sql = format!(
        "SELECT p.id FROM people p WHERE p.id = $2 AND p.erased_at IS NULL AND p.merged_into IS NULL AND ( \
           p.unit_id IN (SELECT u.id FROM units u WHERE {w}) \
           OR EXISTS (SELECT 1 FROM memberships m JOIN units u ON u.id = m.unit_id WHERE m.person_id = p.id AND m.status IN ('pending', 'verified') AND {w}) \
           OR EXISTS (SELECT 1 FROM posts ps JOIN units u ON u.id = ps.unit_id WHERE ps.person_id = p.id AND ps.ends_on IS NULL AND ({w}{above})))",
        w = unit_within(top.kind)
    );
    let found: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql)).bind(top.id).bind(person).fetch_optional(&mut *c).await?;
    Ok(found.is_some())
}

/// Why a volunteer cannot take a duty now, if they cannot.
async fn cannot_serve(c: &mut Conn, person: i64, d: &Duty) -> Result<Option<FieldError>> {
    let declined: Option<String> = sqlx::query_scalar("SELECT status FROM duty_assignments WHERE duty_id = $1 AND person_id = $2")
        .bind(d.id)
        .bind(person)
        .fetch_optional(&mut *c)
        .await?;
    if declined.as_deref() == Some("declined") {
        return Ok(Some(FieldError::new("person", "declined", "this volunteer declined this duty", "इस स्वयंसेवक ने यह ड्यूटी मना कर दी है")));
    }
    let (from, to) = (crate::clock::day_of(d.starts_at), crate::clock::day_of(d.ends_at));
    let away: Option<i64> = sqlx::query_scalar("SELECT id FROM volunteer_unavailable WHERE person_id = $1 AND from_day <= $3 AND to_day >= $2 LIMIT 1")
        .bind(person)
        .bind(from)
        .bind(to)
        .fetch_optional(&mut *c)
        .await?;
    if away.is_some() {
        return Ok(Some(FieldError::new("person", "unavailable", "this volunteer is unavailable that day", "यह स्वयंसेवक उस दिन उपलब्ध नहीं है")));
    }
    let clash: Option<i64> = sqlx::query_scalar(
        "SELECT duty_id FROM duty_assignments WHERE person_id = $1 AND status <> 'declined' AND duty_id <> $2 \
         AND starts_at < $4 AND ends_at > $3 LIMIT 1",
    )
    .bind(person)
    .bind(d.id)
    .bind(d.starts_at)
    .bind(d.ends_at)
    .fetch_optional(&mut *c)
    .await?;
    if let Some(other) = clash {
        return Ok(Some(FieldError::new(
            "person",
            "overlapping_shift",
            format!("this volunteer is already on duty {other} at that time"),
            format!("यह स्वयंसेवक उसी समय ड्यूटी {other} पर है"),
        )));
    }
    Ok(None)
}

async fn volunteer_wing_id(c: &mut Conn) -> Result<i64> {
    sqlx::query_scalar::<_, i64>("SELECT id FROM wings WHERE code = $1").bind(VOLUNTEER_WING).fetch_optional(&mut *c).await?.ok_or_else(|| {
        invalid("wing", "no_volunteer_wing", format!("this installation has no '{VOLUNTEER_WING}' wing"), format!("इस संगठन में '{VOLUNTEER_WING}' शाखा नहीं है"))
    })
}

/// Record that each person was active at their time through `source`, keeping the latest time
/// (one multi-row statement per 500 people).
async fn touch_activity(c: &mut Conn, source: &str, seen: &[(i64, DateTime<Utc>)]) -> Result<()> {
    // One row per person (a statement may not update a row twice), at their latest time.
    let mut latest: BTreeMap<i64, DateTime<Utc>> = BTreeMap::new();
    for (id, at) in seen {
        let e = latest.entry(*id).or_insert(*at);
        *e = (*e).max(*at);
    }
    let latest: Vec<(i64, DateTime<Utc>)> = latest.into_iter().collect();
    run_chunks(c, &latest, 500, |chunk| {
        let mut qb: QueryBuilder<DB> = QueryBuilder::new("INSERT INTO activity (person_id, source, last_at) ");
        qb.push_values(chunk, |mut b, (id, at)| {
            b.push_bind(*id).push_bind(source).push_bind(*at);
        });
        qb.push(
            " ON CONFLICT (person_id, source) \
             DO UPDATE SET last_at = CASE WHEN excluded.last_at > activity.last_at THEN excluded.last_at ELSE activity.last_at END",
        );
        qb
    })
    .await
}

/// Recompute people's meeting and check-in activity from the sources (after a report's list of
/// those present changed, or a merge moved attendance from one record to another).
async fn refresh_activity(c: &mut Conn, people: &[i64]) -> Result<()> {
    for id in people {
        for (source, sql) in [
            ("meeting", "SELECT MAX(m.starts_at) FROM meeting_people mp JOIN meetings m ON m.id = mp.meeting_id WHERE mp.person_id = $1 AND mp.role = 'present'"),
            ("checkin", "SELECT MAX(in_at) FROM checkins WHERE person_id = $1"),
        ] {
            let last: Option<DateTime<Utc>> = sqlx::query_scalar(sql).bind(*id).fetch_one(&mut *c).await?;
            match last {
                Some(t) => {
                    sqlx::query(
                        "INSERT INTO activity (person_id, source, last_at) VALUES ($1, $2, $3) ON CONFLICT (person_id, source) DO UPDATE SET last_at = excluded.last_at",
                    )
                    .bind(*id)
                    .bind(source)
                    .bind(t)
                    .execute(&mut *c)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM activity WHERE person_id = $1 AND source = $2").bind(*id).bind(source).execute(&mut *c).await?;
                }
            }
        }
    }
    Ok(())
}

/// An erasure: the person's duties, check-ins, code, activity, follow-ups about them, comments
/// and views go (view counts follow).
async fn erase_volunteer_data(c: &mut Conn, id: i64) -> Result<()> {
    // Flags that quoted their address or name say so no more, and no flag links them.
    sqlx::query(
        "UPDATE flags SET reason = 'a shared address or name (a member concerned was erased)', \
         reason_hi = 'एक साझा पता या नाम (संबंधित एक सदस्य का विवरण मिटाया गया)' \
         WHERE rule IN ('shared_address', 'repeated_name') AND id IN (SELECT fm.flag_id FROM flag_members fm \
         JOIN memberships m ON m.id = fm.membership_id WHERE m.person_id = $1)",
    )
    .bind(id)
    .execute(&mut *c)
    .await?;
    sqlx::query("DELETE FROM flag_members WHERE membership_id IN (SELECT id FROM memberships WHERE person_id = $1)").bind(id).execute(&mut *c).await?;
    sqlx::query("UPDATE bulletins SET views = views - 1 WHERE id IN (SELECT bulletin_id FROM bulletin_views WHERE person_id = $1)").bind(id).execute(&mut *c).await?;
    for sql in [
        "DELETE FROM bulletin_views WHERE person_id = $1",
        "DELETE FROM bulletin_comments WHERE person_id = $1",
        "DELETE FROM followups WHERE person_id = $1",
        "DELETE FROM activity WHERE person_id = $1",
        "DELETE FROM checkins WHERE person_id = $1",
        "DELETE FROM duty_assignments WHERE person_id = $1",
        "DELETE FROM checkin_codes WHERE person_id = $1",
        "DELETE FROM volunteer_unavailable WHERE person_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *c).await?;
    }
    Ok(())
}

/// Activity rows that disagree with their sources, and duties holding more than their headcount
/// or volunteers on two overlapping shifts; bulletin view counts.
async fn volunteer_mismatches(c: &mut Conn) -> Result<Vec<Mismatch>> {
    let mut out = Vec::new();
    let expected: Vec<(i64, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT mp.person_id, 'meeting', MAX(m.starts_at) FROM meeting_people mp JOIN meetings m ON m.id = mp.meeting_id \
         WHERE mp.role = 'present' GROUP BY mp.person_id \
         UNION ALL SELECT person_id, 'checkin', MAX(in_at) FROM checkins GROUP BY person_id \
         UNION ALL SELECT p.id, 'enrol', e.last_at FROM (SELECT enrolled_by, MAX(enrolled_at) AS last_at FROM memberships \
           WHERE enrolled_by LIKE 'person:%' GROUP BY enrolled_by) e JOIN people p ON 'person:' || CAST(p.id AS TEXT) = e.enrolled_by \
           WHERE p.erased_at IS NULL",
    )
    .fetch_all(&mut *c)
    .await?;
    let found: Vec<(i64, String, DateTime<Utc>)> = sqlx::query_as("SELECT person_id, source, last_at FROM activity").fetch_all(&mut *c).await?;
    let exp: HashMap<(i64, String), DateTime<Utc>> = expected.into_iter().map(|r| ((r.0, r.1), r.2)).collect();
    let fnd: HashMap<(i64, String), DateTime<Utc>> = found.into_iter().map(|r| ((r.0, r.1), r.2)).collect();
    let mut keys: Vec<&(i64, String)> = exp.keys().chain(fnd.keys()).collect::<HashSet<_>>().into_iter().collect();
    keys.sort();
    for k in keys {
        let (e, f) = (exp.get(k), fnd.get(k));
        // Compared to the second: backends keep different sub-second precision.
        if e.map(|t| t.timestamp()) != f.map(|t| t.timestamp()) {
            out.push(Mismatch {
                what: format!("last {} activity of person {} (unix seconds)", k.1, k.0),
                unit: "-".into(),
                wing: "-".into(),
                expected: e.map(|t| t.timestamp()).unwrap_or(0),
                found: f.map(|t| t.timestamp()).unwrap_or(0),
            });
        }
    }
    let over: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT d.id, d.headcount, COUNT(a.person_id) FROM duties d JOIN duty_assignments a ON a.duty_id = d.id AND a.status <> 'declined' \
         GROUP BY d.id, d.headcount HAVING COUNT(a.person_id) > d.headcount",
    )
    .fetch_all(&mut *c)
    .await?;
    for (id, head, n) in over {
        out.push(Mismatch { what: format!("duty {id} volunteers (at most its headcount)"), unit: "-".into(), wing: "-".into(), expected: head, found: n });
    }
    let clashes: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT a.person_id, COUNT(*) FROM duty_assignments a JOIN duty_assignments b ON b.person_id = a.person_id AND b.duty_id > a.duty_id \
         AND a.status <> 'declined' AND b.status <> 'declined' AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at GROUP BY a.person_id",
    )
    .fetch_all(&mut *c)
    .await?;
    for (person, n) in clashes {
        out.push(Mismatch { what: format!("overlapping shifts of person {person}"), unit: "-".into(), wing: "-".into(), expected: 0, found: n });
    }
    let views: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT b.id, b.views, (SELECT COUNT(*) FROM bulletin_views v WHERE v.bulletin_id = b.id) FROM bulletins b ORDER BY b.id",
    )
    .fetch_all(&mut *c)
    .await?;
    for (id, found, expected) in views {
        if found != expected {
            out.push(Mismatch { what: format!("bulletin {id} views"), unit: "-".into(), wing: "-".into(), expected, found });
        }
    }
    Ok(out)
}

async fn checkin_view(c: &mut Conn, programme_id: i64, person_id: i64, already: bool) -> Result<CheckIn> {
    let (name, in_at, out_at): (String, DateTime<Utc>, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT p.name, ck.in_at, ck.out_at FROM checkins ck JOIN people p ON p.id = ck.person_id WHERE ck.programme_id = $1 AND ck.person_id = $2",
    )
    .bind(programme_id)
    .bind(person_id)
    .fetch_one(&mut *c)
    .await?;
    let duties: Vec<String> = sqlx::query_scalar(
        "SELECT d.label FROM duty_assignments a JOIN duties d ON d.id = a.duty_id WHERE d.programme_id = $1 AND a.person_id = $2 \
         AND a.status <> 'declined' ORDER BY d.starts_at, d.id",
    )
    .bind(programme_id)
    .bind(person_id)
    .fetch_all(&mut *c)
    .await?;
    Ok(CheckIn { programme_id, person_id, name, duties, in_at, out_at, already })
}

/// The volunteer a code names, who must be on this programme's roster.
async fn rostered_by_code(c: &mut Conn, programme_id: i64, code: &str) -> Result<i64> {
    let code = vt::parse_code(code)?;
    let person: Option<i64> = sqlx::query_scalar("SELECT person_id FROM checkin_codes WHERE code = $1").bind(&code).fetch_optional(&mut *c).await?;
    let Some(person) = person else {
        return Err(invalid("code", "unknown_code", "no volunteer has this code".into(), "यह कोड किसी स्वयंसेवक का नहीं है".into()));
    };
    let on: Option<i64> = sqlx::query_scalar(
        "SELECT a.duty_id FROM duty_assignments a JOIN duties d ON d.id = a.duty_id WHERE d.programme_id = $1 AND a.person_id = $2 \
         AND a.status <> 'declined' LIMIT 1",
    )
    .bind(programme_id)
    .bind(person)
    .fetch_optional(&mut *c)
    .await?;
    if on.is_none() {
        return Err(invalid("code", "not_on_roster", "this volunteer has no duty at this programme".into(), "इस स्वयंसेवक की इस कार्यक्रम में कोई ड्यूटी नहीं है".into()));
    }
    Ok(person)
}

const FOLLOWUP_SELECT: &str = "SELECT f.id, f.person_id, p.name, p.mobile, u.code, f.assigned_to, ap.name, \
     (SELECT MAX(a.last_at) FROM activity a WHERE a.person_id = f.person_id), f.outcome, f.next_step, f.note, f.updated_at \
     FROM followups f JOIN people p ON p.id = f.person_id JOIN units u ON u.id = f.unit_id JOIN people ap ON ap.id = f.assigned_to";

type FollowupRow = (i64, i64, String, Option<String>, String, i64, String, Option<DateTime<Utc>>, Option<String>, String, String, DateTime<Utc>);

fn followup_of(r: FollowupRow) -> Followup {
    Followup {
        id: r.0,
        person_id: r.1,
        name: r.2,
        whatsapp: r.3.as_deref().map(vt::whatsapp_link),
        call: r.3.as_deref().map(vt::call_link),
        mobile: r.3,
        unit: r.4,
        assigned_to: r.5,
        assigned_name: r.6,
        last_active: r.7,
        outcome: r.8,
        next_step: r.9,
        note: r.10,
        updated_at: r.11,
    }
}

/// The cadre within the unit `$1` (a UnitSpec `u`) as a CTE `cadre(pid, uid)`: volunteer-force
/// members where their membership is (found through the memberships' AC index), and users not
/// in the force at their home unit. Erased and merged records are left out. The wing is written
/// as a number so that the planner walks the memberships' AC index rather than the wing.
fn cadre_cte(u: &UnitSpec, volunteer_wing: i64) -> String {
    format!(
        "WITH cadre AS (\
           SELECT m.person_id AS pid, m.unit_id AS uid FROM memberships m \
            WHERE m.wing_id = {volunteer_wing} AND m.status IN ('pending', 'verified') AND {} \
           UNION \
           SELECT p.id, p.unit_id FROM people p WHERE p.id IN (SELECT person_id FROM users WHERE disabled_at IS NULL) \
            AND p.unit_id IN (SELECT u.id FROM units u WHERE {}) AND NOT EXISTS (SELECT 1 FROM memberships vm \
              WHERE vm.person_id = p.id AND vm.wing_id = {volunteer_wing} AND vm.status IN ('pending', 'verified'))) ",
        subtree_filter(u),
        unit_within(u.kind)
    )
}

/// The SQL condition for units `u` within the unit `$1` of `kind`.
fn unit_within(kind: UnitKind) -> String {
    match below_column(kind) {
        Some(col) => format!("(u.id = $1 OR u.{col} = $1)"),
        None => "u.id = $1".into(),
    }
}

const BULLETIN_SELECT: &str = "SELECT b.id, u.code, u.name_en, w.code, b.author_id, b.author, b.title, b.body_hi, b.body_en, b.pinned, b.views, \
     (SELECT COUNT(*) FROM bulletin_comments k WHERE k.bulletin_id = b.id AND k.hidden_at IS NULL), b.created_at, \
     EXISTS (SELECT 1 FROM bulletin_views bv WHERE bv.bulletin_id = b.id AND bv.person_id = $1) \
     FROM bulletins b JOIN units u ON u.id = b.unit_id LEFT JOIN wings w ON w.id = b.wing_id";

type BulletinRow = (i64, String, String, Option<String>, Option<i64>, String, String, Option<String>, Option<String>, bool, i64, i64, DateTime<Utc>, bool);

fn bulletin_of(r: BulletinRow) -> Bulletin {
    Bulletin {
        id: r.0,
        unit: r.1,
        unit_name: r.2,
        wing: r.3,
        author_id: r.4,
        author: r.5,
        title: r.6,
        body_hi: r.7,
        body_en: r.8,
        pinned: r.9,
        views: r.10,
        comments: r.11,
        created_at: r.12,
        read: r.13,
    }
}

fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        "NULL".into()
    } else {
        ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    }
}

/// The condition for bulletins `b` a reader receives.
fn reader_filter(r: &Reader) -> String {
    format!("b.unit_id IN ({}) AND (b.wing_id IS NULL OR b.wing_id IN ({}))", id_list(&r.units), id_list(&r.wings))
}

async fn comment_in(c: &mut Conn, id: i64) -> Result<Option<Comment>> {
    let r: Option<(i64, i64, i64, String, String, DateTime<Utc>, Option<DateTime<Utc>>, Option<String>)> = sqlx::query_as(
        "SELECT k.id, k.bulletin_id, k.person_id, p.name, k.body, k.at, k.hidden_at, k.hidden_reason FROM bulletin_comments k \
         JOIN people p ON p.id = k.person_id WHERE k.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    Ok(r.map(comment_of))
}

fn comment_of(r: (i64, i64, i64, String, String, DateTime<Utc>, Option<DateTime<Utc>>, Option<String>)) -> Comment {
    Comment { id: r.0, bulletin_id: r.1, person_id: r.2, name: r.3, body: r.4, at: r.5, hidden: r.6.is_some(), hidden_reason: r.7 }
}

#[async_trait]
impl Volunteers for StoreImpl {
    async fn add_programme(&self, p: &NewProgramme, actor: &str) -> Result<Programme> {
        let title = vt::text("title", &p.title, 200)?;
        let kind = vt::text("kind", &p.kind, 40)?.to_lowercase();
        let (start, end) = vt::window("ends_at", p.starts_at, p.ends_at)?;
        let mut tx = self.begin_write().await?;
        let wing_id = wing_id_of(&mut tx, &p.wing).await?;
        let unit = unit_by_code(&mut tx, &p.unit)
            .await?
            .ok_or_else(|| invalid("unit", "unknown_unit", format!("no unit {}", p.unit.trim()), format!("इकाई {} नहीं मिली", p.unit.trim())))?;
        let venue = unit_by_code(&mut tx, &p.venue)
            .await?
            .ok_or_else(|| invalid("venue", "unknown_unit", format!("no unit {}", p.venue.trim()), format!("इकाई {} नहीं मिली", p.venue.trim())))?;
        if !venue.anc.rollup(venue.id).contains(&unit.id) {
            return Err(invalid("venue", "venue_outside_unit", "the venue must lie within the organising unit".into(), "स्थल आयोजक इकाई के भीतर होना चाहिए".into()));
        }
        let now = crate::clock::now();
        let local = start.with_timezone(&crate::clock::ist());
        let minutes = (end - start).num_minutes().max(1) as u32;
        let meeting = insert_meeting(
            &mut tx,
            None,
            None,
            local.date_naive(),
            local.time(),
            minutes,
            &venue,
            wing_id,
            "programme",
            None,
            person_id_of(actor),
            ("programme", "कार्यक्रम"),
            mt::REPORT_DUE_HOURS as u32,
            actor,
            now,
        )
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO programmes (wing_id, unit_id, venue_id, meeting_id, title, kind, starts_at, ends_at, expected, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(wing_id)
        .bind(unit.id)
        .bind(venue.id)
        .bind(meeting)
        .bind(title)
        .bind(kind)
        .bind(start)
        .bind(end)
        .bind(p.expected as i64)
        .bind(actor)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let v = programme_in(&mut tx, id).await?.expect("just written");
        tx.commit().await?;
        Ok(v)
    }

    async fn programme(&self, id: i64) -> Result<Option<Programme>> {
        let mut c = self.read.acquire().await?;
        programme_in(&mut c, id).await
    }

    async fn programmes_within(&self, unit: &str, from: DateTime<Utc>, wings: &Wings) -> Result<Option<Vec<Programme>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        let within = unit_within(u.kind).replace("u.", "v.");
        let wf = wings_in("p.wing_id", wings);
        let sql = format!("{PROGRAMME_SELECT} WHERE {within} AND p.ends_at >= $2 AND {wf} ORDER BY p.starts_at, p.id");
        let rows: Vec<ProgrammeRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).bind(from).fetch_all(&mut *c).await?;
        Ok(Some(rows.into_iter().map(programme_of).collect()))
    }

    async fn add_duty(&self, programme_id: i64, d: &NewDuty) -> Result<Duty> {
        let kind = vt::duty_kind(&d.kind)?;
        if d.headcount == 0 || d.headcount > 1000 {
            return Err(invalid("headcount", "bad_headcount", "headcount is 1 to 1,000".into(), "संख्या 1 से 1,000 तक हो".into()));
        }
        let label = if d.label.trim().is_empty() {
            vt::DUTY_KINDS.iter().find(|k| k.0 == kind).map(|k| k.1.to_string()).unwrap_or_else(|| kind.clone())
        } else {
            vt::text("label", &d.label, 100)?
        };
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[ROSTER_KEY.to_string()]).await?;
        let p = programme_in(&mut tx, programme_id).await?.ok_or_else(|| no_programme(programme_id))?;
        let shift = vt::window("ends_at", d.starts_at.unwrap_or(p.starts_at), d.ends_at.unwrap_or(p.ends_at))?;
        vt::shift_within(shift, (p.starts_at, p.ends_at))?;
        if let Some(l) = d.leader {
            // A leader from the venue's district (or AC): placed there, or a member or
            // office-bearer there.
            let venue = unit_by_code(&mut tx, &p.venue).await?.expect("the venue exists");
            let top = match reach_of(&venue) {
                (_, Some(district)) => unit_by_id(&mut tx, district).await?,
                (Some(ac), None) => unit_by_id(&mut tx, ac).await?,
                _ => venue,
            };
            if !belongs_to(&mut tx, l, &top, false).await? {
                return Err(invalid("leader", "out_of_reach", format!("person {l} is not one of the venue district's people"), format!("व्यक्ति {l} स्थल के ज़िले के लोगों में नहीं है")));
            }
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO duties (programme_id, kind, label, starts_at, ends_at, headcount, leader_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(programme_id)
        .bind(kind)
        .bind(label)
        .bind(shift.0)
        .bind(shift.1)
        .bind(d.headcount as i64)
        .bind(d.leader)
        .fetch_one(&mut *tx)
        .await?;
        let v = duty_in(&mut tx, id).await?.expect("just written");
        tx.commit().await?;
        Ok(v)
    }

    async fn duty(&self, id: i64) -> Result<Option<Duty>> {
        let mut c = self.read.acquire().await?;
        duty_in(&mut c, id).await
    }

    async fn roster(&self, programme_id: i64) -> Result<Option<Roster>> {
        let mut c = self.read.acquire().await?;
        let Some(programme) = programme_in(&mut c, programme_id).await? else { return Ok(None) };
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM duties WHERE programme_id = $1 ORDER BY starts_at, id").bind(programme_id).fetch_all(&mut *c).await?;
        let mut duties = Vec::with_capacity(ids.len());
        for id in ids {
            duties.push(duty_in(&mut c, id).await?.expect("listed"));
        }
        Ok(Some(Roster { programme, duties }))
    }

    async fn assign(&self, duty_id: i64, person: Option<i64>, actor: &str, now: DateTime<Utc>) -> Result<Duty> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[ROSTER_KEY.to_string()]).await?;
        let d = duty_in(&mut tx, duty_id).await?.ok_or_else(|| no_duty(duty_id))?;
        let p = programme_in(&mut tx, d.programme_id).await?.expect("a duty's programme");
        let wing = volunteer_wing_id(&mut tx).await?;
        let chosen: Vec<i64> = match person {
            Some(pid) => {
                if d.people.iter().any(|a| a.person_id == pid && a.status != "declined") {
                    tx.commit().await?;
                    return Ok(d); // already on it: nothing to do
                }
                if d.gap == 0 {
                    return Err(invalid("duty", "duty_full", format!("all {} places on this duty are taken", d.headcount), format!("इस ड्यूटी के सभी {} स्थान भरे हैं", d.headcount)));
                }
                let member: Option<i64> = sqlx::query_scalar(
                    "SELECT m.ac_id FROM memberships m JOIN people p ON p.id = m.person_id WHERE m.person_id = $1 AND m.wing_id = $2 \
                     AND m.status IN ('pending', 'verified') AND p.erased_at IS NULL AND p.merged_into IS NULL",
                )
                .bind(pid)
                .bind(wing)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(their_ac) = member else {
                    return Err(invalid("person", "not_a_volunteer", format!("person {pid} is not a member of the volunteer force"), format!("व्यक्ति {pid} स्वयंसेवक बल का सदस्य नहीं है")));
                };
                // Within reach, as the fill: the venue's AC or district (and so, their name only
                // to a commander whose programme it is).
                let venue = unit_by_code(&mut tx, &p.venue).await?.expect("the venue exists");
                let (ac, district) = reach_of(&venue);
                let near: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE id = $1 AND (id = $2 OR district_id = $3)")
                    .bind(their_ac)
                    .bind(ac)
                    .bind(district)
                    .fetch_optional(&mut *tx)
                    .await?;
                if near.is_none() {
                    return Err(invalid("person", "out_of_reach", format!("person {pid} serves in another district"), format!("व्यक्ति {pid} दूसरे ज़िले में सेवा देते हैं")));
                }
                if let Some(e) = cannot_serve(&mut tx, pid, &d).await? {
                    return Err(e.into());
                }
                vec![pid]
            }
            None => {
                if d.gap == 0 {
                    tx.commit().await?;
                    return Ok(d);
                }
                let venue = unit_by_code(&mut tx, &p.venue).await?.expect("the venue exists");
                let (ac, district) = reach_of(&venue);
                let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
                    "SELECT m.person_id, CAST(CASE WHEN m.ac_id = $2 THEN 0 ELSE 1 END AS BIGINT), \
                     (SELECT COUNT(*) FROM duty_assignments a2 JOIN duties d2 ON d2.id = a2.duty_id WHERE d2.programme_id = $5 \
                       AND a2.person_id = m.person_id AND a2.status <> 'declined') \
                     FROM memberships m JOIN people p ON p.id = m.person_id \
                     WHERE m.wing_id = $1 AND m.status IN ('pending', 'verified') AND p.erased_at IS NULL AND p.merged_into IS NULL \
                     AND (m.ac_id = $2 OR m.ac_id IN (SELECT id FROM units WHERE kind = 'ac' AND district_id = $3)) \
                     AND NOT EXISTS (SELECT 1 FROM duty_assignments a WHERE a.duty_id = $4 AND a.person_id = m.person_id) \
                     AND NOT EXISTS (SELECT 1 FROM duty_assignments a WHERE a.person_id = m.person_id AND a.status <> 'declined' \
                       AND a.starts_at < $7 AND a.ends_at > $6) \
                     AND NOT EXISTS (SELECT 1 FROM volunteer_unavailable x WHERE x.person_id = m.person_id AND x.from_day <= $9 AND x.to_day >= $8)",
                )
                .bind(wing)
                .bind(ac)
                .bind(district)
                .bind(d.id)
                .bind(d.programme_id)
                .bind(d.starts_at)
                .bind(d.ends_at)
                .bind(crate::clock::day_of(d.starts_at))
                .bind(crate::clock::day_of(d.ends_at))
                .fetch_all(&mut *tx)
                .await?;
                let mut cands: Vec<vt::Candidate> = rows
                    .into_iter()
                    .map(|r| vt::Candidate {
                        person_id: r.0,
                        reach: if r.1 == 0 { vt::Reach::SameAc } else { vt::Reach::SameDistrict },
                        duties_here: r.2 as u32,
                    })
                    .collect();
                vt::order_candidates(&mut cands);
                cands.into_iter().take(d.gap as usize).map(|c| c.person_id).collect()
            }
        };
        let when = p.starts_at.with_timezone(&crate::clock::ist()).format("%d-%m-%Y %H:%M");
        let mut notices = Vec::new();
        for pid in &chosen {
            sqlx::query(
                "INSERT INTO duty_assignments (duty_id, person_id, status, starts_at, ends_at, assigned_by, assigned_at) VALUES ($1, $2, 'asked', $3, $4, $5, $6)",
            )
            .bind(d.id)
            .bind(*pid)
            .bind(d.starts_at)
            .bind(d.ends_at)
            .bind(actor)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            notices.push(Notice {
                person_id: *pid,
                key: format!("duty:{}:{}", d.id, pid),
                subject: format!("Duty: {} — {}", d.label, p.title),
                body: format!(
                    "आपको {} ({}, {} IST) में '{}' ड्यूटी दी गई है। कृपया पुष्टि करें या मना करें।\nYou are asked to serve on '{}' at {} ({}, {} IST). Please confirm or decline.",
                    p.title, p.venue_name, when, d.label, d.label, p.title, p.venue_name, when
                ),
            });
        }
        notify_in(&mut tx, &notices, now).await?;
        let v = duty_in(&mut tx, d.id).await?.expect("exists");
        tx.commit().await?;
        Ok(v)
    }

    async fn answer_duty(&self, duty_id: i64, person_id: i64, accept: bool, now: DateTime<Utc>) -> Result<Duty> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[ROSTER_KEY.to_string()]).await?;
        let d = duty_in(&mut tx, duty_id).await?.ok_or_else(|| no_duty(duty_id))?;
        let Some(a) = d.people.iter().find(|a| a.person_id == person_id) else {
            return Err(invalid("duty", "not_asked", "you are not on this duty".into(), "आप इस ड्यूटी पर नहीं हैं".into()));
        };
        let to = if accept { "confirmed" } else { "declined" };
        if a.status == to {
            tx.commit().await?;
            return Ok(d);
        }
        if a.status == "declined" {
            return Err(invalid("duty", "declined", "you declined this duty".into(), "आपने यह ड्यूटी मना कर दी थी".into()));
        }
        sqlx::query("UPDATE duty_assignments SET status = $3, answered_at = $4 WHERE duty_id = $1 AND person_id = $2")
            .bind(duty_id)
            .bind(person_id)
            .bind(to)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let v = duty_in(&mut tx, duty_id).await?.expect("exists");
        tx.commit().await?;
        Ok(v)
    }

    async fn my_duties(&self, person_id: i64, from: DateTime<Utc>) -> Result<Vec<MyDuty>> {
        let mut c = self.read.acquire().await?;
        let rows: Vec<(i64, i64, String, String, String, String, DateTime<Utc>, DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT d.id, p.id, p.title, v.name_en, d.kind, d.label, d.starts_at, d.ends_at, a.status FROM duty_assignments a \
             JOIN duties d ON d.id = a.duty_id JOIN programmes p ON p.id = d.programme_id JOIN units v ON v.id = p.venue_id \
             WHERE a.person_id = $1 AND d.ends_at >= $2 ORDER BY d.starts_at, d.id",
        )
        .bind(person_id)
        .bind(from)
        .fetch_all(&mut *c)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| MyDuty { duty_id: r.0, programme_id: r.1, programme: r.2, venue: r.3, kind: r.4, label: r.5, starts_at: r.6, ends_at: r.7, status: r.8 })
            .collect())
    }

    async fn set_volunteer_unavailable(&self, person_id: i64, from: NaiveDate, to: NaiveDate) -> Result<()> {
        if to < from {
            return Err(invalid("to", "end_before_start", "the last day comes before the first".into(), "अंतिम दिन पहले दिन से पहले है".into()));
        }
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO volunteer_unavailable (person_id, from_day, to_day) VALUES ($1, $2, $3)")
            .bind(person_id)
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn checkin_code(&self, person_id: i64) -> Result<String> {
        {
            let mut c = self.read.acquire().await?;
            let have: Option<String> = sqlx::query_scalar("SELECT code FROM checkin_codes WHERE person_id = $1").bind(person_id).fetch_optional(&mut *c).await?;
            if let Some(h) = have {
                return Ok(h);
            }
        }
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("checkin-code:{person_id}")]).await?;
        let have: Option<String> = sqlx::query_scalar("SELECT code FROM checkin_codes WHERE person_id = $1").bind(person_id).fetch_optional(&mut *tx).await?;
        if let Some(h) = have {
            tx.commit().await?;
            return Ok(h);
        }
        loop {
            let mut raw = [0u8; vt::CODE_LEN];
            getrandom::fill(&mut raw).map_err(|e| StoreError::Refused(format!("no randomness: {e}")))?;
            let code = vt::code_from(&raw);
            let n = sqlx::query("INSERT INTO checkin_codes (person_id, code, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(person_id)
                .bind(&code)
                .bind(crate::clock::now())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                tx.commit().await?;
                return Ok(code);
            }
        }
    }

    async fn check_in(&self, programme_id: i64, code: &str, at: Option<DateTime<Utc>>, by: &str, now: DateTime<Utc>) -> Result<CheckIn> {
        let mut tx = self.begin_write().await?;
        let p = programme_in(&mut tx, programme_id).await?.ok_or_else(|| no_programme(programme_id))?;
        let person = rostered_by_code(&mut tx, programme_id, code).await?;
        let t = vt::checkin_time(at, now, (p.starts_at, p.ends_at))?;
        let n = sqlx::query("INSERT INTO checkins (programme_id, person_id, in_at, in_by) VALUES ($1, $2, $3, $4) ON CONFLICT (programme_id, person_id) DO NOTHING")
            .bind(programme_id)
            .bind(person)
            .bind(t)
            .bind(by)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            touch_activity(&mut tx, "checkin", &[(person, t)]).await?;
        }
        let v = checkin_view(&mut tx, programme_id, person, n == 0).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn check_out(&self, programme_id: i64, code: &str, at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<CheckIn> {
        let mut tx = self.begin_write().await?;
        let p = programme_in(&mut tx, programme_id).await?.ok_or_else(|| no_programme(programme_id))?;
        let person = rostered_by_code(&mut tx, programme_id, code).await?;
        let t = vt::checkin_time(at, now, (p.starts_at, p.ends_at))?;
        let row: Option<(DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as("SELECT in_at, out_at FROM checkins WHERE programme_id = $1 AND person_id = $2")
            .bind(programme_id)
            .bind(person)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((in_at, out_at)) = row else {
            return Err(invalid("code", "not_checked_in", "this volunteer has not checked in".into(), "इस स्वयंसेवक ने चेक-इन नहीं किया है".into()));
        };
        if out_at.is_some() {
            let v = checkin_view(&mut tx, programme_id, person, true).await?;
            tx.commit().await?;
            return Ok(v);
        }
        if t < in_at {
            return Err(invalid("at", "before_checkin", "check-out cannot come before check-in".into(), "चेक-आउट चेक-इन से पहले नहीं हो सकता".into()));
        }
        sqlx::query("UPDATE checkins SET out_at = $3 WHERE programme_id = $1 AND person_id = $2")
            .bind(programme_id)
            .bind(person)
            .bind(t)
            .execute(&mut *tx)
            .await?;
        let v = checkin_view(&mut tx, programme_id, person, false).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn add_incident(&self, programme_id: i64, severity: &str, text: &str, by: &str, now: DateTime<Utc>) -> Result<Incident> {
        let severity = vt::severity(severity)?;
        let text = vt::text("text", text, 2000)?;
        let mut tx = self.begin_write().await?;
        programme_in(&mut tx, programme_id).await?.ok_or_else(|| no_programme(programme_id))?;
        let id: i64 = sqlx::query_scalar("INSERT INTO incidents (programme_id, at, severity, text, reported_by) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(programme_id)
            .bind(now)
            .bind(severity)
            .bind(&text)
            .bind(by)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Incident { id, at: now, severity: severity.into(), text, reported_by: by.into() })
    }

    async fn programme_summary(&self, programme_id: i64) -> Result<Option<ProgrammeSummary>> {
        let Some(r) = self.roster(programme_id).await? else { return Ok(None) };
        let mut c = self.read.acquire().await?;
        let checked_in: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM checkins WHERE programme_id = $1").bind(programme_id).fetch_one(&mut *c).await?;
        let incidents: Vec<(i64, DateTime<Utc>, String, String, String)> =
            sqlx::query_as("SELECT id, at, severity, text, reported_by FROM incidents WHERE programme_id = $1 ORDER BY at, id")
                .bind(programme_id)
                .fetch_all(&mut *c)
                .await?;
        let duties = r
            .duties
            .iter()
            .map(|d| DutyAttendance {
                duty_id: d.id,
                label: d.label.clone(),
                headcount: d.headcount,
                confirmed: d.confirmed,
                present: d.people.iter().filter(|a| a.status != "declined" && a.checked_in_at.is_some()).count() as u32,
                no_shows: d.people.iter().filter(|a| a.status != "declined" && a.checked_in_at.is_none()).cloned().collect(),
            })
            .collect();
        Ok(Some(ProgrammeSummary {
            programme: r.programme,
            duties,
            checked_in: checked_in as u32,
            incidents: incidents.into_iter().map(|i| Incident { id: i.0, at: i.1, severity: i.2, text: i.3, reported_by: i.4 }).collect(),
        }))
    }

    async fn activation(&self, unit: &str, days: i64, now: DateTime<Utc>) -> Result<Option<Activation>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        let vol = volunteer_wing_id(&mut c).await?;
        let children = child_specs(&mut c, &u).await?;
        let cutoff = now - Duration::days(days);
        // Per unit where cadre sit (with its ancestors), then folded into the children here:
        // the unit's figure is the sum of its children's plus those placed at the unit itself.
        let sql = format!(
            "{}SELECT CAST(u.id AS BIGINT), CAST(u.state_id AS BIGINT), CAST(u.division_id AS BIGINT), CAST(u.district_id AS BIGINT), \
             CAST(u.pc_id AS BIGINT), CAST(u.ac_id AS BIGINT), CAST(u.sector_id AS BIGINT), COUNT(*), \
             CAST(SUM(CASE WHEN (SELECT MAX(a.last_at) FROM activity a WHERE a.person_id = p.id) > $2 THEN 1 ELSE 0 END) AS BIGINT) \
             FROM cadre JOIN people p ON p.id = cadre.pid JOIN units u ON u.id = cadre.uid \
             WHERE p.erased_at IS NULL AND p.merged_into IS NULL \
             GROUP BY u.id, u.state_id, u.division_id, u.district_id, u.pc_id, u.ac_id, u.sector_id",
            cadre_cte(&u, vol)
        );
        let rows: Vec<(i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, i64, i64)> =
            sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).bind(cutoff).fetch_all(&mut *c).await?;
        let mut per_child: HashMap<i64, (i64, i64)> = HashMap::new();
        let (mut cadre, mut active) = (0, 0);
        for r in rows {
            let anc = Ancestors { state: r.1, division: r.2, district: r.3, pc: r.4, ac: r.5, sector: r.6 };
            let ups = anc.rollup(r.0);
            cadre += r.7;
            active += r.8;
            if let Some(ch) = children.iter().find(|ch| ups.contains(&ch.id)) {
                let e = per_child.entry(ch.id).or_default();
                e.0 += r.7;
                e.1 += r.8;
            }
        }
        let row = |code: String, name: String, (cadre, active): (i64, i64)| ActivationRow { code, name, cadre, active, rate: vt::rate(active, cadre) };
        Ok(Some(Activation {
            unit: row(u.code.to_string(), u.name_en.clone(), (cadre, active)),
            days,
            children: children
                .iter()
                .map(|ch| row(ch.code.to_string(), ch.name_en.clone(), per_child.get(&ch.id).copied().unwrap_or_default()))
                .collect(),
        }))
    }

    async fn make_followups(&self, unit: &str, assignee: i64, limit: u32, days: i64, actor: &str, now: DateTime<Utc>) -> Result<Vec<Followup>> {
        let mut tx = self.begin_write().await?;
        // One key for all: lists of overlapping units (an AC and its sector) never pick one person twice.
        Self::lock_keys(&mut tx, &["followups".to_string()]).await?;
        let u = unit_by_code(&mut tx, unit).await?.ok_or_else(|| invalid("unit", "unknown_unit", format!("no unit {}", unit.trim()), format!("इकाई {} नहीं मिली", unit.trim())))?;
        let vol = volunteer_wing_id(&mut tx).await?;
        // The one who calls or visits belongs to the unit: placed in it, a member there, or an
        // office-bearer there or above it (names and mobiles go to them).
        if !belongs_to(&mut tx, assignee, &u, true).await? {
            return Err(invalid(
                "assign_to",
                "assignee_outside_unit",
                format!("person {assignee} is not one of this unit's people"),
                format!("व्यक्ति {assignee} इस इकाई के लोगों में नहीं है"),
            ));
        }
        let sql = format!(
            "{}SELECT p.id, cadre.uid FROM cadre JOIN people p ON p.id = cadre.pid \
             WHERE p.erased_at IS NULL AND p.merged_into IS NULL AND p.id <> $3 \
             AND NOT EXISTS (SELECT 1 FROM followups f WHERE f.person_id = p.id AND f.outcome IS NULL) \
             AND NOT EXISTS (SELECT 1 FROM activity a WHERE a.person_id = p.id AND a.last_at > $2) \
             ORDER BY (SELECT MAX(a.last_at) FROM activity a WHERE a.person_id = p.id) IS NOT NULL, \
             (SELECT MAX(a.last_at) FROM activity a WHERE a.person_id = p.id), p.id LIMIT $4",
            cadre_cte(&u, vol)
        );
        let rows: Vec<(i64, i64)> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(u.id)
            .bind(now - Duration::days(days))
            .bind(assignee)
            .bind(limit.clamp(1, 500) as i64)
            .fetch_all(&mut *tx)
            .await?;
        let mut ids = Vec::with_capacity(rows.len());
        for (person, unit_id) in rows {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO followups (person_id, unit_id, assigned_to, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(person)
            .bind(unit_id)
            .bind(assignee)
            .bind(actor)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            ids.push(id);
        }
        let sql = format!("{FOLLOWUP_SELECT} WHERE f.id IN ({}) ORDER BY f.id", id_list(&ids));
        let out: Vec<FollowupRow> = sqlx::query_as(AssertSqlSafe(sql)).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(out.into_iter().map(followup_of).collect())
    }

    async fn followups_within(&self, unit: &str, open_only: bool) -> Result<Option<Vec<Followup>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        let sql = format!(
            "{FOLLOWUP_SELECT} WHERE {} AND (NOT $2 OR f.outcome IS NULL) ORDER BY f.outcome IS NOT NULL, f.id",
            unit_within(u.kind)
        );
        let rows: Vec<FollowupRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).bind(open_only).fetch_all(&mut *c).await?;
        Ok(Some(rows.into_iter().map(followup_of).collect()))
    }

    async fn followups_of(&self, assignee: i64) -> Result<Vec<Followup>> {
        let mut c = self.read.acquire().await?;
        let sql = format!("{FOLLOWUP_SELECT} WHERE f.assigned_to = $1 ORDER BY f.outcome IS NOT NULL, f.id");
        let rows: Vec<FollowupRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(assignee).fetch_all(&mut *c).await?;
        Ok(rows.into_iter().map(followup_of).collect())
    }

    async fn followup(&self, id: i64) -> Result<Option<Followup>> {
        let mut c = self.read.acquire().await?;
        let sql = format!("{FOLLOWUP_SELECT} WHERE f.id = $1");
        let r: Option<FollowupRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *c).await?;
        Ok(r.map(followup_of))
    }

    async fn followup_outcome(&self, id: i64, outcome: &str, next_step: &str, note: &str, now: DateTime<Utc>) -> Result<Followup> {
        let outcome = vt::followup_outcome(outcome)?;
        let next_step = next_step.trim();
        let note = note.trim();
        if next_step.chars().count() > 500 || note.chars().count() > 2000 {
            return Err(invalid("note", "too_long", "next step is at most 500 characters, note at most 2,000".into(), "अगला कदम अधिकतम 500 और टिप्पणी 2,000 अक्षर की हो".into()));
        }
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE followups SET outcome = $2, next_step = $3, note = $4, updated_at = $5 WHERE id = $1")
            .bind(id)
            .bind(outcome)
            .bind(next_step)
            .bind(note)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let sql = format!("{FOLLOWUP_SELECT} WHERE f.id = $1");
        let r: FollowupRow = sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(followup_of(r))
    }

    async fn post_bulletin(&self, b: &NewBulletin, author_id: Option<i64>, author: &str, now: DateTime<Utc>) -> Result<Bulletin> {
        let title = vt::text("title", &b.title, 200)?;
        let (hi, en) = vt::bulletin_bodies(b.body_hi.as_deref(), b.body_en.as_deref())?;
        let mut tx = self.begin_write().await?;
        let u = unit_by_code(&mut tx, &b.unit)
            .await?
            .ok_or_else(|| invalid("unit", "unknown_unit", format!("no unit {}", b.unit.trim()), format!("इकाई {} नहीं मिली", b.unit.trim())))?;
        let wing = match b.wing.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
            Some(w) => Some(wing_id_of(&mut tx, w).await?),
            None => None,
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO bulletins (unit_id, wing_id, author_id, author, title, body_hi, body_en, pinned, views, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9) RETURNING id",
        )
        .bind(u.id)
        .bind(wing)
        .bind(author_id)
        .bind(author)
        .bind(title)
        .bind(hi)
        .bind(en)
        .bind(b.pinned)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let sql = format!("{BULLETIN_SELECT} WHERE b.id = $2");
        let r: BulletinRow = sqlx::query_as(AssertSqlSafe(sql)).bind(author_id.unwrap_or(0)).bind(id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(bulletin_of(r))
    }

    async fn bulletins_for(&self, reader: &Reader, limit: u32) -> Result<Vec<Bulletin>> {
        let mut c = self.read.acquire().await?;
        let sql = format!("{BULLETIN_SELECT} WHERE {} ORDER BY b.pinned DESC, b.created_at DESC, b.id DESC LIMIT $2", reader_filter(reader));
        let rows: Vec<BulletinRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(reader.person_id).bind(limit.clamp(1, 200) as i64).fetch_all(&mut *c).await?;
        Ok(rows.into_iter().map(bulletin_of).collect())
    }

    async fn read_bulletin(&self, id: i64, reader: &Reader, now: DateTime<Utc>) -> Result<Option<Bulletin>> {
        let sql = format!("{BULLETIN_SELECT} WHERE b.id = $2 AND {}", reader_filter(reader));
        {
            let mut c = self.read.acquire().await?;
            let r: Option<BulletinRow> = sqlx::query_as(AssertSqlSafe(sql.clone())).bind(reader.person_id).bind(id).fetch_optional(&mut *c).await?;
            match r {
                None => return Ok(None),
                Some(r) if r.13 => return Ok(Some(bulletin_of(r))),
                Some(_) => {}
            }
        }
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("bulletin:{id}")]).await?;
        let n = sqlx::query("INSERT INTO bulletin_views (bulletin_id, person_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(reader.person_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            sqlx::query("UPDATE bulletins SET views = views + 1 WHERE id = $1").bind(id).execute(&mut *tx).await?;
        }
        let r: Option<BulletinRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(reader.person_id).bind(id).fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        Ok(r.map(bulletin_of))
    }

    async fn bulletin(&self, id: i64) -> Result<Option<Bulletin>> {
        let mut c = self.read.acquire().await?;
        let sql = format!("{BULLETIN_SELECT} WHERE b.id = $2");
        let r: Option<BulletinRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(0i64).bind(id).fetch_optional(&mut *c).await?;
        Ok(r.map(bulletin_of))
    }

    async fn comments(&self, bulletin_id: i64, with_hidden: bool) -> Result<Vec<Comment>> {
        let mut c = self.read.acquire().await?;
        let rows: Vec<(i64, i64, i64, String, String, DateTime<Utc>, Option<DateTime<Utc>>, Option<String>)> = sqlx::query_as(
            "SELECT k.id, k.bulletin_id, k.person_id, p.name, k.body, k.at, k.hidden_at, k.hidden_reason FROM bulletin_comments k \
             JOIN people p ON p.id = k.person_id WHERE k.bulletin_id = $1 AND ($2 OR k.hidden_at IS NULL) ORDER BY k.id",
        )
        .bind(bulletin_id)
        .bind(with_hidden)
        .fetch_all(&mut *c)
        .await?;
        Ok(rows.into_iter().map(comment_of).collect())
    }

    async fn add_comment(&self, bulletin_id: i64, person_id: i64, body: &str, now: DateTime<Utc>) -> Result<Comment> {
        let body = vt::text("body", body, 1000)?;
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO bulletin_comments (bulletin_id, person_id, body, at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(bulletin_id)
            .bind(person_id)
            .bind(body)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let v = comment_in(&mut tx, id).await?.expect("just written");
        tx.commit().await?;
        Ok(v)
    }

    async fn hide_comment(&self, bulletin_id: i64, comment_id: i64, reason: &str, by: &str, now: DateTime<Utc>) -> Result<Comment> {
        let reason = vt::text("reason", reason, 500)?;
        let mut tx = self.begin_write().await?;
        let k = comment_in(&mut tx, comment_id).await?.filter(|k| k.bulletin_id == bulletin_id).ok_or(StoreError::NotFound)?;
        if !k.hidden {
            sqlx::query("UPDATE bulletin_comments SET hidden_at = $2, hidden_by = $3, hidden_reason = $4 WHERE id = $1")
                .bind(comment_id)
                .bind(now)
                .bind(by)
                .bind(&reason)
                .execute(&mut *tx)
                .await?;
        }
        let v = comment_in(&mut tx, comment_id).await?.expect("exists");
        tx.commit().await?;
        Ok(v)
    }

    async fn unread_bulletins(&self, reader: &Reader) -> Result<i64> {
        let mut c = self.read.acquire().await?;
        let sql = format!(
            "SELECT COUNT(*) FROM bulletins b WHERE {} AND NOT EXISTS (SELECT 1 FROM bulletin_views bv WHERE bv.bulletin_id = b.id AND bv.person_id = $1)",
            reader_filter(reader)
        );
        Ok(sqlx::query_scalar(AssertSqlSafe(sql)).bind(reader.person_id).fetch_one(&mut *c).await?)
    }

    async fn reader(&self, person_id: i64, day: NaiveDate) -> Result<Reader> {
        let mut c = self.read.acquire().await?;
        let mut units: Vec<i64> = sqlx::query_scalar(
            "SELECT unit_id FROM people WHERE id = $1 UNION SELECT unit_id FROM posts WHERE person_id = $1 AND starts_on <= $2 AND (ends_on IS NULL OR ends_on >= $2) \
             UNION SELECT unit_id FROM memberships WHERE person_id = $1 AND status IN ('pending', 'verified')",
        )
        .bind(person_id)
        .bind(day)
        .fetch_all(&mut *c)
        .await?;
        let mut closure = HashSet::new();
        for u in units.drain(..) {
            let s = unit_by_id(&mut c, u).await?;
            closure.extend(s.anc.rollup(s.id));
        }
        let mut units: Vec<i64> = closure.into_iter().collect();
        units.sort_unstable();
        let mut wings: Vec<i64> = sqlx::query_scalar(
            "SELECT wing_id FROM memberships WHERE person_id = $1 AND status IN ('pending', 'verified') \
             UNION SELECT wing_id FROM posts WHERE person_id = $1 AND starts_on <= $2 AND (ends_on IS NULL OR ends_on >= $2)",
        )
        .bind(person_id)
        .bind(day)
        .fetch_all(&mut *c)
        .await?;
        wings.sort_unstable();
        Ok(Reader { person_id, units, wings })
    }
}
