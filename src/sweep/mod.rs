//! Sweeps: grids of values per flag ([`grid`]), their cartesian product ([`SettingsGrid`]), the
//! stable identity of a point ([`fn@config_id`]) and the split of trajectories into shards
//! ([`Shard`]), checking every point before work starts ([`plan`]) and running one point
//! ([`run_point`]).

pub mod config_id;
pub mod grid;
mod plan;
mod point;
mod product;
mod shard;

pub use config_id::{ConfigId, PointTarget, config_id};
pub use plan::{PlanError, PlannedPoint, Precision, RowKey, plan};
pub use point::{PointResult, run_point, run_point_to};
pub use product::{Axis, DEFAULT_MAX_POINTS, SettingsGrid};
pub use shard::Shard;
