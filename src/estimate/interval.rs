// TEMPORARY STUB — replaced by the real module before commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum CiMethod {
    Wilson,
    ClopperPearson,
    Jeffreys,
}
impl CiMethod {
    pub fn name(self) -> &'static str {
        match self {
            CiMethod::Wilson => "wilson",
            CiMethod::ClopperPearson => "clopper-pearson",
            CiMethod::Jeffreys => "jeffreys",
        }
    }
}
impl std::fmt::Display for CiMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum IntervalError {
    #[error("confidence must be in (0, 1) (got {0})")]
    InvalidConfidence(f64),
}
pub fn binomial_interval(
    x: u64,
    n: u64,
    confidence: f64,
    _method: CiMethod,
) -> Result<Interval, IntervalError> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(IntervalError::InvalidConfidence(confidence));
    }
    // Wilson at the requested level (the fixed z = 1.96 of the first stub ignored `confidence`,
    // which the sequential method needs).
    use statrs::distribution::{ContinuousCDF, Normal};
    let z = Normal::standard().inverse_cdf(0.5 + confidence / 2.0);
    let (x, n) = (x as f64, n as f64);
    let c = (x + z * z / 2.0) / (n + z * z);
    let h = z / (n + z * z) * (x * (n - x) / n + z * z / 4.0).sqrt();
    Ok(Interval {
        lo: (c - h).max(0.0),
        hi: (c + h).min(1.0),
    })
}
