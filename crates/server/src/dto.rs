//! What the API sends: mirrors of the store's model with OpenAPI schemas. Each mirrors its model
//! type field for field (same names, same JSON), so the wire format is the store's.

use chrono::{DateTime, NaiveDate, Utc};
use sangathan_core::geo::UnitKind;
use sangathan_store as store;
use serde::Serialize;
use utoipa::ToSchema;

/// The level of a unit in the geography.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = UnitKind)]
pub enum UnitKindDto {
    State,
    Division,
    District,
    Pc,
    Ac,
    Sector,
    Booth,
}

impl From<UnitKind> for UnitKindDto {
    fn from(k: UnitKind) -> Self {
        match k {
            UnitKind::State => UnitKindDto::State,
            UnitKind::Division => UnitKindDto::Division,
            UnitKind::District => UnitKindDto::District,
            UnitKind::Pc => UnitKindDto::Pc,
            UnitKind::Ac => UnitKindDto::Ac,
            UnitKind::Sector => UnitKindDto::Sector,
            UnitKind::Booth => UnitKindDto::Booth,
        }
    }
}

/// A unit of the organisation: state, division, district, PC, AC, sector or booth.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Unit)]
pub struct UnitDto {
    pub id: i64,
    #[schema(example = "UP-AC-173-B0042")]
    pub code: String,
    pub kind: UnitKindDto,
    pub name: String,
    pub name_hi: Option<String>,
    /// AC number, or booth (part) number, or sector number.
    pub number: Option<i32>,
    /// Reservation of an AC (GEN, SC, ST).
    pub reserved: Option<String>,
    /// The parent unit's code.
    pub parent: Option<String>,
    /// The parliamentary constituency of an AC.
    pub pc: Option<String>,
}

impl From<store::Unit> for UnitDto {
    fn from(u: store::Unit) -> Self {
        UnitDto {
            id: u.id,
            code: u.code,
            kind: u.kind.into(),
            name: u.name,
            name_hi: u.name_hi,
            number: u.number,
            reserved: u.reserved,
            parent: u.parent,
            pc: u.pc,
        }
    }
}

/// A unit's children in the tree.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Children {
    /// The parent unit's code.
    pub unit: String,
    pub children: Vec<UnitDto>,
}

/// A cadre wing: the party itself, the employees' federation, the volunteer force...
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Wing)]
pub struct WingDto {
    #[schema(example = "party")]
    pub code: String,
    pub name: String,
    pub name_hi: String,
}

impl From<store::Wing> for WingDto {
    fn from(w: store::Wing) -> Self {
        WingDto {
            code: w.code,
            name: w.name,
            name_hi: w.name_hi,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Wings {
    pub wings: Vec<WingDto>,
}

/// A membership campaign with its state-wide target.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Campaign)]
pub struct CampaignDto {
    #[schema(example = "drive")]
    pub code: String,
    pub name: String,
    pub name_hi: String,
    pub wing: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// The state's target.
    pub target: i64,
    /// What drives percentage and pacing: `verified` or `achieved`.
    pub counts: String,
    /// How its members may be verified: `code`, `missed_call`, `officer`.
    pub verify_by: Vec<String>,
}

impl From<store::Campaign> for CampaignDto {
    fn from(c: store::Campaign) -> Self {
        CampaignDto {
            code: c.code,
            name: c.name,
            name_hi: c.name_hi,
            wing: c.wing,
            start_date: c.start_date,
            end_date: c.end_date,
            target: c.target,
            counts: c.counts,
            verify_by: c.verify_by,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Campaigns {
    pub campaigns: Vec<CampaignDto>,
}

/// One row of a progress report: a unit's target, achievement and pace.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ProgressRow)]
pub struct ProgressRowDto {
    pub code: String,
    /// The unit's kind, or `unassigned` for members of an AC enrolled without a booth.
    pub kind: String,
    pub name: String,
    pub name_hi: Option<String>,
    pub target: i64,
    /// Pending and verified memberships.
    pub achieved: i64,
    /// Verified memberships.
    pub verified: i64,
    /// Of target, counting what the campaign counts (`counts`: verified or achieved).
    pub percent: f64,
    /// Still needed, by the same count.
    pub needed: i64,
    pub days_left: i64,
    pub daily_needed: f64,
    pub rate_7d: f64,
    pub last_7_days: i64,
}

impl From<store::ProgressRow> for ProgressRowDto {
    fn from(r: store::ProgressRow) -> Self {
        ProgressRowDto {
            code: r.code,
            kind: r.kind,
            name: r.name,
            name_hi: r.name_hi,
            target: r.target,
            achieved: r.achieved,
            verified: r.verified,
            percent: r.percent,
            needed: r.needed,
            days_left: r.days_left,
            daily_needed: r.daily_needed,
            rate_7d: r.rate_7d,
            last_7_days: r.last_7_days,
        }
    }
}

/// Progress of a unit and each of its children in one campaign.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Progress)]
pub struct ProgressDto {
    pub unit: ProgressRowDto,
    pub children: Vec<ProgressRowDto>,
    pub campaign: String,
    pub wing: String,
    pub as_of: NaiveDate,
    /// What drives percentage, needed and pacing: `verified` (verifications per day) or
    /// `achieved` (enrolments per day).
    pub counts: String,
}

impl From<store::Progress> for ProgressDto {
    fn from(p: store::Progress) -> Self {
        ProgressDto {
            unit: p.unit.into(),
            children: p.children.into_iter().map(Into::into).collect(),
            campaign: p.campaign,
            wing: p.wing,
            as_of: p.as_of,
            counts: p.counts,
        }
    }
}

/// The result of an enrolment: who the person is and their membership in the wing.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EnrolOutcome)]
pub struct EnrolOutcomeDto {
    pub person_id: i64,
    #[schema(example = "UP-173-0000042")]
    pub membership_number: String,
    pub wing: String,
    pub unit: String,
    pub status: String,
    pub created_person: bool,
    pub created_membership: bool,
    pub enrolled_at: DateTime<Utc>,
    /// Things accepted but worth a second look (e.g. an EPIC whose check digit does not hold:
    /// older cards have none), in English and Hindi. Absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<WarningDto>,
}

/// A warning on an accepted input: which field, a code, why in both languages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarningDto {
    pub field: String,
    pub code: String,
    pub en: String,
    pub hi: String,
}

impl From<store::EnrolOutcome> for EnrolOutcomeDto {
    fn from(o: store::EnrolOutcome) -> Self {
        EnrolOutcomeDto {
            person_id: o.person_id,
            membership_number: o.membership_number,
            wing: o.wing,
            unit: o.unit,
            status: o.status,
            created_person: o.created_person,
            warnings: Vec::new(),
            created_membership: o.created_membership,
            enrolled_at: o.enrolled_at,
        }
    }
}

/// One membership of a person, in one wing.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Membership)]
pub struct MembershipDto {
    /// The id the verification routes take (`/api/v1/memberships/{id}/…`).
    pub id: i64,
    pub membership_number: String,
    pub wing: String,
    pub unit: String,
    pub status: String,
    pub channel: String,
    pub enrolled_by: String,
    pub enrolled_at: DateTime<Utc>,
}

impl From<store::MembershipView> for MembershipDto {
    fn from(m: store::MembershipView) -> Self {
        MembershipDto {
            id: m.membership_id,
            membership_number: m.membership_number,
            wing: m.wing,
            unit: m.unit,
            status: m.status,
            channel: m.channel,
            enrolled_by: m.enrolled_by,
            enrolled_at: m.enrolled_at,
        }
    }
}

/// A person and their memberships.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Member)]
pub struct MemberDto {
    pub person_id: i64,
    pub name: String,
    /// E.164, e.g. `+919839012345`.
    pub mobile: Option<String>,
    pub epic: Option<String>,
    /// `M`, `F` or `O`.
    pub gender: Option<String>,
    pub birth_year: Option<i32>,
    pub address: Option<String>,
    pub unit: String,
    pub created_at: DateTime<Utc>,
    pub memberships: Vec<MembershipDto>,
    /// Set when this record was merged into another person (kept as history; see `POST /api/v1/merges`).
    pub merged_into: Option<i64>,
}

impl From<store::Member> for MemberDto {
    fn from(m: store::Member) -> Self {
        MemberDto {
            person_id: m.person_id,
            name: m.name,
            mobile: m.mobile,
            epic: m.epic,
            gender: m.gender,
            birth_year: m.birth_year,
            address: m.address,
            unit: m.unit,
            created_at: m.created_at,
            memberships: m.memberships.into_iter().map(Into::into).collect(),
            merged_into: m.merged_into,
        }
    }
}

/// One line of a member list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = MemberRow)]
pub struct MemberRowDto {
    pub person_id: i64,
    pub name: String,
    pub membership_number: String,
    pub wing: String,
    pub unit: String,
    pub status: String,
    pub enrolled_at: DateTime<Utc>,
    /// The membership's id: the paging cursor.
    pub cursor: i64,
}

impl From<store::MemberRow> for MemberRowDto {
    fn from(r: store::MemberRow) -> Self {
        MemberRowDto {
            person_id: r.person_id,
            name: r.name,
            membership_number: r.membership_number,
            wing: r.wing,
            unit: r.unit,
            status: r.status,
            enrolled_at: r.enrolled_at,
            cursor: r.cursor,
        }
    }
}

/// A page of members; pass `next` as `after` for the following page.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = MemberPage)]
pub struct MemberPageDto {
    pub members: Vec<MemberRowDto>,
    /// None on the last page.
    pub next: Option<i64>,
}

impl From<store::MemberPage> for MemberPageDto {
    fn from(p: store::MemberPage) -> Self {
        MemberPageDto {
            members: p.members.into_iter().map(Into::into).collect(),
            next: p.next,
        }
    }
}

/// One person found by a search, with their membership in the searched scope.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SearchHit)]
pub struct SearchHitDto {
    pub person_id: i64,
    pub name: String,
    pub membership_number: String,
    pub wing: String,
    pub unit: String,
    /// 3 the same name (or an identifier match), 2 the same key or words in another order,
    /// 1 whole words of it, 0 weaker.
    pub rank: u8,
}

/// A page of search results, best first; pass `next` as `after` for the following page.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SearchPage)]
pub struct SearchPageDto {
    pub members: Vec<SearchHitDto>,
    pub next: Option<u32>,
}

impl From<store::SearchPage> for SearchPageDto {
    fn from(p: store::SearchPage) -> Self {
        SearchPageDto {
            members: p
                .members
                .into_iter()
                .map(|h| SearchHitDto {
                    person_id: h.person_id,
                    name: h.name,
                    membership_number: h.membership_number,
                    wing: h.wing,
                    unit: h.unit,
                    rank: h.rank,
                })
                .collect(),
            next: p.next,
        }
    }
}

/// A member list: a page of a unit's members, or (with `q`) ranked search results.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum MemberListDto {
    Page(MemberPageDto),
    Search(SearchPageDto),
}

/// Two live people of a unit's subtree who look like one person.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = DuplicateCandidate)]
pub struct DuplicateCandidateDto {
    /// The lower person id.
    pub a: i64,
    pub b: i64,
    pub a_name: String,
    pub b_name: String,
    /// `same mobile, names match across scripts` or `same name and birth year in one booth`.
    #[schema(example = "same mobile, names match across scripts")]
    pub reason: String,
}

impl From<store::DuplicateCandidate> for DuplicateCandidateDto {
    fn from(d: store::DuplicateCandidate) -> Self {
        DuplicateCandidateDto {
            a: d.a,
            b: d.b,
            a_name: d.a_name,
            b_name: d.b_name,
            reason: d.reason,
        }
    }
}

/// Duplicate candidates of a unit's subtree, lowest ids first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Duplicates {
    pub candidates: Vec<DuplicateCandidateDto>,
}

/// What a merge did, or (with `undone`) what its undo put back.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = MergeOutcome)]
pub struct MergeOutcomeDto {
    /// The merge's id: `DELETE /api/v1/merges/{id}` undoes it.
    pub merge_id: i64,
    /// The record merged away: kept as history, pointing at `into`.
    pub from: i64,
    /// The person who remains.
    pub into: i64,
    /// Membership numbers moved from `from` to `into` (by an undo: moved back).
    pub moved_memberships: Vec<String>,
    /// Membership numbers of `from` cancelled because `into` holds the same wing (by an undo:
    /// restored to their previous status).
    pub cancelled_memberships: Vec<String>,
    /// Identifiers of `from` given to `into`: `epic`, `mobile` (by an undo: taken back).
    pub moved_identifiers: Vec<String>,
    /// True for the outcome of an undo.
    pub undone: bool,
}

impl From<store::MergeOutcome> for MergeOutcomeDto {
    fn from(o: store::MergeOutcome) -> Self {
        MergeOutcomeDto {
            merge_id: o.merge_id,
            from: o.from,
            into: o.into,
            moved_memberships: o.moved_memberships,
            cancelled_memberships: o.cancelled_memberships,
            moved_identifiers: o.moved_identifiers,
            undone: o.undone,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}
