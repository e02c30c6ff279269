//! Who may do what, where: the one authorization policy.
//!
//! An office-bearer holds **posts**; a post is a [`Role`] held at a unit for a wing. Its scope is
//! the unit's subtree in that wing (a state admin's is everything, every wing). A caller's scope is
//! the union of their posts' scopes, and an action on a record is allowed when one post both
//! covers the record's unit and wing and has a role that may do the action ([`role_may`]).
//! Everything not allowed here is denied.

use crate::geo::{Ancestors, UnitKind};
use std::collections::BTreeSet;

/// An office-bearer's role; the codes are a contract (`--post ROLE@UNIT[:WING]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    StateAdmin,
    /// Mandal prabhari.
    DivisionIncharge,
    DistrictPresident,
    AcIncharge,
    SectorIncharge,
    BoothPresident,
    FederationOfficer,
    VolunteerCommander,
    Volunteer,
    /// Self-service only: a member's own data.
    Member,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::StateAdmin,
        Role::DivisionIncharge,
        Role::DistrictPresident,
        Role::AcIncharge,
        Role::SectorIncharge,
        Role::BoothPresident,
        Role::FederationOfficer,
        Role::VolunteerCommander,
        Role::Volunteer,
        Role::Member,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::StateAdmin => "state-admin",
            Role::DivisionIncharge => "division-incharge",
            Role::DistrictPresident => "district-president",
            Role::AcIncharge => "ac-incharge",
            Role::SectorIncharge => "sector-incharge",
            Role::BoothPresident => "booth-president",
            Role::FederationOfficer => "federation-officer",
            Role::VolunteerCommander => "volunteer-commander",
            Role::Volunteer => "volunteer",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim().to_ascii_lowercase();
        Role::ALL.into_iter().find(|r| r.code() == s)
    }

    /// The unit kinds a post of this role is held at.
    pub fn held_at(self) -> &'static [UnitKind] {
        use UnitKind::*;
        match self {
            Role::StateAdmin => &[State],
            Role::DivisionIncharge => &[Division],
            Role::DistrictPresident => &[District],
            Role::AcIncharge => &[Ac],
            Role::SectorIncharge => &[Sector],
            Role::BoothPresident => &[Booth],
            // Frontal organisations and the volunteer force are organised at any level.
            Role::FederationOfficer | Role::VolunteerCommander | Role::Volunteer => {
                &[State, Division, District, Pc, Ac, Sector, Booth]
            }
            Role::Member => &[Booth, Ac],
        }
    }
}

/// What a request does. Every route and command that touches data names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// A unit's name, children and progress figures (no personal data).
    ViewUnit,
    /// Members' records: lists, searches, one member.
    ViewMembers,
    /// Enrol a member.
    Enrol,
    /// Export members to a file.
    Export,
    /// Import a sheet of members.
    Import,
    /// Review duplicates, merge and unmerge people.
    Merge,
    /// Create campaigns and set targets.
    ManageCampaigns,
    /// Replace booth lists.
    ManageBooths,
    /// Appoint office-bearers, add users, disable them.
    ManageUsers,
    /// Read the audit log.
    ViewAudit,
    /// Erase a member's data on request (the member themself goes through self-service).
    Erase,
    /// Aggregates of sensitive fields (category, religion), never below the minimum group size.
    ViewSensitiveAggregates,
    /// Meetings, their reports and compliance within the scope.
    ViewMeetings,
    /// Create meeting series and meetings, move, cancel, set chairs, holidays, report chains.
    ManageMeetings,
    /// File a meeting's report.
    FileReport,
    /// Programmes, their duties and rosters within the scope.
    ViewProgrammes,
    /// Create programmes and duties, put volunteers on duties, record incidents.
    ManageProgrammes,
    /// Check volunteers in and out at a programme's venue.
    CheckIn,
    /// Post bulletins to the scope, and moderate comments on bulletins posted within it.
    PostBulletins,
    /// Follow-up lists of inactive workers: make them, assign them, see them.
    ManageFollowups,
    /// Verify or reject members (an office-bearer above the enroller: sector in-charge or higher).
    Verify,
}

impl Action {
    pub const ALL: [Action; 21] = [
        Action::ViewUnit,
        Action::ViewMembers,
        Action::Enrol,
        Action::Export,
        Action::Import,
        Action::Merge,
        Action::ManageCampaigns,
        Action::ManageBooths,
        Action::ManageUsers,
        Action::ViewAudit,
        Action::Erase,
        Action::ViewSensitiveAggregates,
        Action::ViewMeetings,
        Action::ManageMeetings,
        Action::FileReport,
        Action::ViewProgrammes,
        Action::ManageProgrammes,
        Action::CheckIn,
        Action::PostBulletins,
        Action::ManageFollowups,
        Action::Verify,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::ViewUnit => "view-unit",
            Action::ViewMembers => "view-members",
            Action::Enrol => "enrol",
            Action::Export => "export",
            Action::Import => "import",
            Action::Merge => "merge",
            Action::ManageCampaigns => "manage-campaigns",
            Action::ManageBooths => "manage-booths",
            Action::ManageUsers => "manage-users",
            Action::ViewAudit => "view-audit",
            Action::Erase => "erase",
            Action::ViewSensitiveAggregates => "view-sensitive-aggregates",
            Action::ViewMeetings => "view-meetings",
            Action::ManageMeetings => "manage-meetings",
            Action::FileReport => "file-report",
            Action::ViewProgrammes => "view-programmes",
            Action::ManageProgrammes => "manage-programmes",
            Action::CheckIn => "check-in",
            Action::PostBulletins => "post-bulletins",
            Action::ManageFollowups => "manage-followups",
            Action::Verify => "verify",
        }
    }
}

/// The policy table: may a post of `role` do `action` (within its scope)?
pub fn role_may(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match role {
        StateAdmin => true,
        DivisionIncharge | DistrictPresident => matches!(
            action,
            ViewUnit
                | ViewMembers
                | Enrol
                | Export
                | Import
                | Merge
                | ViewAudit
                | ViewSensitiveAggregates
                | ViewMeetings
                | ManageMeetings
                | FileReport
                | ViewProgrammes
                | ManageProgrammes
                | CheckIn
                | PostBulletins
                | ManageFollowups
                | Verify
        ),
        AcIncharge => matches!(
            action,
            ViewUnit
                | ViewMembers
                | Enrol
                | Export
                | Import
                | Merge
                | ViewMeetings
                | ManageMeetings
                | FileReport
                | ViewProgrammes
                | ManageProgrammes
                | CheckIn
                | PostBulletins
                | ManageFollowups
                | Verify
        ),
        // The federation's officers run its rotating meetings.
        FederationOfficer => matches!(
            action,
            ViewUnit
                | ViewMembers
                | Enrol
                | ViewMeetings
                | ManageMeetings
                | FileReport
                | ViewProgrammes
                | PostBulletins
        ),
        // A sector in-charge checks the members enrolled in the sector (the first level above
        // the booth workers who enrol them).
        SectorIncharge => matches!(
            action,
            ViewUnit
                | ViewMembers
                | Enrol
                | ViewMeetings
                | ManageMeetings
                | FileReport
                | ViewProgrammes
                | PostBulletins
                | ManageFollowups
                | Verify
        ),
        // Booth office-bearers call their own meetings and report them, and keep their workers
        // active.
        BoothPresident => matches!(
            action,
            ViewUnit
                | ViewMembers
                | Enrol
                | ViewMeetings
                | ManageMeetings
                | FileReport
                | ViewProgrammes
                | PostBulletins
                | ManageFollowups
        ),
        // The commander runs the force at programmes: duties, rosters, check-in, follow-ups.
        VolunteerCommander => matches!(
            action,
            ViewUnit
                | ViewMembers
                | Enrol
                | ViewMeetings
                | ViewProgrammes
                | ManageProgrammes
                | CheckIn
                | PostBulletins
                | ManageFollowups
        ),
        // Volunteers enrol door to door; they do not browse the membership.
        Volunteer => matches!(action, ViewUnit | Enrol),
        Member => false,
    }
}

/// Where a unit sits: enough to decide whether it lies inside another unit's subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub id: i64,
    pub kind: UnitKind,
    pub anc: Ancestors,
}

impl Place {
    /// Is `self` the unit `top` or inside its subtree?
    pub fn within(&self, top: i64) -> bool {
        self.id == top || self.anc.rollup(self.id).contains(&top)
    }
}

/// One post held now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub role: Role,
    pub unit: Place,
    pub wing_id: i64,
    /// How the audit log names the post: `ROLE@UNIT:WING`.
    pub label: String,
}

/// Which wings a caller may see at a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wings {
    All,
    Only(BTreeSet<i64>),
}

impl Wings {
    pub fn none() -> Wings {
        Wings::Only(BTreeSet::new())
    }
    pub fn is_none(&self) -> bool {
        matches!(self, Wings::Only(s) if s.is_empty())
    }
    pub fn contains(&self, wing_id: i64) -> bool {
        match self {
            Wings::All => true,
            Wings::Only(s) => s.contains(&wing_id),
        }
    }
    /// Narrow to one wing asked for; none if it is not visible.
    pub fn narrow(self, wing_id: Option<i64>) -> Wings {
        match wing_id {
            None => self,
            Some(w) if self.contains(w) => Wings::Only([w].into()),
            Some(_) => Wings::none(),
        }
    }
}

/// A caller's posts, as of this request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub posts: Vec<Post>,
}

impl Scope {
    pub fn new(posts: Vec<Post>) -> Scope {
        Scope { posts }
    }

    pub fn is_state_admin(&self) -> bool {
        self.posts.iter().any(|p| p.role == Role::StateAdmin)
    }

    /// May the caller do `action` on a record at `unit` in `wing_id`?
    pub fn allows(&self, action: Action, unit: &Place, wing_id: i64) -> bool {
        self.wings(action, unit).contains(wing_id)
    }

    /// The wings in which the caller may do `action` on records at `unit` (and so, since a post
    /// covers whole subtrees, anywhere below it). Nothing: the unit is outside the scope.
    pub fn wings(&self, action: Action, unit: &Place) -> Wings {
        let mut set = BTreeSet::new();
        for p in &self.posts {
            if !role_may(p.role, action) || !unit.within(p.unit.id) {
                continue;
            }
            if p.role == Role::StateAdmin {
                return Wings::All;
            }
            set.insert(p.wing_id);
        }
        Wings::Only(set)
    }

    /// The post under which the caller may do `action` at `unit` in `wing_id` (for the audit log).
    pub fn granting(&self, action: Action, unit: &Place, wing_id: Option<i64>) -> Option<&Post> {
        self.posts.iter().find(|p| {
            role_may(p.role, action)
                && unit.within(p.unit.id)
                && (p.role == Role::StateAdmin || wing_id.is_none_or(|w| w == p.wing_id))
        })
    }

    /// Every post's label, for an audit event that names no unit.
    pub fn labels(&self) -> Option<String> {
        (!self.posts.is_empty()).then(|| {
            self.posts
                .iter()
                .map(|p| p.label.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
    }

    /// May the caller do `action` somewhere (to offer a command or a menu at all)?
    pub fn may_somewhere(&self, action: Action) -> bool {
        self.posts.iter().any(|p| role_may(p.role, action))
    }

    /// The wings in which some post may do `action` somewhere (every wing for a state admin):
    /// for what belongs to a wing rather than to a unit, like its talking points.
    pub fn wings_for(&self, action: Action) -> Wings {
        if self.is_state_admin() {
            return Wings::All;
        }
        Wings::Only(self.posts.iter().filter(|p| role_may(p.role, action)).map(|p| p.wing_id).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(id: i64, kind: UnitKind, anc: Ancestors) -> Place {
        Place { id, kind, anc }
    }

    /// UP(1) > division 2 > district 3 > AC 5 (PC 4) > sector 6 > booth 7; a sibling booth 8 in
    /// sector 6; another division 9 with AC 10.
    fn tree() -> Vec<Place> {
        let a = |division, district, pc, ac, sector| Ancestors {
            state: Some(1),
            division,
            district,
            pc,
            ac,
            sector,
        };
        vec![
            place(
                1,
                UnitKind::State,
                Ancestors {
                    state: Some(1),
                    ..Default::default()
                },
            ),
            place(2, UnitKind::Division, a(Some(2), None, None, None, None)),
            place(3, UnitKind::District, a(Some(2), Some(3), None, None, None)),
            place(5, UnitKind::Ac, a(Some(2), Some(3), Some(4), Some(5), None)),
            place(
                6,
                UnitKind::Sector,
                a(Some(2), Some(3), Some(4), Some(5), Some(6)),
            ),
            place(
                7,
                UnitKind::Booth,
                a(Some(2), Some(3), Some(4), Some(5), Some(6)),
            ),
            place(
                8,
                UnitKind::Booth,
                a(Some(2), Some(3), Some(4), Some(5), Some(6)),
            ),
            place(
                10,
                UnitKind::Ac,
                a(Some(9), Some(11), Some(12), Some(10), None),
            ),
        ]
    }

    fn at(id: i64) -> Place {
        tree().into_iter().find(|p| p.id == id).unwrap()
    }

    #[test]
    fn role_codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.code()), Some(r));
        }
        assert_eq!(Role::parse("AC-Incharge"), Some(Role::AcIncharge));
        assert_eq!(Role::parse("president"), None);
    }

    #[test]
    fn a_sector_incharge_sees_its_booths_in_its_wing_only() {
        let s = Scope::new(vec![Post {
            role: Role::SectorIncharge,
            unit: at(6),
            wing_id: 1,
            label: String::new(),
        }]);
        assert!(s.allows(Action::ViewMembers, &at(7), 1));
        assert!(s.allows(Action::ViewMembers, &at(8), 1));
        assert!(!s.allows(Action::ViewMembers, &at(7), 2), "another wing");
        assert!(!s.allows(Action::ViewMembers, &at(5), 1), "the AC above");
        assert!(
            !s.allows(Action::ViewMembers, &at(10), 1),
            "another division"
        );
        assert!(
            !s.allows(Action::Export, &at(7), 1),
            "sector in-charges do not export"
        );
    }

    #[test]
    fn posts_unite_and_the_state_admin_sees_every_wing() {
        let s = Scope::new(vec![
            Post {
                role: Role::BoothPresident,
                unit: at(7),
                wing_id: 1,
                label: String::new(),
            },
            Post {
                role: Role::FederationOfficer,
                unit: at(10),
                wing_id: 3,
                label: String::new(),
            },
        ]);
        assert_eq!(
            s.wings(Action::ViewMembers, &at(7)),
            Wings::Only([1].into())
        );
        assert_eq!(
            s.wings(Action::ViewMembers, &at(10)),
            Wings::Only([3].into())
        );
        assert!(s.wings(Action::ViewMembers, &at(8)).is_none());
        let admin = Scope::new(vec![Post {
            role: Role::StateAdmin,
            unit: at(1),
            wing_id: 1,
            label: String::new(),
        }]);
        for p in tree() {
            assert_eq!(admin.wings(Action::ManageUsers, &p), Wings::All);
        }
        assert!(
            Scope::default().wings(Action::ViewUnit, &at(1)).is_none(),
            "deny by default"
        );
    }

    #[test]
    fn members_and_volunteers_do_not_browse() {
        for a in Action::ALL {
            assert!(!role_may(Role::Member, a));
        }
        assert!(role_may(Role::Volunteer, Action::Enrol));
        assert!(!role_may(Role::Volunteer, Action::ViewMembers));
    }

    #[test]
    fn narrowing_to_a_wing() {
        let w = Wings::Only([1, 2].into());
        assert_eq!(w.clone().narrow(Some(2)), Wings::Only([2].into()));
        assert!(w.clone().narrow(Some(3)).is_none());
        assert_eq!(w.clone().narrow(None), w);
        assert_eq!(Wings::All.narrow(Some(4)), Wings::Only([4].into()));
    }
}
