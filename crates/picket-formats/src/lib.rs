//! Python packaging formats, read exactly as pip, uv and PyPI read them.
//!
//! Everything here takes bytes or strings and returns data: no file or network I/O. Each format has
//! its own module and its own error type whose messages say what is wrong and where.
//!
//! - [`project_name`] holds PEP 508 names, PEP 503 normalization and the confusable skeleton;
//! - [`dist_filename`] parses wheel and sdist filenames;
//! - [`core_metadata`] reads `METADATA` / `PKG-INFO`, metadata 1.0–2.4;
//! - [`entry_points`] reads `entry_points.txt`;
//! - [`hashes`] writes file hashes the way indexes and lock files do;
//! - [`simple_api`] reads project pages of the simple repository API (PEP 503 HTML, PEP 691 JSON);
//! - versions and requirements are PEP 440 / PEP 508 from the maintained `pep440_rs` and
//!   `pep508_rs` crates, re-exported here so every picket crate uses the same ones.
#![deny(missing_docs)]

pub mod core_metadata;
pub mod dist_filename;
pub mod entry_points;
pub mod hashes;
pub mod project_name;
pub mod simple_api;
pub mod tar_names;
pub mod time;

pub use core_metadata::{CoreMetadata, MetadataError};
pub use dist_filename::{
    DistFilename, InvalidDistFilename, SdistFilename, SdistFormat, WheelFilename,
};
pub use entry_points::{EntryPoint, EntryPoints, EntryPointsError};
pub use pep440_rs::{Version, VersionSpecifier, VersionSpecifiers};
pub use pep508_rs::{Requirement, VerbatimUrl};
pub use project_name::{InvalidProjectName, ProjectName, normalize, skeleton};
pub use {pep440_rs, pep508_rs};
