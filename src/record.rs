//! Typed rows of the small output files (curves, traces, constants): one struct per file, whose
//! field names are the CSV header and whose field order is the column order, so the header and
//! the cells come from one definition and cannot fall out of step.
//!
//! [`csv_record!`](crate::csv_record) declares such a struct and gives it `COLUMNS` (the header)
//! and `cells()` (one row). Each field is turned into its cell by [`Cell`], with the project's
//! float formatting ([`fmt_f64`]: the shortest text that parses back to the same number) and an
//! empty cell for `None`. The run and sweep rows, with 62 columns of which many are derived, are
//! built by name through [`crate::report::Row`], which checks that every column was set.

use crate::report::fmt_f64;

/// A value as one CSV cell.
pub trait Cell {
    fn cell(&self) -> String;
}

impl Cell for f64 {
    fn cell(&self) -> String {
        fmt_f64(*self)
    }
}

macro_rules! integer_cells {
    ($($t:ty),*) => {
        $(impl Cell for $t {
            fn cell(&self) -> String {
                self.to_string()
            }
        })*
    };
}
integer_cells!(u32, u64, usize);

impl Cell for &str {
    fn cell(&self) -> String {
        (*self).to_string()
    }
}

impl Cell for String {
    fn cell(&self) -> String {
        self.clone()
    }
}

/// `None` is an empty cell: not computed, or not defined, for this row.
impl<T: Cell> Cell for Option<T> {
    fn cell(&self) -> String {
        self.as_ref().map_or(String::new(), Cell::cell)
    }
}

/// Declares a row struct whose fields are its CSV columns, in order; adds
/// `pub const COLUMNS: &[&str]` (the field names) and `pub fn cells(&self) -> Vec<String>`.
#[macro_export]
macro_rules! csv_record {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_meta:meta])* $field_vis:vis $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$field_meta])* $field_vis $field: $ty),*
        }

        impl $name {
            /// The CSV header: the field names, in order.
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// The row's cells, aligned with [`Self::COLUMNS`].
            pub fn cells(&self) -> Vec<String> {
                vec![$($crate::record::Cell::cell(&self.$field)),*]
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    csv_record! {
        struct Example {
            name: &'static str,
            count: u64,
            value: f64,
            missing: Option<f64>,
        }
    }

    #[test]
    fn header_is_the_field_names_and_cells_follow_them() {
        let row = Example {
            name: "a",
            count: 3,
            value: 1e-30,
            missing: None,
        };
        assert_eq!(Example::COLUMNS, ["name", "count", "value", "missing"]);
        assert_eq!(row.cells(), ["a", "3", "1e-30", ""]);
    }

    #[test]
    fn float_cells_parse_back_to_the_same_number() {
        for x in [0.1, 1.0 / 3.0, 1e-300, 6.02e23, -0.0, f64::INFINITY] {
            assert_eq!(x.cell().parse::<f64>().unwrap().to_bits(), x.to_bits());
        }
    }
}
