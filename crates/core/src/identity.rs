//! The identity rule: who an enrolment (or an import row, or a synced offline entry) refers to.
//!
//! 1. An EPIC belongs to exactly one person: a known EPIC identifies the person, whatever the name says.
//! 2. Without a known EPIC, a person is found by mobile **and** name key; the same mobile with another
//!    name is another member of the household sharing the phone, up to a limit per mobile.
//! 3. A match adds an identifier the person lacks; identifiers that disagree with the matched record
//!    are a conflict, and nothing is written.
//!
//! A record merged into another person keeps its mobile (unless the person it joined now holds
//! the same mobile and name key): its mobile and name still name that person, so the same row
//! imported again, or the same enrolment sent again, finds them instead of making the duplicate
//! anew. It no longer counts in the household.

use crate::error::FieldError;
use crate::ids::{Epic, Mobile};

/// People who may share one mobile, unless configured otherwise.
pub const DEFAULT_HOUSEHOLD_LIMIT: usize = 5;

/// A person already on record, as far as identity is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub person_id: i64,
    pub name_key: String,
    pub mobile: Option<Mobile>,
    pub epic: Option<Epic>,
}

/// What an incoming enrolment says about the person.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub name_key: &'a str,
    pub mobile: Option<&'a Mobile>,
    pub epic: Option<&'a Epic>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An existing person; add the identifiers they lack.
    Existing {
        person_id: i64,
        add_mobile: Option<Mobile>,
        add_epic: Option<Epic>,
    },
    /// A new person.
    New,
}

fn conflict(field: &str, en: &str, hi: &str) -> FieldError {
    FieldError::new(field, "identity_conflict", en, hi)
}

fn household_full(limit: usize) -> FieldError {
    FieldError::new(
        "mobile",
        "household_limit",
        format!("{limit} people already share this mobile number; no more can be enrolled on it"),
        format!("इस मोबाइल नंबर पर पहले से {limit} लोग दर्ज हैं; इस पर और सदस्य नहीं जोड़े जा सकते"),
    )
}

/// A record merged into another person, on the claimed mobile: its name key, and the person it
/// now belongs to (at the end of any chain of merges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub name_key: String,
    pub into: Known,
}

/// Decide who `claim` refers to.
///
/// * `by_epic`: the person holding the claimed EPIC, if the claim has one and it is known;
/// * `on_mobile`: everyone on record with the claimed mobile (empty when the claim has none).
pub fn decide(
    claim: Claim<'_>,
    by_epic: Option<&Known>,
    on_mobile: &[Known],
    household_limit: usize,
) -> Result<Decision, FieldError> {
    decide_with_merged(claim, by_epic, on_mobile, &[], household_limit)
}

/// [`decide`], with `merged`: the records merged into other people that hold the claimed mobile
/// (see the module's documentation).
pub fn decide_with_merged(
    claim: Claim<'_>,
    by_epic: Option<&Known>,
    on_mobile: &[Known],
    merged: &[Merged],
    household_limit: usize,
) -> Result<Decision, FieldError> {
    if claim.mobile.is_none() && claim.epic.is_none() {
        return Err(FieldError::new(
            "mobile",
            "identifier_required",
            "a mobile number or an EPIC (voter ID) is required",
            "मोबाइल नंबर या EPIC (वोटर आईडी) में से कम से कम एक आवश्यक है",
        ));
    }
    // The person the mobile and name point to, if any: someone holding them, or the person a
    // record holding them was merged into.
    let by_mobile_name = on_mobile
        .iter()
        .find(|k| k.name_key == claim.name_key)
        .or_else(|| merged.iter().find(|r| r.name_key == claim.name_key).map(|r| &r.into));

    if let Some(p) = by_epic {
        if let Some(q) = by_mobile_name
            && q.person_id != p.person_id
        {
            return Err(conflict(
                "epic",
                "this EPIC belongs to one person and this mobile and name to another",
                "यह EPIC एक व्यक्ति का है और यह मोबाइल व नाम किसी दूसरे व्यक्ति का",
            ));
        }
        let Some(m) = claim.mobile else {
            return Ok(Decision::Existing {
                person_id: p.person_id,
                add_mobile: None,
                add_epic: None,
            });
        };
        // The mobile and name of a record merged into this person: theirs, though not on
        // their own record.
        let merged_here = by_mobile_name.is_some_and(|q| q.person_id == p.person_id);
        return match &p.mobile {
            Some(pm) if pm == m || merged_here => Ok(Decision::Existing {
                person_id: p.person_id,
                add_mobile: None,
                add_epic: None,
            }),
            None if merged_here => Ok(Decision::Existing {
                person_id: p.person_id,
                add_mobile: None,
                add_epic: None,
            }),
            Some(_) => Err(conflict(
                "mobile",
                "this EPIC belongs to a person with a different mobile number on record",
                "यह EPIC ऐसे व्यक्ति का है जिसका दर्ज मोबाइल नंबर अलग है",
            )),
            None => {
                // Adding the mobile must not make two people share one mobile and name,
                // nor push the household over its limit.
                if on_mobile.iter().any(|k| k.name_key == p.name_key) || merged.iter().any(|r| r.name_key == p.name_key) {
                    return Err(conflict(
                        "mobile",
                        "another person with this name is already on record with this mobile",
                        "इस नाम का दूसरा व्यक्ति इस मोबाइल के साथ पहले से दर्ज है",
                    ));
                }
                if on_mobile.len() >= household_limit {
                    return Err(household_full(household_limit));
                }
                Ok(Decision::Existing {
                    person_id: p.person_id,
                    add_mobile: Some(m.clone()),
                    add_epic: None,
                })
            }
        };
    }

    if let Some(q) = by_mobile_name {
        return match (&q.epic, claim.epic) {
            // The claimed EPIC is not known (or `by_epic` would be set), so any EPIC on record differs.
            (Some(_), Some(_)) => Err(conflict(
                "epic",
                "this mobile and name belong to a person with a different EPIC on record",
                "यह मोबाइल और नाम ऐसे व्यक्ति के हैं जिसका दर्ज EPIC अलग है",
            )),
            (None, Some(e)) => Ok(Decision::Existing {
                person_id: q.person_id,
                add_mobile: None,
                add_epic: Some(e.clone()),
            }),
            (_, None) => Ok(Decision::Existing {
                person_id: q.person_id,
                add_mobile: None,
                add_epic: None,
            }),
        };
    }

    if claim.mobile.is_some() && on_mobile.len() >= household_limit {
        return Err(household_full(household_limit));
    }
    Ok(Decision::New)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Mobile {
        Mobile::parse(s).unwrap()
    }
    fn e(s: &str) -> Epic {
        Epic::parse(s).unwrap()
    }
    fn known(id: i64, key: &str, mobile: Option<&str>, epic: Option<&str>) -> Known {
        Known {
            person_id: id,
            name_key: key.into(),
            mobile: mobile.map(m),
            epic: epic.map(e),
        }
    }

    #[test]
    fn new_person_and_household() {
        let mob = m("9839012345");
        let claim = Claim {
            name_key: "sita",
            mobile: Some(&mob),
            epic: None,
        };
        assert_eq!(decide(claim, None, &[], 5).unwrap(), Decision::New);
        let ram = known(1, "ram", Some("9839012345"), None);
        assert_eq!(
            decide(claim, None, std::slice::from_ref(&ram), 5).unwrap(),
            Decision::New
        );
        let full: Vec<Known> = (0..5)
            .map(|i| known(i, &format!("p{i}"), Some("9839012345"), None))
            .collect();
        assert_eq!(
            decide(claim, None, &full, 5).unwrap_err().code,
            "household_limit"
        );
        // The same name on the same phone is the same person, even in a full household.
        let claim_p0 = Claim {
            name_key: "p0",
            ..claim
        };
        assert!(matches!(
            decide(claim_p0, None, &full, 5).unwrap(),
            Decision::Existing { person_id: 0, .. }
        ));
    }

    #[test]
    fn epic_identifies_whatever_the_name() {
        let epic = e("ABC1234567");
        let p = known(7, "ram", None, Some("ABC1234567"));
        let claim = Claim {
            name_key: "raam",
            mobile: None,
            epic: Some(&epic),
        };
        assert_eq!(
            decide(claim, Some(&p), &[], 5).unwrap(),
            Decision::Existing {
                person_id: 7,
                add_mobile: None,
                add_epic: None
            }
        );
        let mob = m("9839012345");
        let claim = Claim {
            name_key: "raam",
            mobile: Some(&mob),
            epic: Some(&epic),
        };
        assert_eq!(
            decide(claim, Some(&p), &[], 5).unwrap(),
            Decision::Existing {
                person_id: 7,
                add_mobile: Some(mob.clone()),
                add_epic: None
            }
        );
        let p2 = known(7, "ram", Some("9000000000"), Some("ABC1234567"));
        assert_eq!(
            decide(claim, Some(&p2), &[], 5).unwrap_err().code,
            "identity_conflict"
        );
    }

    #[test]
    fn mobile_and_name_match_adds_epic_or_conflicts() {
        let mob = m("9839012345");
        let epic = e("ABC1234567");
        let q = known(3, "ram", Some("9839012345"), None);
        let claim = Claim {
            name_key: "ram",
            mobile: Some(&mob),
            epic: Some(&epic),
        };
        assert_eq!(
            decide(claim, None, std::slice::from_ref(&q), 5).unwrap(),
            Decision::Existing {
                person_id: 3,
                add_mobile: None,
                add_epic: Some(epic.clone())
            }
        );
        let q2 = known(3, "ram", Some("9839012345"), Some("XYZ7654321"));
        assert_eq!(
            decide(claim, None, &[q2], 5).unwrap_err().code,
            "identity_conflict"
        );
    }

    #[test]
    fn epic_of_one_and_mobile_name_of_another() {
        let mob = m("9839012345");
        let epic = e("ABC1234567");
        let ram = known(1, "ram", Some("9839012345"), Some("ABC1234567"));
        let sita = known(2, "sita", Some("9839012345"), None);
        let claim = Claim {
            name_key: "sita",
            mobile: Some(&mob),
            epic: Some(&epic),
        };
        assert_eq!(
            decide(claim, Some(&ram), &[ram.clone(), sita], 5)
                .unwrap_err()
                .code,
            "identity_conflict"
        );
    }

    #[test]
    fn a_merged_record_s_mobile_and_name_find_the_person_it_joined() {
        let mob = m("9839012345");
        let epic = e("ABC1234567");
        // "Ram Prakash" (9839012345) was merged into "राम प्रकाश" (another mobile, an EPIC).
        let into = known(9, "राम प्रकाश", Some("9000000000"), Some("ABC1234567"));
        let merged = [Merged { name_key: "ram prakash".into(), into: into.clone() }];
        let same = Decision::Existing { person_id: 9, add_mobile: None, add_epic: None };
        let claim = Claim { name_key: "ram prakash", mobile: Some(&mob), epic: None };
        assert_eq!(decide(claim, None, &[], 5).unwrap(), Decision::New);
        assert_eq!(decide_with_merged(claim, None, &[], &merged, 5).unwrap(), same);
        // With the EPIC too: the person's, though their own mobile differs.
        let claim = Claim { epic: Some(&epic), ..claim };
        assert_eq!(decide_with_merged(claim, Some(&into), &[], &merged, 5).unwrap(), same);
        // Another EPIC is a conflict, as for the person's own mobile and name.
        let other = e("XYZ7654321");
        let claim = Claim { epic: Some(&other), ..claim };
        assert_eq!(decide_with_merged(claim, None, &[], &merged, 5).unwrap_err().code, "identity_conflict");
        // Another name on that mobile is another member of the household; the merged record
        // does not count in it.
        let full: Vec<Known> = (0..4).map(|i| known(i, &format!("p{i}"), Some("9839012345"), None)).collect();
        let claim = Claim { name_key: "sita", mobile: Some(&mob), epic: None };
        assert_eq!(decide_with_merged(claim, None, &full, &merged, 5).unwrap(), Decision::New);
        // A person without a mobile, found by EPIC, is not given one that a merged record holds
        // under their name key (it would be that record's mobile and name twice).
        let lacks = known(4, "ram prakash", None, Some("ABC1234567"));
        let claim = Claim { name_key: "ram", mobile: Some(&mob), epic: Some(&epic) };
        assert_eq!(decide_with_merged(claim, Some(&lacks), &[], &merged, 5).unwrap_err().code, "identity_conflict");
        // ... and is the person, with nothing added, when that record was merged into them.
        let merged_into_them = [Merged { name_key: "ram prakash".into(), into: lacks.clone() }];
        let claim = Claim { name_key: "ram prakash", ..claim };
        assert_eq!(
            decide_with_merged(claim, Some(&lacks), &[], &merged_into_them, 5).unwrap(),
            Decision::Existing { person_id: 4, add_mobile: None, add_epic: None }
        );
    }

    #[test]
    fn needs_an_identifier() {
        let claim = Claim {
            name_key: "ram",
            mobile: None,
            epic: None,
        };
        assert_eq!(
            decide(claim, None, &[], 5).unwrap_err().code,
            "identifier_required"
        );
    }
}
