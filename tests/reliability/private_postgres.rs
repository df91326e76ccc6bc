//! A PostgreSQL cluster of the test's own (`initdb` in a temporary directory), crashed with
//! `pg_ctl stop -m immediate` under load and started again.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
#[cfg(feature = "postgres")]
use std::time::Duration;

use crate::common::private_redis::free_port;
use crate::harness::{skip, temp_dir};
use crate::restarts::Restartable;
#[cfg(feature = "postgres")]
use crate::restarts::{restart_under_load, WRITERS};
#[cfg(feature = "postgres")]
use crate::targets::builder;

/// A PostgreSQL cluster of our own: made by `initdb` in a temporary directory (as the
/// `postgres` OS user when we are root, since PostgreSQL refuses to run as root), trust
/// authentication, default durability (`fsync` and `synchronous_commit` on), listening on
/// 127.0.0.1 at a free port. Stopped, and its directory removed, on drop.
struct OwnPostgres {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
    as_postgres_user: bool,
    running: bool,
}

impl OwnPostgres {
    /// Where `initdb` and `pg_ctl` are: `pg_config --bindir`, then `PATH`, then the newest
    /// `/usr/lib/postgresql/<version>/bin`.
    fn find_bin() -> Option<PathBuf> {
        let mut candidates = Vec::new();
        if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
            if output.status.success() {
                candidates.push(PathBuf::from(
                    String::from_utf8_lossy(&output.stdout).trim(),
                ));
            }
        }
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
            let mut versions: Vec<(u32, PathBuf)> = entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let version = e.file_name().to_str()?.parse().ok()?;
                    Some((version, e.path().join("bin")))
                })
                .collect();
            versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
            candidates.extend(versions.into_iter().map(|(_, bin)| bin));
        }
        candidates
            .into_iter()
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    }

    fn start() -> Option<Self> {
        let Some(bin) = Self::find_bin() else {
            skip("initdb and pg_ctl not found (PATH, pg_config, /usr/lib/postgresql/*/bin)");
            return None;
        };
        let as_postgres_user = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let root = temp_dir("axum_session_store_pg");
        // From here on, drop removes the directory (and stops the server once started).
        let mut server = Self {
            bin,
            root,
            port: free_port(),
            as_postgres_user,
            running: false,
        };
        if as_postgres_user {
            let output = Command::new("chown")
                .arg("postgres:")
                .arg(&server.root)
                .output();
            match output {
                Ok(output) if output.status.success() => {}
                other => {
                    skip(&format!(
                        "running as root, but the directory cannot be given to the postgres \
                         user: {other:?}"
                    ));
                    return None;
                }
            }
        }
        let data = server.data();
        server
            .run(
                "initdb",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-A".as_ref(),
                    "trust".as_ref(),
                    "-U".as_ref(),
                    "postgres".as_ref(),
                    "-E".as_ref(),
                    "UTF8".as_ref(),
                    "--locale=C".as_ref(),
                ],
            )
            .unwrap_or_else(|error| panic!("initdb failed: {error}"));
        server.start_again();
        Some(server)
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs `program` from the cluster's binaries, as the `postgres` user when we are root.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<Output, String> {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        let output = command
            .args(args)
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(format!(
                "{program} {args:?}: {}\n{}\n{}\nserver log:\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
            ))
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<Output, String> {
        let data = self.data();
        let mut all: Vec<&std::ffi::OsStr> = vec!["-D".as_ref(), data.as_os_str()];
        all.extend(args.iter().map(|a| std::ffi::OsStr::new(*a)));
        self.run("pg_ctl", &all)
    }

    /// `pg_ctl stop -m immediate`: every server process quits at once, without a checkpoint,
    /// as in a crash; the next start runs crash recovery from the WAL.
    fn stop_immediately(&mut self) -> Result<(), String> {
        self.pg_ctl(&["-w", "-t", "60", "-m", "immediate", "stop"])?;
        self.running = false;
        Ok(())
    }
}

impl Restartable for OwnPostgres {
    fn crash(&mut self) {
        self.stop_immediately().expect("pg_ctl stop -m immediate");
    }

    fn start_again(&mut self) {
        let log = self.root.join("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.root.display()
        );
        let log = log.to_string_lossy().into_owned();
        self.pg_ctl(&[
            "-w",
            "-t",
            "60",
            "-l",
            log.as_str(),
            "-o",
            options.as_str(),
            "start",
        ])
        .unwrap_or_else(|error| panic!("pg_ctl start failed: {error}"));
        self.running = true;
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        if self.running {
            if let Err(error) = self.stop_immediately() {
                eprintln!("could not stop the test's PostgreSQL: {error}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "reliability: long-running; .ci/run runs them"]
async fn postgres_restart_during_load_loses_no_acknowledged_write() {
    use axum_session_store::backend::PostgresBackend;
    use sqlx::postgres::PgPoolOptions;

    let Some(mut server) = tokio::task::block_in_place(OwnPostgres::start) else {
        return;
    };
    // A short acquire timeout, so that requests fail fast while the server is down: sqlx
    // retries a refused connection until then.
    let pool = PgPoolOptions::new()
        .max_connections(WRITERS as u32)
        .acquire_timeout(Duration::from_secs(1))
        .connect(&server.url())
        .await
        .unwrap();
    for (setting, expected) in [("fsync", "on"), ("synchronous_commit", "on")] {
        let value: String = sqlx::query_scalar(&format!("SHOW {setting}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(value, expected, "{setting}");
    }
    let backend = PostgresBackend::new(pool);
    backend.migrate().await.unwrap();
    let config = builder().default_backend(backend).build().unwrap();
    restart_under_load("PostgreSQL restart", "PostgreSQL", config, &mut server).await;
}
