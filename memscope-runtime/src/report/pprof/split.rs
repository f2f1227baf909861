//! How one sample's exact values are shared over its sampled call sites: in proportion to
//! the sites' estimates, in whole units, so that the parts add up to the values exactly.
//!
//! Each of the four values is shared on its own, by the matching estimate: allocations by
//! the sites' allocations, bytes allocated by their allocated bytes, blocks and bytes in
//! use by their blocks and bytes in use (or retained, see [`Figure::Retained`]). A value
//! that no list of sites weighs (none sampled) stays on the task frames alone.

use super::samples::Values;
use crate::view::sites::SiteFigures;
use std::collections::BTreeMap;

/// Which estimate of a site a value is shared by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Figure {
    /// Allocations and bytes allocated since start.
    Allocated,
    /// Blocks and bytes in use, whoever's task allocated them.
    InUse,
    /// Blocks and bytes in use whose task has finished: the in-use memory of finished
    /// tasks, which their group's in-use figures mix with that of its running tasks.
    Retained,
}

impl Figure {
    /// The (count, bytes) estimate of `site` this figure stands for.
    fn of(self, site: &SiteFigures) -> (u64, u64) {
        match self {
            Figure::Allocated => (site.allocations, site.allocated_bytes),
            Figure::InUse => (site.in_use_blocks, site.in_use_bytes),
            Figure::Retained => (site.retained_blocks, site.retained_bytes),
        }
    }
}

/// One way to weigh a sample's sites: a list of sites and the estimate to read of each.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Weights<'a> {
    /// The sites (a task's, its group's, or those outside any task).
    pub sites: &'a [SiteFigures],
    /// Which of their estimates.
    pub by: Figure,
}

/// The parts of a sample: per call stack (an index into `CallSites::stacks`; `None` for
/// the task frames alone), the share of each value, in a stable order, none all zero.
pub(crate) type Parts = Vec<(Option<usize>, Values)>;

/// `values` shared over sites: the allocation values by the first of `allocated` that
/// weighs them (whose estimates do not add up to zero), the in-use values by the first of
/// `in_use`; a value that none of its lists weighs goes to `None`, the task frames alone.
pub(crate) fn over_sites(values: Values, allocated: &[Weights], in_use: &[Weights]) -> Parts {
    let mut parts: BTreeMap<Option<usize>, Values> = BTreeMap::new();
    for (i, &value) in values.iter().enumerate() {
        let lists = if i < 2 { allocated } else { in_use };
        // Even entries are counts, odd ones bytes (see `Values`).
        let estimate = |w: &Weights, s: &SiteFigures| {
            let (count, bytes) = w.by.of(s);
            if i % 2 == 0 {
                count
            } else {
                bytes
            }
        };
        let chosen = lists.iter().find_map(|w| {
            let weights: Vec<u64> = w.sites.iter().map(|s| estimate(w, s)).collect();
            weights.iter().any(|&x| x > 0).then_some((w.sites, weights))
        });
        match chosen {
            Some((sites, weights)) => {
                for (site, share) in sites.iter().zip(apportion(value, &weights)) {
                    parts.entry(Some(site.stack)).or_default()[i] += share;
                }
            }
            None => parts.entry(None).or_default()[i] += value,
        }
    }
    parts.into_iter().filter(|(_, v)| *v != [0; 4]).collect()
}

/// `total` in whole units, in proportion to `weights` (one share per weight): each share
/// rounded down, and what rounding left over added to the share of the largest weight (the
/// first of equal ones), so the shares add up to `total` exactly. All shares are zero when
/// the weights are.
pub(crate) fn apportion(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    // total × w / sum ≤ total, so every share fits in a u64.
    let mut shares: Vec<u64> = weights
        .iter()
        .map(|&w| (u128::from(total) * u128::from(w) / sum) as u64)
        .collect();
    let given: u64 = shares.iter().sum();
    let largest = (0..weights.len()).fold(
        0,
        |best, i| {
            if weights[i] > weights[best] {
                i
            } else {
                best
            }
        },
    );
    shares[largest] += total - given;
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(stack: usize, allocated: (u64, u64), in_use: (u64, u64)) -> SiteFigures {
        SiteFigures {
            stack,
            allocations: allocated.0,
            allocated_bytes: allocated.1,
            in_use_blocks: in_use.0,
            in_use_bytes: in_use.1,
            ..SiteFigures::default()
        }
    }

    #[test]
    fn shares_add_up_exactly_and_the_remainder_goes_to_the_largest() {
        // 100 over 1:1:1 is 33 each, and the 1 left over goes to the first of the largest.
        assert_eq!(apportion(100, &[1, 1, 1]), [34, 33, 33]);
        // 10 over 1:5:2 is 1.25, 6.25, 2.5: rounded down 1, 6, 2, and 1 to the 5.
        assert_eq!(apportion(10, &[1, 5, 2]), [1, 7, 2]);
        assert_eq!(apportion(0, &[3, 4]), [0, 0]);
        assert_eq!(apportion(7, &[0, 0]), [0, 0]);
        assert_eq!(
            apportion(u64::MAX, &[u64::MAX, 1]).iter().sum::<u64>(),
            u64::MAX
        );
        for total in [1, 2, 999, 1_000_003, u64::MAX / 3] {
            for weights in [
                &[1u64][..],
                &[7, 0, 3],
                &[1, 2, 3, 4, 5],
                &[u64::MAX, u64::MAX],
            ] {
                let shares = apportion(total, weights);
                let sum = shares.iter().map(|&s| u128::from(s)).sum::<u128>();
                assert_eq!(sum, u128::from(total), "{total} over {weights:?}");
                let sum_w = weights.iter().map(|&w| u128::from(w)).sum::<u128>();
                let largest = weights
                    .iter()
                    .position(|w| w == weights.iter().max().unwrap());
                for (i, (s, w)) in shares.iter().zip(weights).enumerate() {
                    let due = u128::from(total) * u128::from(*w) / sum_w;
                    if Some(i) == largest {
                        assert!(u128::from(*s) >= due, "{total} over {weights:?}");
                    } else {
                        assert_eq!(u128::from(*s), due, "{total} over {weights:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn each_value_is_shared_by_its_own_estimate() {
        let group = [site(0, (3, 300), (1, 100)), site(1, (1, 700), (0, 0))];
        let allocated = [Weights {
            sites: &group,
            by: Figure::Allocated,
        }];
        let in_use = [Weights {
            sites: &group,
            by: Figure::InUse,
        }];
        let parts = over_sites([8, 2000, 2, 500], &allocated, &in_use);
        // Allocations 3:1, bytes 300:700, in use all at site 0.
        assert_eq!(
            parts,
            [(Some(0), [6, 600, 2, 500]), (Some(1), [2, 1400, 0, 0])]
        );
    }

    #[test]
    fn a_list_without_weight_gives_way_to_the_next_and_none_leaves_the_task_frames() {
        let own = [site(4, (0, 0), (0, 0))];
        let group = [site(5, (0, 0), (2, 64)), site(6, (0, 0), (1, 64))];
        let in_use = [
            Weights {
                sites: &own,
                by: Figure::InUse,
            },
            Weights {
                sites: &group,
                by: Figure::InUse,
            },
        ];
        let allocated = [Weights {
            sites: &group,
            by: Figure::Allocated,
        }];
        let parts = over_sites([5, 1000, 3, 129], &allocated, &in_use);
        // No allocated estimate anywhere: the allocation values stay on the task frames;
        // 129 bytes over 64:64 is 64 and 65 (the first of the equal ones takes the 1).
        assert_eq!(
            parts,
            [
                (None, [5, 1000, 0, 0]),
                (Some(5), [0, 0, 2, 65]),
                (Some(6), [0, 0, 1, 64])
            ]
        );
        let sum = parts.iter().fold([0; 4], |mut a, (_, v)| {
            a.iter_mut().zip(v).for_each(|(a, v)| *a += v);
            a
        });
        assert_eq!(sum, [5, 1000, 3, 129]);
        assert_eq!(over_sites([1, 2, 3, 4], &[], &[]), [(None, [1, 2, 3, 4])]);
        assert_eq!(over_sites([0; 4], &allocated, &in_use), []);
    }

    #[test]
    fn retained_weighs_the_memory_of_finished_tasks() {
        let mut running = site(0, (1, 100), (1, 100));
        running.retained_bytes = 0;
        let mut finished = site(1, (1, 100), (1, 100));
        (finished.retained_blocks, finished.retained_bytes) = (1, 100);
        let group = [running, finished];
        let in_use = [Weights {
            sites: &group,
            by: Figure::Retained,
        }];
        assert_eq!(
            over_sites([0, 0, 1, 100], &[], &in_use),
            [(Some(1), [0, 0, 1, 100])]
        );
    }
}
