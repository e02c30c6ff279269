// Meetings, reports, compliance, calendar feeds and the outbox: the SQL both backends share.
// `include!`d into `sqlite.rs` and `postgres.rs` after `common.rs` and `access_sql.rs`. The
// rules (rotation, chair choice, chains, escalation steps, weeks) are `sangathan_core::meetings`.

use crate::meetings::*;
use chrono::{NaiveTime, TimeZone};
use sangathan_core::meetings as mt;

/// Roles whose holders preside over meetings and read reports (office-bearers, not volunteers).
const OFFICE_ROLES: &str = "('division-incharge','district-president','ac-incharge','sector-incharge','federation-officer')";

const MEETING_SELECT: &str = "SELECT m.id, m.series_id, m.day, m.at_time, m.starts_at, m.minutes, v.code AS venue, \
     v.name_en AS venue_name, v.name_hi AS venue_name_hi, w.code AS wing, m.kind, m.chair_id, cp.name AS chair_name, \
     m.organiser_id, op.name AS organiser_name, m.status, m.why, m.why_hi, m.report_due, m.rule_day, m.sequence, \
     r.status AS report \
     FROM meetings m JOIN wings w ON w.id = m.wing_id LEFT JOIN units v ON v.id = m.venue_id \
     LEFT JOIN people cp ON cp.id = m.chair_id LEFT JOIN people op ON op.id = m.organiser_id \
     LEFT JOIN meeting_reports r ON r.meeting_id = m.id";

#[derive(sqlx::FromRow)]
struct MeetingRow {
    id: i64,
    series_id: Option<i64>,
    day: NaiveDate,
    at_time: String,
    starts_at: DateTime<Utc>,
    minutes: i64,
    venue: Option<String>,
    venue_name: Option<String>,
    venue_name_hi: Option<String>,
    wing: String,
    kind: String,
    chair_id: Option<i64>,
    chair_name: Option<String>,
    organiser_id: Option<i64>,
    organiser_name: Option<String>,
    status: String,
    why: String,
    why_hi: String,
    report_due: DateTime<Utc>,
    rule_day: Option<NaiveDate>,
    sequence: i64,
    report: Option<String>,
}

impl From<MeetingRow> for MeetingView {
    fn from(r: MeetingRow) -> Self {
        MeetingView {
            id: r.id,
            series_id: r.series_id,
            date: r.day,
            time: r.at_time,
            starts_at: r.starts_at,
            minutes: r.minutes as u32,
            venue: r.venue,
            venue_name: r.venue_name,
            venue_name_hi: r.venue_name_hi,
            wing: r.wing,
            kind: r.kind,
            chair: r.chair_id,
            chair_name: r.chair_name,
            organiser: r.organiser_id,
            organiser_name: r.organiser_name,
            status: r.status,
            why: r.why,
            why_hi: r.why_hi,
            report_due: r.report_due,
            rule_date: r.rule_day,
            sequence: r.sequence as u32,
            report: r.report.unwrap_or_else(|| "none".into()),
        }
    }
}

async fn meeting_views(c: &mut Conn, cond: &str, binds: &[i64], dates: Option<(NaiveDate, NaiveDate)>) -> Result<Vec<MeetingView>> {
    let mut sql = format!("{MEETING_SELECT} WHERE {cond}");
    if dates.is_some() {
        let n = binds.len();
        sql.push_str(&format!(" AND m.day >= ${} AND m.day <= ${}", n + 1, n + 2));
    }
    sql.push_str(" ORDER BY m.day, m.at_time, m.id");
    let mut q = sqlx::query_as::<_, MeetingRow>(AssertSqlSafe(sql));
    for b in binds {
        q = q.bind(*b);
    }
    if let Some((a, b)) = dates {
        q = q.bind(a).bind(b);
    }
    Ok(q.fetch_all(&mut *c).await?.into_iter().map(MeetingView::from).collect())
}

async fn meeting_view(c: &mut Conn, id: i64) -> Result<Option<MeetingView>> {
    Ok(meeting_views(c, "m.id = $1", &[id], None).await?.pop())
}

fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn parse_hhmm(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap_or(NaiveTime::MIN)
}

/// The instant a meeting starts: its date and time in IST.
fn starts_at(day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    crate::clock::ist().from_local_datetime(&day.and_time(time)).single().expect("IST has no gaps").with_timezone(&Utc)
}

fn invalid(field: &str, code: &'static str, en: String, hi: String) -> StoreError {
    FieldError::new(field, code, en, hi).into()
}

/// A photo's content type, when it is an image of the kinds kept and within the size limit.
fn photo_checked(bytes: &[u8]) -> Result<&'static str> {
    if bytes.len() > mt::PHOTO_MAX_BYTES {
        return Err(invalid("photo", "too_large", format!("a photo is at most {} KB", mt::PHOTO_MAX_BYTES / 1024), format!("फ़ोटो अधिकतम {} KB की हो सकती है", mt::PHOTO_MAX_BYTES / 1024)));
    }
    mt::photo_kind(bytes).ok_or_else(|| invalid("photo", "not_an_image", "a photo is a JPEG, PNG or WebP image".into(), "फ़ोटो JPEG, PNG या WebP चित्र होनी चाहिए".into()))
}

fn no_meeting(id: i64) -> StoreError {
    invalid("meeting", "unknown_meeting", format!("no meeting {id}"), format!("बैठक {id} नहीं मिली"))
}

type SeriesTuple = (i64, i64, String, i64, String, String, String, String, String, i64, NaiveDate, Option<NaiveDate>, i64, i64);

const SERIES_SELECT: &str = "SELECT s.id, s.wing_id, w.code, s.unit_id, u.code, s.kind, s.rotate, s.rule, s.at_time, s.minutes, \
     s.start_day, s.end_day, s.min_gap_weeks, s.due_hours FROM meeting_series s JOIN wings w ON w.id = s.wing_id \
     JOIN units u ON u.id = s.unit_id WHERE s.id = $1";

/// A unit's units of `kind` (the unit itself when it is of that kind), by number.
async fn units_of_kind_within(c: &mut Conn, u: &UnitSpec, kind: UnitKind) -> Result<Vec<UnitSpec>> {
    if u.kind == kind {
        return Ok(vec![u.clone()]);
    }
    let Some(col) = below_column(u.kind) else { return Ok(Vec::new()) };
    let sql = format!("SELECT {UNIT_COLS} FROM units u WHERE u.{col} = $1 AND u.kind = $2 ORDER BY u.number, u.code");
    let rows: Vec<UnitTuple> = sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).bind(kind.as_str()).fetch_all(&mut *c).await?;
    Ok(rows.into_iter().map(spec_of).collect())
}

async fn series_in(c: &mut Conn, id: i64) -> Result<Option<(Series, i64, UnitSpec)>> {
    let row: Option<SeriesTuple> = sqlx::query_as(SERIES_SELECT).bind(id).fetch_optional(&mut *c).await?;
    let Some(t) = row else { return Ok(None) };
    let unit = unit_by_id(c, t.3).await?;
    let rotate = UnitKind::parse(&t.6).expect("stored kinds are valid");
    let pool = units_of_kind_within(c, &unit, rotate).await?.into_iter().map(|u| u.code.to_string()).collect();
    let s = Series {
        id: t.0,
        wing: t.2,
        unit: t.4,
        kind: t.5,
        rotate,
        rule: t.7,
        time: t.8,
        minutes: t.9 as u32,
        start: t.10,
        end: t.11,
        min_gap_weeks: t.12 as u32,
        due_hours: t.13 as u32,
        pool,
    };
    Ok(Some((s, t.1, unit)))
}

async fn wing_id_of(c: &mut Conn, wing: &str) -> Result<i64> {
    let s = settings(c).await?;
    Ok(s.wings.get(&wing.trim().to_lowercase()).or_else(|| s.wings.get(wing.trim())).map(|w| w.0).ok_or_else(|| unknown_wing(wing))?)
}

/// The strict ancestor of `u` of `kind`, if any.
fn ancestor_of(u: &UnitSpec, kind: UnitKind) -> Option<i64> {
    match kind {
        UnitKind::State => u.anc.state,
        UnitKind::Division => u.anc.division,
        UnitKind::District => u.anc.district,
        UnitKind::Pc => u.anc.pc,
        UnitKind::Ac => u.anc.ac,
        UnitKind::Sector => u.anc.sector,
        UnitKind::Booth => None,
    }
    .filter(|id| *id != u.id)
}

/// Office-bearers holding a post at `unit_id` on `day`: in `wing_id` first, any wing when it has none.
async fn office_bearers_at(c: &mut Conn, unit_id: i64, wing_id: i64, day: NaiveDate) -> Result<Vec<i64>> {
    let sql = format!(
        "SELECT DISTINCT p.person_id, p.wing_id FROM posts p JOIN users us ON us.person_id = p.person_id \
         WHERE p.unit_id = $1 AND p.role IN {OFFICE_ROLES} AND p.starts_on <= $2 AND (p.ends_on IS NULL OR p.ends_on >= $2) \
         AND us.disabled_at IS NULL ORDER BY p.person_id"
    );
    let rows: Vec<(i64, i64)> = sqlx::query_as(AssertSqlSafe(sql)).bind(unit_id).bind(day).fetch_all(&mut *c).await?;
    let in_wing: Vec<i64> = rows.iter().filter(|r| r.1 == wing_id).map(|r| r.0).collect();
    let mut v = if in_wing.is_empty() { rows.into_iter().map(|r| r.0).collect() } else { in_wing };
    v.dedup();
    Ok(v)
}

/// Who may chair a meeting at `venue`: office-bearers of the levels just above it, or of any
/// level above when those have none.
async fn eligible_chairs(c: &mut Conn, venue: &UnitSpec, day: NaiveDate) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    let near = mt::chair_levels(venue.kind);
    let far: Vec<UnitKind> = [UnitKind::Sector, UnitKind::Ac, UnitKind::District, UnitKind::Division, UnitKind::State]
        .into_iter()
        .filter(|k| !near.contains(k))
        .collect();
    for levels in [near, far] {
        for k in levels {
            if let Some(id) = ancestor_of(venue, k) {
                let sql = format!(
                    "SELECT DISTINCT p.person_id FROM posts p JOIN users us ON us.person_id = p.person_id \
                     WHERE p.unit_id = $1 AND p.role IN {OFFICE_ROLES} AND p.starts_on <= $2 \
                     AND (p.ends_on IS NULL OR p.ends_on >= $2) AND us.disabled_at IS NULL"
                );
                let ids: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(sql)).bind(id).bind(day).fetch_all(&mut *c).await?;
                out.extend(ids);
            }
        }
        if !out.is_empty() {
            break;
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Choose a chair for a meeting at `venue` on `day` (`meeting`: the meeting being re-chaired).
async fn choose_chair(c: &mut Conn, venue: &UnitSpec, day: NaiveDate, meeting: Option<i64>) -> Result<Option<i64>> {
    let eligible = eligible_chairs(c, venue, day).await?;
    if eligible.is_empty() {
        return Ok(None);
    }
    let list = eligible.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let sql = format!("SELECT chair_id, COUNT(*), MAX(day) FROM meetings WHERE status = 'planned' AND chair_id IN ({list}) GROUP BY chair_id");
    let rows: Vec<(i64, i64, NaiveDate)> = sqlx::query_as(AssertSqlSafe(sql)).fetch_all(&mut *c).await?;
    let load: HashMap<i64, u32> = rows.iter().map(|r| (r.0, r.1 as u32)).collect();
    let last: HashMap<i64, NaiveDate> = rows.iter().map(|r| (r.0, r.2)).collect();
    let sql = format!("SELECT chair_id FROM meetings WHERE status = 'planned' AND day = $1 AND id <> $2 AND chair_id IN ({list})");
    let busy: HashSet<i64> = sqlx::query_scalar(AssertSqlSafe(sql)).bind(day).bind(meeting.unwrap_or(0)).fetch_all(&mut *c).await?.into_iter().collect();
    let declined: HashSet<i64> = sqlx::query_scalar("SELECT person_id FROM meeting_declines WHERE meeting_id = $1")
        .bind(meeting.unwrap_or(0))
        .fetch_all(&mut *c)
        .await?
        .into_iter()
        .collect();
    Ok(mt::pick_chair(&eligible, &load, &last, &busy, &declined))
}

/// Refuse anyone but an enabled user (organisers, assignees).
async fn must_be_user(c: &mut Conn, field: &str, person: i64) -> Result<()> {
    let ok: Option<i64> = sqlx::query_scalar("SELECT person_id FROM users WHERE person_id = $1 AND disabled_at IS NULL").bind(person).fetch_optional(&mut *c).await?;
    if ok.is_none() {
        return Err(invalid(field, "not_a_user", format!("person {person} is not an enabled user"), format!("व्यक्ति {person} सक्रिय उपयोगकर्ता नहीं है")));
    }
    Ok(())
}

/// Refuse anyone but an enabled user holding an office-bearer's post on `day` (chairs, seniors
/// asked to preside): members are never named or messaged this way.
async fn must_be_office_bearer(c: &mut Conn, field: &str, person: i64, day: NaiveDate) -> Result<()> {
    let sql = format!(
        "SELECT COUNT(*) FROM posts p JOIN users us ON us.person_id = p.person_id WHERE p.person_id = $1 AND us.disabled_at IS NULL \
         AND p.role IN {OFFICE_ROLES} AND p.starts_on <= $2 AND (p.ends_on IS NULL OR p.ends_on >= $2)"
    );
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql)).bind(person).bind(day).fetch_one(&mut *c).await?;
    if n == 0 {
        return Err(invalid(
            field,
            "not_an_office_bearer",
            format!("person {person} holds no office-bearer's post"),
            format!("व्यक्ति {person} किसी पदाधिकारी पद पर नहीं हैं"),
        ));
    }
    Ok(())
}

/// Refuse a chair (or a senior asked to preside) who holds no office-bearer's post above the venue.
async fn must_be_eligible_chair(c: &mut Conn, field: &str, person: i64, venue: Option<i64>, day: NaiveDate) -> Result<()> {
    must_be_office_bearer(c, field, person, day).await?;
    let Some(v) = venue else { return Ok(()) };
    let venue = unit_by_id(c, v).await?;
    // Any office-bearer of a unit above the venue (the automatic choice prefers the nearest).
    let mut senior = false;
    for k in [UnitKind::Sector, UnitKind::Ac, UnitKind::District, UnitKind::Division, UnitKind::State] {
        if let Some(u) = ancestor_of(&venue, k) {
            let sql = format!(
                "SELECT COUNT(*) FROM posts p WHERE p.person_id = $1 AND p.unit_id = $2 AND p.role IN {OFFICE_ROLES} \
                 AND p.starts_on <= $3 AND (p.ends_on IS NULL OR p.ends_on >= $3)"
            );
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql)).bind(person).bind(u).bind(day).fetch_one(&mut *c).await?;
            senior |= n > 0;
        }
    }
    if !senior {
        return Err(invalid(
            field,
            "not_senior_here",
            format!("person {person} holds no post above {} to preside there", venue.code),
            format!("व्यक्ति {person} का {} से ऊपर कोई पद नहीं, इसलिए वे वहाँ अध्यक्षता नहीं कर सकते", venue.code),
        ));
    }
    Ok(())
}

/// `person` declined to chair `meeting`: never chosen or asked for it again.
async fn record_decline(c: &mut Conn, meeting: i64, person: i64, at: DateTime<Utc>) -> Result<()> {
    sqlx::query("INSERT INTO meeting_declines (meeting_id, person_id, at) VALUES ($1, $2, $3) ON CONFLICT (meeting_id, person_id) DO NOTHING")
        .bind(meeting)
        .bind(person)
        .bind(at)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Is `person` chairing another planned meeting on `day`?
async fn chair_busy(c: &mut Conn, person: i64, day: NaiveDate, except: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meetings WHERE status = 'planned' AND chair_id = $1 AND day = $2 AND id <> $3")
        .bind(person)
        .bind(day)
        .bind(except)
        .fetch_one(&mut *c)
        .await?;
    Ok(n > 0)
}

/// Compliance counter changes for one meeting: planned, held, not held, on time, late.
async fn count_meeting(c: &mut Conn, venue_id: i64, wing_id: i64, day: NaiveDate, d: [i64; 5]) -> Result<()> {
    if d.iter().all(|x| *x == 0) {
        return Ok(());
    }
    let venue = unit_by_id(c, venue_id).await?;
    let week = mt::week_code(day);
    for id in venue.anc.rollup(venue.id) {
        sqlx::query(
            "INSERT INTO meeting_counters (unit_id, wing_id, week, planned, held, not_held, on_time, late) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (unit_id, wing_id, week) DO UPDATE SET \
             planned = meeting_counters.planned + excluded.planned, held = meeting_counters.held + excluded.held, \
             not_held = meeting_counters.not_held + excluded.not_held, on_time = meeting_counters.on_time + excluded.on_time, \
             late = meeting_counters.late + excluded.late",
        )
        .bind(id)
        .bind(wing_id)
        .bind(&week)
        .bind(d[0])
        .bind(d[1])
        .bind(d[2])
        .bind(d[3])
        .bind(d[4])
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// A report's counter contribution: [planned, held, not held, on time, late].
fn report_counts(held: bool, timing: &str) -> [i64; 5] {
    [0, held as i64, !held as i64, (timing == "on_time") as i64, (timing == "late") as i64]
}

#[allow(clippy::too_many_arguments)]
async fn insert_meeting(
    c: &mut Conn,
    series_id: Option<i64>,
    rule_day: Option<NaiveDate>,
    day: NaiveDate,
    time: NaiveTime,
    minutes: u32,
    venue: &UnitSpec,
    wing_id: i64,
    kind: &str,
    chair: Option<i64>,
    organiser: Option<i64>,
    why: (&str, &str),
    due_hours: u32,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let start = starts_at(day, time);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO meetings (series_id, rule_day, day, at_time, starts_at, minutes, venue_id, wing_id, kind, chair_id, \
         organiser_id, status, why, why_hi, report_due, sequence, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'planned', $12, $13, $14, 0, $15, $16) RETURNING id",
    )
    .bind(series_id)
    .bind(rule_day)
    .bind(day)
    .bind(hhmm(time))
    .bind(start)
    .bind(minutes as i64)
    .bind(venue.id)
    .bind(wing_id)
    .bind(kind)
    .bind(chair)
    .bind(organiser)
    .bind(why.0)
    .bind(why.1)
    .bind(start + Duration::hours(due_hours as i64))
    .bind(actor)
    .bind(now)
    .fetch_one(&mut *c)
    .await?;
    count_meeting(c, venue.id, wing_id, day, [1, 0, 0, 0, 0]).await?;
    Ok(id)
}

fn chair_why(chair: Option<i64>) -> (&'static str, &'static str) {
    match chair {
        Some(_) => ("; chair: the eligible office-bearer with the fewest meetings, free that day", "; अध्यक्ष: उस दिन खाली, सबसे कम बैठकों वाले पात्र पदाधिकारी"),
        None => ("; no eligible chair is free that day", "; उस दिन कोई पात्र अध्यक्ष खाली नहीं"),
    }
}

/// The chain levels a meeting's report climbs (only those above the venue).
async fn chain_of(c: &mut Conn, venue: &UnitSpec, wing_id: i64) -> Result<Vec<UnitKind>> {
    let levels: Option<String> = sqlx::query_scalar("SELECT levels FROM report_chains WHERE wing_id = $1").bind(wing_id).fetch_optional(&mut *c).await?;
    let chain = match levels.and_then(|l| mt::parse_chain(&l).ok()) {
        Some(ch) => ch,
        None => mt::default_chain(venue.kind),
    };
    Ok(chain.into_iter().filter(|k| ancestor_of(venue, *k).is_some()).collect())
}

/// The first level at or after `from` (1-based) that has office-bearers: (level, unit, people).
/// The report's filer is never its own recipient.
async fn next_level(c: &mut Conn, venue: &UnitSpec, wing_id: i64, day: NaiveDate, from: usize, filer: Option<i64>) -> Result<Option<(u32, i64, Vec<i64>)>> {
    let chain = chain_of(c, venue, wing_id).await?;
    for (i, k) in chain.iter().enumerate().skip(from.saturating_sub(1)) {
        let Some(unit) = ancestor_of(venue, *k) else { continue };
        let mut people = office_bearers_at(c, unit, wing_id, day).await?;
        people.retain(|p| Some(*p) != filer);
        if !people.is_empty() {
            return Ok(Some((i as u32 + 1, unit, people)));
        }
    }
    Ok(None)
}

type MeetingCore = (i64, Option<i64>, i64, NaiveDate, String, Option<i64>, Option<i64>, DateTime<Utc>, DateTime<Utc>, String);

async fn meeting_core(c: &mut Conn, id: i64) -> Result<MeetingCore> {
    sqlx::query_as(
        "SELECT id, venue_id, wing_id, day, status, chair_id, organiser_id, starts_at, report_due, at_time FROM meetings WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await?
    .ok_or_else(|| no_meeting(id))
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    held: bool,
    reason: Option<String>,
    attendance: i64,
    employees_met: i64,
    new_supporters: i64,
    new_members: i64,
    agenda: String,
    issues: String,
    notes: String,
    filed_by: String,
    first_filed_at: DateTime<Utc>,
    filed_at: DateTime<Utc>,
    timing: String,
    status: String,
    level: i64,
    revision: i64,
}

impl ReportRow {
    fn content(&self) -> NewReport {
        NewReport {
            held: self.held,
            reason: self.reason.clone(),
            attendance: self.attendance as u32,
            employees_met: self.employees_met as u32,
            new_supporters: self.new_supporters as u32,
            new_members: self.new_members as u32,
            agenda: self.agenda.clone(),
            issues: self.issues.clone(),
            notes: self.notes.clone(),
            present: None,
            enrolled: None,
        }
    }
}

/// The members linked to a meeting in `role` (`present` or `enrolled`), by id.
async fn meeting_people(c: &mut Conn, meeting_id: i64, role: &str) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar("SELECT person_id FROM meeting_people WHERE meeting_id = $1 AND role = $2 ORDER BY person_id")
        .bind(meeting_id)
        .bind(role)
        .fetch_all(&mut *c)
        .await?)
}

/// A report's content as stored, with its linked members.
async fn report_content(c: &mut Conn, meeting_id: i64, r: &ReportRow) -> Result<NewReport> {
    let mut n = r.content();
    n.present = Some(meeting_people(c, meeting_id, "present").await?);
    n.enrolled = Some(meeting_people(c, meeting_id, "enrolled").await?);
    Ok(n)
}

/// Replace a meeting's linked members (the lists given; an absent one stays as on file); every
/// id must be a live person.
async fn link_people(c: &mut Conn, meeting_id: i64, r: &NewReport) -> Result<()> {
    for (role, ids) in [("present", &r.present), ("enrolled", &r.enrolled)] {
        let Some(ids) = ids else { continue };
        for id in ids {
            let live: Option<i64> = sqlx::query_scalar("SELECT id FROM people WHERE id = $1 AND erased_at IS NULL AND merged_into IS NULL")
                .bind(*id)
                .fetch_optional(&mut *c)
                .await?;
            if live.is_none() {
                return Err(invalid(role, "unknown_person", format!("no such member: {id}"), format!("ऐसा कोई सदस्य नहीं: {id}")));
            }
        }
        let before = meeting_people(c, meeting_id, role).await?;
        sqlx::query("DELETE FROM meeting_people WHERE meeting_id = $1 AND role = $2").bind(meeting_id).bind(role).execute(&mut *c).await?;
        let mut ids = ids.clone();
        ids.sort_unstable();
        ids.dedup();
        for id in &ids {
            sqlx::query("INSERT INTO meeting_people (meeting_id, person_id, role) VALUES ($1, $2, $3)").bind(meeting_id).bind(*id).bind(role).execute(&mut *c).await?;
        }
        if role == "present" {
            // Those added and those dropped: each one's last meeting is recomputed.
            let mut touched = before;
            touched.extend(ids);
            touched.sort_unstable();
            touched.dedup();
            refresh_activity(c, &touched).await?;
        }
    }
    Ok(())
}

async fn report_row(c: &mut Conn, meeting_id: i64) -> Result<Option<ReportRow>> {
    Ok(sqlx::query_as(
        "SELECT held, reason, attendance, employees_met, new_supporters, new_members, agenda, issues, notes, filed_by, \
         first_filed_at, filed_at, timing, status, level, revision FROM meeting_reports WHERE meeting_id = $1",
    )
    .bind(meeting_id)
    .fetch_optional(&mut *c)
    .await?)
}

async fn report_view(c: &mut Conn, meeting_id: i64) -> Result<Option<ReportView>> {
    let Some(r) = report_row(c, meeting_id).await? else { return Ok(None) };
    let steps: Vec<(i64, String, i64, String, String, Option<String>, Option<DateTime<Utc>>, i64)> = sqlx::query_as(
        "SELECT rr.level, u.code, rr.person_id, p.name, rr.state, rr.comment, rr.acted_at, rr.revision FROM report_recipients rr \
         JOIN units u ON u.id = rr.unit_id JOIN people p ON p.id = rr.person_id WHERE rr.meeting_id = $1 \
         ORDER BY rr.revision, rr.level, rr.person_id",
    )
    .bind(meeting_id)
    .fetch_all(&mut *c)
    .await?;
    let content = report_content(c, meeting_id, &r).await?;
    Ok(Some(ReportView {
        meeting_id,
        report: content,
        filed_by: r.filed_by,
        first_filed_at: r.first_filed_at,
        filed_at: r.filed_at,
        timing: r.timing,
        status: r.status,
        level: r.level as u32,
        revision: r.revision as u32,
        route: steps
            .into_iter()
            .map(|s| RouteStep { revision: s.7 as u32, level: s.0 as u32, unit: s.1, person_id: s.2, name: s.3, state: s.4, comment: s.5, acted_at: s.6 })
            .collect(),
    }))
}

fn check_report(r: &NewReport) -> Result<()> {
    let mut inv: Vec<FieldError> = Vec::new();
    if !r.held && r.reason.as_deref().is_none_or(|s| s.trim().is_empty()) {
        inv.push(FieldError::new(
            "reason",
            "required",
            "say why the meeting did not happen",
            "बताइए कि बैठक क्यों नहीं हुई",
        ));
    }
    for (field, v) in [("agenda", &r.agenda), ("issues", &r.issues), ("notes", &r.notes)] {
        if v.chars().count() > 4000 {
            inv.push(FieldError::new(field, "too_long", format!("{field}: at most 4,000 characters"), format!("{field}: अधिकतम 4,000 अक्षर")));
        }
    }
    for (field, v) in [("attendance", r.attendance), ("employees_met", r.employees_met), ("new_supporters", r.new_supporters), ("new_members", r.new_members)] {
        if v > 1_000_000 {
            inv.push(FieldError::new(field, "too_large", format!("{field}: at most 1,000,000"), format!("{field}: अधिकतम 10,00,000")));
        }
    }
    if inv.is_empty() { Ok(()) } else { Err(StoreError::Invalid(Invalid(inv))) }
}

/// Put a report at level `from` or the next one up that has someone; notify them.
async fn route_from(c: &mut Conn, m: &MeetingCore, venue: &UnitSpec, from: usize, now: DateTime<Utc>) -> Result<()> {
    let filed_by: String = sqlx::query_scalar("SELECT filed_by FROM meeting_reports WHERE meeting_id = $1").bind(m.0).fetch_one(&mut *c).await?;
    let filer = filed_by.strip_prefix("person:").and_then(|p| p.parse::<i64>().ok());
    // Whoever holds the post when the report moves receives it (posts change hands).
    match next_level(c, venue, m.2, crate::clock::day_of(now), from, filer).await? {
        Some((level, unit, people)) => {
            let rev: i64 = sqlx::query_scalar("SELECT revision FROM meeting_reports WHERE meeting_id = $1").bind(m.0).fetch_one(&mut *c).await?;
            for p in &people {
                sqlx::query(
                    "INSERT INTO report_recipients (meeting_id, person_id, level, revision, unit_id, state) \
                     VALUES ($1, $2, $3, $4, $5, 'waiting') ON CONFLICT (meeting_id, revision, level, person_id) DO NOTHING",
                )
                .bind(m.0)
                .bind(*p)
                .bind(level as i64)
                .bind(rev)
                .bind(unit)
                .execute(&mut *c)
                .await?;
            }
            sqlx::query("UPDATE meeting_reports SET status = 'filed', level = $2 WHERE meeting_id = $1").bind(m.0).bind(level as i64).execute(&mut *c).await?;
            let notices: Vec<Notice> = people
                .iter()
                .map(|p| Notice {
                    person_id: *p,
                    key: format!("report:{}:{}:{}:{}", m.0, rev, level, p),
                    subject: "बैठक की रिपोर्ट आपके पास / A meeting report is waiting for you".into(),
                    body: format!(
                        "बैठक {} ({}, {}) की रिपोर्ट आपकी स्वीकृति के लिए आई है।\n\nThe report of meeting {} ({}, {}) is waiting for your acknowledgement.",
                        m.0, venue.code, m.3, m.0, venue.code, m.3
                    ),
                })
                .collect();
            notify_in(c, &notices, now).await?;
        }
        None => {
            // Nobody (further) up the chain: the report is complete.
            sqlx::query("UPDATE meeting_reports SET status = 'acknowledged' WHERE meeting_id = $1").bind(m.0).execute(&mut *c).await?;
        }
    }
    Ok(())
}

async fn notify_in(c: &mut Conn, notices: &[Notice], now: DateTime<Utc>) -> Result<u64> {
    let mut n = 0;
    for x in notices {
        let who: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT us.email, p.mobile FROM people p LEFT JOIN users us ON us.person_id = p.id \
             WHERE p.id = $1 AND p.erased_at IS NULL AND (us.person_id IS NULL OR us.disabled_at IS NULL)",
        )
        .bind(x.person_id)
        .fetch_optional(&mut *c)
        .await?;
        let Some((email, mobile)) = who else { continue };
        let (channel, recipient) = match (email, mobile) {
            (Some(e), _) => ("email", e),
            (None, Some(m)) => ("sms", m),
            (None, None) => continue,
        };
        let done = sqlx::query(
            "INSERT INTO outbox (channel, recipient, subject, body, created_at, idem_key, attempts) VALUES ($1, $2, $3, $4, $5, $6, 0) \
             ON CONFLICT (idem_key) DO NOTHING",
        )
        .bind(channel)
        .bind(&recipient)
        .bind(&x.subject)
        .bind(&x.body)
        .bind(now)
        .bind(&x.key)
        .execute(&mut *c)
        .await?;
        n += done.rows_affected();
    }
    Ok(n)
}

/// Does anything of the meetings' world point at this unit (so it must not be dropped)?
async fn meetings_refer_to(c: &mut Conn, unit_id: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM meetings WHERE venue_id = $1) + (SELECT COUNT(*) FROM meeting_series WHERE unit_id = $1) \
         + (SELECT COUNT(*) FROM contacts WHERE unit_id = $1) + (SELECT COUNT(*) FROM charges WHERE unit_id = $1) \
         + (SELECT COUNT(*) FROM unit_unavailable WHERE unit_id = $1) + (SELECT COUNT(*) FROM report_recipients WHERE unit_id = $1)",
    )
    .bind(unit_id)
    .fetch_one(&mut *c)
    .await?;
    Ok(n > 0)
}

/// Recompute the compliance counters of `units` (in the AC `ac_id`) from the meetings held at
/// venues in that AC, after its booths moved between sectors.
async fn rebuild_meeting_counters(c: &mut Conn, ac_id: i64, units: &[i64]) -> Result<()> {
    if units.is_empty() {
        return Ok(());
    }
    let list = units.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    sqlx::query(AssertSqlSafe(format!("DELETE FROM meeting_counters WHERE unit_id IN ({list})"))).execute(&mut *c).await?;
    let rows: Vec<(i64, i64, NaiveDate, Option<bool>, Option<String>)> = sqlx::query_as(
        "SELECT m.venue_id, m.wing_id, m.day, r.held, r.timing FROM meetings m JOIN units v ON v.id = m.venue_id \
         LEFT JOIN meeting_reports r ON r.meeting_id = m.id WHERE m.status = 'planned' AND (v.id = $1 OR v.ac_id = $1)",
    )
    .bind(ac_id)
    .fetch_all(&mut *c)
    .await?;
    let wanted: HashSet<i64> = units.iter().copied().collect();
    let mut sums: BTreeMap<(i64, i64, String), [i64; 5]> = BTreeMap::new();
    for (venue, wing, day, held, timing) in rows {
        let v = unit_by_id(c, venue).await?;
        let mut d = [1, 0, 0, 0, 0];
        if let (Some(h), Some(t)) = (held, timing) {
            let r = report_counts(h, &t);
            for i in 0..5 {
                d[i] += r[i];
            }
        }
        for id in v.anc.rollup(v.id).into_iter().filter(|id| wanted.contains(id)) {
            let e = sums.entry((id, wing, mt::week_code(day))).or_default();
            for i in 0..5 {
                e[i] += d[i];
            }
        }
    }
    for ((unit, wing, week), d) in sums {
        sqlx::query(
            "INSERT INTO meeting_counters (unit_id, wing_id, week, planned, held, not_held, on_time, late) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(unit)
        .bind(wing)
        .bind(week)
        .bind(d[0])
        .bind(d[1])
        .bind(d[2])
        .bind(d[3])
        .bind(d[4])
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// Recompute the compliance counters from the meetings and reports; every disagreement.
async fn meeting_mismatches(c: &mut Conn) -> Result<Vec<Mismatch>> {
    let rows: Vec<(i64, i64, NaiveDate, Option<bool>, Option<String>)> = sqlx::query_as(
        "SELECT m.venue_id, m.wing_id, m.day, r.held, r.timing FROM meetings m LEFT JOIN meeting_reports r ON r.meeting_id = m.id \
         WHERE m.status = 'planned' AND m.venue_id IS NOT NULL",
    )
    .fetch_all(&mut *c)
    .await?;
    let mut expected: HashMap<(i64, i64, String), [i64; 5]> = HashMap::new();
    let mut units: HashMap<i64, UnitSpec> = HashMap::new();
    for (venue, wing, day, held, timing) in rows {
        if !units.contains_key(&venue) {
            let u = unit_by_id(c, venue).await?;
            units.insert(venue, u);
        }
        let u = &units[&venue];
        let mut d = [1, 0, 0, 0, 0];
        if let (Some(h), Some(t)) = (held, timing) {
            let r = report_counts(h, &t);
            for i in 0..5 {
                d[i] += r[i];
            }
        }
        for id in u.anc.rollup(u.id) {
            let e = expected.entry((id, wing, mt::week_code(day))).or_default();
            for i in 0..5 {
                e[i] += d[i];
            }
        }
    }
    let found: Vec<(i64, i64, String, i64, i64, i64, i64, i64)> =
        sqlx::query_as("SELECT unit_id, wing_id, week, planned, held, not_held, on_time, late FROM meeting_counters").fetch_all(&mut *c).await?;
    let mut found_map: HashMap<(i64, i64, String), [i64; 5]> = HashMap::new();
    for f in found {
        found_map.insert((f.0, f.1, f.2), [f.3, f.4, f.5, f.6, f.7]);
    }
    let mut keys: Vec<(i64, i64, String)> = expected.keys().chain(found_map.keys()).cloned().collect::<HashSet<_>>().into_iter().collect();
    keys.sort();
    let codes: HashMap<i64, String> = sqlx::query_as::<_, (i64, String)>("SELECT id, code FROM units WHERE kind <> 'booth'")
        .fetch_all(&mut *c)
        .await?
        .into_iter()
        .collect();
    let wings: HashMap<i64, String> = sqlx::query_as::<_, (i64, String)>("SELECT id, code FROM wings").fetch_all(&mut *c).await?.into_iter().collect();
    let mut out = Vec::new();
    // Talking points: each one's use count is the number of agendas carrying it.
    let uses: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT t.id, t.uses, (SELECT COUNT(*) FROM meeting_points mp WHERE mp.point_id = t.id) FROM talking_points t ORDER BY t.id",
    )
    .fetch_all(&mut *c)
    .await?;
    for (id, found, expected) in uses {
        if found != expected {
            out.push(Mismatch { what: format!("talking point {id} uses"), unit: "-".into(), wing: "-".into(), expected, found });
        }
    }
    for k in keys {
        let (e, f) = (expected.get(&k).copied().unwrap_or_default(), found_map.get(&k).copied().unwrap_or_default());
        for (i, what) in ["planned", "held", "not held", "on time", "late"].iter().enumerate() {
            if e[i] != f[i] {
                out.push(Mismatch {
                    what: format!("meetings {what} {}", k.2),
                    unit: codes.get(&k.0).cloned().or_else(|| units.get(&k.0).map(|u| u.code.to_string())).unwrap_or_else(|| format!("unit #{}", k.0)),
                    wing: wings.get(&k.1).cloned().unwrap_or_default(),
                    expected: e[i],
                    found: f[i],
                });
            }
        }
    }
    Ok(out)
}

/// The SQL condition for meetings whose venue lies within the unit `$1` of `kind`.
fn venue_within(kind: UnitKind) -> String {
    let col = match kind {
        UnitKind::Booth => return "m.venue_id = $1".into(),
        UnitKind::State => "state_id",
        UnitKind::Division => "division_id",
        UnitKind::District => "district_id",
        UnitKind::Pc => "pc_id",
        UnitKind::Ac => "ac_id",
        UnitKind::Sector => "sector_id",
    };
    format!("(m.venue_id = $1 OR m.venue_id IN (SELECT id FROM units WHERE {col} = $1))")
}


const REQUEST_SELECT: &str = "SELECT r.meeting_id, r.person_id, p.name, r.state, r.asked_at, r.due_at, r.answered_at \
     FROM chair_requests r JOIN people p ON p.id = r.person_id";

type RequestRow = (i64, i64, String, String, DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>);

fn request_of(r: RequestRow) -> ChairRequest {
    ChairRequest { meeting_id: r.0, person_id: r.1, name: r.2, state: r.3, asked_at: r.4, due_at: r.5, answered_at: r.6 }
}

async fn requests_of(c: &mut Conn, meeting_id: i64) -> Result<Vec<ChairRequest>> {
    let sql = format!("{REQUEST_SELECT} WHERE r.meeting_id = $1 ORDER BY r.asked_at, r.id");
    let rows: Vec<RequestRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(meeting_id).fetch_all(&mut *c).await?;
    Ok(rows.into_iter().map(request_of).collect())
}

/// Ask `person` to preside (or, with None, the nearest senior not asked yet and free that day);
/// notify them. False when nobody is left to ask.
async fn ask_chair(c: &mut Conn, meeting_id: i64, person: Option<i64>, hours: u32, actor: &str, now: DateTime<Utc>) -> Result<bool> {
    let m = meeting_core(c, meeting_id).await?;
    let asked: HashSet<i64> =
        sqlx::query_scalar::<_, i64>("SELECT person_id FROM chair_requests WHERE meeting_id = $1").bind(meeting_id).fetch_all(&mut *c).await?.into_iter().collect();
    let who = match person {
        Some(p) => Some(p),
        None => {
            let Some(v) = m.1 else { return Ok(false) };
            let venue = unit_by_id(c, v).await?;
            let near = mt::chair_levels(venue.kind);
            let far = [UnitKind::Sector, UnitKind::Ac, UnitKind::District, UnitKind::Division, UnitKind::State].into_iter().filter(|k| !near.contains(k));
            let mut found = None;
            'levels: for k in near.iter().copied().chain(far) {
                let Some(u) = ancestor_of(&venue, k) else { continue };
                for p in office_bearers_at(c, u, m.2, m.3).await? {
                    if !asked.contains(&p) && Some(p) != m.6 && !chair_busy(c, p, m.3, meeting_id).await? {
                        found = Some(p);
                        break 'levels;
                    }
                }
            }
            found
        }
    };
    if m.4 != "planned" || m.3 < crate::clock::day_of(now) {
        return Ok(false);
    }
    let Some(p) = who else { return Ok(false) };
    must_be_eligible_chair(c, "person", p, m.1, m.3).await?;
    if asked.contains(&p) {
        return Err(invalid("person", "already_asked", format!("person {p} was already asked"), format!("व्यक्ति {p} से पहले ही पूछा जा चुका है")));
    }
    sqlx::query("INSERT INTO chair_requests (meeting_id, person_id, state, asked_by, asked_at, due_at) VALUES ($1, $2, 'pending', $3, $4, $5)")
        .bind(meeting_id)
        .bind(p)
        .bind(actor)
        .bind(now)
        .bind(now + Duration::hours(hours.clamp(1, 24 * 14) as i64))
        .execute(&mut *c)
        .await?;
    let venue = match m.1 {
        Some(v) => unit_by_id(c, v).await?.code.to_string(),
        None => String::new(),
    };
    notify_in(
        c,
        &[Notice {
            person_id: p,
            key: format!("chair-request:{meeting_id}:{p}"),
            subject: "बैठक की अध्यक्षता का अनुरोध / Request to preside over a meeting".into(),
            body: format!(
                "{venue} में {} को होने वाली बैठक {meeting_id} की अध्यक्षता के लिए आपसे अनुरोध है। कृपया स्वीकार या अस्वीकार करें।\n\nYou are asked to preside over meeting {meeting_id} at {venue} on {}. Please accept or decline.",
                m.3, m.3
            ),
        }],
        now,
    )
    .await?;
    Ok(true)
}

type ChargeRow = (i64, i64, String, String, String, Option<String>, String, DateTime<Utc>);

const CHARGE_SELECT: &str = "SELECT ch.id, ch.person_id, p.name, u.code, u.name_en, u.name_hi, ch.what, ch.given_at \
     FROM charges ch JOIN people p ON p.id = ch.person_id JOIN units u ON u.id = ch.unit_id";

fn charge_of(r: ChargeRow) -> Charge {
    Charge { id: r.0, person_id: r.1, name: r.2, unit: r.3, unit_name: r.4, unit_name_hi: r.5, what: r.6, since: r.7 }
}


const CONTACT_SELECT: &str = "SELECT c.id, c.meeting_id, u.code AS unit, w.code AS wing, c.name, c.department, c.mobile, c.consent, \
     c.assigned_to, a.name AS assigned_name, c.status, c.note, c.person_id, c.created_at \
     FROM contacts c JOIN units u ON u.id = c.unit_id JOIN wings w ON w.id = c.wing_id LEFT JOIN people a ON a.id = c.assigned_to";

#[derive(sqlx::FromRow)]
struct ContactRow {
    id: i64,
    meeting_id: Option<i64>,
    unit: String,
    wing: String,
    name: String,
    department: String,
    mobile: Option<String>,
    consent: bool,
    assigned_to: Option<i64>,
    assigned_name: Option<String>,
    status: String,
    note: String,
    person_id: Option<i64>,
    created_at: DateTime<Utc>,
}

impl From<ContactRow> for Contact {
    fn from(r: ContactRow) -> Self {
        Contact {
            id: r.id,
            meeting_id: r.meeting_id,
            unit: r.unit,
            wing: r.wing,
            name: r.name,
            department: r.department,
            mobile: r.mobile,
            consent: r.consent,
            assigned_to: r.assigned_to,
            assigned_name: r.assigned_name,
            status: r.status,
            note: r.note,
            person_id: r.person_id,
            created_at: r.created_at,
        }
    }
}

async fn contact_in(c: &mut Conn, id: i64) -> Result<Option<Contact>> {
    let sql = format!("{CONTACT_SELECT} WHERE c.id = $1");
    Ok(sqlx::query_as::<_, ContactRow>(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *c).await?.map(Contact::from))
}

fn no_contact(id: i64) -> StoreError {
    invalid("contact", "unknown_contact", format!("no contact {id}"), format!("संपर्क {id} नहीं मिला"))
}

const POINT_SELECT: &str = "SELECT t.id, w.code, t.title, t.body_hi, t.body_en, t.audience, t.status, t.version, t.uses, t.updated_at \
     FROM talking_points t JOIN wings w ON w.id = t.wing_id";

type PointRow = (i64, String, String, String, String, String, String, i64, i64, DateTime<Utc>);

fn tags_of(s: &str) -> Vec<String> {
    s.split('|').filter(|t| !t.is_empty()).map(String::from).collect()
}

fn point_of(r: PointRow) -> Point {
    Point { id: r.0, wing: r.1, title: r.2, body_hi: r.3, body_en: r.4, audience: tags_of(&r.5), status: r.6, version: r.7 as u32, uses: r.8 as u32, updated_at: r.9 }
}

async fn point_in(c: &mut Conn, id: i64) -> Result<Option<Point>> {
    let sql = format!("{POINT_SELECT} WHERE t.id = $1");
    Ok(sqlx::query_as::<_, PointRow>(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *c).await?.map(point_of))
}

/// A point's fields checked and normalised: (title, hi, en, audience as `|tag|tag|`, status).
fn check_point(p: &NewPoint) -> Result<(String, String, String, String, &'static str)> {
    let mut errs = Vec::new();
    let title = p.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        errs.push(FieldError::new("title", "bad_title", "a title of 1 to 200 characters", "1 से 200 अक्षरों का शीर्षक"));
    }
    let (hi, en) = (p.body_hi.trim().to_string(), p.body_en.trim().to_string());
    if hi.is_empty() && en.is_empty() {
        errs.push(FieldError::new("body_hi", "required", "write the point in Hindi or English (or both)", "बात हिंदी या अंग्रेज़ी (या दोनों) में लिखिए"));
    }
    for (f, v) in [("body_hi", &hi), ("body_en", &en)] {
        if v.chars().count() > 10_000 {
            errs.push(FieldError::new(f, "too_long", "at most 10,000 characters", "अधिकतम 10,000 अक्षर"));
        }
    }
    let mut tags: Vec<String> = p.audience.iter().map(|t| t.trim().to_lowercase().replace('|', " ")).filter(|t| !t.is_empty()).collect();
    tags.sort();
    tags.dedup();
    if tags.len() > 10 || tags.iter().any(|t| t.chars().count() > 40) {
        errs.push(FieldError::new("audience", "bad_audience", "at most 10 audience tags of up to 40 characters", "अधिकतम 10 श्रोता-टैग, हर एक 40 अक्षरों तक"));
    }
    if !errs.is_empty() {
        return Err(StoreError::Invalid(Invalid(errs)));
    }
    let audience = if tags.is_empty() { String::new() } else { format!("|{}|", tags.join("|")) };
    Ok((title, hi, en, audience, if p.published { "published" } else { "draft" }))
}

async fn keep_point_version(c: &mut Conn, id: i64, actor: &str, at: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO talking_point_versions (point_id, version, title, body_hi, body_en, audience, status, edited_by, edited_at) \
         SELECT id, version, title, body_hi, body_en, audience, status, $2, $3 FROM talking_points WHERE id = $1",
    )
    .bind(id)
    .bind(actor)
    .bind(at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

#[async_trait]
impl Meetings for StoreImpl {
    async fn add_series(&self, n: &NewSeries, actor: &str) -> Result<Series> {
        let rule = mt::Rule::parse(&n.rule)?;
        let kind = mt::Kind::parse(&n.kind)?;
        let mut tx = self.begin_write().await?;
        let wing_id = wing_id_of(&mut tx, &n.wing).await?;
        let unit = unit_by_code(&mut tx, &n.unit).await?.ok_or_else(|| unknown_unit(&n.unit))?;
        if !matches!(n.rotate, UnitKind::Ac | UnitKind::Sector | UnitKind::Booth) {
            return Err(invalid("rotate", "bad_rotate", "rotate across ac, sector or booth".into(), "ac, sector या booth में से चुनें".into()));
        }
        let pool = units_of_kind_within(&mut tx, &unit, n.rotate).await?;
        if pool.is_empty() {
            return Err(invalid(
                "rotate",
                "empty_pool",
                format!("{} has no {} to rotate across", unit.code, n.rotate.as_str()),
                format!("{} में घुमाने के लिए कोई {} नहीं", unit.code, n.rotate.as_str()),
            ));
        }
        if n.min_gap_weeks as usize >= pool.len() {
            return Err(invalid(
                "min_gap_weeks",
                "gap_too_long",
                format!("with {} venues the gap can be at most {} weeks", pool.len(), pool.len() - 1),
                format!("{} स्थानों के साथ अंतर अधिकतम {} सप्ताह हो सकता है", pool.len(), pool.len() - 1),
            ));
        }
        if n.end.is_some_and(|e| e < n.start) {
            return Err(invalid("end", "before_start", "the end date is before the start date".into(), "समाप्ति तिथि आरंभ तिथि से पहले है".into()));
        }
        if !(15..=24 * 60).contains(&n.minutes) {
            return Err(invalid("minutes", "bad_length", "a meeting lasts 15 minutes to 24 hours".into(), "बैठक 15 मिनट से 24 घंटे तक की होती है".into()));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO meeting_series (wing_id, unit_id, kind, rotate, rule, at_time, minutes, start_day, end_day, min_gap_weeks, \
             due_hours, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(wing_id)
        .bind(unit.id)
        .bind(kind.code())
        .bind(n.rotate.as_str())
        .bind(rule.to_rrule())
        .bind(hhmm(n.time))
        .bind(n.minutes as i64)
        .bind(n.start)
        .bind(n.end)
        .bind(n.min_gap_weeks as i64)
        .bind(n.due_hours.clamp(1, 24 * 30) as i64)
        .bind(actor)
        .bind(crate::clock::now())
        .fetch_one(&mut *tx)
        .await?;
        let s = series_in(&mut tx, id).await?.expect("just written").0;
        tx.commit().await?;
        Ok(s)
    }

    async fn series(&self, id: i64) -> Result<Option<Series>> {
        let mut c = self.read.acquire().await?;
        Ok(series_in(&mut c, id).await?.map(|s| s.0))
    }

    async fn plan(&self, series_id: i64, from: NaiveDate, weeks: u32, actor: &str) -> Result<Option<Plan>> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("series:{series_id}"), "chairs".into()]).await?;
        let Some((series, wing_id, unit)) = series_in(&mut tx, series_id).await? else { return Ok(None) };
        let rule = mt::Rule::parse(&series.rule)?;
        let from = from.max(series.start);
        let to = from + Duration::days(7 * weeks.clamp(1, 520) as i64) - Duration::days(1);
        let to = series.end.map_or(to, |e| e.min(to));
        let dates: Vec<NaiveDate> = rule.dates(series.start, Some(to), 100_000).into_iter().filter(|d| *d >= from).collect();
        let placed: HashSet<NaiveDate> =
            sqlx::query_scalar::<_, NaiveDate>("SELECT rule_day FROM meetings WHERE series_id = $1 AND rule_day IS NOT NULL")
                .bind(series_id)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        let holidays: HashMap<NaiveDate, String> =
            sqlx::query_as::<_, (NaiveDate, String)>("SELECT day, name FROM holidays WHERE day >= $1 AND day <= $2")
                .bind(from)
                .bind(to)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        let pool = units_of_kind_within(&mut tx, &unit, series.rotate).await?;
        let pool_ids: Vec<i64> = pool.iter().map(|u| u.id).collect();
        let by_id: HashMap<i64, &UnitSpec> = pool.iter().map(|u| (u.id, u)).collect();
        let mut history: Vec<mt::Visit> =
            sqlx::query_as::<_, (i64, NaiveDate)>("SELECT venue_id, day FROM meetings WHERE series_id = $1 AND status = 'planned' AND venue_id IS NOT NULL")
                .bind(series_id)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|(venue, date)| mt::Visit { venue, date })
                .collect();
        let unavailable: Vec<(i64, NaiveDate, NaiveDate)> = sqlx::query_as(
            "SELECT x.unit_id, x.from_day, x.to_day FROM unit_unavailable x JOIN meeting_series s ON s.id = $1 WHERE x.to_day >= $2",
        )
        .bind(series_id)
        .bind(from)
        .fetch_all(&mut *tx)
        .await?;
        let unavailable_on = |u: i64, d: NaiveDate| unavailable.iter().any(|(x, a, b)| *x == u && *a <= d && d <= *b);
        let time = parse_hhmm(&series.time);
        let now = crate::clock::now();
        let mut skipped = Vec::new();
        for d in dates {
            if placed.contains(&d) {
                continue;
            }
            if let Some(name) = holidays.get(&d) {
                skipped.push(Skipped { date: d, reason: format!("holiday: {name} / अवकाश: {name}") });
                continue;
            }
            let p = mt::place(&pool_ids, &history, d, series.min_gap_weeks, &unavailable_on);
            let Some(venue_id) = p.venue else {
                skipped.push(Skipped { date: d, reason: format!("{} / {}", p.why_en, p.why_hi) });
                continue;
            };
            let venue = by_id[&venue_id];
            let chair = choose_chair(&mut tx, venue, d, None).await?;
            let (cw, cw_hi) = chair_why(chair);
            insert_meeting(
                &mut tx,
                Some(series_id),
                Some(d),
                d,
                time,
                series.minutes,
                venue,
                wing_id,
                &series.kind,
                chair,
                None,
                (&format!("{}{cw}", p.why_en), &format!("{}{cw_hi}", p.why_hi)),
                series.due_hours,
                actor,
                now,
            )
            .await?;
            history.push(mt::Visit { venue: venue_id, date: d });
        }
        let sql = format!(
            "{MEETING_SELECT} WHERE m.series_id = $1 AND ((m.rule_day >= $2 AND m.rule_day <= $3) OR (m.day >= $2 AND m.day <= $3)) \
             ORDER BY m.day, m.at_time, m.id"
        );
        let occurrences: Vec<MeetingView> = sqlx::query_as::<_, MeetingRow>(AssertSqlSafe(sql))
            .bind(series_id)
            .bind(from)
            .bind(to)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(MeetingView::from)
            .collect();
        tx.commit().await?;
        Ok(Some(Plan { series, occurrences, skipped }))
    }

    async fn series_meetings(&self, series_id: i64) -> Result<Vec<MeetingView>> {
        let mut c = self.read.acquire().await?;
        meeting_views(&mut c, "m.series_id = $1", &[series_id], None).await
    }

    async fn add_meeting(&self, n: &NewMeeting, actor: &str) -> Result<MeetingView> {
        let kind = mt::Kind::parse(&n.kind)?;
        if !(15..=24 * 60).contains(&n.minutes) {
            return Err(invalid("minutes", "bad_length", "a meeting lasts 15 minutes to 24 hours".into(), "बैठक 15 मिनट से 24 घंटे तक की होती है".into()));
        }
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &["chairs".into()]).await?;
        let wing_id = wing_id_of(&mut tx, &n.wing).await?;
        let venue = unit_by_code(&mut tx, &n.venue).await?.ok_or_else(|| unknown_unit(&n.venue))?;
        if let Some(o) = n.organiser {
            must_be_user(&mut tx, "organiser", o).await?;
        }
        let chair = match n.chair {
            Some(p) => {
                must_be_eligible_chair(&mut tx, "chair", p, Some(venue.id), n.date).await?;
                if chair_busy(&mut tx, p, n.date, 0).await? {
                    return Err(invalid("chair", "double_booked", format!("person {p} already chairs a meeting on {}", n.date), format!("व्यक्ति {p} {} को पहले से एक बैठक की अध्यक्षता कर रहे हैं", n.date)));
                }
                Some(p)
            }
            None => choose_chair(&mut tx, &venue, n.date, None).await?,
        };
        let (cw, cw_hi) = if n.chair.is_some() { ("; chair: chosen by hand", "; अध्यक्ष: हाथ से चुने गए") } else { chair_why(chair) };
        let id = insert_meeting(
            &mut tx,
            None,
            None,
            n.date,
            n.time,
            n.minutes,
            &venue,
            wing_id,
            kind.code(),
            chair,
            n.organiser,
            (&format!("a single meeting{cw}"), &format!("एकल बैठक{cw_hi}")),
            n.due_hours.clamp(1, 24 * 30),
            actor,
            crate::clock::now(),
        )
        .await?;
        let v = meeting_view(&mut tx, id).await?.expect("just written");
        tx.commit().await?;
        Ok(v)
    }

    async fn meeting(&self, id: i64) -> Result<Option<MeetingView>> {
        let mut c = self.read.acquire().await?;
        meeting_view(&mut c, id).await
    }

    async fn move_meeting(&self, id: i64, date: Option<NaiveDate>, time: Option<NaiveTime>, venue: Option<&str>, _actor: &str) -> Result<MeetingView> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("meeting:{id}"), "chairs".into()]).await?;
        let m = meeting_core(&mut tx, id).await?;
        if m.4 != "planned" {
            return Err(StoreError::Refused(format!("meeting {id} is cancelled")));
        }
        if report_row(&mut tx, id).await?.is_some() {
            return Err(StoreError::Refused(format!("meeting {id} has a report; it cannot be moved")));
        }
        let new_venue = match venue {
            Some(code) => unit_by_code(&mut tx, code).await?.ok_or_else(|| unknown_unit(code))?,
            None => match m.1 {
                Some(v) => unit_by_id(&mut tx, v).await?,
                None => return Err(invalid("venue", "required", "give the meeting a venue".into(), "बैठक का स्थान बताइए".into())),
            },
        };
        let day = date.unwrap_or(m.3);
        let time = time.unwrap_or_else(|| parse_hhmm(&m.9));
        let due = m.8 - m.7;
        let start = starts_at(day, time);
        if let Some(old) = m.1 {
            count_meeting(&mut tx, old, m.2, m.3, [-1, 0, 0, 0, 0]).await?;
        }
        count_meeting(&mut tx, new_venue.id, m.2, day, [1, 0, 0, 0, 0]).await?;
        let mut chair = m.5;
        if let Some(p) = chair
            && chair_busy(&mut tx, p, day, id).await?
        {
            chair = choose_chair(&mut tx, &new_venue, day, Some(id)).await?;
        }
        sqlx::query(
            "UPDATE meetings SET day = $2, at_time = $3, starts_at = $4, report_due = $5, venue_id = $6, chair_id = $7, \
             sequence = sequence + 1 WHERE id = $1",
        )
        .bind(id)
        .bind(day)
        .bind(hhmm(time))
        .bind(start)
        .bind(start + due)
        .bind(new_venue.id)
        .bind(chair)
        .execute(&mut *tx)
        .await?;
        let v = meeting_view(&mut tx, id).await?.expect("exists");
        tx.commit().await?;
        Ok(v)
    }

    async fn cancel_meeting(&self, id: i64, _actor: &str) -> Result<MeetingView> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("meeting:{id}"), "chairs".into()]).await?;
        let m = meeting_core(&mut tx, id).await?;
        if report_row(&mut tx, id).await?.is_some() {
            return Err(StoreError::Refused(format!("meeting {id} has a report; it cannot be cancelled")));
        }
        let changed = sqlx::query("UPDATE meetings SET status = 'cancelled', sequence = sequence + 1 WHERE id = $1 AND status = 'planned'")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 1 {
            if let Some(v) = m.1 {
                count_meeting(&mut tx, v, m.2, m.3, [-1, 0, 0, 0, 0]).await?;
            }
            // Nobody need answer a request to preside over it any more.
            sqlx::query("UPDATE chair_requests SET state = 'withdrawn', answered_at = $2 WHERE meeting_id = $1 AND state = 'pending'")
                .bind(id)
                .bind(crate::clock::now())
                .execute(&mut *tx)
                .await?;
        }
        let v = meeting_view(&mut tx, id).await?.expect("exists");
        tx.commit().await?;
        Ok(v)
    }

    async fn set_chair(&self, id: i64, person_id: i64, _actor: &str) -> Result<MeetingView> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("meeting:{id}"), "chairs".into()]).await?;
        let m = meeting_core(&mut tx, id).await?;
        must_be_eligible_chair(&mut tx, "chair", person_id, m.1, m.3).await?;
        if chair_busy(&mut tx, person_id, m.3, id).await? {
            return Err(invalid("chair", "double_booked", format!("person {person_id} already chairs a meeting on {}", m.3), format!("व्यक्ति {person_id} {} को पहले से एक बैठक की अध्यक्षता कर रहे हैं", m.3)));
        }
        sqlx::query("UPDATE meetings SET chair_id = $2, sequence = sequence + 1 WHERE id = $1").bind(id).bind(person_id).execute(&mut *tx).await?;
        let v = meeting_view(&mut tx, id).await?.expect("exists");
        tx.commit().await?;
        Ok(v)
    }

    async fn decline_chair(&self, id: i64, person_id: i64) -> Result<MeetingView> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("meeting:{id}"), "chairs".into()]).await?;
        let m = meeting_core(&mut tx, id).await?;
        record_decline(&mut tx, id, person_id, crate::clock::now()).await?;
        if m.5 == Some(person_id)
            && let Some(v) = m.1
        {
            let venue = unit_by_id(&mut tx, v).await?;
            let chair = choose_chair(&mut tx, &venue, m.3, Some(id)).await?;
            sqlx::query("UPDATE meetings SET chair_id = $2, sequence = sequence + 1 WHERE id = $1").bind(id).bind(chair).execute(&mut *tx).await?;
        }
        let v = meeting_view(&mut tx, id).await?.expect("exists");
        tx.commit().await?;
        Ok(v)
    }

    async fn meetings_within(&self, unit: &str, from: NaiveDate, to: NaiveDate) -> Result<Option<Vec<MeetingView>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        Ok(Some(meeting_views(&mut c, &venue_within(u.kind), &[u.id], Some((from, to))).await?))
    }

    async fn meetings_of_person(&self, person_id: i64, from: NaiveDate, to: NaiveDate) -> Result<Vec<MeetingView>> {
        let mut c = self.read.acquire().await?;
        meeting_views(&mut c, "(m.chair_id = $1 OR m.organiser_id = $1)", &[person_id], Some((from, to))).await
    }

    async fn file_report(&self, meeting_id: i64, r: &NewReport, filed_by: &str, now: DateTime<Utc>) -> Result<ReportView> {
        check_report(r)?;
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("meeting:{meeting_id}")]).await?;
        let m = meeting_core(&mut tx, meeting_id).await?;
        if m.4 != "planned" {
            return Err(StoreError::Refused(format!("meeting {meeting_id} is cancelled")));
        }
        let Some(venue_id) = m.1 else { return Err(StoreError::Refused(format!("meeting {meeting_id} has no venue"))) };
        if crate::clock::day_of(now) < m.3 {
            return Err(invalid(
                "meeting",
                "not_yet",
                format!("the meeting is on {}; report it from that day", m.3),
                format!("बैठक {} को है; रिपोर्ट उसी दिन से भरी जा सकती है", m.3),
            ));
        }
        let venue = unit_by_id(&mut tx, venue_id).await?;
        let reason = r.reason.as_deref().map(str::trim).filter(|s| !s.is_empty() && !r.held);
        let mut wanted = NewReport { reason: reason.map(String::from), ..r.clone() };
        for (role, list) in [("present", &mut wanted.present), ("enrolled", &mut wanted.enrolled)] {
            match list {
                Some(l) => {
                    l.sort_unstable();
                    l.dedup();
                }
                None => *list = Some(meeting_people(&mut tx, meeting_id, role).await?),
            }
        }
        let old = report_row(&mut tx, meeting_id).await?;
        let same = match &old {
            Some(o) => report_content(&mut tx, meeting_id, o).await? == wanted,
            None => false,
        };
        let returned = old.as_ref().is_some_and(|o| o.status == "returned");
        match old {
            // The same report again (a retry) changes nothing; after a return, sending it
            // unchanged means the filer stands by it, and it climbs again.
            Some(_) if same && !returned => {
                // The same report again (a retry): nothing changes.
            }
            Some(old) if old.status == "acknowledged" => {
                return Err(StoreError::Refused(format!("the report of meeting {meeting_id} was acknowledged; it cannot be changed")));
            }
            old => {
                // First filing, or a correction: one upsert; timing and the first filing time
                // stay those of the first filing.
                let timing = match &old {
                    Some(o) => o.timing.clone(),
                    None => match mt::timing(m.8, now) {
                        mt::Timing::OnTime => "on_time".to_string(),
                        mt::Timing::Late => "late".to_string(),
                    },
                };
                sqlx::query(
                    "INSERT INTO meeting_reports (meeting_id, held, reason, attendance, employees_met, new_supporters, new_members, \
                     agenda, issues, notes, filed_by, first_filed_at, filed_at, timing, status, level, revision) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, 'filed', 0, 1) \
                     ON CONFLICT (meeting_id) DO UPDATE SET held = excluded.held, reason = excluded.reason, \
                     attendance = excluded.attendance, employees_met = excluded.employees_met, new_supporters = excluded.new_supporters, \
                     new_members = excluded.new_members, agenda = excluded.agenda, issues = excluded.issues, notes = excluded.notes, \
                     filed_by = excluded.filed_by, filed_at = excluded.filed_at, revision = meeting_reports.revision + 1",
                )
                .bind(meeting_id)
                .bind(r.held)
                .bind(reason)
                .bind(r.attendance as i64)
                .bind(r.employees_met as i64)
                .bind(r.new_supporters as i64)
                .bind(r.new_members as i64)
                .bind(&r.agenda)
                .bind(&r.issues)
                .bind(&r.notes)
                .bind(filed_by)
                .bind(now)
                .bind(&timing)
                .execute(&mut *tx)
                .await?;
                link_people(&mut tx, meeting_id, r).await?;
                let now_counts = report_counts(r.held, &timing);
                let before = old.as_ref().map_or([0; 5], |o| report_counts(o.held, &o.timing));
                count_meeting(&mut tx, venue_id, m.2, m.3, std::array::from_fn(|i| now_counts[i] - before[i])).await?;
                // A corrected report starts up the chain again; earlier steps stay as history.
                sqlx::query("UPDATE report_recipients SET state = 'superseded' WHERE meeting_id = $1 AND state = 'waiting'").bind(meeting_id).execute(&mut *tx).await?;
                route_from(&mut tx, &m, &venue, 1, now).await?;
            }
        }
        let v = report_view(&mut tx, meeting_id).await?.expect("just written");
        tx.commit().await?;
        Ok(v)
    }

    async fn report(&self, meeting_id: i64) -> Result<Option<ReportView>> {
        let mut c = self.read.acquire().await?;
        report_view(&mut c, meeting_id).await
    }

    async fn inbox(&self, person_id: i64) -> Result<Vec<InboxItem>> {
        let mut c = self.read.acquire().await?;
        let rows: Vec<(i64, i64, DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT rr.meeting_id, rr.level, r.filed_at, r.timing FROM report_recipients rr \
             JOIN meeting_reports r ON r.meeting_id = rr.meeting_id \
             WHERE rr.person_id = $1 AND rr.state = 'waiting' AND r.status = 'filed' AND r.level = rr.level AND r.revision = rr.revision \
             ORDER BY r.filed_at, rr.meeting_id",
        )
        .bind(person_id)
        .fetch_all(&mut *c)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, level, filed_at, timing) in rows {
            if let Some(meeting) = meeting_view(&mut c, id).await? {
                out.push(InboxItem { meeting, level: level as u32, filed_at, timing });
            }
        }
        Ok(out)
    }

    async fn act_on_report(&self, meeting_id: i64, person_id: i64, acknowledge: bool, comment: Option<&str>, now: DateTime<Utc>) -> Result<ReportView> {
        let comment = comment.map(str::trim).filter(|s| !s.is_empty());
        if !acknowledge && comment.is_none() {
            return Err(invalid("comment", "required", "say what needs correcting".into(), "बताइए कि क्या सुधारना है".into()));
        }
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("meeting:{meeting_id}")]).await?;
        let m = meeting_core(&mut tx, meeting_id).await?;
        let r = report_row(&mut tx, meeting_id).await?.ok_or_else(|| no_meeting(meeting_id))?;
        let waiting: Option<i64> = sqlx::query_scalar(
            "SELECT level FROM report_recipients WHERE meeting_id = $1 AND person_id = $2 AND level = $3 AND revision = $4 AND state = 'waiting'",
        )
        .bind(meeting_id)
        .bind(person_id)
        .bind(r.level)
        .bind(r.revision)
        .fetch_optional(&mut *tx)
        .await?;
        if r.status != "filed" || waiting.is_none() {
            return Err(StoreError::Refused(format!("the report of meeting {meeting_id} is not waiting for you")));
        }
        let state = if acknowledge { "acknowledged" } else { "returned" };
        sqlx::query("UPDATE report_recipients SET state = $4, comment = $5, acted_at = $6 WHERE meeting_id = $1 AND person_id = $2 AND level = $3 AND revision = $7")
            .bind(meeting_id)
            .bind(person_id)
            .bind(r.level)
            .bind(state)
            .bind(comment)
            .bind(now)
            .bind(r.revision)
            .execute(&mut *tx)
            .await?;
        // One answer per level: the others there need not act.
        sqlx::query("UPDATE report_recipients SET state = 'answered' WHERE meeting_id = $1 AND level = $2 AND revision = $3 AND state = 'waiting'")
            .bind(meeting_id)
            .bind(r.level)
            .bind(r.revision)
            .execute(&mut *tx)
            .await?;
        let venue = unit_by_id(&mut tx, m.1.expect("a report has a venue")).await?;
        if acknowledge {
            route_from(&mut tx, &m, &venue, r.level as usize + 1, now).await?;
        } else {
            sqlx::query("UPDATE meeting_reports SET status = 'returned' WHERE meeting_id = $1").bind(meeting_id).execute(&mut *tx).await?;
            let mut to: Vec<i64> = [m.6, m.5].into_iter().flatten().collect();
            to.dedup();
            let notices: Vec<Notice> = to
                .into_iter()
                .map(|p| Notice {
                    person_id: p,
                    key: format!("returned:{meeting_id}:{}:{p}", r.revision),
                    subject: "रिपोर्ट सुधार के लिए लौटाई गई / Report returned for correction".into(),
                    body: format!(
                        "बैठक {meeting_id} ({}, {}) की रिपोर्ट सुधार के लिए लौटाई गई: {}\n\nThe report of meeting {meeting_id} ({}, {}) was returned for correction: {}",
                        venue.code,
                        m.3,
                        comment.unwrap_or_default(),
                        venue.code,
                        m.3,
                        comment.unwrap_or_default()
                    ),
                })
                .collect();
            notify_in(&mut tx, &notices, now).await?;
        }
        let v = report_view(&mut tx, meeting_id).await?.expect("exists");
        tx.commit().await?;
        Ok(v)
    }

    async fn escalate(&self, now: DateTime<Utc>) -> Result<EscalationRun> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &["escalate".to_string(), "chairs".into()]).await?;
        let overdue: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(
            "SELECT m.id, m.report_due FROM meetings m LEFT JOIN meeting_reports r ON r.meeting_id = m.id \
             WHERE m.status = 'planned' AND m.venue_id IS NOT NULL AND m.report_due < $1 AND r.meeting_id IS NULL ORDER BY m.id",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let today = crate::clock::day_of(now);
        let mut run = EscalationRun { overdue: overdue.len() as u64, ..Default::default() };
        for (id, due) in overdue {
            // One level further up each calendar day (IST) since the day it fell due.
            if mt::escalation_step(due, now).is_none() {
                continue;
            }
            let step = ((today - crate::clock::day_of(due)).num_days() + 1).max(1) as u32;
            let m = meeting_core(&mut tx, id).await?;
            let venue = unit_by_id(&mut tx, m.1.expect("selected with a venue")).await?;
            let chain = chain_of(&mut tx, &venue, m.2).await?;
            // The level reached today, or the nearest one below it that has someone.
            let mut level = (step as usize).min(chain.len());
            let mut people = Vec::new();
            while level > 0 && people.is_empty() {
                if let Some(u) = ancestor_of(&venue, chain[level - 1]) {
                    people = office_bearers_at(&mut tx, u, m.2, today).await?;
                }
                if people.is_empty() {
                    level -= 1;
                }
            }
            let fresh = sqlx::query("INSERT INTO meeting_escalations (meeting_id, day, level, notified) VALUES ($1, $2, $3, 0) ON CONFLICT (meeting_id, day) DO NOTHING")
                .bind(id)
                .bind(today)
                .bind(level as i64)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if fresh == 0 {
                continue;
            }
            run.escalated += 1;
            let mut to: Vec<i64> = [m.6, m.5].into_iter().flatten().chain(people).collect();
            to.sort_unstable();
            to.dedup();
            let days = (now - due).num_days() + 1;
            let notices: Vec<Notice> = to
                .into_iter()
                .map(|p| Notice {
                    person_id: p,
                    key: format!("overdue:{id}:{today}:{p}"),
                    subject: format!("बैठक की रिपोर्ट बाकी ({days} दिन) / Meeting report overdue ({days} days)"),
                    body: format!(
                        "बैठक {id} ({}, {}) की रिपोर्ट {} से बाकी है। कृपया आज ही भरें।\n\nThe report of meeting {id} ({}, {}) has been due since {}. Please file it today.",
                        venue.code,
                        m.3,
                        due.with_timezone(&crate::clock::ist()).format("%Y-%m-%d %H:%M"),
                        venue.code,
                        m.3,
                        due.with_timezone(&crate::clock::ist()).format("%Y-%m-%d %H:%M IST"),
                    ),
                })
                .collect();
            let n = notify_in(&mut tx, &notices, now).await?;
            sqlx::query("UPDATE meeting_escalations SET notified = $3 WHERE meeting_id = $1 AND day = $2").bind(id).bind(today).bind(n as i64).execute(&mut *tx).await?;
            run.notified += n;
        }
        // Requests to preside nobody answered in time go one senior further.
        let stale: Vec<(i64, i64, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
            "SELECT meeting_id, person_id, asked_at, due_at FROM chair_requests WHERE state = 'pending' AND due_at < $1 ORDER BY id",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for (meeting_id, person_id, asked_at, due) in stale {
            let expired = sqlx::query("UPDATE chair_requests SET state = 'expired', answered_at = $3 WHERE meeting_id = $1 AND person_id = $2 AND state = 'pending'")
                .bind(meeting_id)
                .bind(person_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if expired == 0 {
                continue;
            }
            let hours = ((due - asked_at).num_hours()).max(1) as u32;
            if ask_chair(&mut tx, meeting_id, None, hours, "escalation", now).await? {
                run.requests_moved += 1;
                run.notified += 1;
            }
        }
        tx.commit().await?;
        Ok(run)
    }

    async fn compliance_in(&self, unit: &str, monday: NaiveDate, now: DateTime<Utc>, wings: &Wings) -> Result<Option<Compliance>> {
        let wing_cond = wings_filter(wings);
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        let week = mt::week_code(monday);
        let monday = mt::parse_week(&week)?;
        let sunday = monday + Duration::days(6);
        let kids = child_specs(&mut c, &u).await?;
        let mut ids: Vec<i64> = kids.iter().map(|k| k.id).collect();
        ids.push(u.id);
        let list = ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        let sql = format!(
            "SELECT unit_id, SUM(planned), SUM(held), SUM(not_held), SUM(on_time), SUM(late) FROM meeting_counters \
             WHERE week = $1 AND unit_id IN ({list}) AND {} GROUP BY unit_id",
            wing_cond.replace("m.wing_id", "wing_id")
        );
        let sums: Vec<(i64, i64, i64, i64, i64, i64)> = if self.backend() == Backend::Postgres {
            let sql = sql.replace("SUM(planned), SUM(held), SUM(not_held), SUM(on_time), SUM(late)", "CAST(SUM(planned) AS BIGINT), CAST(SUM(held) AS BIGINT), CAST(SUM(not_held) AS BIGINT), CAST(SUM(on_time) AS BIGINT), CAST(SUM(late) AS BIGINT)");
            sqlx::query_as(AssertSqlSafe(sql)).bind(&week).fetch_all(&mut *c).await?
        } else {
            sqlx::query_as(AssertSqlSafe(sql)).bind(&week).fetch_all(&mut *c).await?
        };
        let sums: HashMap<i64, (i64, i64, i64, i64, i64)> = sums.into_iter().map(|s| (s.0, (s.1, s.2, s.3, s.4, s.5))).collect();
        // Missing: due by now and not reported, counted up the tree from each venue.
        let sql = format!(
            "SELECT m.venue_id FROM meetings m LEFT JOIN meeting_reports r ON r.meeting_id = m.id WHERE {} AND m.status = 'planned' \
             AND r.meeting_id IS NULL AND m.report_due < $2 AND m.day >= $3 AND m.day <= $4 AND {wing_cond}",
            venue_within(u.kind)
        );
        let venues: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(sql)).bind(u.id).bind(now).bind(monday).bind(sunday).fetch_all(&mut *c).await?;
        let mut missing: HashMap<i64, i64> = HashMap::new();
        for v in venues {
            let spec = unit_by_id(&mut c, v).await?;
            for id in spec.anc.rollup(spec.id) {
                *missing.entry(id).or_default() += 1;
            }
        }
        let row = |s: &UnitSpec| {
            let (planned, held, not_held, on_time, late) = sums.get(&s.id).copied().unwrap_or_default();
            ComplianceRow {
                code: s.code.to_string(),
                name: s.name_en.clone(),
                name_hi: s.name_hi.clone(),
                planned,
                held,
                not_held,
                on_time,
                late,
                missing: missing.get(&s.id).copied().unwrap_or(0),
            }
        };
        Ok(Some(Compliance { week, from: monday, to: sunday, unit: row(&u), children: kids.iter().map(row).collect() }))
    }

    async fn add_holiday(&self, day: NaiveDate, name: &str) -> Result<()> {
        let name = name.trim();
        if name.is_empty() {
            return Err(invalid("name", "required", "name the holiday".into(), "अवकाश का नाम बताइए".into()));
        }
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO holidays (day, name) VALUES ($1, $2) ON CONFLICT (day) DO UPDATE SET name = excluded.name")
            .bind(day)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_unavailable(&self, unit: &str, from: NaiveDate, to: NaiveDate, reason: &str) -> Result<()> {
        if to < from {
            return Err(invalid("to", "before_from", "the last day is before the first".into(), "अंतिम तिथि पहली तिथि से पहले है".into()));
        }
        let mut tx = self.begin_write().await?;
        let u = unit_by_code(&mut tx, unit).await?.ok_or_else(|| unknown_unit(unit))?;
        sqlx::query("INSERT INTO unit_unavailable (unit_id, from_day, to_day, reason) VALUES ($1, $2, $3, $4)")
            .bind(u.id)
            .bind(from)
            .bind(to)
            .bind(reason.trim())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_report_chain(&self, wing: &str, levels: &[UnitKind]) -> Result<()> {
        let text = levels.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",");
        mt::parse_chain(&text)?;
        let mut tx = self.begin_write().await?;
        let wing_id = wing_id_of(&mut tx, wing).await?;
        sqlx::query("INSERT INTO report_chains (wing_id, levels) VALUES ($1, $2) ON CONFLICT (wing_id) DO UPDATE SET levels = excluded.levels")
            .bind(wing_id)
            .bind(&text)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_email(&self, person_id: i64, email: Option<&str>) -> Result<bool> {
        let email = email.map(str::trim).filter(|e| !e.is_empty());
        if let Some(e) = email
            && (e.len() > 254 || e.contains(char::is_whitespace) || e.split('@').count() != 2 || e.starts_with('@') || !e.split('@').nth(1).is_some_and(|d| d.contains('.') || d == "localhost"))
        {
            return Err(invalid("email", "invalid", format!("not an email address: {e}"), format!("यह ईमेल पता सही नहीं: {e}")));
        }
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET email = $2 WHERE person_id = $1").bind(person_id).bind(email).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn create_feed(&self, kind: FeedKind, target_id: i64, actor: &str) -> Result<(i64, String)> {
        let token = random_hex(20)?;
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO calendar_feeds (token_hash, kind, target_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(hash_token(&token))
        .bind(kind.code())
        .bind(target_id)
        .bind(actor)
        .bind(crate::clock::now())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((id, token))
    }

    async fn feed(&self, token: &str) -> Result<Option<(FeedKind, i64, String)>> {
        let mut c = self.read.acquire().await?;
        let row: Option<(String, i64, String)> = sqlx::query_as("SELECT kind, target_id, created_by FROM calendar_feeds WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(hash_token(token))
            .fetch_optional(&mut *c)
            .await?;
        Ok(row.and_then(|(k, t, by)| FeedKind::parse(&k).map(|k| (k, t, by))))
    }

    async fn revoke_feed(&self, id: i64, by: Option<&str>) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE calendar_feeds SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL AND ($3 IS NULL OR created_by = $3)")
            .bind(id)
            .bind(crate::clock::now())
            .bind(by)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn request_chair(&self, meeting_id: i64, person: Option<i64>, hours: u32, actor: &str, now: DateTime<Utc>) -> Result<Vec<ChairRequest>> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("meeting:{meeting_id}"), "chairs".into()]).await?;
        let m = meeting_core(&mut tx, meeting_id).await?;
        if m.4 != "planned" {
            return Err(StoreError::Refused(format!("meeting {meeting_id} is cancelled")));
        }
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chair_requests WHERE meeting_id = $1 AND state IN ('pending', 'accepted')")
            .bind(meeting_id)
            .fetch_one(&mut *tx)
            .await?;
        if pending > 0 {
            return Err(StoreError::Refused(format!("meeting {meeting_id} already has a request pending or accepted")));
        }
        if !ask_chair(&mut tx, meeting_id, person, hours, actor, now).await? {
            return Err(invalid("person", "nobody_to_ask", "no senior office-bearer is left to ask".into(), "पूछने के लिए कोई वरिष्ठ पदाधिकारी नहीं बचा".into()));
        }
        let v = requests_of(&mut tx, meeting_id).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn answer_request(&self, meeting_id: i64, person_id: i64, accept: bool, now: DateTime<Utc>) -> Result<MeetingView> {
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("meeting:{meeting_id}"), "chairs".into()]).await?;
        let m = meeting_core(&mut tx, meeting_id).await?;
        let pending: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT due_at FROM chair_requests WHERE meeting_id = $1 AND person_id = $2 AND state = 'pending'")
                .bind(meeting_id)
                .bind(person_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(due) = pending else {
            return Err(StoreError::Refused(format!("no request to preside over meeting {meeting_id} waits for you")));
        };
        if m.4 != "planned" {
            return Err(StoreError::Refused(format!("meeting {meeting_id} is cancelled")));
        }
        if accept {
            if chair_busy(&mut tx, person_id, m.3, meeting_id).await? {
                return Err(invalid("person", "double_booked", format!("you already chair a meeting on {}", m.3), format!("{} को आप पहले से एक बैठक की अध्यक्षता कर रहे हैं", m.3)));
            }
            sqlx::query("UPDATE chair_requests SET state = 'accepted', answered_at = $3 WHERE meeting_id = $1 AND person_id = $2").bind(meeting_id).bind(person_id).bind(now).execute(&mut *tx).await?;
            sqlx::query("UPDATE meetings SET chair_id = $2, sequence = sequence + 1 WHERE id = $1").bind(meeting_id).bind(person_id).execute(&mut *tx).await?;
        } else {
            sqlx::query("UPDATE chair_requests SET state = 'declined', answered_at = $3 WHERE meeting_id = $1 AND person_id = $2").bind(meeting_id).bind(person_id).bind(now).execute(&mut *tx).await?;
            record_decline(&mut tx, meeting_id, person_id, now).await?;
            // The next senior is asked at once, with as long to answer as this one had.
            let asked_at: DateTime<Utc> = sqlx::query_scalar("SELECT asked_at FROM chair_requests WHERE meeting_id = $1 AND person_id = $2")
                .bind(meeting_id)
                .bind(person_id)
                .fetch_one(&mut *tx)
                .await?;
            let hours = ((due - asked_at).num_hours()).max(1) as u32;
            ask_chair(&mut tx, meeting_id, None, hours, "escalation", now).await?;
        }
        let v = meeting_view(&mut tx, meeting_id).await?.expect("exists");
        tx.commit().await?;
        Ok(v)
    }

    async fn chair_requests(&self, meeting_id: i64) -> Result<Vec<ChairRequest>> {
        let mut c = self.read.acquire().await?;
        requests_of(&mut c, meeting_id).await
    }

    async fn requests_for(&self, person_id: i64) -> Result<Vec<(MeetingView, ChairRequest)>> {
        let mut c = self.read.acquire().await?;
        let sql = format!("{REQUEST_SELECT} WHERE r.person_id = $1 AND r.state = 'pending' ORDER BY r.due_at");
        let rows: Vec<RequestRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(person_id).fetch_all(&mut *c).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            if let Some(m) = meeting_view(&mut c, r.0).await? {
                out.push((m, request_of(r)));
            }
        }
        Ok(out)
    }

    async fn add_charge(&self, person_id: i64, unit: &str, what: &str, actor: &str) -> Result<Charge> {
        if !matches!(what, "drive" | "meetings") {
            return Err(invalid("what", "bad_charge", "a charge is of the `drive` or the `meetings`".into(), "ज़िम्मेदारी `drive` (अभियान) या `meetings` (बैठकें) की होती है".into()));
        }
        let mut tx = self.begin_write().await?;
        let u = unit_by_code(&mut tx, unit).await?.ok_or_else(|| unknown_unit(unit))?;
        let user: Option<i64> = sqlx::query_scalar("SELECT person_id FROM users WHERE person_id = $1 AND disabled_at IS NULL").bind(person_id).fetch_optional(&mut *tx).await?;
        if user.is_none() {
            return Err(invalid("person", "not_a_user", format!("person {person_id} is not an enabled user"), format!("व्यक्ति {person_id} सक्रिय उपयोगकर्ता नहीं है")));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO charges (person_id, unit_id, what, given_by, given_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (person_id, unit_id, what) DO UPDATE SET ended_at = NULL, given_by = excluded.given_by RETURNING id",
        )
        .bind(person_id)
        .bind(u.id)
        .bind(what)
        .bind(actor)
        .bind(crate::clock::now())
        .fetch_one(&mut *tx)
        .await?;
        let sql = format!("{CHARGE_SELECT} WHERE ch.id = $1");
        let row: ChargeRow = sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(charge_of(row))
    }

    async fn end_charge(&self, id: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE charges SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL").bind(id).bind(crate::clock::now()).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn charges_of(&self, person_id: i64) -> Result<Vec<Charge>> {
        let mut c = self.read.acquire().await?;
        let sql = format!("{CHARGE_SELECT} WHERE ch.person_id = $1 AND ch.ended_at IS NULL ORDER BY u.id, ch.what");
        let rows: Vec<ChargeRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(person_id).fetch_all(&mut *c).await?;
        Ok(rows.into_iter().map(charge_of).collect())
    }

    async fn charges_within(&self, unit: &str) -> Result<Option<Vec<Charge>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        let cond = venue_within(u.kind).replace("m.venue_id", "ch.unit_id");
        let sql = format!("{CHARGE_SELECT} WHERE {cond} AND ch.ended_at IS NULL ORDER BY u.id, ch.what, ch.person_id");
        let rows: Vec<ChargeRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).fetch_all(&mut *c).await?;
        Ok(Some(rows.into_iter().map(charge_of).collect()))
    }

    async fn add_contacts(&self, meeting_id: i64, list: &[NewContact], actor: &str) -> Result<Vec<Contact>> {
        // Everything is checked before anything is written; each error names its row.
        let mut errs = Vec::new();
        let mut rows = Vec::with_capacity(list.len());
        for (i, n) in list.iter().enumerate() {
            let f = |x: &str| format!("contacts[{i}].{x}");
            let name = match sangathan_core::ids::PersonName::parse(&n.name) {
                Ok(p) => Some(p),
                Err(mut e) => {
                    e.field = f("name");
                    errs.push(e);
                    None
                }
            };
            let department = n.department.trim().to_string();
            if department.chars().count() > 200 {
                errs.push(FieldError::new(f("department"), "too_long", "at most 200 characters", "अधिकतम 200 अक्षर"));
            }
            let mobile = match n.mobile.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
                None => None,
                Some(m) => match Mobile::parse(m) {
                    Ok(m) if n.consent => Some(m.e164().to_string()),
                    Ok(_) => {
                        errs.push(FieldError::new(
                            f("mobile"),
                            "consent_required",
                            "a number is kept only if they agreed to be contacted",
                            "नंबर तभी रखा जाता है जब वे संपर्क के लिए सहमत हों",
                        ));
                        None
                    }
                    Err(mut e) => {
                        e.field = f("mobile");
                        errs.push(e);
                        None
                    }
                },
            };
            rows.push((name, department, mobile, n.consent));
        }
        if list.is_empty() {
            errs.push(FieldError::new("contacts", "required", "give at least one contact", "कम से कम एक संपर्क दीजिए"));
        }
        if list.len() > 500 {
            errs.push(FieldError::new("contacts", "too_many", "at most 500 contacts at once", "एक बार में अधिकतम 500 संपर्क"));
        }
        if !errs.is_empty() {
            return Err(StoreError::Invalid(Invalid(errs)));
        }
        let mut tx = self.begin_write().await?;
        let m = meeting_core(&mut tx, meeting_id).await?;
        let Some(venue) = m.1 else { return Err(StoreError::Refused(format!("meeting {meeting_id} has no venue"))) };
        let now = crate::clock::now();
        let mut ids = Vec::with_capacity(rows.len());
        for (name, department, mobile, consent) in rows {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO contacts (meeting_id, unit_id, wing_id, name, department, mobile, consent, status, note, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'new', '', $8, $9, $9) RETURNING id",
            )
            .bind(meeting_id)
            .bind(venue)
            .bind(m.2)
            .bind(name.expect("checked").as_str())
            .bind(department)
            .bind(mobile)
            .bind(consent)
            .bind(actor)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            ids.push(id);
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(contact_in(&mut tx, id).await?.expect("just written"));
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn contact(&self, id: i64) -> Result<Option<Contact>> {
        let mut c = self.read.acquire().await?;
        contact_in(&mut c, id).await
    }

    async fn contacts(&self, unit: &str, wings: &Wings, status: Option<&str>, assigned_to: Option<i64>, limit: u32) -> Result<Option<Vec<Contact>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        let within = venue_within(u.kind).replace("m.venue_id", "c.unit_id");
        let wing = wings_in("c.wing_id", wings);
        let sql = format!(
            "{CONTACT_SELECT} WHERE {within} AND {wing} AND ($2 IS NULL OR c.status = $2) AND ($3 IS NULL OR c.assigned_to = $3) \
             ORDER BY c.id DESC LIMIT $4"
        );
        let rows: Vec<ContactRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(u.id)
            .bind(status)
            .bind(assigned_to)
            .bind(limit.clamp(1, 1000) as i64)
            .fetch_all(&mut *c)
            .await?;
        Ok(Some(rows.into_iter().map(Contact::from).collect()))
    }

    async fn assign_contact(&self, id: i64, person_id: i64) -> Result<Contact> {
        let mut tx = self.begin_write().await?;
        must_be_user(&mut tx, "person_id", person_id).await?;
        let n = sqlx::query(
            "UPDATE contacts SET assigned_to = $2, status = CASE WHEN status = 'new' THEN 'assigned' ELSE status END, updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(person_id)
        .bind(crate::clock::now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(no_contact(id));
        }
        let v = contact_in(&mut tx, id).await?.expect("exists");
        tx.commit().await?;
        Ok(v)
    }

    async fn contact_outcome(&self, id: i64, status: &str, note: &str) -> Result<Contact> {
        if !CONTACT_OUTCOMES.contains(&status) {
            return Err(invalid(
                "status",
                "bad_outcome",
                format!("one of {}", CONTACT_OUTCOMES.join(", ")),
                "इनमें से एक: reached (संपर्क हुआ), not_reachable (संपर्क नहीं), will_come (आएँगे), moved_away (चले गए), declined (मना किया)".into(),
            ));
        }
        let note: String = note.trim().chars().take(1000).collect();
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE contacts SET status = $2, note = $3, updated_at = $4 WHERE id = $1 AND status <> 'converted'")
            .bind(id)
            .bind(status)
            .bind(note)
            .bind(crate::clock::now())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(no_contact(id));
        }
        let v = contact_in(&mut tx, id).await?.expect("exists");
        tx.commit().await?;
        Ok(v)
    }

    async fn link_contact(&self, id: i64, person_id: i64) -> Result<Contact> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE contacts SET status = 'converted', person_id = $2, updated_at = $3 WHERE id = $1 AND (person_id IS NULL OR person_id = $2)")
            .bind(id)
            .bind(person_id)
            .bind(crate::clock::now())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(no_contact(id));
        }
        let v = contact_in(&mut tx, id).await?.expect("exists");
        tx.commit().await?;
        Ok(v)
    }

    async fn delete_contact(&self, id: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM contacts WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn put_photo(&self, meeting_id: i64, n: u32, bytes: &[u8], actor: &str) -> Result<PhotoInfo> {
        if !(1..=mt::PHOTOS_PER_MEETING).contains(&n) {
            return Err(invalid("n", "bad_photo_number", format!("photos are numbered 1 to {}", mt::PHOTOS_PER_MEETING), format!("फ़ोटो 1 से {} तक क्रमांकित होती हैं", mt::PHOTOS_PER_MEETING)));
        }
        let kind = photo_checked(bytes)?;
        let mut tx = self.begin_write().await?;
        // Uploads to one meeting take turns (see `add_photo`).
        Self::lock_keys(&mut tx, &[format!("meeting:{meeting_id}")]).await?;
        meeting_core(&mut tx, meeting_id).await?;
        let now = crate::clock::now();
        sqlx::query(
            "INSERT INTO meeting_photos (meeting_id, n, content_type, bytes, size, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (meeting_id, n) DO UPDATE SET content_type = excluded.content_type, bytes = excluded.bytes, size = excluded.size, \
             uploaded_by = excluded.uploaded_by, uploaded_at = excluded.uploaded_at",
        )
        .bind(meeting_id)
        .bind(n as i64)
        .bind(kind)
        .bind(bytes)
        .bind(bytes.len() as i64)
        .bind(actor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PhotoInfo { n, content_type: kind.into(), size: bytes.len() as u64, uploaded_at: now })
    }

    async fn add_photo(&self, meeting_id: i64, bytes: &[u8], actor: &str) -> Result<PhotoInfo> {
        let kind = photo_checked(bytes)?;
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("meeting:{meeting_id}")]).await?;
        meeting_core(&mut tx, meeting_id).await?;
        let now = crate::clock::now();
        // The free place is chosen under the meeting's lock and written without replacing
        // anything: should a place be taken all the same, the next free one is tried.
        let full = || {
            invalid(
                "photo",
                "photos_full",
                format!("this meeting already has {} photos", mt::PHOTOS_PER_MEETING),
                format!("इस बैठक की {} तस्वीरें पहले से हैं", mt::PHOTOS_PER_MEETING),
            )
        };
        for _ in 0..=mt::PHOTOS_PER_MEETING {
            let taken: Vec<i64> =
                sqlx::query_scalar("SELECT n FROM meeting_photos WHERE meeting_id = $1").bind(meeting_id).fetch_all(&mut *tx).await?;
            let Some(n) = (1..=mt::PHOTOS_PER_MEETING).find(|n| !taken.contains(&i64::from(*n))) else { return Err(full()) };
            let done = sqlx::query(
                "INSERT INTO meeting_photos (meeting_id, n, content_type, bytes, size, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (meeting_id, n) DO NOTHING",
            )
            .bind(meeting_id)
            .bind(i64::from(n))
            .bind(kind)
            .bind(bytes)
            .bind(bytes.len() as i64)
            .bind(actor)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 1 {
                tx.commit().await?;
                return Ok(PhotoInfo { n, content_type: kind.into(), size: bytes.len() as u64, uploaded_at: now });
            }
        }
        Err(full())
    }

    async fn photo(&self, meeting_id: i64, n: u32) -> Result<Option<(String, Vec<u8>)>> {
        let mut c = self.read.acquire().await?;
        Ok(sqlx::query_as("SELECT content_type, bytes FROM meeting_photos WHERE meeting_id = $1 AND n = $2")
            .bind(meeting_id)
            .bind(n as i64)
            .fetch_optional(&mut *c)
            .await?)
    }

    async fn photos(&self, meeting_id: i64) -> Result<Vec<PhotoInfo>> {
        let mut c = self.read.acquire().await?;
        let rows: Vec<(i64, String, i64, DateTime<Utc>)> =
            sqlx::query_as("SELECT n, content_type, size, uploaded_at FROM meeting_photos WHERE meeting_id = $1 ORDER BY n")
                .bind(meeting_id)
                .fetch_all(&mut *c)
                .await?;
        Ok(rows.into_iter().map(|r| PhotoInfo { n: r.0 as u32, content_type: r.1, size: r.2 as u64, uploaded_at: r.3 }).collect())
    }

    async fn delete_photo(&self, meeting_id: i64, n: u32) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let k = sqlx::query("DELETE FROM meeting_photos WHERE meeting_id = $1 AND n = $2").bind(meeting_id).bind(n as i64).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(k > 0)
    }

    async fn add_point(&self, p: &NewPoint, actor: &str) -> Result<Point> {
        let (title, hi, en, audience, status) = check_point(p)?;
        let mut tx = self.begin_write().await?;
        let wing_id = wing_id_of(&mut tx, &p.wing).await?;
        let now = crate::clock::now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO talking_points (wing_id, title, body_hi, body_en, audience, status, version, uses, created_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, 0, $7, $8) RETURNING id",
        )
        .bind(wing_id)
        .bind(title)
        .bind(hi)
        .bind(en)
        .bind(audience)
        .bind(status)
        .bind(actor)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        keep_point_version(&mut tx, id, actor, now).await?;
        let v = point_in(&mut tx, id).await?.expect("just written");
        tx.commit().await?;
        Ok(v)
    }

    async fn edit_point(&self, id: i64, p: &NewPoint, actor: &str) -> Result<Point> {
        let (title, hi, en, audience, status) = check_point(p)?;
        let mut tx = self.begin_write().await?;
        Self::lock_keys(&mut tx, &[format!("point:{id}")]).await?;
        let old = point_in(&mut tx, id).await?.ok_or_else(|| invalid("point", "unknown_point", format!("no talking point {id}"), format!("बिंदु {id} नहीं मिला")))?;
        if !old.wing.eq_ignore_ascii_case(p.wing.trim()) {
            return Err(invalid("wing", "wing_fixed", "a talking point stays in its wing".into(), "बिंदु की शाखा नहीं बदलती".into()));
        }
        let now = crate::clock::now();
        sqlx::query("UPDATE talking_points SET title = $2, body_hi = $3, body_en = $4, audience = $5, status = $6, version = version + 1, updated_at = $7 WHERE id = $1")
            .bind(id)
            .bind(title)
            .bind(hi)
            .bind(en)
            .bind(audience)
            .bind(status)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        keep_point_version(&mut tx, id, actor, now).await?;
        let v = point_in(&mut tx, id).await?.expect("exists");
        tx.commit().await?;
        Ok(v)
    }

    async fn point(&self, id: i64) -> Result<Option<Point>> {
        let mut c = self.read.acquire().await?;
        point_in(&mut c, id).await
    }

    async fn point_versions(&self, id: i64) -> Result<Vec<PointVersion>> {
        let mut c = self.read.acquire().await?;
        let rows: Vec<(i64, String, String, String, String, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT version, title, body_hi, body_en, audience, status, edited_by, edited_at FROM talking_point_versions \
             WHERE point_id = $1 ORDER BY version",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| PointVersion { version: r.0 as u32, title: r.1, body_hi: r.2, body_en: r.3, audience: tags_of(&r.4), status: r.5, edited_by: r.6, edited_at: r.7 })
            .collect())
    }

    async fn points(&self, wings: &Wings, audience: Option<&str>, drafts: bool) -> Result<Vec<Point>> {
        let mut c = self.read.acquire().await?;
        let cond = wings_in("t.wing_id", wings);
        let tag = audience.map(|a| format!("%|{}|%", a.trim().to_lowercase()));
        let sql = format!(
            "{POINT_SELECT} WHERE {cond} AND ($1 OR t.status = 'published') AND ($2 IS NULL OR t.audience LIKE $2) \
             ORDER BY t.uses DESC, t.id"
        );
        let rows: Vec<PointRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(drafts).bind(tag).fetch_all(&mut *c).await?;
        Ok(rows.into_iter().map(point_of).collect())
    }

    async fn attach_points(&self, meeting_id: i64, ids: &[i64]) -> Result<Vec<Point>> {
        let mut tx = self.begin_write().await?;
        let m = meeting_core(&mut tx, meeting_id).await?;
        for id in ids {
            let p = point_in(&mut tx, *id).await?;
            let ok = p.as_ref().is_some_and(|p| p.status == "published");
            let same_wing: Option<i64> = sqlx::query_scalar("SELECT wing_id FROM talking_points WHERE id = $1").bind(*id).fetch_optional(&mut *tx).await?;
            if !ok || same_wing != Some(m.2) {
                return Err(invalid(
                    "talking_points",
                    "unknown_point",
                    format!("no published talking point {id} of this meeting's wing"),
                    format!("इस बैठक की शाखा का कोई प्रकाशित बिंदु {id} नहीं"),
                ));
            }
            let new = sqlx::query("INSERT INTO meeting_points (meeting_id, point_id, version) VALUES ($1, $2, $3) ON CONFLICT (meeting_id, point_id) DO NOTHING")
                .bind(meeting_id)
                .bind(*id)
                .bind(p.expect("checked").version as i64)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if new == 1 {
                sqlx::query("UPDATE talking_points SET uses = uses + 1 WHERE id = $1").bind(*id).execute(&mut *tx).await?;
            }
        }
        let sql = format!("{POINT_SELECT} JOIN meeting_points mp ON mp.point_id = t.id WHERE mp.meeting_id = $1 ORDER BY t.id");
        let rows: Vec<PointRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(meeting_id).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(point_of).collect())
    }

    async fn meeting_points(&self, meeting_id: i64) -> Result<Vec<Point>> {
        let mut c = self.read.acquire().await?;
        let sql = format!("{POINT_SELECT} JOIN meeting_points mp ON mp.point_id = t.id WHERE mp.meeting_id = $1 ORDER BY t.id");
        let rows: Vec<PointRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(meeting_id).fetch_all(&mut *c).await?;
        Ok(rows.into_iter().map(point_of).collect())
    }

    async fn office_bearers(&self, unit: &str, day: NaiveDate) -> Result<Option<Vec<(i64, String, String)>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        let sql = format!(
            "SELECT DISTINCT p.person_id, pe.name, p.role FROM posts p JOIN users us ON us.person_id = p.person_id \
             JOIN people pe ON pe.id = p.person_id WHERE p.unit_id = $1 AND p.role IN {OFFICE_ROLES} AND p.starts_on <= $2 \
             AND (p.ends_on IS NULL OR p.ends_on >= $2) AND us.disabled_at IS NULL ORDER BY p.person_id, p.role"
        );
        Ok(Some(sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).bind(day).fetch_all(&mut *c).await?))
    }

    async fn unit_code_of(&self, id: i64) -> Result<Option<String>> {
        let mut c = self.read.acquire().await?;
        Ok(sqlx::query_scalar("SELECT code FROM units WHERE id = $1").bind(id).fetch_optional(&mut *c).await?)
    }

    async fn unit_id_of(&self, code: &str) -> Result<Option<i64>> {
        let mut c = self.read.acquire().await?;
        Ok(unit_by_code(&mut c, code).await?.map(|u| u.id))
    }

    async fn notify(&self, notices: &[Notice], now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let n = notify_in(&mut tx, notices, now).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn outbox_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxItem>> {
        // Notices only: one-time login codes (no key) wait for the SMS relay. Each row is
        // claimed for ten minutes before it is handed out, so two senders never send one twice.
        // On PostgreSQL the rows are read FOR UPDATE SKIP LOCKED: app nodes delivering at the
        // same time each claim different rows, without waiting on one another.
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "SELECT id, channel, recipient, subject, body, attempts FROM outbox WHERE sent_at IS NULL AND idem_key IS NOT NULL \
             AND attempts < 10 AND (next_at IS NULL OR next_at <= $1) ORDER BY id LIMIT $2{}",
            Self::skip_locked()
        );
        let rows: Vec<(i64, String, String, Option<String>, String, i64)> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(now)
        .bind(limit.clamp(1, 50) as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for r in rows {
            let n = sqlx::query("UPDATE outbox SET next_at = $2 WHERE id = $1 AND sent_at IS NULL AND (next_at IS NULL OR next_at <= $3)")
                .bind(r.0)
                .bind(now + Duration::minutes(10))
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                claimed.push(r);
            }
        }
        tx.commit().await?;
        let rows = claimed;
        Ok(rows
            .into_iter()
            .map(|r| OutboxItem { id: r.0, channel: r.1, recipient: r.2, subject: r.3, body: r.4, attempts: r.5 as u32 })
            .collect())
    }

    async fn outbox_done(&self, id: i64, error: Option<&str>, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        match error {
            None => {
                sqlx::query("UPDATE outbox SET sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1").bind(id).bind(now).execute(&mut *tx).await?;
            }
            Some(e) => {
                let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM outbox WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?.unwrap_or(0);
                // 1, 2, 4 … minutes, at most six hours.
                let wait = Duration::minutes((1i64 << attempts.clamp(0, 9)).min(360));
                let e: String = e.chars().take(300).collect();
                sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(e)
                    .bind(now + wait)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
