//! Targets and pacing: how a target is split, and how a unit is doing against it.

use chrono::NaiveDate;
use serde::Serialize;

/// Split `total` over `weights` by the largest-remainder method: the parts sum to `total`
/// exactly; ties go to the earlier item. Zero total weight splits evenly.
pub fn largest_remainder(total: i64, weights: &[u64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let wsum: u128 = weights.iter().map(|&w| w as u128).sum();
    let (weights, wsum): (Vec<u128>, u128) = if wsum == 0 {
        (vec![1; weights.len()], weights.len() as u128)
    } else {
        (weights.iter().map(|&w| w as u128).collect(), wsum)
    };
    let t = total.max(0) as u128;
    let mut parts: Vec<i64> = Vec::with_capacity(weights.len());
    let mut rems: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let q = t * w;
        parts.push((q / wsum) as i64);
        rems.push((q % wsum, i));
    }
    let assigned: i64 = parts.iter().sum();
    let mut left = total.max(0) - assigned;
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rems {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

/// How a unit is doing against its target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pacing {
    /// achieved / target × 100, one decimal; 0 when there is no target.
    pub percent: f64,
    /// Members still needed (never negative).
    pub needed: i64,
    /// Days left until the end date, counting today; 0 after the end.
    pub days_left: i64,
    /// Members a day needed to reach the target by the end date.
    pub daily_needed: f64,
    /// Members a day over the last 7 days.
    pub rate_7d: f64,
}

/// Pacing on `today` for a campaign ending on `end` (inclusive).
pub fn pacing(
    target: i64,
    achieved: i64,
    last_7_days: i64,
    today: NaiveDate,
    end: NaiveDate,
) -> Pacing {
    let needed = (target - achieved).max(0);
    let days_left = ((end - today).num_days() + 1).max(0);
    let daily_needed = if needed == 0 {
        0.0
    } else if days_left == 0 {
        needed as f64
    } else {
        round1(needed as f64 / days_left as f64)
    };
    let percent = if target > 0 {
        round1(achieved as f64 * 100.0 / target as f64)
    } else {
        0.0
    };
    Pacing {
        percent,
        needed,
        days_left,
        daily_needed,
        rate_7d: round1(last_7_days as f64 / 7.0),
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainder_sums_exactly() {
        let parts = largest_remainder(45_000, &vec![1; 431]);
        assert_eq!(parts.iter().sum::<i64>(), 45_000);
        assert!(parts.iter().all(|&p| p == 104 || p == 105));
        assert_eq!(largest_remainder(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(largest_remainder(7, &[0, 0]), vec![4, 3]);
        assert_eq!(largest_remainder(100, &[1, 2, 7]), vec![10, 20, 70]);
        assert!(largest_remainder(5, &[]).is_empty());
    }

    #[test]
    fn pacing_numbers() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let p = pacing(1000, 400, 70, d("2027-01-01"), d("2027-01-10"));
        assert_eq!(p.needed, 600);
        assert_eq!(p.days_left, 10);
        assert_eq!(p.daily_needed, 60.0);
        assert_eq!(p.rate_7d, 10.0);
        assert_eq!(p.percent, 40.0);
        let over = pacing(10, 12, 0, d("2027-01-01"), d("2027-01-10"));
        assert_eq!(over.needed, 0);
        assert_eq!(over.daily_needed, 0.0);
        assert_eq!(over.percent, 120.0);
        let late = pacing(10, 2, 0, d("2027-02-01"), d("2027-01-10"));
        assert_eq!(late.days_left, 0);
        assert_eq!(late.daily_needed, 8.0);
    }
}
