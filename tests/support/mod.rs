//! Helpers for the end-to-end tests: find the built binaries, lay out a sandbox (its own
//! HOME, data and log directories, configuration file), run and signal processes.
//!
//! The binaries must be built first: `make test` runs `cargo build --workspace --bins`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// The path of a workspace binary next to this test executable (`target/<profile>/NAME`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --workspace --bins` first (make test does)",
        path.display()
    );
    path
}

/// A private world for one test: HOME, data, logs and a configuration file.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    /// A sandbox whose configuration file has `extra` appended (TOML). Its dashboard listens
    /// on a port of its own (many daemons run at once), unless `extra` has a `[web]` table.
    pub fn new(extra: &str) -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox = Sandbox { dir };
        let web = if extra.contains("[web]") {
            ""
        } else {
            "\n[web]\nlisten = \"127.0.0.1:0\"\n"
        };
        let config = format!(
            "[paths]\ndata_dir = \"{}\"\nlog_dir = \"{}\"\n{extra}{web}",
            sandbox.data_dir().display(),
            sandbox.log_dir().display()
        );
        std::fs::write(sandbox.config(), config).expect("write config");
        sandbox
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }
    pub fn data_dir(&self) -> PathBuf {
        self.root().join("data")
    }
    pub fn log_dir(&self) -> PathBuf {
        self.root().join("logs")
    }
    pub fn config(&self) -> PathBuf {
        self.root().join("gazelled.toml")
    }
    pub fn database(&self) -> PathBuf {
        self.data_dir().join("gazelle.sqlite3")
    }

    /// A command for a workspace binary with this sandbox's configuration file.
    pub fn command(&self, name: &str) -> Command {
        let mut cmd = self.bare_command(name);
        cmd.arg("--config").arg(self.config());
        cmd
    }

    /// A command for a workspace binary with this sandbox's HOME, no `--config`, and no
    /// GAZELLE_ or RUST_LOG variable inherited from the caller.
    pub fn bare_command(&self, name: &str) -> Command {
        let mut cmd = Command::new(bin(name));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GAZELLE_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        cmd.env("HOME", self.root())
            .env("XDG_CONFIG_HOME", self.root().join("xdg"))
            .stdin(Stdio::null());
        cmd
    }

    /// One row of `sql` (its `?1`, `?2`… bound to `binds`), read from the database file
    /// opened read-only: what a test checks behind the daemon's back.
    pub fn query_one<T>(&self, sql: &str, binds: &[&str]) -> T
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    {
        let url = format!("sqlite://{}?mode=ro", self.database().display());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let pool = sqlx::SqlitePool::connect(&url)
                .await
                .expect("open the database");
            let mut query = sqlx::query_as::<_, T>(sql);
            for bind in binds {
                query = query.bind(*bind);
            }
            let row = query
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            pool.close().await;
            row
        })
    }

    /// Runs `sql` (one or more statements) on the database file, behind the daemon's back:
    /// how a test gives a shop years of history in a second.
    pub fn execute(&self, sql: &str) {
        let url = format!("sqlite://{}", self.database().display());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            use sqlx::ConnectOptions;
            let mut conn = url
                .parse::<sqlx::sqlite::SqliteConnectOptions>()
                .expect("the database URL")
                .busy_timeout(Duration::from_secs(10))
                .connect()
                .await
                .expect("open the database");
            sqlx::raw_sql(sql)
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        })
    }

    /// Runs a binary to completion.
    pub fn run(&self, name: &str, args: &[&str]) -> Output {
        self.command(name).args(args).output().expect("run")
    }

    /// Starts the daemon in the background.
    pub fn spawn_daemon(&self) -> Child {
        self.command("gazelled")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gazelled")
    }

    /// Everything the daemon logged so far.
    pub fn logs(&self) -> String {
        let Ok(entries) = std::fs::read_dir(self.log_dir()) else {
            return String::new();
        };
        let mut text = String::new();
        for entry in entries.flatten() {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
        text
    }

    /// Waits until the daemon's log says `needle`, or fails after a generous deadline (this
    /// is a readiness wait, not a performance assertion).
    pub fn wait_for_log(&self, child: &mut Child, needle: &str) {
        self.wait_for_log_count(child, needle, 1);
    }

    /// Waits until the logs (of every run in this sandbox) say `needle` `count` times: a
    /// restarted daemon is ready when its own line appears, not the previous one's.
    pub fn wait_for_log_count(&self, child: &mut Child, needle: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.logs().matches(needle).count() >= count {
                return;
            }
            if let Some(status) = child.try_wait().expect("try_wait") {
                panic!(
                    "gazelled exited ({status}) before logging `{needle}`:\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "gazelled did not log `{needle}` within 60 s:\n{}",
            self.logs()
        );
    }
}

/// Sends a signal by name (`TERM`, `INT`, `KILL`) with kill(1).
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} failed");
}

/// Waits for a child to exit, failing after `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `gazelle-sim` binary, running.
pub struct SimProcess {
    child: Child,
    /// The JSON line it printed: `listening`, `client_id`, `client_secret`, `api_key`, …
    pub info: serde_json::Value,
}

impl SimProcess {
    /// The simulator as the environment sets it (`GAZELLE_SIM_CURSORS`,
    /// `GAZELLE_SIM_DATE_FILTERS`: `make test` runs some suites again in hostile mode).
    pub fn start(dataset: &str) -> SimProcess {
        SimProcess::start_with(dataset, &[])
    }

    /// Offset cursors and UTC date filters whatever the environment says: for the tests of
    /// what Gazelle leaves undocumented.
    pub fn hostile(dataset: &str) -> SimProcess {
        SimProcess::start_with(dataset, &["--cursors", "offset", "--date-filters", "utc"])
    }

    pub fn start_with(dataset: &str, extra: &[&str]) -> SimProcess {
        use std::io::BufRead;
        let mut child = Command::new(bin("gazelle-sim"))
            .args(["--dataset", dataset, "--port", "0", "--seed", "11"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn gazelle-sim");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the address line");
        let info = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("gazelle-sim printed `{line}`: {e}"));
        SimProcess { child, info }
    }

    pub fn url(&self) -> String {
        self.info["listening"]
            .as_str()
            .expect("listening")
            .to_owned()
    }

    pub fn field(&self, key: &str) -> String {
        self.info[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key}"))
            .to_owned()
    }

    /// A GraphQL request with the simulator's API key, as a client of Gazelle would send it;
    /// the decoded answer (`data`, `errors`).
    pub fn graphql(&self, query: &str, variables: serde_json::Value) -> serde_json::Value {
        let body = serde_json::json!({ "query": query, "variables": variables }).to_string();
        let key = self.field("api_key");
        let (status, text) = self.post("/graphql/private/", &body, &[("x-gazelle-api-key", &key)]);
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// The ids of the users who can be given appointments (technicians), in Gazelle's order.
    pub fn technicians(&self) -> Vec<String> {
        let users = self.graphql("{ allUsers { id isSchedulable } }", serde_json::json!({}));
        users["data"]["allUsers"]
            .as_array()
            .expect("allUsers")
            .iter()
            .filter(|u| u["isSchedulable"] == true)
            .map(|u| u["id"].as_str().expect("an id").to_owned())
            .collect()
    }

    /// GraphQL requests the simulator has answered so far (`GET /_sim/stats`).
    /// The id of the first client upstream, for tests that need any client.
    pub fn first_client(&self) -> String {
        let clients = self.graphql(
            "{ allClients(first: 1) { nodes { id } } }",
            serde_json::json!({}),
        );
        clients["data"]["allClients"]["nodes"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no client: {clients}"))
            .to_owned()
    }

    pub fn graphql_requests(&self) -> u64 {
        let (status, text) = self.request("GET", "/_sim/stats", "", &[]);
        assert_eq!(status, 200, "{text}");
        let stats: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        stats["graphql_requests"]
            .as_u64()
            .expect("graphql_requests")
    }

    /// A DELETE (`/_sim/faults`); returns (status, body).
    pub fn delete(&self, path: &str) -> (u16, String) {
        self.request("DELETE", path, "", &[])
    }

    /// A minimal HTTP/1.1 POST with a JSON body; returns (status, body).
    pub fn post(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> (u16, String) {
        self.request("POST", path, body, headers)
    }

    /// A minimal HTTP/1.1 request with a JSON body; returns (status, body).
    fn request(
        &self,
        method: &str,
        path: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        use std::io::{Read, Write};
        let addr = self
            .url()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let mut stream = std::net::TcpStream::connect(&addr).expect("connect to the simulator");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `smtp-sink` binary: a real SMTP server on loopback keeping each message as a file.
pub struct SmtpSink {
    child: Child,
    pub dir: PathBuf,
    pub port: u16,
}

/// A message the sink accepted: its envelope and its raw bytes.
pub struct Received {
    pub to: Vec<String>,
    /// The user that authenticated with AUTH, if the sink asked for it.
    pub authenticated: Option<String>,
    pub raw: Vec<u8>,
}

impl SmtpSink {
    /// Starts a sink writing into `dir`, on `port` (0: any).
    pub fn start(dir: &Path, port: u16) -> SmtpSink {
        SmtpSink::start_with(dir, port, &[])
    }

    /// The same with more switches (`--ack-delay-ms 3000`: a slow server).
    pub fn start_with(dir: &Path, port: u16, extra: &[&str]) -> SmtpSink {
        use std::io::BufRead;
        let mut child = Command::new(bin("smtp-sink"))
            .arg("--dir")
            .arg(dir)
            .args(["--port", &port.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn smtp-sink");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the address line");
        let info: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("smtp-sink printed `{line}`: {e}"));
        let port = info["listening"]
            .as_str()
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .expect("a port");
        SmtpSink {
            child,
            dir: dir.to_owned(),
            port,
        }
    }

    /// Takes the server down (the process is killed: connections are refused).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Every message received so far, in order.
    pub fn received(dir: &Path) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|x| x == "eml"));
        names.sort();
        names
            .into_iter()
            .map(|eml| {
                let envelope: serde_json::Value = serde_json::from_slice(
                    &std::fs::read(eml.with_extension("json")).expect("envelope"),
                )
                .expect("envelope JSON");
                Received {
                    to: envelope["to"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    authenticated: envelope["authenticated"].as_str().map(str::to_owned),
                    raw: std::fs::read(&eml).expect("message"),
                }
            })
            .collect()
    }

    /// Waits until at least `count` messages have arrived (at most `limit`).
    pub fn wait_for(dir: &Path, count: usize, limit: Duration) -> Vec<Received> {
        SmtpSink::wait_for_matching(dir, count, limit, |_| true)
    }

    /// Waits until at least `count` messages accepted by `keep` have arrived (at most
    /// `limit`); returns those, in order of arrival.
    pub fn wait_for_matching(
        dir: &Path,
        count: usize,
        limit: Duration,
        keep: impl Fn(&Received) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let mut got = SmtpSink::received(dir);
            got.retain(|m| keep(m));
            if got.len() >= count || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `gazellectl` arguments creating a one-line draft invoice (Accord, 120 $) for `client`.
pub fn draft_invoice_args(client: &str) -> [&str; 8] {
    [
        "invoices",
        "create",
        "--client",
        client,
        "--description",
        "Accord",
        "--price",
        "120",
    ]
}

/// Years of history behind the daemon's back: `alerts` maintenance alerts (on the first
/// client, observed over the last five years) and four appointments a day for the first
/// mirrored technician over the 365 days from 2027-01-01, whose id is returned. What a shop
/// has after a few years, for the tests and benches of long lists.
pub fn seed_long_history(sandbox: &Sandbox, alerts: u32) -> String {
    let (technician,): (String,) =
        sandbox.query_one("SELECT ExternalId FROM Users ORDER BY Id LIMIT 1", &[]);
    sandbox.execute(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {alerts})
         INSERT INTO MaintenanceAlerts (ClientId, DateObservation, AlertType, Description)
         SELECT (SELECT MIN(Id) FROM Clients), date('2026-11-30', '-' || (i % 1800) || ' days'),
                'humidity', 'Humidité ' || i || ' : ' || hex(randomblob(60))
         FROM n;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1459)
         INSERT INTO Appointments (ClientId, TechnicianId, StartAt, Duration, Description)
         SELECT (SELECT MIN(Id) FROM Clients), '{technician}',
                strftime('%Y-%m-%dT%H:%M:%SZ', '2027-01-01T14:00:00Z', '+' || (i / 4) || ' days',
                         '+' || ((i % 4) * 2) || ' hours'),
                90, 'Accord ' || i
         FROM n;"
    ));
    technician
}

/// A `/proc/<pid>/status` figure in KiB (`VmRSS` resident now, `VmHWM` its peak); `None`
/// where there is no /proc (macOS).
pub fn proc_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Appointments [`seed_long_history`] gives a technician.
pub const SEEDED_APPOINTMENTS: usize = 1460;
