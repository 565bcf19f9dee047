//! Step-size schedules η_k, for k = 0, 1, 2, …: η_k is the step that maps θ_k to θ_{k+1}.

/// How the step size evolves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepSchedule {
    /// η_k = η.
    Constant { eta: f64 },
    /// Robbins–Monro η_k = γ / (k + n0)^q; the first step (k = 0) is γ / n0^q.
    RobbinsMonro { gamma: f64, n0: f64, q: f64 },
}

/// Command-line names of the schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ScheduleKind {
    /// η_k = η (`--eta`).
    Constant,
    /// η_k = γ/(k + n0)^q (`--gamma`, `--n0`, `--q`).
    RobbinsMonro,
}

impl ScheduleKind {
    pub fn name(self) -> &'static str {
        match self {
            ScheduleKind::Constant => "constant",
            ScheduleKind::RobbinsMonro => "robbins-monro",
        }
    }
}

impl std::fmt::Display for ScheduleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl StepSchedule {
    pub fn kind(&self) -> ScheduleKind {
        match self {
            StepSchedule::Constant { .. } => ScheduleKind::Constant,
            StepSchedule::RobbinsMonro { .. } => ScheduleKind::RobbinsMonro,
        }
    }

    /// η_k.
    #[inline]
    pub fn eta(&self, k: u64) -> f64 {
        match *self {
            StepSchedule::Constant { eta } => eta,
            StepSchedule::RobbinsMonro { gamma, n0, q } => gamma / (k as f64 + n0).powf(q),
        }
    }

    /// The constant step, if the schedule is constant.
    pub fn constant_eta(&self) -> Option<f64> {
        match *self {
            StepSchedule::Constant { eta } => Some(eta),
            StepSchedule::RobbinsMonro { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robbins_monro_starts_at_gamma_over_n0_to_the_q() {
        let s = StepSchedule::RobbinsMonro {
            gamma: 0.5,
            n0: 4.0,
            q: 0.5,
        };
        assert_eq!(s.eta(0), 0.25);
        assert_eq!(s.eta(12), 0.125);
        assert_eq!(StepSchedule::Constant { eta: 0.1 }.eta(1_000_000), 0.1);
    }
}
