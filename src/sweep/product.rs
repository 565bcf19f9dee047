//! The cartesian product of per-flag value lists, in a stable order.

use crate::config::Settings;
use crate::error::ConfigError;

/// Grids larger than this are refused unless `--max-points` raises the cap.
pub const DEFAULT_MAX_POINTS: u64 = 100_000;

/// Sets one flag's value (by index) in a point's settings.
type Apply = Box<dyn Fn(&mut Settings, usize) + Send + Sync>;

/// The values of one flag.
pub struct Axis {
    /// The flag, e.g. `--eta`.
    pub flag: &'static str,
    labels: Vec<String>,
    apply: Apply,
}

impl Axis {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// How value `i` is shown in summaries.
    pub fn label(&self, i: usize) -> &str {
        &self.labels[i]
    }
}

/// Settings for every point of a sweep.
///
/// Order: axes in the order they were added, the first varying slowest and the last fastest (as
/// nested loops, or the odometer). Point i is the mixed-radix decomposition of i, so the order
/// depends on nothing but the flags' value lists.
pub struct SettingsGrid {
    base: Settings,
    axes: Vec<Axis>,
}

impl SettingsGrid {
    /// The swept flags' values at point `i`, e.g. `--eta 0.1, --radius 2` (flags with one value
    /// are left out).
    pub fn label(&self, i: u64) -> String {
        let labels: Vec<String> = self
            .axes
            .iter()
            .zip(self.coordinates(i))
            .filter(|(a, _)| a.len() > 1)
            .map(|(a, j)| format!("{} {}", a.flag, a.label(j)))
            .collect();
        if labels.is_empty() {
            "the only point".to_string()
        } else {
            labels.join(", ")
        }
    }

    /// A grid whose every point starts from `base`.
    pub fn new(base: Settings) -> Self {
        Self {
            base,
            axes: Vec::new(),
        }
    }

    /// Adds the axis of `flag`, taking `values` in the order given. Values must be distinct (by
    /// label): a repeated value would only repeat a point.
    pub fn axis<T: Clone + Send + Sync + 'static>(
        mut self,
        flag: &'static str,
        values: Vec<T>,
        label: impl Fn(&T) -> String,
        set: impl Fn(&mut Settings, T) + Send + Sync + 'static,
    ) -> Result<Self, ConfigError> {
        let labels: Vec<String> = values.iter().map(label).collect();
        if labels.is_empty() {
            return Err(ConfigError::new(flag, "needs at least one value"));
        }
        let mut sorted: Vec<&String> = labels.iter().collect();
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(ConfigError::new(
                flag,
                format!(
                    "lists the value {} twice: each value gives one point, list it once",
                    w[0]
                ),
            ));
        }
        self.axes.push(Axis {
            flag,
            labels,
            apply: Box::new(move |s, i| set(s, values[i].clone())),
        });
        Ok(self)
    }

    pub fn axes(&self) -> &[Axis] {
        &self.axes
    }

    /// Number of points (saturating: a product beyond u64 is reported as u64::MAX).
    pub fn len(&self) -> u64 {
        self.axes
            .iter()
            .try_fold(1u64, |n, a| n.checked_mul(a.len() as u64))
            .unwrap_or(u64::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Refuses grids with more than `max` points.
    pub fn check_size(&self, max: u64) -> Result<(), ConfigError> {
        let n = self.len();
        if n > max {
            let shape: Vec<String> = self
                .axes
                .iter()
                .filter(|a| a.len() > 1)
                .map(|a| format!("{} {}", a.flag, a.len()))
                .collect();
            return Err(ConfigError::new(
                "--max-points",
                format!(
                    "is {max} but the grid has {} points ({}): shrink the grid or raise --max-points",
                    if n == u64::MAX {
                        "more than 2^64".to_string()
                    } else {
                        n.to_string()
                    },
                    shape.join(" × ")
                ),
            ));
        }
        Ok(())
    }

    /// The value index on every axis of point `i`.
    pub fn coordinates(&self, mut i: u64) -> Vec<usize> {
        let mut idx = vec![0; self.axes.len()];
        for (slot, axis) in idx.iter_mut().zip(&self.axes).rev() {
            let n = axis.len() as u64;
            *slot = (i % n) as usize;
            i /= n;
        }
        idx
    }

    /// The settings of point `i` (0 ≤ i < len).
    pub fn point(&self, i: u64) -> Settings {
        let mut s = self.base.clone();
        for (axis, j) in self.axes.iter().zip(self.coordinates(i)) {
            (axis.apply)(&mut s, j);
        }
        s
    }

    /// The only point, for commands that run one configuration; names the first multi-valued flag
    /// otherwise.
    pub fn single(&self, command: &str) -> Result<Settings, ConfigError> {
        if let Some(a) = self.axes.iter().find(|a| a.len() > 1) {
            return Err(ConfigError::new(
                a.flag,
                format!(
                    "has {} values, but `lojasim {command}` takes one per flag: use `lojasim sweep` \
                     for grids",
                    a.len()
                ),
            ));
        }
        Ok(self.point(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_follow_the_odometer_order_with_the_last_axis_fastest() {
        let etas = [0.1, 0.2];
        let radii = [1.0, 2.0, 3.0];
        let g = SettingsGrid::new(Settings::default())
            .axis(
                "--eta",
                etas.to_vec(),
                |x| x.to_string(),
                |s, v| s.eta = Some(v),
            )
            .unwrap()
            .axis(
                "--radius",
                radii.to_vec(),
                |x| x.to_string(),
                |s, v| s.radius = v,
            )
            .unwrap();
        assert_eq!(g.len(), 6);
        let pts: Vec<(f64, f64)> = (0..6)
            .map(|i| {
                let s = g.point(i);
                (s.eta.unwrap(), s.radius)
            })
            .collect();
        assert_eq!(
            pts,
            vec![
                (0.1, 1.0),
                (0.1, 2.0),
                (0.1, 3.0),
                (0.2, 1.0),
                (0.2, 2.0),
                (0.2, 3.0)
            ]
        );
        assert_eq!(g.single("run").unwrap_err().flag, "--eta");
    }

    #[test]
    fn repeated_values_and_oversized_grids_are_refused() {
        let twice = [0.1, 0.1];
        let e = SettingsGrid::new(Settings::default())
            .axis(
                "--eta",
                twice.to_vec(),
                |x| x.to_string(),
                |s, v| s.eta = Some(v),
            )
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "--eta lists the value 0.1 twice: each value gives one point, list it once"
        );
        let many: Vec<f64> = (0..1000).map(f64::from).collect();
        let g = SettingsGrid::new(Settings::default())
            .axis(
                "--eta",
                many.clone(),
                |x| x.to_string(),
                |s, v| s.eta = Some(v),
            )
            .unwrap()
            .axis("--radius", many, |x| x.to_string(), |s, v| s.radius = v)
            .unwrap();
        assert!(g.check_size(DEFAULT_MAX_POINTS).unwrap_err().to_string().contains(
            "--max-points is 100000 but the grid has 1000000 points (--eta 1000 × --radius 1000)"
        ));
        assert!(g.check_size(1_000_000).is_ok());
    }
}
