//! One module per command: each turns parsed arguments into output and an exit code.

pub mod admin;
pub mod admin_data;
pub mod campaigns;
pub mod check;
pub mod db;
pub mod deps;
pub mod fix;
pub mod guard;
pub mod inspect;
pub mod mcp;
pub mod monitor;
pub mod names;
pub mod proxy;
pub mod sbom;
pub mod scan;
pub mod scan_formats;
pub mod scan_table;
pub mod serve;
