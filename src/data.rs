//! Regression data for the data landscapes (`least-squares`, `mlp`): n rows of p features x_i and
//! m ≥ 1 targets y_i, read from a CSV file with a header row and numeric columns.
//!
//! The loss built on a data set is the mean squared error F(θ) = 1/(2n)·Σ_i ‖f(x_i; θ) − y_i‖²
//! (summed over the m outputs), the mean of the per-sample losses f_i = ½‖f(x_i; θ) − y_i‖².
//!
//! `--target` names one column or several (`y1,y2`); with `--one-hot` the one target column holds
//! class labels and becomes m = (number of distinct labels) 0/1 columns `label=value`, in
//! increasing order of value. With `--standardize` every feature column and every regression
//! target are z-scored, x ← (x − mean)/sd with the population standard deviation
//! sd = √(1/n·Σ(x − mean)²); one-hot targets stay 0/1.

use std::path::{Path, PathBuf};

/// The real data set shipped in `data/diabetes.csv` (see data/README.md), compiled in so that the
/// default experiment runs from any directory.
pub const BUILTIN_DIABETES: &str = include_str!("../data/diabetes.csv");
/// Name under which the built-in data set appears in output.
pub const BUILTIN_DIABETES_NAME: &str = "diabetes.csv (built-in)";

/// Why a data file could not be used. Rows are counted as lines of the file (the header is line 1).
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {message}")]
    Csv {
        path: String,
        line: u64,
        message: String,
    },
    #[error("{path}: the header row is missing or empty")]
    NoHeader { path: String },
    #[error("{path}: no data rows after the header")]
    NoRows { path: String },
    #[error("{path}: line {line} has {found} cells but the header has {expected}")]
    Ragged {
        path: String,
        line: u64,
        found: usize,
        expected: usize,
    },
    #[error("{path}: line {line}, column '{column}': empty cell")]
    EmptyCell {
        path: String,
        line: u64,
        column: String,
    },
    #[error("{path}: line {line}, column '{column}': '{value}' is not a finite number")]
    NotNumeric {
        path: String,
        line: u64,
        column: String,
        value: String,
    },
    #[error("{path}: no column named '{target}' (columns: {columns})")]
    MissingTarget {
        path: String,
        target: String,
        columns: String,
    },
    #[error(
        "{path}: --target '{target}' names more than one column (columns {columns}, counting from 1); rename all but one in the header"
    )]
    AmbiguousTarget {
        path: String,
        target: String,
        columns: String,
    },
    #[error("{path}: needs at least one feature column besides the target '{target}'")]
    NoFeatures { path: String, target: String },
    #[error("{path}: --target names column '{target}' twice")]
    RepeatedTarget { path: String, target: String },
    #[error(
        "{path}: --one-hot needs exactly one --target column of class labels (got {count}: {targets})"
    )]
    OneHotTargets {
        path: String,
        count: usize,
        targets: String,
    },
    #[error("{path}: --one-hot: column '{target}' holds {value}, not an integer class label")]
    OneHotNotLabel {
        path: String,
        target: String,
        value: f64,
    },
    #[error(
        "{path}: --one-hot: column '{target}' holds {classes} distinct values; class labels need at least 2 and at most {max}"
    )]
    OneHotClasses {
        path: String,
        target: String,
        classes: usize,
        max: usize,
    },
    #[error(
        "{path}: column '{column}' is constant, so it cannot be standardised; drop it or omit --standardize"
    )]
    Constant { path: String, column: String },
}

/// Where the data come from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DataSource {
    /// `data/diabetes.csv`, compiled into the binary.
    BuiltinDiabetes,
    /// A CSV file on disk.
    File(PathBuf),
}

impl DataSource {
    /// The name used in output: the path as given, or [`BUILTIN_DIABETES_NAME`].
    pub fn name(&self) -> String {
        match self {
            DataSource::BuiltinDiabetes => BUILTIN_DIABETES_NAME.to_string(),
            DataSource::File(p) => p.display().to_string(),
        }
    }
}

/// How to turn a CSV into a data set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DataSpec {
    pub source: DataSource,
    /// The target columns, comma-separated; `None` means the last one.
    pub target: Option<String>,
    /// `--one-hot`: the target column holds class labels, expanded to one 0/1 column per class.
    pub one_hot: bool,
    /// `--rows`: only the first N rows (before expanding and standardising).
    pub rows: Option<usize>,
    pub standardize: bool,
}

/// At most this many classes for `--one-hot` (a column of real numbers is not class labels).
pub const MAX_CLASSES: usize = 1000;

/// n rows of p features and m targets, all finite.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Where it came from (for output).
    pub name: String,
    pub feature_names: Vec<String>,
    /// The m target columns (for one-hot targets `label=value`).
    pub target_names: Vec<String>,
    /// Row-major n × p.
    features: Vec<f64>,
    /// Row-major n × m.
    targets: Vec<f64>,
    /// For one-hot class indicators (not standardised): the name of the class column.
    one_hot: Option<String>,
}

impl Dataset {
    /// Loads and (optionally) standardises the data set `spec` describes.
    pub fn load(spec: &DataSpec) -> Result<Self, DataError> {
        let name = spec.source.name();
        let text = match &spec.source {
            DataSource::BuiltinDiabetes => BUILTIN_DIABETES.to_string(),
            DataSource::File(p) => read(p)?,
        };
        let mut d = Self::parse(&name, &text, spec.target.as_deref())?;
        if let Some(rows) = spec.rows {
            d.truncate(rows);
        }
        if spec.one_hot {
            d.expand_one_hot()?;
        }
        if spec.standardize {
            d.standardize()?;
        }
        Ok(d)
    }

    /// Parses CSV text (header row, numeric cells); `target` names the target columns,
    /// comma-separated (`None`: the last column); `name` is used in errors.
    pub fn parse(name: &str, text: &str, target: Option<&str>) -> Result<Self, DataError> {
        let path = || name.to_string();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let csv_err = |e: csv::Error| DataError::Csv {
            path: path(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        };
        let header: Vec<String> = reader
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(str::to_string)
            .collect();
        if header.is_empty() || header.iter().all(String::is_empty) {
            return Err(DataError::NoHeader { path: path() });
        }
        let find = |name: &str| -> Result<usize, DataError> {
            let named: Vec<usize> = (0..header.len()).filter(|&j| header[j] == name).collect();
            match named[..] {
                [t] => Ok(t),
                [] => Err(DataError::MissingTarget {
                    path: path(),
                    target: name.to_string(),
                    columns: header.join(", "),
                }),
                _ => Err(DataError::AmbiguousTarget {
                    path: path(),
                    target: name.to_string(),
                    columns: named
                        .iter()
                        .map(|j| (j + 1).to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            }
        };
        let ts: Vec<usize> = match target {
            None => vec![header.len() - 1],
            Some(names) => names
                .split(',')
                .map(|n| find(n.trim()))
                .collect::<Result<_, _>>()?,
        };
        if let Some(k) = (1..ts.len()).find(|&k| ts[..k].contains(&ts[k])) {
            return Err(DataError::RepeatedTarget {
                path: path(),
                target: header[ts[k]].clone(),
            });
        }
        if header.len() <= ts.len() {
            return Err(DataError::NoFeatures {
                path: path(),
                target: ts
                    .iter()
                    .map(|&t| header[t].as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            });
        }
        let m = ts.len();
        let (mut features, mut targets) = (Vec::new(), Vec::new());
        let mut row_targets = vec![0.0; m];
        for record in reader.records() {
            let record = record.map_err(csv_err)?;
            let line = record.position().map_or(0, |p| p.line());
            if record.len() == 1 && record[0].is_empty() {
                continue; // a blank line
            }
            if record.len() != header.len() {
                return Err(DataError::Ragged {
                    path: path(),
                    line,
                    found: record.len(),
                    expected: header.len(),
                });
            }
            for (j, cell) in record.iter().enumerate() {
                let column = || header[j].clone();
                if cell.is_empty() {
                    return Err(DataError::EmptyCell {
                        path: path(),
                        line,
                        column: column(),
                    });
                }
                let v: f64 = cell
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| DataError::NotNumeric {
                        path: path(),
                        line,
                        column: column(),
                        value: cell.to_string(),
                    })?;
                match ts.iter().position(|&t| t == j) {
                    Some(o) => row_targets[o] = v,
                    None => features.push(v),
                }
            }
            targets.extend_from_slice(&row_targets);
        }
        if targets.is_empty() {
            return Err(DataError::NoRows { path: path() });
        }
        let feature_names = (0..header.len())
            .filter(|j| !ts.contains(j))
            .map(|j| header[j].clone())
            .collect();
        Ok(Dataset {
            name: name.to_string(),
            feature_names,
            target_names: ts.iter().map(|&t| header[t].clone()).collect(),
            features,
            targets,
            one_hot: None,
        })
    }

    /// `--one-hot`: replaces the one target column of class labels by one 0/1 column per
    /// distinct label, in increasing order of label, named `target=label`.
    pub fn expand_one_hot(&mut self) -> Result<(), DataError> {
        if self.outputs() != 1 {
            return Err(DataError::OneHotTargets {
                path: self.name.clone(),
                count: self.outputs(),
                targets: self.target_names.join(", "),
            });
        }
        if let Some(&value) = self.targets.iter().find(|v| v.fract() != 0.0) {
            return Err(DataError::OneHotNotLabel {
                path: self.name.clone(),
                target: self.target_names[0].clone(),
                value,
            });
        }
        let mut classes: Vec<f64> = self.targets.clone();
        classes.sort_by(f64::total_cmp);
        classes.dedup();
        if !(2..=MAX_CLASSES).contains(&classes.len()) {
            return Err(DataError::OneHotClasses {
                path: self.name.clone(),
                target: self.target_names[0].clone(),
                classes: classes.len(),
                max: MAX_CLASSES,
            });
        }
        let m = classes.len();
        let mut targets = vec![0.0; self.rows() * m];
        for (i, y) in self.targets.iter().enumerate() {
            let c = classes.binary_search_by(|c| c.total_cmp(y)).unwrap();
            targets[i * m + c] = 1.0;
        }
        let name = self.target_names[0].clone();
        self.target_names = classes.iter().map(|c| format!("{name}={c}")).collect();
        self.targets = targets;
        self.one_hot = Some(name);
        Ok(())
    }

    /// The first `rows` rows (a quick run on part of a large data set); all if there are fewer.
    pub fn truncate(&mut self, rows: usize) {
        let rows = rows.min(self.rows());
        self.features.truncate(rows * self.features());
        self.targets.truncate(rows * self.outputs());
    }

    /// The targets as shown in output: their names joined by commas.
    pub fn target_label(&self) -> String {
        self.target_names.join(",")
    }

    /// The class column, if the targets are its one-hot indicators.
    pub fn class_column(&self) -> Option<&str> {
        self.one_hot.as_deref()
    }

    /// A hash of the values (features and targets, bit for bit) and the shape: equal data sets
    /// have equal fingerprints.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.rows(), self.features()).hash(&mut h);
        // One output hashes as before multi-output data sets existed.
        if self.outputs() > 1 {
            self.outputs().hash(&mut h);
        }
        for v in self.features.iter().chain(&self.targets) {
            v.to_bits().hash(&mut h);
        }
        h.finish()
    }

    /// Number of rows n.
    pub fn rows(&self) -> usize {
        self.targets.len() / self.outputs()
    }

    /// Number of targets m (outputs of the model).
    pub fn outputs(&self) -> usize {
        self.target_names.len()
    }

    /// Number of features p.
    pub fn features(&self) -> usize {
        self.feature_names.len()
    }

    /// x_i, the p features of row i.
    #[inline]
    pub fn x(&self, i: usize) -> &[f64] {
        let p = self.features();
        &self.features[i * p..(i + 1) * p]
    }

    /// y_i, the m targets of row i.
    #[inline]
    pub fn y(&self, i: usize) -> &[f64] {
        let m = self.outputs();
        &self.targets[i * m..(i + 1) * m]
    }

    /// All targets, row-major n × m.
    pub fn targets(&self) -> &[f64] {
        &self.targets
    }

    /// z-scores every feature column and the target (population standard deviation).
    pub fn standardize(&mut self) -> Result<(), DataError> {
        let (n, p) = (self.rows(), self.features());
        let zscore = |get: &dyn Fn(usize) -> f64, name: &str| -> Result<(f64, f64), DataError> {
            let mean = (0..n).map(get).sum::<f64>() / n as f64;
            let var = (0..n).map(|i| (get(i) - mean).powi(2)).sum::<f64>() / n as f64;
            let sd = var.sqrt();
            // A column whose spread is rounding noise around its mean is constant.
            if sd <= 1e-12 * mean.abs() || sd == 0.0 {
                return Err(DataError::Constant {
                    path: self.name.clone(),
                    column: name.to_string(),
                });
            }
            Ok((mean, sd))
        };
        let mut stats = Vec::with_capacity(p);
        for j in 0..p {
            stats.push(zscore(
                &|i| self.features[i * p + j],
                &self.feature_names[j],
            )?);
        }
        let m = self.outputs();
        let mut target_stats = Vec::with_capacity(m);
        if self.one_hot.is_none() {
            for o in 0..m {
                target_stats.push(zscore(&|i| self.targets[i * m + o], &self.target_names[o])?);
            }
        }
        for i in 0..n {
            for (j, &(mean, s)) in stats.iter().enumerate() {
                let v = &mut self.features[i * p + j];
                *v = (*v - mean) / s;
            }
            for (o, &(mean, s)) in target_stats.iter().enumerate() {
                let v = &mut self.targets[i * m + o];
                *v = (*v - mean) / s;
            }
        }
        Ok(())
    }
}

fn read(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Dataset, DataError> {
        Dataset::parse("t.csv", text, None)
    }

    #[test]
    fn reads_features_and_the_last_column_as_target() {
        let d = parse("a,b,y\n1,2,3\n4,5,6\n").unwrap();
        assert_eq!((d.rows(), d.features()), (2, 2));
        assert_eq!(d.x(1), &[4.0, 5.0]);
        assert_eq!(d.targets(), &[3.0, 6.0]);
        assert_eq!(d.target_names, ["y"]);
        let d = Dataset::parse("t.csv", "a,b,y\n1,2,3\n", Some("a")).unwrap();
        assert_eq!((d.x(0), d.y(0)), (&[2.0, 3.0][..], &[1.0][..]));
        assert_eq!(d.feature_names, ["b", "y"]);
    }

    /// Several target columns, in the order named, wherever they stand in the header.
    #[test]
    fn several_targets_are_read_in_the_order_named() {
        let d = Dataset::parse("t.csv", "a,y1,b,y2\n1,2,3,4\n5,6,7,8\n", Some("y2,y1")).unwrap();
        assert_eq!((d.rows(), d.features(), d.outputs()), (2, 2, 2));
        assert_eq!(d.feature_names, ["a", "b"]);
        assert_eq!(d.target_names, ["y2", "y1"]);
        assert_eq!((d.x(1), d.y(1)), (&[5.0, 7.0][..], &[8.0, 6.0][..]));
        assert_eq!(d.target_label(), "y2,y1");
        let one = Dataset::parse("t.csv", "a,y1,b,y2\n1,2,3,4\n", Some("y1")).unwrap();
        assert_ne!(one.fingerprint(), d.fingerprint());
        assert_eq!(
            Dataset::parse("t.csv", "a,y\n1,2\n", Some("y,y"))
                .unwrap_err()
                .to_string(),
            "t.csv: --target names column 'y' twice"
        );
        assert_eq!(
            Dataset::parse("t.csv", "a,y\n1,2\n", Some("a,y"))
                .unwrap_err()
                .to_string(),
            "t.csv: needs at least one feature column besides the target 'a,y'"
        );
    }

    /// Class labels 3, 1, 3, 7 become the columns label=1, label=3, label=7; standardising leaves
    /// them 0/1 and z-scores the features.
    #[test]
    fn one_hot_expands_class_labels_in_increasing_order() {
        let mut d = parse("a,label\n1,3\n2,1\n3,3\n4,7\n").unwrap();
        d.expand_one_hot().unwrap();
        assert_eq!(d.target_names, ["label=1", "label=3", "label=7"]);
        assert_eq!(
            d.targets(),
            &[0., 1., 0., 1., 0., 0., 0., 1., 0., 0., 0., 1.]
        );
        d.standardize().unwrap();
        assert_eq!(d.y(3), &[0., 0., 1.]);
        assert!((d.x(0)[0] + 1.5 / 1.25f64.sqrt()).abs() < 1e-15);
        let mut constant = parse("a,label\n1,2\n2,2\n").unwrap();
        assert_eq!(
            constant.expand_one_hot().unwrap_err().to_string(),
            "t.csv: --one-hot: column 'label' holds 1 distinct values; class labels need at least 2 and at most 1000"
        );
        let mut real = parse("a,label\n1,0.5\n2,1\n").unwrap();
        assert_eq!(
            real.expand_one_hot().unwrap_err().to_string(),
            "t.csv: --one-hot: column 'label' holds 0.5, not an integer class label"
        );
        let mut two = Dataset::parse("t.csv", "a,y1,y2\n1,2,3\n", Some("y1,y2")).unwrap();
        assert_eq!(
            two.expand_one_hot().unwrap_err().to_string(),
            "t.csv: --one-hot needs exactly one --target column of class labels (got 2: y1, y2)"
        );
        let mut d = parse("a,y\n1,2\n3,4\n5,6\n").unwrap();
        d.truncate(2);
        assert_eq!((d.rows(), d.targets()), (2, &[2.0, 4.0][..]));
    }

    #[test]
    fn a_target_name_shared_by_two_columns_is_refused() {
        let err = Dataset::parse("t.csv", "y,a,y\n1,2,3\n4,5,6\n", Some("y")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv: --target 'y' names more than one column (columns 1, 3, counting from 1); \
             rename all but one in the header"
        );
        // Repeated names elsewhere in the header are left alone.
        let d = Dataset::parse("t.csv", "a,a,y\n1,2,3\n4,5,6\n", Some("y")).unwrap();
        assert_eq!(d.targets(), &[3.0, 6.0]);
    }

    #[test]
    fn each_malformed_input_has_its_own_message() {
        let cases = [
            (
                "a,y\n1,2\n3,x\n",
                "t.csv: line 3, column 'y': 'x' is not a finite number",
            ),
            ("a,y\n1,\n", "t.csv: line 2, column 'y': empty cell"),
            (
                "a,y\n1,2\n1,2,3\n",
                "t.csv: line 3 has 3 cells but the header has 2",
            ),
            ("a,y\n", "t.csv: no data rows after the header"),
            (
                "a,y\nNaN,1\n",
                "t.csv: line 2, column 'a': 'NaN' is not a finite number",
            ),
            (
                "y\n1\n",
                "t.csv: needs at least one feature column besides the target 'y'",
            ),
            ("", "t.csv: the header row is missing or empty"),
        ];
        for (text, message) in cases {
            assert_eq!(parse(text).unwrap_err().to_string(), message, "{text:?}");
        }
        assert_eq!(
            Dataset::parse("t.csv", "a,y\n1,2\n", Some("z"))
                .unwrap_err()
                .to_string(),
            "t.csv: no column named 'z' (columns: a, y)"
        );
        let missing = Dataset::load(&DataSpec {
            source: DataSource::File("/nonexistent/d.csv".into()),
            target: None,
            one_hot: false,
            rows: None,
            standardize: false,
        })
        .unwrap_err()
        .to_string();
        assert!(
            missing.starts_with("/nonexistent/d.csv: cannot read: "),
            "{missing}"
        );
    }

    #[test]
    fn standardising_gives_zero_mean_and_unit_population_variance() {
        let mut d = parse("a,b,y\n1,10,0\n2,10,1\n3,13,5\n").unwrap();
        let mut e = d.clone();
        e.features
            .iter_mut()
            .skip(1)
            .step_by(2)
            .for_each(|v| *v = 0.0);
        d.standardize().unwrap();
        for column in 0..2 {
            let v: Vec<f64> = (0..3).map(|i| d.x(i)[column]).collect();
            let mean = v.iter().sum::<f64>() / 3.0;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0;
            assert!(mean.abs() < 1e-15 && (var - 1.0).abs() < 1e-14);
        }
        // Column a = 1, 2, 3 has mean 2 and population sd √(2/3).
        assert!((d.x(0)[0] + (1.5f64).sqrt()).abs() < 1e-15);
        assert_eq!(
            e.standardize().unwrap_err().to_string(),
            "t.csv: column 'b' is constant, so it cannot be standardised; drop it or omit --standardize"
        );
    }

    #[test]
    fn the_builtin_data_set_is_the_shipped_file() {
        let d = Dataset::load(&DataSpec {
            source: DataSource::BuiltinDiabetes,
            target: None,
            one_hot: false,
            rows: None,
            standardize: false,
        })
        .unwrap();
        assert_eq!((d.rows(), d.features()), (48, 4));
        assert_eq!(d.target_names, ["progression"]);
        // First row of data/diabetes.csv.
        assert_eq!(
            (d.x(0), d.y(0)),
            (&[59.0, 32.1, 101.0, 4.8598][..], &[151.0][..])
        );
    }
}
