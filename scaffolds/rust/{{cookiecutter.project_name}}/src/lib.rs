//! {{ cookiecutter.project_name }}: an HTTP service with JSON logs, a health endpoint and a graceful
//! shutdown. The binary (`src/main.rs`) wires these modules to the process: environment,
//! signals and exit codes.

pub mod config;
pub mod healthcheck;
pub mod server;

/// The service's name (the package's, in Cargo.toml), as `GET /` reports it.
pub const NAME: &str = env!("CARGO_PKG_NAME");

/// The project's description (Cargo.toml's `description`), as `GET /` reports it.
pub const DESCRIPTION: &str = env!("CARGO_PKG_DESCRIPTION");

/// The version stamped at build time (`APP_VERSION`, set by the Dockerfile from its `VERSION`
/// argument), else the crate's own version.
pub const VERSION: &str = match option_env!("APP_VERSION") {
    Some(version) => version,
    None => env!("CARGO_PKG_VERSION"),
};

/// The source revision stamped at build time (`APP_REVISION`), else `unknown`.
pub const REVISION: &str = match option_env!("APP_REVISION") {
    Some(revision) => revision,
    None => "unknown",
};
