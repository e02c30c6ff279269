//! A choropleth map of Uttar Pradesh's 403 assembly constituencies (ACs), drawn on the server
//! as one inline SVG string.
//!
//! The boundaries come from `data/up/assembly_constituencies.geojson`, embedded in the binary
//! and turned once, lazily, into one compact SVG path per AC:
//!
//! - projected equirectangularly (x scaled by the cosine of the middle latitude, y flipped) into
//!   a viewBox [`WIDTH`] units wide, and snapped to a grid of a quarter of a unit;
//! - simplified by Douglas–Peucker with a tolerance of [`TOLERANCE`] units (less for small,
//!   urban ACs), *along shared boundaries*: every ring is cut at its junctions (the points where
//!   it stops running along the same neighbour) and each piece is simplified the same way in
//!   both ACs that share it, so neighbouring ACs still meet exactly, without gaps or overlaps;
//! - written with relative commands (`m`, `l`, `z`) and integers counted in grid cells (a
//!   `scale(0.25)` on the group brings them back to viewBox units).
//!
//! [`svg`] then only concatenates the cached paths of the ACs asked for, each in a link with
//! its fill and a hover/tap label.

use serde::Deserialize;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::OnceLock;

const GEOJSON: &str = include_str!("../../../data/up/assembly_constituencies.geojson");

/// Width of the full map's viewBox; its height follows the state's aspect ratio.
pub const WIDTH: u32 = 1000;
/// Douglas–Peucker tolerance, in viewBox units (the full map is [`WIDTH`] units wide, so one
/// unit is about 750 m on the ground), for ACs of [`SMALL_AC`] units or more; smaller ones get
/// proportionally less (see [`tolerance_for`]).
pub const TOLERANCE: f64 = 0.6;
/// Below this size (the side of a square with the area of its bounding box, in viewBox units;
/// most rural ACs are 30 to 60) an AC is simplified more finely.
pub const SMALL_AC: f64 = 25.0;
/// Blank border kept around the state inside the full viewBox, in viewBox units.
const PAD: f64 = 2.0;
/// Coordinates are kept as integers on a grid of `1 / GRID` viewBox units (the group scales
/// them back), which keeps the numbers of the paths short.
const GRID: i32 = 4;

/// One AC to draw.
#[derive(Debug, Clone, Copy)]
pub struct Area<'a> {
    /// Assembly constituency number, 1..=403.
    pub ac_no: u32,
    /// The fill: a colour (`#d94801`, `rgb(…)`, `none`…). Written as a `fill` attribute,
    /// escaped.
    pub fill: &'a str,
    /// Shown on hover/tap (an SVG `<title>`), e.g. `Behat (1): 54%`. Escaped.
    pub label: &'a str,
    /// Where a click on the AC goes, e.g. `/units/UP-AC1`. Escaped, not otherwise checked:
    /// pass only links the server built.
    pub href: &'a str,
}

/// One `<svg>` element for the given ACs (all 403 or a subset), each AC an `<a href>` wrapping a
/// `<path>` with a `<title>` (the label, HTML-escaped), `role="group"` (its links stay reachable) and an `aria-label` on the
/// svg from `title`. ACs not in `areas` are not drawn. Unknown `ac_no` are skipped, and so is an
/// `ac_no` given again (the first wins). Each `<a>` also carries `data-ac="N"`.
///
/// All 403 ACs get the state's viewBox (`0 0 1000 H`); a subset gets a viewBox fitted to its
/// ACs with a small margin, so a district or a division fills the width. The svg has
/// `width="100%"` and no height: it scales with its container.
pub fn svg(areas: &[Area<'_>], title: &str) -> String {
    let map = map();
    let mut drawn = vec![false; map.shapes.len()];
    let mut chosen = Vec::with_capacity(areas.len());
    for area in areas {
        if let Some(i) = map.index_of(area.ac_no)
            && !drawn[i]
        {
            drawn[i] = true;
            chosen.push((i, area));
        }
    }

    let view_box = if chosen.len() == map.shapes.len() {
        [0, 0, map.width, map.height]
    } else {
        fitted_view_box(chosen.iter().map(|&(i, _)| map.shapes[i].bbox), map.grid)
            .unwrap_or([0, 0, map.width, map.height])
    };

    let paths: usize = chosen.iter().map(|&(i, _)| map.shapes[i].d.len()).sum();
    let mut out = String::with_capacity(paths + chosen.len() * 200 + 400);
    out.push_str(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox=""#);
    for (k, v) in view_box.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        push_scaled(&mut out, *v, map.grid);
    }
    out.push_str(r#"" width="100%" preserveAspectRatio="xMidYMid meet" role="group" aria-label=""#);
    push_escaped(&mut out, title);
    out.push_str(r#""><g transform="scale("#);
    push_scaled(&mut out, 1, map.grid);
    out.push_str(
        r##")" stroke="#fff" stroke-width="0.6" stroke-linejoin="round" fill-rule="evenodd">"##,
    );
    for (i, area) in chosen {
        let shape = &map.shapes[i];
        out.push_str(r#"<a href=""#);
        push_escaped(&mut out, area.href);
        out.push_str(r#"" data-ac=""#);
        out.push_str(&shape.ac_no.to_string());
        out.push_str(r#""><path class="ac" fill=""#);
        push_escaped(&mut out, area.fill);
        out.push_str(r#"" vector-effect="non-scaling-stroke" d=""#);
        out.push_str(&shape.d);
        out.push_str(r#""><title>"#);
        push_escaped(&mut out, area.label);
        out.push_str("</title></path></a>");
    }
    out.push_str("</g></svg>");
    out
}

/// Number of ACs in the embedded map (403).
pub fn ac_count() -> usize {
    map().shapes.len()
}

/// A point in grid cells.
type P = (i32, i32);

/// One AC, ready to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    ac_no: u32,
    /// The path data: relative `m`/`l`/`z` commands, integers in grid cells.
    d: String,
    /// `[min x, min y, max x, max y]`, in grid cells.
    bbox: [i32; 4],
    /// The simplified rings (the last point is not repeated), in grid cells.
    rings: Vec<Vec<P>>,
}

/// The whole map, built once.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Map {
    /// Sorted by `ac_no`.
    shapes: Vec<Shape>,
    /// Grid cells per viewBox unit: the paths are in cells, scaled back by the group.
    grid: i32,
    /// The full viewBox's size, in grid cells.
    width: i32,
    height: i32,
}

impl Map {
    fn index_of(&self, ac_no: u32) -> Option<usize> {
        self.shapes.binary_search_by_key(&ac_no, |s| s.ac_no).ok()
    }
}

fn map() -> &'static Map {
    static MAP: OnceLock<Map> = OnceLock::new();
    MAP.get_or_init(|| build(GEOJSON, GRID, TOLERANCE))
}

// ----- GeoJSON -----

#[derive(Deserialize)]
struct FeatureCollection {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    properties: Properties,
    geometry: Geometry,
}

#[derive(Deserialize)]
struct Properties {
    ac_no: u32,
}

#[derive(Deserialize)]
#[serde(tag = "type", content = "coordinates")]
enum Geometry {
    Polygon(Vec<Vec<[f64; 2]>>),
    MultiPolygon(Vec<Vec<Vec<[f64; 2]>>>),
}

// ----- Building -----

/// Parses, projects, simplifies and writes the paths. Panics on a malformed embedded file
/// (the tests build it).
fn build(geojson: &str, grid: i32, tolerance: f64) -> Map {
    let g = f64::from(grid);
    let fc: FeatureCollection =
        serde_json::from_str(geojson).expect("the embedded AC boundaries are valid GeoJSON");

    // Rings in lon/lat, each with the index of its AC in `acs`.
    let mut acs: Vec<u32> = Vec::with_capacity(fc.features.len());
    let mut raw: Vec<(usize, Vec<[f64; 2]>)> = Vec::new();
    for f in fc.features {
        let ac = acs.len();
        acs.push(f.properties.ac_no);
        let polygons = match f.geometry {
            Geometry::Polygon(p) => vec![p],
            Geometry::MultiPolygon(m) => m,
        };
        raw.extend(polygons.into_iter().flatten().map(|ring| (ac, ring)));
    }

    // Projection.
    let (mut lon0, mut lon1, mut lat0, mut lat1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for [lon, lat] in raw.iter().flat_map(|(_, r)| r.iter().copied()) {
        lon0 = lon0.min(lon);
        lon1 = lon1.max(lon);
        lat0 = lat0.min(lat);
        lat1 = lat1.max(lat);
    }
    let k = ((lat0 + lat1) / 2.0).to_radians().cos();
    let scale = (f64::from(WIDTH) - 2.0 * PAD) / ((lon1 - lon0) * k);
    let height = ((lat1 - lat0) * scale + 2.0 * PAD).ceil();
    let project = |[lon, lat]: [f64; 2]| -> P {
        let x = PAD + (lon - lon0) * k * scale;
        let y = PAD + (lat1 - lat) * scale;
        ((x * g).round() as i32, (y * g).round() as i32)
    };

    let rings: Vec<(usize, Vec<P>)> = raw
        .iter()
        .map(|(ac, r)| (*ac, clean(r.iter().copied().map(project))))
        .collect();

    // Each AC's size: the side of a square with its bounding box's area, in viewBox units.
    let mut boxes = vec![[i32::MAX, i32::MAX, i32::MIN, i32::MIN]; acs.len()];
    for (ac, ring) in &rings {
        let b = &mut boxes[*ac];
        for &(x, y) in ring {
            *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
    }
    let sizes: Vec<f64> = boxes
        .iter()
        .map(|b| {
            (f64::from(b[2] - b[0]) * f64::from(b[3] - b[1]))
                .max(0.0)
                .sqrt()
                / g
        })
        .collect();

    let points = point_info(rings.iter().map(|(ac, r)| (r.as_slice(), sizes[*ac])));

    let mut per_ac: Vec<Vec<Vec<P>>> = vec![Vec::new(); acs.len()];
    for (ac, ring) in &rings {
        if ring.len() < 3 {
            continue;
        }
        let info: Vec<(bool, f64)> = ring
            .iter()
            .map(|p| {
                points
                    .get(p)
                    .map_or((true, sizes[*ac]), |i| (i.neighbours.is_none(), i.size))
            })
            .collect();
        let simple = simplify_ring(ring, &info, |size| tolerance_for(size, tolerance) * g);
        if simple.len() >= 3 && area2(&simple) != 0 {
            per_ac[*ac].push(simple);
        }
    }
    // Every AC keeps at least one ring: its largest, unsimplified, if all collapsed.
    for (ac, kept) in per_ac.iter_mut().enumerate() {
        if kept.is_empty()
            && let Some((_, ring)) = rings
                .iter()
                .filter(|(a, r)| *a == ac && r.len() >= 3)
                .max_by_key(|(_, r)| area2(r).abs())
        {
            kept.push(ring.clone());
        }
    }

    let mut shapes: Vec<Shape> = acs
        .iter()
        .zip(per_ac)
        .map(|(&ac_no, rings)| {
            let mut bbox = [i32::MAX, i32::MAX, i32::MIN, i32::MIN];
            for &(x, y) in rings.iter().flatten() {
                bbox = [
                    bbox[0].min(x),
                    bbox[1].min(y),
                    bbox[2].max(x),
                    bbox[3].max(y),
                ];
            }
            Shape {
                ac_no,
                d: path_data(&rings),
                bbox,
                rings,
            }
        })
        .filter(|s| !s.rings.is_empty())
        .collect();
    shapes.sort_by_key(|s| s.ac_no);
    shapes.dedup_by_key(|s| s.ac_no);

    Map {
        shapes,
        grid,
        width: WIDTH as i32 * grid,
        height: (height * g) as i32,
    }
}

/// Drops repeated points, the closing point and back-and-forth spikes (`a b a`), which snapping
/// to the grid can create.
fn clean(points: impl Iterator<Item = P>) -> Vec<P> {
    let mut out: Vec<P> = Vec::new();
    for p in points {
        if out.last() == Some(&p) {
            continue;
        }
        if out.len() >= 2 && out[out.len() - 2] == p {
            out.pop();
            continue;
        }
        out.push(p);
    }
    // The same at the seam, where the ring closes.
    while out.len() >= 3 {
        let n = out.len();
        if out[n - 1] == out[0] || out[n - 2] == out[0] {
            out.pop();
        } else if out[1] == out[n - 1] {
            out.remove(0);
        } else {
            break;
        }
    }
    out
}

/// Douglas–Peucker tolerance for an AC of `size` viewBox units: `max` for ACs of [`SMALL_AC`]
/// units or more, proportionally less for smaller (urban) ones, down to a quarter of `max`.
fn tolerance_for(size: f64, max: f64) -> f64 {
    (max * size / SMALL_AC).clamp(max / 4.0, max)
}

/// What is known of a point of the rings.
struct PointInfo {
    /// Its two neighbours (the smaller first), if the same in every ring through it; `None`
    /// for a junction, where a ring stops running along the same neighbour.
    neighbours: Option<(P, P)>,
    /// The size of the smallest AC through it.
    size: f64,
}

/// A small, fast hasher for grid points (the build runs unoptimised in debug builds, where
/// SipHash dominates it). Not for untrusted keys.
#[derive(Default)]
struct PointHasher(u64);

impl std::hash::Hasher for PointHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_i32(&mut self, v: i32) {
        self.write_u64(u64::from(v as u32));
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type PointMap<V> = HashMap<P, V, std::hash::BuildHasherDefault<PointHasher>>;

/// Every point of the rings (each given with the size of its AC), and what is known of it.
fn point_info<'a>(rings: impl Iterator<Item = (&'a [P], f64)>) -> PointMap<PointInfo> {
    let mut info = PointMap::<PointInfo>::default();
    for (ring, size) in rings {
        let n = ring.len();
        if n < 3 {
            continue;
        }
        for i in 0..n {
            let (a, b) = (ring[(i + n - 1) % n], ring[(i + 1) % n]);
            let pair = if a <= b { (a, b) } else { (b, a) };
            match info.entry(ring[i]) {
                Entry::Vacant(e) => {
                    e.insert(PointInfo {
                        neighbours: Some(pair),
                        size,
                    });
                }
                Entry::Occupied(mut e) => {
                    let e = e.get_mut();
                    if e.neighbours != Some(pair) {
                        e.neighbours = None;
                    }
                    e.size = e.size.min(size);
                }
            }
        }
    }
    info
}

/// Simplifies a ring piece by piece between its junctions, each piece the same way whichever
/// direction a ring runs along it, so that both ACs sharing it get the very same points.
/// `info` tells, for each point of the ring, whether it is a junction and the size of the
/// smallest AC through it; a piece's tolerance (`eps` of a size, in grid cells) follows the
/// smallest AC along it, so that both sides of it agree.
fn simplify_ring(ring: &[P], info: &[(bool, f64)], eps: impl Fn(f64) -> f64) -> Vec<P> {
    let n = ring.len();
    let smallest =
        |from: usize, to: usize| (from..=to).map(|i| info[i % n].1).fold(f64::MAX, f64::min);
    let cuts: Vec<usize> = (0..n).filter(|&i| info[i].0).collect();
    if cuts.is_empty() {
        // A ring that touches nothing, or runs all round along one neighbour: start it at its
        // smallest point, so both sides cut it at the same place.
        let start = (0..n).min_by_key(|&i| ring[i]).unwrap_or(0);
        let mut arc: Vec<P> = (0..=n).map(|k| ring[(start + k) % n]).collect();
        let mut simple = simplify_arc(&mut arc, eps(smallest(0, n - 1)));
        simple.pop();
        return simple;
    }
    let mut out = Vec::with_capacity(n);
    for (c, &from) in cuts.iter().enumerate() {
        let to = cuts.get(c + 1).copied().unwrap_or(cuts[0] + n);
        let mut arc: Vec<P> = (from..=to).map(|i| ring[i % n]).collect();
        let simple = simplify_arc(&mut arc, eps(smallest(from, to)));
        out.extend_from_slice(&simple[..simple.len() - 1]);
    }
    out
}

/// Douglas–Peucker on an open piece, in a canonical direction (from its smaller end, or, for a
/// loop, towards its smaller second point). Both ends are kept.
fn simplify_arc(arc: &mut [P], eps: f64) -> Vec<P> {
    let n = arc.len();
    let reversed = arc[0] > arc[n - 1] || (arc[0] == arc[n - 1] && n > 2 && arc[1] > arc[n - 2]);
    if reversed {
        arc.reverse();
    }
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[n - 1] = true;
    let mut stack = vec![(0, n - 1)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (mut far, mut far_d) = (a, -1.0);
        for i in a + 1..b {
            let d = seg_dist2(arc[i], arc[a], arc[b]);
            if d > far_d {
                far = i;
                far_d = d;
            }
        }
        if far_d > eps * eps {
            keep[far] = true;
            stack.push((a, far));
            stack.push((far, b));
        }
    }
    let mut out: Vec<P> = (0..n).filter(|&i| keep[i]).map(|i| arc[i]).collect();
    if reversed {
        out.reverse();
        arc.reverse();
    }
    out
}

/// Squared distance from `p` to the segment `a`–`b`.
fn seg_dist2(p: P, a: P, b: P) -> f64 {
    let (px, py) = (f64::from(p.0), f64::from(p.1));
    let (ax, ay) = (f64::from(a.0), f64::from(a.1));
    let (dx, dy) = (f64::from(b.0) - ax, f64::from(b.1) - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0)
    };
    let (ex, ey) = (px - (ax + t * dx), py - (ay + t * dy));
    ex * ex + ey * ey
}

/// Twice the signed area of a ring.
fn area2(ring: &[P]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1)
        })
        .sum()
}

// ----- Writing -----

/// Path data for some rings: `m x y l dx dy … z` per ring, each `m` relative to the previous
/// ring's start (the first to the origin), in grid cells. A space separates two numbers only
/// where the second has no minus sign.
fn path_data(rings: &[Vec<P>]) -> String {
    let mut d = String::new();
    let mut at: P = (0, 0);
    let push = |d: &mut String, v: i32, first: bool| {
        if v < 0 {
            d.push('-');
        } else if !first {
            d.push(' ');
        }
        d.push_str(&v.unsigned_abs().to_string());
    };
    for ring in rings {
        d.push('m');
        push(&mut d, ring[0].0 - at.0, true);
        push(&mut d, ring[0].1 - at.1, false);
        d.push('l');
        for (k, w) in ring.windows(2).enumerate() {
            push(&mut d, w[1].0 - w[0].0, k == 0);
            push(&mut d, w[1].1 - w[0].1, false);
        }
        d.push('z');
        at = ring[0];
    }
    d
}

/// Writes `cells / grid` plainly (`12`, `1.5`, `-0.25`), for the viewBox and the scale.
fn push_scaled(out: &mut String, cells: i32, grid: i32) {
    if cells % grid == 0 {
        out.push_str(&(cells / grid).to_string());
    } else {
        let s = format!("{:.3}", f64::from(cells) / f64::from(grid));
        out.push_str(s.trim_end_matches('0'));
    }
}

/// The union of some bounding boxes, with a margin of 2% of its larger side plus half a unit,
/// as `[x, y, width, height]` in grid cells. `None` for no boxes.
fn fitted_view_box(boxes: impl Iterator<Item = [i32; 4]>, grid: i32) -> Option<[i32; 4]> {
    let b = boxes.reduce(|u, b| {
        [
            u[0].min(b[0]),
            u[1].min(b[1]),
            u[2].max(b[2]),
            u[3].max(b[3]),
        ]
    })?;
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    let margin = w.max(h) / 50 + (grid + 1) / 2;
    Some([b[0] - margin, b[1] - margin, w + 2 * margin, h + 2 * margin])
}

/// Escapes `& < > " '` for text and attribute values.
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::time::Instant;

    fn label(ac_no: u32) -> String {
        format!("Lucknow Cantt ({ac_no}): 54%")
    }

    fn href(ac_no: u32) -> String {
        format!("/units/UP-AC{ac_no}")
    }

    const FILLS: [&str; 5] = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];

    /// The full map with realistic labels and links.
    fn full_svg() -> String {
        let labels: Vec<(u32, String, String)> =
            (1..=403).map(|n| (n, label(n), href(n))).collect();
        let areas: Vec<Area<'_>> = labels
            .iter()
            .map(|(n, l, h)| Area {
                ac_no: *n,
                fill: FILLS[*n as usize % FILLS.len()],
                label: l,
                href: h,
            })
            .collect();
        svg(&areas, "Membership by assembly constituency")
    }

    fn view_box(svg: &str) -> [f64; 4] {
        let start = svg.find("viewBox=\"").expect("a viewBox") + 9;
        let end = start + svg[start..].find('"').unwrap();
        let v: Vec<f64> = svg[start..end]
            .split(' ')
            .map(|s| s.parse().unwrap())
            .collect();
        [v[0], v[1], v[2], v[3]]
    }

    #[test]
    fn map_has_403_acs() {
        assert_eq!(ac_count(), 403);
        let nos: Vec<u32> = map().shapes.iter().map(|s| s.ac_no).collect();
        assert_eq!(nos, (1..=403).collect::<Vec<_>>());
    }

    #[test]
    fn map_build_is_fast_and_deterministic() {
        let t = Instant::now();
        let a = build(GEOJSON, GRID, TOLERANCE);
        let took = t.elapsed();
        println!("map cache built in {took:?}");
        let b = build(GEOJSON, GRID, TOLERANCE);
        assert!(a == b, "two builds differ");
        assert!(a == *map());
        assert_eq!(full_svg(), full_svg());
    }

    #[test]
    fn map_full_svg_has_every_ac_once_and_fits_the_budget() {
        let svg = full_svg();
        assert!(svg.starts_with("<svg "));
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<path ").count(), 403);
        assert_eq!(svg.matches("<a ").count(), 403);
        for n in 1..=403 {
            assert_eq!(
                svg.matches(&format!(r#" data-ac="{n}""#)).count(),
                1,
                "AC {n}"
            );
            assert_eq!(
                svg.matches(&format!(r#"href="/units/UP-AC{n}""#)).count(),
                1
            );
        }
        let vb = view_box(&svg);
        assert_eq!(vb[..3], [0.0, 0.0, 1000.0]);
        assert!(vb[3] > 900.0 && vb[3] < 1050.0, "{vb:?}");
        for attr in [
            r#"width="100%""#,
            r#"preserveAspectRatio="xMidYMid meet""#,
            r#"role="group""#,
            r#"aria-label="Membership by assembly constituency""#,
            r##"stroke="#fff" stroke-width="0.6""##,
        ] {
            assert!(svg.contains(attr), "{attr}");
        }
        assert!(!svg.contains("height="));

        let paths: usize = map().shapes.iter().map(|s| s.d.len()).sum();
        let points: usize = map()
            .shapes
            .iter()
            .flat_map(|s| &s.rings)
            .map(Vec::len)
            .sum();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(svg.as_bytes()).unwrap();
        let gzipped = gz.finish().unwrap().len();
        println!(
            "full map: {points} points, path data {paths} B, svg {} B, gzip {gzipped} B \
             (tolerance {TOLERANCE} units)",
            svg.len()
        );
        assert!(gzipped <= 300_000, "gzip {gzipped} B");
        assert!(paths <= 150_000, "path data {paths} B");
    }

    #[test]
    fn map_subset_is_fitted() {
        let areas: Vec<Area<'_>> = [173, 174, 175]
            .into_iter()
            .map(|n| Area {
                ac_no: n,
                fill: "#fb6a4a",
                label: "x",
                href: "/units/x",
            })
            .collect();
        let svg = svg(&areas, "Lucknow");
        assert_eq!(svg.matches("<path ").count(), 3);
        let (sub, full) = (view_box(&svg), view_box(&full_svg()));
        assert!(sub[2] < full[2] / 5.0 && sub[3] < full[3] / 5.0, "{sub:?}");
        assert!(sub[0] > full[0] && sub[1] > full[1]);
        // Every point of the subset is inside its viewBox.
        for n in [173, 174, 175] {
            let b = map().shapes[map().index_of(n).unwrap()].bbox;
            let b = b.map(|v| f64::from(v) / f64::from(GRID));
            assert!(b[0] >= sub[0] && b[1] >= sub[1]);
            assert!(b[2] <= sub[0] + sub[2] && b[3] <= sub[1] + sub[3]);
        }
    }

    #[test]
    fn map_skips_unknown_and_repeated_acs() {
        let area = |ac_no| Area {
            ac_no,
            fill: "red",
            label: "x",
            href: "/",
        };
        let svg = svg(&[area(0), area(404), area(7), area(7)], "t");
        assert_eq!(svg.matches("<path ").count(), 1);
        assert!(svg.contains(r#"data-ac="7""#));
        let empty = super::svg(&[], "t");
        assert_eq!(empty.matches("<path ").count(), 0);
        assert!(empty.contains(r#"viewBox="0 0 1000 "#));
    }

    #[test]
    fn map_escapes_labels_hrefs_fills_and_title() {
        let svg = svg(
            &[Area {
                ac_no: 1,
                fill: "red\" onclick=\"x",
                label: "<script>alert('x & y')</script>",
                href: "/a?b=1&c=\"2\"",
            }],
            "Map <b>'&'</b>",
        );
        assert!(!svg.contains("<script>"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("&lt;script&gt;alert(&#39;x &amp; y&#39;)&lt;/script&gt;"));
        assert!(svg.contains(r#"href="/a?b=1&amp;c=&quot;2&quot;""#));
        assert!(svg.contains(r#"fill="red&quot; onclick=&quot;x""#));
        assert!(svg.contains(r#"aria-label="Map &lt;b&gt;&#39;&amp;&#39;&lt;/b&gt;""#));
    }

    /// ACs that shared a boundary in the data still share points after simplification.
    #[test]
    fn map_neighbours_still_meet() {
        let m = map();
        let shared_points = |rings: Vec<(u32, Vec<P>)>| {
            let mut owners: HashMap<P, Vec<u32>> = HashMap::new();
            for (ac, ring) in rings {
                for p in ring {
                    let v = owners.entry(p).or_default();
                    if !v.contains(&ac) {
                        v.push(ac);
                    }
                }
            }
            let mut pairs: HashMap<(u32, u32), usize> = HashMap::new();
            for v in owners.values() {
                for (i, a) in v.iter().enumerate() {
                    for b in &v[i + 1..] {
                        *pairs.entry((*a.min(b), *a.max(b))).or_default() += 1;
                    }
                }
            }
            pairs
        };
        let after = shared_points(
            m.shapes
                .iter()
                .flat_map(|s| s.rings.iter().map(|r| (s.ac_no, r.clone())))
                .collect(),
        );
        // The unsimplified, snapped data.
        let unsimplified = build(GEOJSON, GRID, 0.0);
        let before = shared_points(
            unsimplified
                .shapes
                .iter()
                .flat_map(|s| s.rings.iter().map(|r| (s.ac_no, r.clone())))
                .collect(),
        );
        let neighbours: Vec<_> = before.iter().filter(|(_, n)| **n >= 3).collect();
        assert!(neighbours.len() > 900, "{} pairs", neighbours.len());
        let lost: Vec<_> = neighbours
            .iter()
            .filter(|(pair, _)| after.get(*pair).copied().unwrap_or(0) < 2)
            .collect();
        assert!(lost.is_empty(), "neighbours no longer meeting: {lost:?}");
    }

    #[test]
    fn map_path_data_is_compact() {
        let d = path_data(&[
            vec![(10, 20), (12, 15), (7, 15)],
            vec![(3, 4), (5, 6), (3, 8)],
        ]);
        assert_eq!(d, "m10 20l2-5-5 0zm-7-16l2 2-2 2z");
        for s in &map().shapes {
            assert!(s.d.starts_with('m') && s.d.ends_with('z'));
            assert_eq!(s.d.matches('m').count(), s.rings.len());
            assert!(s.rings.iter().all(|r| r.len() >= 3));
        }
        let mut v = String::new();
        push_scaled(&mut v, 5, 2);
        push_scaled(&mut v, -1, 4);
        push_scaled(&mut v, 40, 2);
        assert_eq!(v, "2.5-0.2520");
    }

    /// Sizes at other grids and tolerances, to choose [`GRID`] and [`TOLERANCE`]:
    /// `cargo test -p sangathan-server --lib map::tests::map_tolerance_sweep -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn map_tolerance_sweep() {
        for grid in [1, 2, 4, 10] {
            for tol in [0.0, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0] {
                let m = build(GEOJSON, grid, tol);
                let paths: usize = m.shapes.iter().map(|s| s.d.len()).sum();
                let points: usize = m.shapes.iter().flat_map(|s| &s.rings).map(Vec::len).sum();
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                for s in &m.shapes {
                    gz.write_all(s.d.as_bytes()).unwrap();
                }
                let gzipped = gz.finish().unwrap().len();
                println!(
                    "grid 1/{grid}, tolerance {tol}: {points} points, paths {paths} B, gzip {gzipped} B"
                );
            }
        }
    }
}
