//! `gazelle-sim`: a faithful local stand-in for Gazelle's private API.
//!
//! * Every request document is parsed and validated against the real schema
//!   (`gazelle-schema`); an invalid one gets HTTP 200 with an `errors` array and no data,
//!   worded as Gazelle words it.
//! * Root fields and mutations the project uses are resolved over a seeded, deterministic
//!   data set ([`dataset`]), with Relay paging, filters and sorts ([`world`]).
//! * OAuth2 code and refresh grants with rotation and `invalid_grant`, API keys ([`auth`]).
//! * Faults on demand: 401, 429 with `Retry-After`, 5xx bursts, slow answers, dropped
//!   connections, truncated or malformed JSON, GraphQL errors ([`faults`]).
//! * Tests drive it in-process through [`SimState`] or over HTTP through `/_sim/…`
//!   ([`server`]).

pub mod auth;
pub mod dataset;
pub mod executor;
pub mod faults;
pub mod model;
mod mutations;
pub mod server;
pub mod world;

pub use auth::Credentials;
pub use dataset::{Size, generate};
pub use faults::{Endpoint, Fault, FaultKind};
pub use server::{SimState, Simulator};
pub use world::World;

/// Generates a data set and starts serving it on loopback: the one-call set-up for tests.
/// Its [`world::Behaviour`] comes from the environment (`GAZELLE_SIM_CURSORS`,
/// `GAZELLE_SIM_DATE_FILTERS`), so `make test` can run a suite again in hostile mode.
pub async fn start(size: Size, seed: u64) -> std::io::Result<Simulator> {
    let mut world = generate(size, seed);
    world.behaviour = world::Behaviour::from_env().map_err(std::io::Error::other)?;
    let mut rng = dataset::Rng::new(seed ^ 0x5EED);
    let credentials = Credentials::generate(&mut rng);
    let state = SimState::new(world, credentials, seed);
    Simulator::start(state, std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await
}
