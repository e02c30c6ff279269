//! Presets: the built-in `up` (embedded in the binary from `data/up/`) or a directory of the same files.

use sangathan_core::geo::{BoothRow, Preset, PresetFiles};
use std::path::Path;

pub const UP: PresetFiles<'static> = PresetFiles {
    state: include_str!("../../../data/up/state.csv"),
    divisions: include_str!("../../../data/up/divisions.csv"),
    acs: include_str!("../../../data/up/assembly_constituencies.csv"),
    pcs: include_str!("../../../data/up/parliamentary_constituencies.csv"),
    wings: include_str!("../../../data/up/wings.csv"),
    campaigns: include_str!("../../../data/up/campaigns.csv"),
};

/// `up`, or a directory holding state.csv, divisions.csv, assembly_constituencies.csv,
/// parliamentary_constituencies.csv, wings.csv and campaigns.csv (and optionally booths.csv:
/// ac_no,part_no,name[,sector]).
pub fn load(name: &str) -> Result<Preset, String> {
    if name.eq_ignore_ascii_case("up") {
        return Preset::parse(UP, None).map_err(|e| e.to_string());
    }
    let dir = Path::new(name);
    if !dir.is_dir() {
        return Err(format!(
            "unknown preset {name:?}: use `up` or a directory of preset files"
        ));
    }
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{}: {e}", dir.join(f).display()))
    };
    let (state, divisions, acs, pcs, wings, campaigns) = (
        read("state.csv")?,
        read("divisions.csv")?,
        read("assembly_constituencies.csv")?,
        read("parliamentary_constituencies.csv")?,
        read("wings.csv")?,
        read("campaigns.csv")?,
    );
    let booths = if dir.join("booths.csv").exists() {
        Some(read_booths(&read("booths.csv")?)?)
    } else {
        None
    };
    let files = PresetFiles {
        state: &state,
        divisions: &divisions,
        acs: &acs,
        pcs: &pcs,
        wings: &wings,
        campaigns: &campaigns,
    };
    Preset::parse(files, booths.as_deref()).map_err(|e| e.to_string())
}

/// A booth list: header row with `ac_no`, `part_no`, a name column (`booth_name`, `name` or
/// `booth name`) and optionally `sector`. Errors name the row as a spreadsheet shows it.
pub fn read_booths(text: &str) -> Result<Vec<BoothRow>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|h| h.to_lowercase())
        .collect();
    let find = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let ac = find(&["ac_no", "ac"]).ok_or("booth list: no ac_no column")?;
    let part = find(&["part_no", "booth_no", "part"]).ok_or("booth list: no part_no column")?;
    let name = find(&["booth_name", "name", "booth name", "polling_station"])
        .ok_or("booth list: no booth name column")?;
    let sector = find(&["sector", "sector_no"]);
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("row {line}: {e}"))?;
        let get = |j: usize| rec.get(j).unwrap_or("").trim();
        let num = |j: usize, what: &str| {
            get(j)
                .parse::<u32>()
                .map_err(|_| format!("row {line}: {what} is not a number: {:?}", get(j)))
        };
        out.push(BoothRow {
            ac_no: num(ac, "ac_no")?,
            part_no: num(part, "part_no")?,
            name: get(name).to_string(),
            sector: match sector {
                Some(s) if !get(s).is_empty() => Some(num(s, "sector")?),
                _ => None,
            },
        });
    }
    Ok(out)
}
