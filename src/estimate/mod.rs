//! Estimators: binomial confidence intervals and exact, order-independent sums.

pub mod exact_sum;
pub mod interval;

pub use interval::{CiMethod, Interval, IntervalError, binomial_interval};
