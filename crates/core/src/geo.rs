//! The geography: unit kinds and codes, the tree, and a state preset loaded from data.
//!
//! Tree: state → division → district → assembly constituency (AC) → sector → booth, with
//! parliamentary constituencies (PCs) as a parallel grouping of ACs. A preset describes a state
//! entirely in data files (see `data/up/`); nothing here is specific to Uttar Pradesh.

use crate::error::FieldError;
use crate::rng::{SplitMix64, mix};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    State,
    Division,
    District,
    Pc,
    Ac,
    Sector,
    Booth,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::State => "state",
            UnitKind::Division => "division",
            UnitKind::District => "district",
            UnitKind::Pc => "pc",
            UnitKind::Ac => "ac",
            UnitKind::Sector => "sector",
            UnitKind::Booth => "booth",
        }
    }
    pub fn parse(s: &str) -> Option<UnitKind> {
        Some(match s {
            "state" => UnitKind::State,
            "division" => UnitKind::Division,
            "district" => UnitKind::District,
            "pc" => UnitKind::Pc,
            "ac" => UnitKind::Ac,
            "sector" => UnitKind::Sector,
            "booth" => UnitKind::Booth,
            _ => return None,
        })
    }
    /// Where a member can be enrolled: at a booth, or at an AC when the booth is unknown.
    pub fn can_hold_members(self) -> bool {
        matches!(self, UnitKind::Booth | UnitKind::Ac)
    }
}

/// A unit code such as `UP-AC-173-B0042`: stable, human-readable, matched case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode(String);

impl UnitCode {
    /// Upper-cases and checks the shape (letters, digits, single dashes; at most 80 characters).
    /// Whether the unit exists is the store's question.
    pub fn parse(input: &str) -> Result<UnitCode, FieldError> {
        let s = input.trim().to_ascii_uppercase();
        let ok = !s.is_empty()
            && s.len() <= 80
            && s.split('-').all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            })
            && s.as_bytes()[0].is_ascii_uppercase();
        if ok {
            Ok(UnitCode(s))
        } else {
            Err(FieldError::new(
                "unit",
                "invalid_unit_code",
                "not a unit code (for example UP-AC-173 or UP-AC-173-B0042)",
                "यह इकाई कोड नहीं है (उदाहरण: UP-AC-173 या UP-AC-173-B0042)",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn state(state: &str) -> UnitCode {
        UnitCode(state.to_ascii_uppercase())
    }
    pub fn division(state: &str, name_en: &str) -> UnitCode {
        UnitCode(format!(
            "{}-DIV-{}",
            state.to_ascii_uppercase(),
            slug(name_en)
        ))
    }
    pub fn district(state: &str, name_en: &str) -> UnitCode {
        UnitCode(format!(
            "{}-DT-{}",
            state.to_ascii_uppercase(),
            slug(name_en)
        ))
    }
    pub fn pc(state: &str, n: u32) -> UnitCode {
        UnitCode(format!("{}-PC-{n}", state.to_ascii_uppercase()))
    }
    pub fn ac(state: &str, n: u32) -> UnitCode {
        UnitCode(format!("{}-AC-{n}", state.to_ascii_uppercase()))
    }
    pub fn sector(state: &str, ac: u32, n: u32) -> UnitCode {
        UnitCode(format!("{}-AC-{ac}-S{n:02}", state.to_ascii_uppercase()))
    }
    pub fn booth(state: &str, ac: u32, part: u32) -> UnitCode {
        UnitCode(format!("{}-AC-{ac}-B{part:04}", state.to_ascii_uppercase()))
    }
}

impl TryFrom<String> for UnitCode {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        UnitCode::parse(&s)
    }
}
impl From<UnitCode> for String {
    fn from(c: UnitCode) -> String {
        c.0
    }
}
impl std::fmt::Display for UnitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The English name upper-cased, each run of non-letters turned into one `-`.
pub fn slug(name_en: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in name_en.chars() {
        if c.is_ascii_alphabetic() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_uppercase());
        } else {
            dash = true;
        }
    }
    out
}

/// The ids of a unit's ancestors (and of itself at its own level): what its counts roll up into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ancestors {
    pub state: Option<i64>,
    pub division: Option<i64>,
    pub district: Option<i64>,
    pub pc: Option<i64>,
    pub ac: Option<i64>,
    pub sector: Option<i64>,
}

impl Ancestors {
    /// Every unit an enrolment at `unit_id` counts in: the unit itself and all its ancestors,
    /// the parallel PC included, in ascending id order (a fixed lock order for writers).
    pub fn rollup(&self, unit_id: i64) -> Vec<i64> {
        let mut v: Vec<i64> = [
            Some(unit_id),
            self.state,
            self.division,
            self.district,
            self.pc,
            self.ac,
            self.sector,
        ]
        .into_iter()
        .flatten()
        .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// One unit of a geography, with ids assigned in tree order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitSpec {
    pub id: i64,
    pub code: UnitCode,
    pub kind: UnitKind,
    pub parent_id: Option<i64>,
    /// AC, PC, sector or part number; none above.
    pub number: Option<i32>,
    pub name_en: String,
    pub name_hi: Option<String>,
    /// GEN, SC or ST for ACs and PCs.
    pub reserved: Option<String>,
    pub anc: Ancestors,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WingSpec {
    pub code: String,
    pub name_en: String,
    pub name_hi: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignSpec {
    pub code: String,
    pub name_en: String,
    pub name_hi: String,
    pub wing: String,
    pub target_per_ac: i64,
    pub days: i64,
    /// What drives its percentage and pacing: `verified` (the default) or `achieved`.
    pub counts: crate::verification::Drive,
}

/// A booth of an AC as a real list gives it (or as the generator makes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoothRow {
    pub ac_no: u32,
    pub part_no: u32,
    pub name: String,
    pub sector: Option<u32>,
}

/// The files a preset is made of, as text.
#[derive(Debug, Clone, Copy)]
pub struct PresetFiles<'a> {
    /// code,name_en,name_hi,booth_seed,booths_min,booths_max
    pub state: &'a str,
    /// division_en,division_hi,district_en,district_hi
    pub divisions: &'a str,
    /// ac_no,ac_name_en,ac_name_hi,reserved,district_en,district_hi,pc_no,pc_name_en,division_en
    pub acs: &'a str,
    /// pc_no,pc_name_en,pc_name_hi,reserved,...
    pub pcs: &'a str,
    /// code,name_en,name_hi
    pub wings: &'a str,
    /// code,name_en,name_hi,wing,target_per_ac,days
    pub campaigns: &'a str,
}

/// A whole state described by data: its geography (booths generated unless a list is given),
/// its wings and its default campaign.
#[derive(Debug, Clone)]
pub struct Preset {
    pub state_code: String,
    pub units: Vec<UnitSpec>,
    pub wings: Vec<WingSpec>,
    pub campaigns: Vec<CampaignSpec>,
}

#[derive(Debug, thiserror::Error)]
#[error("preset file {file}: {msg}")]
pub struct PresetError {
    pub file: &'static str,
    pub msg: String,
}

fn rows(file: &'static str, text: &str) -> Result<Vec<HashMap<String, String>>, PresetError> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| PresetError {
            file,
            msg: e.to_string(),
        })?
        .clone();
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| PresetError {
            file,
            msg: e.to_string(),
        })?;
        out.push(
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect(),
        );
    }
    Ok(out)
}

fn col<'a>(
    file: &'static str,
    r: &'a HashMap<String, String>,
    name: &str,
) -> Result<&'a str, PresetError> {
    r.get(name).map(|s| s.as_str()).ok_or_else(|| PresetError {
        file,
        msg: format!("missing column {name}"),
    })
}

fn num<T: std::str::FromStr>(
    file: &'static str,
    r: &HashMap<String, String>,
    name: &str,
) -> Result<T, PresetError> {
    let v = col(file, r, name)?;
    v.parse().map_err(|_| PresetError {
        file,
        msg: format!("column {name}: not a number: {v:?}"),
    })
}

fn opt(s: &str) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s.to_string())
    }
}

/// How many synthetic booths an AC gets: deterministic from the seed and the AC number.
pub fn synthetic_booth_count(seed: u64, ac_no: u32, min: u32, max: u32) -> u32 {
    let mut r = SplitMix64::new(mix(&[seed, ac_no as u64]));
    r.range(min as u64, max as u64) as u32
}

/// Sizes of the sectors that `n` consecutive booths fall into: 10–12 booths each wherever
/// `n` allows it (any n ≥ 50 does), chosen deterministically from `salt`.
pub fn sector_sizes(n: u32, salt: u64) -> Vec<u32> {
    if n == 0 {
        return Vec::new();
    }
    let lo = n.div_ceil(12).max(1);
    let hi = (n / 10).max(lo);
    let k = lo + (mix(&[salt, n as u64]) % (hi - lo + 1) as u64) as u32;
    let base = n / k;
    let extra = n % k;
    // Spread the larger sectors deterministically rather than all at the front.
    let mut sizes = vec![base; k as usize];
    let mut r = SplitMix64::new(mix(&[salt, 0x5EC7]));
    let mut idx: Vec<usize> = (0..k as usize).collect();
    for i in (1..idx.len()).rev() {
        let j = (r.next_u64() % (i as u64 + 1)) as usize;
        idx.swap(i, j);
    }
    for &i in idx.iter().take(extra as usize) {
        sizes[i] += 1;
    }
    sizes
}

impl Preset {
    /// Parse a preset; booths are generated (see [`synthetic_booth_count`]) unless `booths` lists them.
    pub fn parse(
        files: PresetFiles<'_>,
        booths: Option<&[BoothRow]>,
    ) -> Result<Preset, PresetError> {
        let st = rows("state.csv", files.state)?;
        let st = st.first().ok_or(PresetError {
            file: "state.csv",
            msg: "no state row".into(),
        })?;
        let code = col("state.csv", st, "code")?.to_ascii_uppercase();
        let seed: u64 = num("state.csv", st, "booth_seed")?;
        let bmin: u32 = num("state.csv", st, "booths_min")?;
        let bmax: u32 = num("state.csv", st, "booths_max")?;
        if bmin == 0 || bmin > bmax {
            return Err(PresetError {
                file: "state.csv",
                msg: "booths_min must be ≥ 1 and ≤ booths_max".into(),
            });
        }
        let mut units: Vec<UnitSpec> = Vec::new();
        let push = |units: &mut Vec<UnitSpec>, mut u: UnitSpec| -> i64 {
            u.id = units.len() as i64 + 1;
            let id = u.id;
            units.push(u);
            id
        };
        let state_id = push(
            &mut units,
            UnitSpec {
                id: 0,
                code: UnitCode::state(&code),
                kind: UnitKind::State,
                parent_id: None,
                number: None,
                name_en: col("state.csv", st, "name_en")?.into(),
                name_hi: opt(col("state.csv", st, "name_hi")?),
                reserved: None,
                anc: Ancestors::default(),
            },
        );

        // Divisions and districts, in file order.
        let mut divisions: BTreeMap<String, i64> = BTreeMap::new();
        let mut districts: HashMap<String, (i64, i64)> = HashMap::new();
        for r in rows("divisions.csv", files.divisions)? {
            let dv = col("divisions.csv", &r, "division_en")?.to_string();
            let dv_id = match divisions.get(&dv) {
                Some(&id) => id,
                None => {
                    let id = push(
                        &mut units,
                        UnitSpec {
                            id: 0,
                            code: UnitCode::division(&code, &dv),
                            kind: UnitKind::Division,
                            parent_id: Some(state_id),
                            number: None,
                            name_en: dv.clone(),
                            name_hi: opt(col("divisions.csv", &r, "division_hi")?),
                            reserved: None,
                            anc: Ancestors {
                                state: Some(state_id),
                                ..Default::default()
                            },
                        },
                    );
                    divisions.insert(dv.clone(), id);
                    id
                }
            };
            let dt = col("divisions.csv", &r, "district_en")?.to_string();
            let id = push(
                &mut units,
                UnitSpec {
                    id: 0,
                    code: UnitCode::district(&code, &dt),
                    kind: UnitKind::District,
                    parent_id: Some(dv_id),
                    number: None,
                    name_en: dt.clone(),
                    name_hi: opt(col("divisions.csv", &r, "district_hi")?),
                    reserved: None,
                    anc: Ancestors {
                        state: Some(state_id),
                        division: Some(dv_id),
                        ..Default::default()
                    },
                },
            );
            if districts.insert(dt.clone(), (dv_id, id)).is_some() {
                return Err(PresetError {
                    file: "divisions.csv",
                    msg: format!("district {dt} listed twice"),
                });
            }
        }

        let mut pcs: HashMap<u32, i64> = HashMap::new();
        for r in rows("parliamentary_constituencies.csv", files.pcs)? {
            let n: u32 = num("parliamentary_constituencies.csv", &r, "pc_no")?;
            let id = push(
                &mut units,
                UnitSpec {
                    id: 0,
                    code: UnitCode::pc(&code, n),
                    kind: UnitKind::Pc,
                    parent_id: Some(state_id),
                    number: Some(n as i32),
                    name_en: col("parliamentary_constituencies.csv", &r, "pc_name_en")?.into(),
                    name_hi: opt(col("parliamentary_constituencies.csv", &r, "pc_name_hi")?),
                    reserved: opt(col("parliamentary_constituencies.csv", &r, "reserved")?),
                    anc: Ancestors {
                        state: Some(state_id),
                        ..Default::default()
                    },
                },
            );
            pcs.insert(n, id);
        }

        let mut by_ac: BTreeMap<u32, Vec<&BoothRow>> = BTreeMap::new();
        if let Some(list) = booths {
            for b in list {
                by_ac.entry(b.ac_no).or_default().push(b);
            }
        }
        let acs = rows("assembly_constituencies.csv", files.acs)?;
        let mut seen = std::collections::HashSet::new();
        for r in &acs {
            let f = "assembly_constituencies.csv";
            let n: u32 = num(f, r, "ac_no")?;
            if !seen.insert(n) {
                return Err(PresetError {
                    file: f,
                    msg: format!("AC {n} listed twice"),
                });
            }
            let dt = col(f, r, "district_en")?;
            let &(dv_id, dt_id) = districts.get(dt).ok_or_else(|| PresetError {
                file: f,
                msg: format!("AC {n}: unknown district {dt}"),
            })?;
            let pc_no: u32 = num(f, r, "pc_no")?;
            let pc_id = *pcs.get(&pc_no).ok_or_else(|| PresetError {
                file: f,
                msg: format!("AC {n}: unknown PC {pc_no}"),
            })?;
            let anc = Ancestors {
                state: Some(state_id),
                division: Some(dv_id),
                district: Some(dt_id),
                pc: Some(pc_id),
                ..Default::default()
            };
            let ac_id = push(
                &mut units,
                UnitSpec {
                    id: 0,
                    code: UnitCode::ac(&code, n),
                    kind: UnitKind::Ac,
                    parent_id: Some(dt_id),
                    number: Some(n as i32),
                    name_en: col(f, r, "ac_name_en")?.into(),
                    name_hi: opt(col(f, r, "ac_name_hi")?),
                    reserved: opt(col(f, r, "reserved")?),
                    anc,
                },
            );
            let generated;
            let list: Vec<BoothRow> = match by_ac.get(&n) {
                Some(rows) => rows.iter().map(|b| (*b).clone()).collect(),
                None => {
                    generated = synthetic_booths(seed, n, bmin, bmax);
                    generated
                }
            };
            let mut bu = booth_units(&code, n, ac_id, anc, &list, seed);
            assign_ids(&mut bu, units.len() as i64 + 1);
            units.extend(bu);
        }

        let wings = rows("wings.csv", files.wings)?
            .iter()
            .map(|r| {
                Ok(WingSpec {
                    code: col("wings.csv", r, "code")?.into(),
                    name_en: col("wings.csv", r, "name_en")?.into(),
                    name_hi: col("wings.csv", r, "name_hi")?.into(),
                })
            })
            .collect::<Result<Vec<_>, PresetError>>()?;
        let campaigns = rows("campaigns.csv", files.campaigns)?
            .iter()
            .map(|r| {
                let f = "campaigns.csv";
                let c = CampaignSpec {
                    code: col(f, r, "code")?.into(),
                    name_en: col(f, r, "name_en")?.into(),
                    name_hi: col(f, r, "name_hi")?.into(),
                    wing: col(f, r, "wing")?.into(),
                    target_per_ac: num(f, r, "target_per_ac")?,
                    days: num(f, r, "days")?,
                    counts: crate::verification::Drive::parse(r.get("counts").map(String::as_str).unwrap_or(""))
                        .map_err(|e| PresetError { file: f, msg: e.en })?,
                };
                if !wings.iter().any(|w| w.code == c.wing) {
                    return Err(PresetError {
                        file: f,
                        msg: format!("campaign {}: unknown wing {}", c.code, c.wing),
                    });
                }
                Ok(c)
            })
            .collect::<Result<Vec<_>, PresetError>>()?;
        Ok(Preset {
            state_code: code,
            units,
            wings,
            campaigns,
        })
    }

    pub fn count(&self, kind: UnitKind) -> usize {
        self.units.iter().filter(|u| u.kind == kind).count()
    }
}

/// The synthetic booth list of one AC: part numbers 1..n, no sector given.
pub fn synthetic_booths(seed: u64, ac_no: u32, min: u32, max: u32) -> Vec<BoothRow> {
    let n = synthetic_booth_count(seed, ac_no, min, max);
    (1..=n)
        .map(|p| BoothRow {
            ac_no,
            part_no: p,
            name: format!("Polling station {p} (synthetic)"),
            sector: None,
        })
        .collect()
}

/// Sectors and booths of one AC from its booth list (ids left 0 for the caller to assign).
/// Booths with a sector number keep it; otherwise consecutive booths are grouped by [`sector_sizes`].
/// Sectors come first, each followed by its booths, so ancestors can be filled in one pass.
pub fn booth_units(
    state: &str,
    ac_no: u32,
    ac_id: i64,
    ac_anc: Ancestors,
    booths: &[BoothRow],
    seed: u64,
) -> Vec<UnitSpec> {
    let mut sorted: Vec<&BoothRow> = booths.iter().collect();
    sorted.sort_by_key(|b| b.part_no);
    let mut groups: BTreeMap<u32, Vec<&BoothRow>> = BTreeMap::new();
    if sorted.iter().all(|b| b.sector.is_some()) {
        for b in &sorted {
            groups.entry(b.sector.unwrap()).or_default().push(b);
        }
    } else {
        let mut it = sorted.iter();
        for (i, size) in sector_sizes(sorted.len() as u32, mix(&[seed, ac_no as u64, 7]))
            .into_iter()
            .enumerate()
        {
            groups.insert(
                i as u32 + 1,
                it.by_ref().take(size as usize).copied().collect(),
            );
        }
    }
    let mut out = Vec::with_capacity(booths.len() + groups.len());
    for (s, list) in groups {
        out.push(UnitSpec {
            id: 0,
            code: UnitCode::sector(state, ac_no, s),
            kind: UnitKind::Sector,
            parent_id: Some(ac_id),
            number: Some(s as i32),
            name_en: format!("Sector {s}"),
            name_hi: Some(format!("सेक्टर {s}")),
            reserved: None,
            anc: Ancestors {
                ac: Some(ac_id),
                ..ac_anc
            },
        });
        for b in list {
            out.push(UnitSpec {
                id: 0,
                code: UnitCode::booth(state, ac_no, b.part_no),
                kind: UnitKind::Booth,
                parent_id: None, // the sector's id, filled by `assign_ids`
                number: Some(b.part_no as i32),
                name_en: b.name.clone(),
                name_hi: None,
                reserved: None,
                anc: Ancestors {
                    ac: Some(ac_id),
                    ..ac_anc
                },
            });
        }
    }
    out
}

/// Give `units` consecutive ids from `first_id` and link each booth to the sector before it.
pub fn assign_ids(units: &mut [UnitSpec], first_id: i64) {
    let mut sector = None;
    for (i, u) in units.iter_mut().enumerate() {
        u.id = first_id + i as i64;
        match u.kind {
            UnitKind::Sector => sector = Some(u.id),
            UnitKind::Booth => {
                u.parent_id = sector;
                u.anc.sector = sector;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_codes() {
        assert_eq!(slug("Agra"), "AGRA");
        assert_eq!(slug("Chitrakoot Dham"), "CHITRAKOOT-DHAM");
        assert_eq!(slug("Sant Kabeer Nagar"), "SANT-KABEER-NAGAR");
        assert_eq!(
            slug(" Bhadohi (Sant Ravidas Nagar) "),
            "BHADOHI-SANT-RAVIDAS-NAGAR"
        );
        assert_eq!(UnitCode::ac("up", 9).as_str(), "UP-AC-9");
        assert_eq!(UnitCode::sector("UP", 173, 7).as_str(), "UP-AC-173-S07");
        assert_eq!(UnitCode::booth("UP", 173, 42).as_str(), "UP-AC-173-B0042");
        assert_eq!(
            UnitCode::parse(" up-ac-173-b0042 ").unwrap().as_str(),
            "UP-AC-173-B0042"
        );
        for bad in ["", "UP--AC", "-UP", "UP AC", "UP-AC-१"] {
            assert!(UnitCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sectors_are_ten_to_twelve() {
        for n in 50..2000 {
            let s = sector_sizes(n, n as u64 * 31);
            assert_eq!(s.iter().sum::<u32>(), n);
            assert!(s.iter().all(|&x| (10..=12).contains(&x)), "{n}: {s:?}");
        }
        assert_eq!(sector_sizes(7, 1), vec![7]);
        assert_eq!(sector_sizes(0, 1), Vec::<u32>::new());
    }

    pub fn up_files() -> PresetFiles<'static> {
        PresetFiles {
            state: include_str!("../../../data/up/state.csv"),
            divisions: include_str!("../../../data/up/divisions.csv"),
            acs: include_str!("../../../data/up/assembly_constituencies.csv"),
            pcs: include_str!("../../../data/up/parliamentary_constituencies.csv"),
            wings: include_str!("../../../data/up/wings.csv"),
            campaigns: include_str!("../../../data/up/campaigns.csv"),
        }
    }

    #[test]
    fn up_preset_counts_and_tree() {
        let p = Preset::parse(up_files(), None).unwrap();
        assert_eq!(p.count(UnitKind::State), 1);
        assert_eq!(p.count(UnitKind::Division), 18);
        assert_eq!(p.count(UnitKind::District), 75);
        assert_eq!(p.count(UnitKind::Pc), 80);
        assert_eq!(p.count(UnitKind::Ac), 403);
        let booths = p.count(UnitKind::Booth);
        assert!((165_000..=180_000).contains(&booths), "{booths}");
        let by_id: HashMap<i64, &UnitSpec> = p.units.iter().map(|u| (u.id, u)).collect();
        for (i, u) in p.units.iter().enumerate() {
            assert_eq!(u.id, i as i64 + 1);
            if u.kind == UnitKind::Booth {
                let s = by_id[&u.parent_id.unwrap()];
                assert_eq!(s.kind, UnitKind::Sector);
                assert_eq!(u.anc.sector, Some(s.id));
                assert_eq!(s.parent_id, u.anc.ac);
                assert!(
                    u.code
                        .as_str()
                        .starts_with(&format!("{}-B", by_id[&u.anc.ac.unwrap()].code))
                );
            }
            if u.kind == UnitKind::Ac {
                assert_eq!(by_id[&u.parent_id.unwrap()].kind, UnitKind::District);
                assert_eq!(by_id[&u.anc.pc.unwrap()].kind, UnitKind::Pc);
            }
        }
        let per_ac = p.units.iter().filter(|u| u.kind == UnitKind::Ac).map(|ac| {
            p.units
                .iter()
                .filter(|b| b.kind == UnitKind::Booth && b.anc.ac == Some(ac.id))
                .count()
        });
        assert!(per_ac.clone().all(|n| (300..=560).contains(&n)));
        assert!(
            p.units
                .iter()
                .any(|u| u.code.as_str() == "UP-DIV-CHITRAKOOT-DHAM")
        );
        assert!(
            p.units
                .iter()
                .any(|u| u.code.as_str() == "UP-DT-SANT-KABEER-NAGAR")
        );
        // Deterministic.
        let again = Preset::parse(up_files(), None).unwrap();
        assert_eq!(again.units, p.units);
    }

    #[test]
    fn a_real_booth_list_replaces_the_synthetic_one() {
        let list: Vec<BoothRow> = (1..=25)
            .map(|p| BoothRow {
                ac_no: 9,
                part_no: p,
                name: format!("School {p}"),
                sector: Some(1 + (p - 1) / 13),
            })
            .collect();
        let p = Preset::parse(up_files(), Some(&list)).unwrap();
        let ac9 = p
            .units
            .iter()
            .find(|u| u.code.as_str() == "UP-AC-9")
            .unwrap();
        let booths: Vec<_> = p
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Booth && u.anc.ac == Some(ac9.id))
            .collect();
        assert_eq!(booths.len(), 25);
        assert_eq!(booths[0].name_en, "School 1");
        let sectors = p
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Sector && u.parent_id == Some(ac9.id))
            .count();
        assert_eq!(sectors, 2);
    }

    #[test]
    fn rollup_is_sorted_and_complete() {
        let a = Ancestors {
            state: Some(1),
            division: Some(2),
            district: Some(5),
            pc: Some(90),
            ac: Some(200),
            sector: Some(201),
        };
        assert_eq!(a.rollup(202), vec![1, 2, 5, 90, 200, 201, 202]);
    }
}
