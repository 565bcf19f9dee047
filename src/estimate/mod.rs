//! Estimators: binomial confidence intervals, sequential estimation to a target precision, and
//! exact, order-independent sums.

pub mod exact_sum;
pub mod interval;
pub mod sequential;

pub use interval::{CiMethod, Interval, IntervalError, binomial_interval};
