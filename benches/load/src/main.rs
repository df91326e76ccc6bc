//! Load benchmark: every contender in one invocation, over real HTTP/1.1 on loopback.
//!
//! For each workload and contender it starts an axum server on `127.0.0.1:0` in this process,
//! drives it with N keep-alive connections (each with its own cookie jar) for a warm-up and a
//! fixed measured duration, bounded in requests too, then stops the server and removes the
//! records the run left behind. It prints one table per connection count: requests/s, p50 and
//! p99 latency, errors, ratios against bare axum and against the matching rival, and for ours
//! on a server the sizes of the backend's batches.
//!
//! ```text
//! cargo run --release --manifest-path benches/load/Cargo.toml --
//!     [--duration 10] [--warmup 2]
//!     [--connections 32 | --connections 1,8,32,128] [--only ours,ts-redis] [--workloads write,read]
//!     [--rounds 1] [--max-requests 5000000] [--redis-pool 8] [--pg-pool 10] [--threads N]
//!     [--serve CONTENDER:PORT]
//! ```
//!
//! Servers: `REDIS_URL` (default `redis://127.0.0.1:6379`), `POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`).

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum_session_store_load::client::{self, LoadSpec, LoadStats, Workload};
use axum_session_store_load::contenders::{self, Contender, Servers};
use axum_session_store_load::cpu;

#[derive(Debug)]
struct Args {
    duration: Duration,
    warmup: Duration,
    /// The connection counts to run every contender at, one table each.
    sweep: Vec<usize>,
    /// The count of the table being run.
    connections: usize,
    only: Vec<String>,
    workloads: Vec<Workload>,
    max_requests: u64,
    rounds: usize,
    threads: usize,
    servers: Servers,
    /// Serve this contender on `127.0.0.1:port` until Ctrl-C, without load (to look at it
    /// with curl, or profile it under another load generator).
    serve: Option<(String, u16)>,
}

const USAGE: &str = "usage: load [--duration SECS] [--warmup SECS] [--connections N[,N..]] \
[--only NAME,..] [--workloads write,read] [--rounds N] [--max-requests N] [--redis-pool N] [--pg-pool N] \
[--threads N] [--serve CONTENDER:PORT]
contenders: bare-axum axum-extra-signed ours-cookie ts-memory ours-memory ts-redis ours-redis \
ts-postgres ours-postgres ours-redis-unbatched ours-postgres-unbatched ours-redis-cluster ours-redis-cluster-unbatched ours-redis-cluster-cached ours-redis-cached \
(--only takes exact names, or substrings: `ours`, `redis`, ..)";

fn parse_args() -> Result<Args, String> {
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| format!("{}_{}", d.as_secs(), std::process::id()))
        .unwrap_or_else(|_| std::process::id().to_string());
    let mut args = Args {
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        sweep: vec![32],
        connections: 32,
        only: Vec::new(),
        workloads: vec![Workload::Write, Workload::Read],
        max_requests: 5_000_000,
        rounds: 1,
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        servers: Servers {
            redis_url: std::env::var("REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
            postgres_url: std::env::var("POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
            redis_pool: 8,
            pg_pool: 10,
            run_id,
        },
        serve: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.to_owned());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |v: &str| -> Result<f64, String> {
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n > 0.0)
                .ok_or_else(|| format!("{flag}: not a positive number: {v}"))
        };
        match flag.as_str() {
            "--duration" => args.duration = Duration::from_secs_f64(number(&value)?),
            "--warmup" => args.warmup = Duration::from_secs_f64(number(&value)?),
            "--connections" => {
                args.sweep = value
                    .split(',')
                    .map(|n| number(n.trim()).map(|n| n as usize))
                    .collect::<Result<_, _>>()?;
            }
            "--max-requests" => args.max_requests = number(&value)? as u64,
            "--redis-pool" => args.servers.redis_pool = number(&value)? as usize,
            "--pg-pool" => args.servers.pg_pool = number(&value)? as u32,
            "--threads" => args.threads = number(&value)? as usize,
            "--rounds" => args.rounds = number(&value)? as usize,
            "--serve" => {
                let (name, port) = value
                    .split_once(':')
                    .and_then(|(n, p)| Some((n.to_owned(), p.parse().ok()?)))
                    .ok_or_else(|| format!("--serve wants CONTENDER:PORT, got {value}"))?;
                args.serve = Some((name, port));
            }
            "--only" => {
                args.only = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "--workloads" => {
                args.workloads = value
                    .split(',')
                    .map(|w| match w.trim() {
                        "write" => Ok(Workload::Write),
                        "read" => Ok(Workload::Read),
                        other => Err(format!("unknown workload {other:?}\n{USAGE}")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    if args.sweep.contains(&0) || args.threads == 0 || args.rounds == 0 {
        return Err("--connections, --threads and --rounds must be at least 1".to_owned());
    }
    Ok(args)
}

/// One measured row.
struct Row {
    contender: Contender,
    workload: Workload,
    outcome: Result<Measured, String>,
}

/// One contender and workload over every round: the median round's requests/s, the spread,
/// and latency percentiles over all rounds' requests.
struct Measured {
    rps: f64,
    /// Each round's requests/s, in round order (for per-round ratios).
    rps_by_round: Vec<f64>,
    /// The median round's CPU time per answered request, in µs.
    cpu: cpu::CpuTime,
    rps_min: f64,
    rps_max: f64,
    rounds: usize,
    p50: Duration,
    p99: Duration,
    ok: u64,
    errors: u64,
    warmup_errors: u64,
    samples: Vec<String>,
    capped: bool,
    cleanup: String,
    /// Each round's batch sizes (loads, saves: mean/largest per backend call).
    batches: Vec<String>,
}

/// One round of one contender and workload.
struct Round {
    rps: f64,
    /// CPU time per answered request, in µs.
    cpu: cpu::CpuTime,
    /// Sorted.
    latencies_ns: Vec<u64>,
    ok: u64,
    errors: u64,
    warmup_errors: u64,
    samples: Vec<String>,
    capped: bool,
    cleanup: String,
    batches: Option<String>,
}

/// Folds the rounds of one row; any failed round fails the row.
fn aggregate(rounds: Vec<Result<Round, String>>) -> Result<Measured, String> {
    let rounds: Vec<Round> = rounds.into_iter().collect::<Result<_, _>>()?;
    let rps_by_round: Vec<f64> = rounds.iter().map(|r| r.rps).collect();
    let mut rps = rps_by_round.clone();
    rps.sort_by(f64::total_cmp);
    let cpu = cpu::CpuTime {
        process_us: lower_median(rounds.iter().map(|r| r.cpu.process_us).collect()).unwrap_or(0.0),
        machine_us: lower_median(rounds.iter().map(|r| r.cpu.machine_us).collect()).unwrap_or(0.0),
    };
    let mut latencies: Vec<u64> = rounds
        .iter()
        .flat_map(|r| r.latencies_ns.iter().copied())
        .collect();
    latencies.sort_unstable();
    let mut samples = Vec::new();
    let mut cleanup = Vec::new();
    for round in &rounds {
        samples.extend(round.samples.iter().cloned());
        if !round.cleanup.is_empty() && !cleanup.contains(&round.cleanup) {
            cleanup.push(round.cleanup.clone());
        }
    }
    samples.truncate(3);
    Ok(Measured {
        rps: lower_median(rps.clone()).unwrap_or(0.0),
        rps_by_round,
        cpu,
        rps_min: rps.first().copied().unwrap_or(0.0),
        rps_max: rps.last().copied().unwrap_or(0.0),
        rounds: rounds.len(),
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
        ok: rounds.iter().map(|r| r.ok).sum(),
        errors: rounds.iter().map(|r| r.errors).sum(),
        warmup_errors: rounds.iter().map(|r| r.warmup_errors).sum(),
        samples,
        capped: rounds.iter().any(|r| r.capped),
        cleanup: cleanup.join("; "),
        batches: rounds.iter().filter_map(|r| r.batches.clone()).collect(),
    })
}

/// The median; the lower middle for an even count, which is never flattering.
fn lower_median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get((values.len().max(1) - 1) / 2).copied()
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Duration::from_nanos(sorted[rank.clamp(1, sorted.len()) - 1])
}

async fn run_one(
    contender: Contender,
    workload: Workload,
    args: &Args,
    tag: &str,
) -> Result<Round, String> {
    let prepared = contenders::prepare(contender, &args.servers, tag).await?;
    let batches = prepared.batches.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, prepared.router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    let cpu_before = cpu::CpuTime::now();
    let stats: LoadStats = client::run(LoadSpec {
        addr,
        workload,
        verify: contender.verifies(),
        connections: args.connections,
        warmup: args.warmup,
        duration: args.duration,
        max_requests: args.max_requests,
    })
    .await;
    let cpu = cpu::CpuTime::now().per_request_since(cpu_before, stats.answered);

    let _ = stop.send(());
    match tokio::time::timeout(Duration::from_secs(10), server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => return Err(format!("server failed: {e}")),
        Ok(Err(e)) => return Err(format!("server task failed: {e}")),
        Err(_) => return Err("server did not stop within 10 s".to_owned()),
    }
    let cleanup = prepared
        .cleanup
        .run(&stats.jars)
        .await
        .unwrap_or_else(|e| format!("CLEANUP FAILED: {e}"));

    let mut latencies = stats.latencies_ns;
    latencies.sort_unstable();
    let window = stats.window.as_secs_f64().max(f64::EPSILON);
    Ok(Round {
        rps: (stats.ok + stats.errors) as f64 / window,
        cpu,
        latencies_ns: latencies,
        ok: stats.ok,
        errors: stats.errors,
        warmup_errors: stats.warmup_errors,
        samples: stats.error_samples,
        capped: stats.capped,
        cleanup,
        batches: batches.map(|sizes| sizes.summary()),
    })
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

/// `a` over `b`: the median of the per-round ratios, so that each round's contenders are
/// compared with each other, minutes apart at most, whatever the machine did between rounds.
fn ratio(a: Option<&Measured>, b: Option<&Measured>) -> Option<f64> {
    let (a, b) = (a?, b?);
    let per_round: Vec<f64> = a
        .rps_by_round
        .iter()
        .zip(&b.rps_by_round)
        .filter(|(_, b)| **b > 0.0)
        .map(|(a, b)| a / b)
        .collect();
    lower_median(per_round)
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x"))
}

fn report(rows: &[Row], args: &Args) -> bool {
    let measured: HashMap<(&str, &str), &Measured> = rows
        .iter()
        .filter_map(|r| {
            r.outcome
                .as_ref()
                .ok()
                .map(|m| ((r.contender.name(), r.workload.name()), m))
        })
        .collect();
    let get = |c: Contender, w: Workload| measured.get(&(c.name(), w.name())).copied();

    println!();
    println!(
        "{} connections, {:?} warm-up + {:?} measured per contender and round, {} round(s) \
         (req/s: the median round, with the range; ratios: the median of per-round ratios; \
         latencies: all rounds' requests; CPU per answered request: this process's, clients \
         included, and the whole machine's, Redis and PostgreSQL included), {} runtime \
         worker threads shared by servers and clients, Redis/PostgreSQL pools {}/{}",
        args.connections,
        args.warmup,
        args.duration,
        args.rounds,
        args.threads,
        args.servers.redis_pool,
        args.servers.pg_pool
    );
    println!();
    println!(
        "| contender | workload | req/s | req/s range | p50 ms | p99 ms | CPU µs/req: process | machine | errors | vs bare-axum | vs rival |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for row in rows {
        let (c, w) = (row.contender, row.workload);
        match &row.outcome {
            Ok(m) => {
                let vs_bare = ratio(get(c, w), get(Contender::Bare, w));
                let vs_rival = c.rival().map(|rival| {
                    format!(
                        "{} vs {}",
                        fmt_ratio(ratio(get(c, w), get(rival, w))),
                        rival.name()
                    )
                });
                println!(
                    "| {} | {} | {:.0} | {:.0}-{:.0} ({}) | {} | {} | {:.1} | {:.1} | {} | {} | {} |",
                    c.name(),
                    w.name(),
                    m.rps,
                    m.rps_min,
                    m.rps_max,
                    m.rounds,
                    ms(m.p50),
                    ms(m.p99),
                    m.cpu.process_us,
                    m.cpu.machine_us,
                    m.errors,
                    fmt_ratio(vs_bare),
                    vs_rival.unwrap_or_else(|| "-".to_owned()),
                );
            }
            Err(e) => println!(
                "| {} | {} | FAILED | | | | | | | | {} |",
                c.name(),
                w.name(),
                e.replace('|', "/")
            ),
        }
    }

    println!();
    for row in rows {
        if let Ok(m) = &row.outcome {
            let mut notes = Vec::new();
            if m.errors > 0 || m.warmup_errors > 0 {
                notes.push(format!(
                    "{} ok, {} errors in the window, {} during warm-up/set-up; e.g. {:?}",
                    m.ok, m.errors, m.warmup_errors, m.samples
                ));
            }
            if m.capped {
                notes.push("stopped by --max-requests before the deadline".to_owned());
            }
            if !m.batches.is_empty() {
                notes.push(format!(
                    "operations per backend call, loads and saves, mean/largest, by round: {}",
                    m.batches.join(", ")
                ));
            }
            if !m.cleanup.is_empty() {
                notes.push(m.cleanup.clone());
            }
            if !notes.is_empty() {
                println!(
                    "{} / {}: {}",
                    row.contender.name(),
                    row.workload.name(),
                    notes.join("; ")
                );
            }
        }
    }

    println!();
    println!("targets (ratios of requests/s in this run):");
    // (ours, rival or bare axum, target on writes, target on reads)
    let targets: [(Contender, Option<Contender>, f64, f64); 4] = [
        (Contender::OursCookie, None, 0.85, 0.85),
        (Contender::OursMemory, None, 0.80, 0.80),
        (Contender::OursRedis, Some(Contender::TsRedis), 2.0, 1.5),
        (
            Contender::OursPostgres,
            Some(Contender::TsPostgres),
            2.0,
            1.5,
        ),
    ];
    let mut all_met = true;
    for workload in &args.workloads {
        for (ours, rival, on_writes, on_reads) in targets {
            let target = match workload {
                Workload::Write => on_writes,
                Workload::Read => on_reads,
            };
            let base = rival.unwrap_or(Contender::Bare);
            let r = ratio(get(ours, *workload), get(base, *workload));
            let verdict = match r {
                Some(r) if r >= target => "met",
                Some(_) => "NOT met",
                None => "not measured",
            };
            if verdict != "met" {
                all_met = false;
            }
            println!(
                "  {:<14} {:<5} {:>6} of {:<18} target >= {:.2}x: {verdict}",
                ours.name(),
                workload.name(),
                fmt_ratio(r),
                base.name(),
                target
            );
        }
    }
    all_met
}

/// Serves one contender until Ctrl-C, then cleans up its records.
async fn serve(name: &str, port: u16, args: &Args) -> ExitCode {
    let Some(contender) = contenders::ALL.into_iter().find(|c| c.name() == name) else {
        eprintln!("unknown contender {name}\n{USAGE}");
        return ExitCode::from(2);
    };
    let prepared = match contenders::prepare(contender, &args.servers, "serve").await {
        Ok(prepared) => prepared,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("bind 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("serving {name} on http://127.0.0.1:{port}/ (GET / and /read); Ctrl-C stops");
    let served = axum::serve(listener, prepared.router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    match prepared.cleanup.run(&[]).await {
        Ok(line) if !line.is_empty() => eprintln!("{line}"),
        Ok(_) => {}
        Err(e) => eprintln!("CLEANUP FAILED: {e}"),
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `--only` entry `only` selects `contender`: its exact name selects just it; any
/// other entry, every contender whose name contains it.
fn selects(only: &str, contender: Contender) -> bool {
    let exact = contenders::ALL.iter().any(|c| c.name() == only);
    if exact {
        contender.name() == only
    } else {
        contender.name().contains(only)
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let selected: Vec<Contender> = contenders::ALL
        .into_iter()
        .filter(|c| args.only.is_empty() || args.only.iter().any(|o| selects(o, *c)))
        .collect();
    if selected.is_empty() {
        eprintln!("--only matched no contender\n{USAGE}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some((name, port)) = &args.serve {
        return runtime.block_on(serve(name, *port, &args));
    }
    let pairs: Vec<(Workload, Contender)> = args
        .workloads
        .iter()
        .flat_map(|w| selected.iter().map(move |c| (*w, *c)))
        .collect();
    let mut args = args;
    let mut failed = false;
    for connections in args.sweep.clone() {
        args.connections = connections;
        let rows = runtime.block_on(async {
            // Every round runs every pair once, so a change in the machine's background load during
            // the invocation touches every contender alike.
            let mut rounds: Vec<Vec<Result<Round, String>>> =
                pairs.iter().map(|_| Vec::new()).collect();
            for round in 1..=args.rounds {
                // Each round starts one pair later, so no contender always runs first or last.
                for step in 0..pairs.len() {
                    let index = (step + round - 1) % pairs.len();
                    let (workload, contender) = &pairs[index];
                    let results = &mut rounds[index];
                    let tag = format!(
                        "{}_{}_{}_{round}",
                        contender.name().replace('-', "_"),
                        workload.name(),
                        args.connections
                    );
                    eprintln!(
                        "{} connections, round {round}/{}: {} / {} ...",
                        args.connections,
                        args.rounds,
                        contender.name(),
                        workload.name()
                    );
                    let outcome = run_one(*contender, *workload, &args, &tag).await;
                    match &outcome {
                        Ok(r) => eprintln!(
                            "  {:.0} req/s, p50 {} ms, p99 {} ms, {} errors{}",
                            r.rps,
                            ms(percentile(&r.latencies_ns, 50.0)),
                            ms(percentile(&r.latencies_ns, 99.0)),
                            r.errors,
                            r.batches
                                .as_ref()
                                .map(|b| format!(", batches {b}"))
                                .unwrap_or_default()
                        ),
                        Err(e) => eprintln!("  FAILED: {e}"),
                    }
                    results.push(outcome);
                }
            }
            pairs
                .iter()
                .zip(rounds)
                .map(|((workload, contender), results)| Row {
                    contender: *contender,
                    workload: *workload,
                    outcome: aggregate(results),
                })
                .collect::<Vec<_>>()
        });
        report(&rows, &args);
        failed |= rows
            .iter()
            .any(|r| r.outcome.as_ref().map_or(true, |m| m.errors > 0));
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
