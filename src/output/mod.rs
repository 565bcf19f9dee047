//! Output files: the bound's record ([`bound`]), rows as JSON ([`json`]); of sweeps: the append-only CSV that survives interruption ([`AppendCsv`]), the
//! sweep row layout ([`sweep_csv`]), curves ([`curves`]), the merge of shard files ([`merge`]) and
//! the reconciliation of a resumed file with the planned points ([`resume`]).
//!
//! Atomicity. A file is created whole or not at all: its header is written to a temporary file
//! beside the target, synced and renamed over it. Afterwards every row is appended with a single
//! `write` of the complete line (newline included) and flushed to the operating system before the
//! next point starts; data is synced to disk at most once per second and at the end. So a killed
//! or crashed process leaves the header plus every finished row; only an interruption inside that
//! single write (or a power loss) can leave an incomplete last line, and that line has no
//! terminating newline. `--resume` and `merge` drop such a line (resume truncates it away), so no
//! reader of lojasim ever sees a partial row.

mod append;
pub mod bound;
pub mod curves;
pub mod json;
pub mod merge;
pub mod resume;
pub mod summary;
pub mod sweep_csv;

pub use append::{
    AppendCsv, OutputError, Resumed, destination, is_special_file, parse_rows, refuse_directory,
    temp_file_beside, write_atomically,
};
