//! iCalendar feeds (RFC 5545) of meetings: one per series (its rule, with each placed occurrence
//! as an exception carrying its venue, moved ones by RECURRENCE-ID, cancelled and skipped dates
//! as EXDATE), and one per unit or person (their meetings one by one). Feeds carry venues,
//! kinds and times, never people's names or numbers.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use sangathan_core::meetings::{self as mt, IcsEvent};
use sangathan_store::meetings::{MeetingView, Series};
use sangathan_store::{DynStore, Result, clock};

/// How far back and ahead a unit's or person's feed reaches.
const BACK_DAYS: i64 = 60;
const AHEAD_DAYS: i64 = 400;

fn local(date: NaiveDate, time: &str) -> NaiveDateTime {
    date.and_time(NaiveTime::parse_from_str(time, "%H:%M").unwrap_or(NaiveTime::MIN))
}

fn title(kind: &str, wing: &str, venue: Option<&str>) -> String {
    let k = mt::Kind::parse(kind).ok();
    let name = k
        .map(|k| format!("{} / {}", k.name_hi(), k.name_en()))
        .unwrap_or_else(|| kind.to_string());
    match venue {
        Some(v) => format!("{name} ({wing}) — {v}"),
        None => format!("{name} ({wing})"),
    }
}

fn venue_text(m: &MeetingView) -> String {
    match (&m.venue, &m.venue_name, &m.venue_name_hi) {
        (Some(code), Some(en), Some(hi)) => format!("{hi} / {en} ({code})"),
        (Some(code), Some(en), None) => format!("{en} ({code})"),
        (Some(code), _, _) => code.clone(),
        _ => String::new(),
    }
}

fn one_event(m: &MeetingView, uid: String, recurrence_id: Option<NaiveDateTime>) -> IcsEvent {
    IcsEvent {
        uid,
        start: local(m.date, &m.time),
        minutes: m.minutes,
        summary: title(&m.kind, &m.wing, m.venue.as_deref()),
        location: venue_text(m),
        description: format!("बैठक / meeting {}", m.id),
        rrule: None,
        exdates: Vec::new(),
        recurrence_id,
        sequence: m.sequence,
        cancelled: m.status == "cancelled",
    }
}

/// The series' rule for the feed: UNTIL as a UTC time (RFC 5545 wants the DTSTART's value type),
/// the series' end folded in.
fn feed_rule(s: &Series) -> String {
    let mut until = s.end;
    let mut parts = Vec::new();
    let mut count = false;
    for p in s.rule.split(';') {
        if let Some(v) = p.strip_prefix("UNTIL=") {
            if let Ok(d) = NaiveDate::parse_from_str(&v[..v.len().min(8)], "%Y%m%d") {
                until = Some(until.map_or(d, |u| u.min(d)));
            }
        } else if p.starts_with("COUNT=") {
            count = true;
            parts.push(p.to_string());
        } else {
            parts.push(p.to_string());
        }
    }
    // A COUNT that would run past the series' end: end at the last date the series holds.
    if count && let Some(end) = s.end {
        if let Ok(rule) = mt::Rule::parse(&s.rule)
            && let Some(last) = rule.dates(s.start, Some(end), 100_000).last().copied()
            && rule
                .dates(s.start, None, 100_000)
                .last()
                .is_some_and(|l| *l > end)
        {
            parts.retain(|p| !p.starts_with("COUNT="));
            until = Some(last);
            count = false;
        } else {
            until = None;
        }
    }
    if let Some(u) = until.filter(|_| !count) {
        let end = clock::ist()
            .from_local_datetime(&u.and_hms_opt(23, 59, 59).expect("valid time"))
            .single()
            .expect("IST has no gaps")
            .with_timezone(&Utc);
        parts.push(format!("UNTIL={}", end.format("%Y%m%dT%H%M%SZ")));
    }
    parts.join(";")
}

/// A series' feed. None: no such series.
pub async fn series_feed(store: &DynStore, id: i64) -> Result<Option<String>> {
    let Some(s) = store.series(id).await? else {
        return Ok(None);
    };
    let meetings = store.series_meetings(id).await?;
    let rule = mt::Rule::parse(&s.rule)?;
    let uid = format!("series-{id}@sangathan");
    // Every rule date up to the last one placed that holds no planned meeting is an exception.
    let last = meetings.iter().filter_map(|m| m.rule_date).max();
    let mut events = Vec::new();
    let dates = rule.dates(s.start, s.end, 5000);
    let Some(first) = dates.first().copied() else {
        return Ok(Some(mt::calendar(
            &title(&s.kind, &s.wing, None),
            &[],
            clock::now(),
        )));
    };
    let exdates: Vec<NaiveDateTime> = dates
        .iter()
        .filter(|d| last.is_some_and(|l| **d <= l))
        .filter(|d| {
            !meetings
                .iter()
                .any(|m| m.rule_date == Some(**d) && m.status == "planned")
        })
        .map(|d| local(*d, &s.time))
        .collect();
    events.push(IcsEvent {
        uid: uid.clone(),
        start: local(first, &s.time),
        minutes: s.minutes,
        summary: title(&s.kind, &s.wing, None),
        location: format!("{} ({})", s.unit, s.rotate.as_str()),
        description: format!("बारी-बारी से स्थान / rotating venues: {}", s.pool.join(", ")),
        rrule: Some(feed_rule(&s)),
        exdates,
        recurrence_id: None,
        sequence: 0,
        cancelled: false,
    });
    for m in meetings.iter().filter(|m| m.status == "planned") {
        let rid = m.rule_date.map(|d| local(d, &s.time));
        events.push(one_event(m, uid.clone(), rid));
    }
    // Single meetings never belong to a series; nothing else to add.
    Ok(Some(mt::calendar(
        &title(&s.kind, &s.wing, None),
        &events,
        clock::now(),
    )))
}

fn singles(name: &str, meetings: &[MeetingView]) -> String {
    let events: Vec<IcsEvent> = meetings
        .iter()
        .map(|m| one_event(m, format!("meeting-{}@sangathan", m.id), None))
        .collect();
    mt::calendar(name, &events, clock::now())
}

/// The meetings at venues within a unit. None: no such unit.
pub async fn unit_feed(store: &DynStore, code: &str) -> Result<Option<String>> {
    unit_feed_in(store, code, &sangathan_core::access::Wings::All).await
}

/// The meetings at venues within a unit, of the wings given.
pub async fn unit_feed_in(
    store: &DynStore,
    code: &str,
    wings: &sangathan_core::access::Wings,
) -> Result<Option<String>> {
    let today = clock::today();
    let ids: std::collections::HashMap<String, i64> = store
        .wings()
        .await?
        .into_iter()
        .map(|w| (w.code, w.id))
        .collect();
    let Some(mut ms) = store
        .meetings_within(
            code,
            today - Duration::days(BACK_DAYS),
            today + Duration::days(AHEAD_DAYS),
        )
        .await?
    else {
        return Ok(None);
    };
    ms.retain(|m| ids.get(&m.wing).is_some_and(|id| wings.contains(*id)));
    Ok(Some(singles(
        &format!("बैठकें / Meetings — {}", code.to_ascii_uppercase()),
        &ms,
    )))
}

/// The meetings a person chairs or organises.
pub async fn person_feed(store: &DynStore, person_id: i64) -> Result<String> {
    let today = clock::today();
    let ms = store
        .meetings_of_person(
            person_id,
            today - Duration::days(BACK_DAYS),
            today + Duration::days(AHEAD_DAYS),
        )
        .await?;
    Ok(singles("मेरी बैठकें / My meetings", &ms))
}

/// The feed a token names (unit feeds carry the unit's id; its code is looked up).
///
/// A feed shows only what its maker may still see: a person's feed made by someone else, a unit
/// or series outside their scope now, or a wing they hold no post of there, shows nothing.
pub async fn feed_for(
    store: &DynStore,
    kind: sangathan_store::meetings::FeedKind,
    target: i64,
    made_by: &str,
) -> Result<Option<String>> {
    use sangathan_core::access::{Action, Wings};
    use sangathan_store::meetings::FeedKind;
    let maker = made_by
        .strip_prefix("person:")
        .and_then(|p| p.parse::<i64>().ok());
    let wings_at = |code: String| {
        let store = store.clone();
        async move {
            let Some(p) = maker else {
                return Ok::<Wings, sangathan_store::StoreError>(Wings::All);
            };
            let scope = store.scope(p, clock::today()).await?;
            Ok(match store.place(&code).await? {
                Some(place) => scope.wings(Action::ViewMeetings, &place),
                None => Wings::none(),
            })
        }
    };
    match kind {
        FeedKind::Series => {
            let Some(s) = store.series(target).await? else {
                return Ok(None);
            };
            let wing = store
                .wings()
                .await?
                .into_iter()
                .find(|w| w.code == s.wing)
                .map(|w| w.id);
            let wings = wings_at(s.unit.clone()).await?;
            if !wing.is_some_and(|w| wings.contains(w)) {
                return Ok(None);
            }
            series_feed(store, target).await
        }
        FeedKind::Person if maker.is_some_and(|m| m != target) => Ok(None),
        FeedKind::Person => Ok(Some(person_feed(store, target).await?)),
        FeedKind::Unit => match store.unit_code_of(target).await? {
            Some(code) => {
                let wings = wings_at(code.clone()).await?;
                if wings.is_none() {
                    return Ok(None);
                }
                unit_feed_in(store, &code, &wings).await
            }
            None => Ok(None),
        },
    }
}
