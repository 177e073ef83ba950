//! The robust baseline behind the volume detector: median + k·MAD over a rolling history
//! of per-bucket counts.
//!
//! MAD is the median absolute deviation from the median, unscaled. It ignores the few
//! busiest days that would drag a mean and standard deviation up (one inventory day does not
//! hide the next snooping spree). With the default k = 5 the threshold sits near a
//! modified z-score of 3.4 (0.6745·5), the usual outlier cut (Iglewicz and Hoaglin use 3.5).
//! A floor on the MAD keeps a perfectly regular user (MAD 0) from alerting on one extra patient.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Median of `values`; `None` when empty. Even length: the mean of the two middle values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let hi = *v.get(mid)?;
    if v.len() % 2 == 1 {
        Some(hi)
    } else {
        Some((*v.get(mid - 1)? + hi) / 2.0)
    }
}

/// Median absolute deviation from the median (unscaled).
pub fn mad(values: &[f64]) -> Option<f64> {
    let m = median(values)?;
    let dev: Vec<f64> = values.iter().map(|x| (x - m).abs()).collect();
    median(&dev)
}

/// The statistic: `median + k · max(MAD, min_mad)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub median: f64,
    pub mad: f64,
    pub threshold: f64,
}

impl Baseline {
    pub fn of(values: &[f64], k: f64, min_mad: f64) -> Option<Baseline> {
        let median = median(values)?;
        let mad = mad(values)?;
        Some(Baseline {
            median,
            mad,
            threshold: median + k * mad.max(min_mad),
        })
    }
}

/// The last `cap` per-bucket counts (buckets with at least one access: days off do not pull
/// the baseline down).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    counts: VecDeque<u32>,
}

impl History {
    pub fn push(&mut self, count: u32, cap: usize) {
        self.counts.push_back(count);
        while self.counts.len() > cap {
            self.counts.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    pub fn baseline(&self, k: f64, min_mad: f64) -> Option<Baseline> {
        let v: Vec<f64> = self.counts.iter().map(|c| f64::from(*c)).collect();
        Baseline::of(&v, k, min_mad)
    }

    pub(crate) fn bytes(&self) -> usize {
        self.counts.capacity() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_mad_on_a_hand_computed_series() {
        // Sorted: 8 9 10 10 11 12 40. Median 10.
        // |x-10|: 2 1 0 0 1 2 30 -> sorted 0 0 1 1 2 2 30, MAD 1.
        let v = [10.0, 12.0, 9.0, 40.0, 11.0, 10.0, 8.0];
        assert_eq!(median(&v), Some(10.0));
        assert_eq!(mad(&v), Some(1.0));
        let b = Baseline::of(&v, 5.0, 0.5).unwrap();
        assert_eq!(b.threshold, 15.0); // the 40 does not move it
    }

    #[test]
    fn even_length_median_and_mad_floor() {
        // 2 4 6 8: median 5; deviations 3 1 1 3 -> 1 1 3 3, MAD 2.
        assert_eq!(median(&[8.0, 2.0, 6.0, 4.0]), Some(5.0));
        assert_eq!(mad(&[8.0, 2.0, 6.0, 4.0]), Some(2.0));
        // A constant series: MAD 0, so the floor decides: 7 + 3 * 1.
        let b = Baseline::of(&[7.0; 5], 3.0, 1.0).unwrap();
        assert_eq!((b.median, b.mad, b.threshold), (7.0, 0.0, 10.0));
        assert_eq!(median(&[]), None);
        assert_eq!(Baseline::of(&[], 3.0, 1.0), None);
    }

    #[test]
    fn history_keeps_the_last_cap_counts() {
        let mut h = History::default();
        for c in [100, 1, 2, 3] {
            h.push(c, 3);
        }
        assert_eq!(h.len(), 3);
        // 100 fell out: median of 1 2 3 is 2, MAD 1.
        let b = h.baseline(2.0, 0.0).unwrap();
        assert_eq!((b.median, b.mad, b.threshold), (2.0, 1.0, 4.0));
    }
}
