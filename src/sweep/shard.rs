//! `--shard k/M`: the k-th of M disjoint, contiguous slices of the trajectory indices.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// Shard k of M (0 ≤ k < M).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// The whole run.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Trajectories [k·N/M, (k+1)·N/M) of a run of N: the same indices (hence the same seeds) the
    /// unsharded run gives them. Computed in u128, so k·N cannot overflow.
    pub fn range(&self, trajectories: u64) -> Range<u64> {
        let at = |k: u64| (k as u128 * trajectories as u128 / self.count as u128) as u64;
        at(self.index)..at(self.index + 1)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let form = || format!("'{s}' must have the form k/M with 0 ≤ k < M, e.g. 0/4");
        let (k, m) = s.split_once('/').ok_or_else(form)?;
        let (index, count): (u64, u64) = (
            k.trim().parse().map_err(|_| form())?,
            m.trim().parse().map_err(|_| form())?,
        );
        if count == 0 {
            return Err(format!("'{s}': the number of shards M must be ≥ 1"));
        }
        if index >= count {
            return Err(format!(
                "'{s}': shard index k must be < M = {count} (shards are numbered 0 … {})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_tile_the_range_without_gaps_or_overlaps() {
        for n in [0u64, 1, 7, 1000, u64::MAX] {
            for m in [1u64, 2, 3, 7, 64] {
                let mut next = 0;
                for k in 0..m {
                    let r = Shard { index: k, count: m }.range(n);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, n);
            }
        }
        assert_eq!(Shard { index: 1, count: 3 }.range(10), 3..6);
    }

    #[test]
    fn malformed_shards_are_refused() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
        assert!(
            "5/5"
                .parse::<Shard>()
                .unwrap_err()
                .contains("must be < M = 5")
        );
        assert!(
            "0/0"
                .parse::<Shard>()
                .unwrap_err()
                .contains("M must be ≥ 1")
        );
        assert!("1-4".parse::<Shard>().unwrap_err().contains("form k/M"));
        assert!("-1/4".parse::<Shard>().unwrap_err().contains("form k/M"));
    }
}
