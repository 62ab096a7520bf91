//! The advisory database: the embedded snapshot, an OSV directory or zip, `db update`.
