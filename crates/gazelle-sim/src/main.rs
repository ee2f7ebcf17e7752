//! `gazelle-sim`: serve a simulated Gazelle account on loopback.
//!
//! Prints one JSON line with the address and the generated credentials, then serves until
//! SIGINT or SIGTERM.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Parser;
use gazelle_sim::{Credentials, SimState, Simulator, Size, dataset, generate, world};

#[derive(Debug, Parser)]
#[command(version, about = "A local stand-in for Gazelle's private API")]
struct Args {
    /// Data set size: tiny, small (one shop) or large (ten shops).
    #[arg(long, default_value = "small")]
    dataset: Size,
    /// Seed of the data set and of the generated credentials.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on (loopback by default).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, default_value_t = 7200)]
    access_token_lifetime: i64,
    /// What a cursor encodes: `key` (stable across inserts and deletions) or `offset`
    /// (graphql-ruby's default: a position that shifts). Default: `GAZELLE_SIM_CURSORS`, else
    /// `key`.
    #[arg(long)]
    cursors: Option<world::Cursors>,
    /// Which day `CoreDate` filters compare: `local` (Montréal) or `utc`. Default:
    /// `GAZELLE_SIM_DATE_FILTERS`, else `local`.
    #[arg(long)]
    date_filters: Option<world::DateFilters>,
    /// Refresh responses: `rotate` (a new refresh token, the old one revoked), `keep` (the
    /// same one sent back), `omit` (no `refresh_token` in the answer: keep the old one).
    #[arg(long, default_value = "rotate")]
    refresh_tokens: RefreshTokens,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RefreshTokens {
    Rotate,
    Keep,
    Omit,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let started = std::time::Instant::now();
    let mut behaviour = match world::Behaviour::from_env() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("gazelle-sim: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    behaviour.cursors = args.cursors.unwrap_or(behaviour.cursors);
    behaviour.date_filters = args.date_filters.unwrap_or(behaviour.date_filters);
    let mut world = generate(args.dataset, args.seed);
    world.behaviour = behaviour;
    let credentials = Credentials::generate(&mut dataset::Rng::new(args.seed ^ 0x5EED));
    let state = SimState::new(world, credentials.clone(), args.seed);
    {
        let mut auth = gazelle_sim::server::lock(&state.auth);
        auth.access_lifetime = jiff::SignedDuration::from_secs(args.access_token_lifetime);
        auth.rotate_refresh_tokens = matches!(args.refresh_tokens, RefreshTokens::Rotate);
        auth.omit_refresh_token = matches!(args.refresh_tokens, RefreshTokens::Omit);
    }
    let sim = match Simulator::start(state, SocketAddr::new(args.host, args.port)).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!(
                "gazelle-sim: cannot listen on {}:{}: {e}",
                args.host, args.port
            );
            return std::process::ExitCode::from(1);
        }
    };
    let line = serde_json::json!({
        "listening": sim.base_url(),
        "graphql": format!("{}graphql/private/", sim.base_url()),
        "dataset": format!("{:?}", args.dataset).to_lowercase(),
        "seed": args.seed,
        "cursors": format!("{:?}", behaviour.cursors).to_lowercase(),
        "date_filters": format!("{:?}", behaviour.date_filters).to_lowercase(),
        "generated_in_ms": started.elapsed().as_millis() as u64,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "api_key": credentials.api_key,
    });
    println!("{line}");
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gazelle-sim: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    sim.stop().await;
    std::process::ExitCode::SUCCESS
}
