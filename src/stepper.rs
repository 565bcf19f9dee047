//! The SGD update itself. It only moves θ; deciding what a step means is the runner's job.

use crate::lanes::{LANES, Lane, multiversion};

/// θ ← θ − η·g, returning |θ − θ0|² of the new iterate (fused into the same pass over θ).
#[inline]
pub fn sgd_step(theta: &mut [f64], theta0: &[f64], g: &[f64], eta: f64) -> f64 {
    let mut dist2 = 0.0;
    for ((t, &t0), &gi) in theta.iter_mut().zip(theta0).zip(g) {
        *t -= eta * gi;
        let d = *t - t0;
        dist2 += d * d;
    }
    dist2
}

#[inline(always)]
fn sgd_step_lanes_impl(theta: &mut [Lane], theta0: &[f64], g: &[Lane], eta: &Lane) -> Lane {
    let mut dist2 = Lane::ZERO;
    for ((t, &t0), gi) in theta.iter_mut().zip(theta0).zip(g) {
        for l in 0..LANES {
            t.0[l] -= eta.0[l] * gi.0[l];
            let d = t.0[l] - t0;
            dist2.0[l] += d * d;
        }
    }
    dist2
}

multiversion!(
    /// [`sgd_step`] for each lane l of structure-of-arrays θ and g, with step `eta[l]`, at
    /// instruction-set level `simd`.
    pub fn sgd_step_lanes(theta: &mut [Lane], theta0: &[f64], g: &[Lane], eta: &Lane) -> Lane
        => sgd_step_lanes_impl
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_moves_against_the_gradient_and_reports_squared_distance() {
        let mut theta = [1.0, 2.0];
        let d2 = sgd_step(&mut theta, &[1.0, 2.0], &[3.0, -4.0], 0.5);
        assert_eq!(theta, [-0.5, 4.0]);
        assert_eq!(d2, 6.25);
    }
}
