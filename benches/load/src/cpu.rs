//! CPU time from `/proc`: this process's (servers and clients) and the whole machine's (Redis
//! and PostgreSQL included), to tell what a request costs and who spends it.

/// `/proc` counts CPU time in USER_HZ ticks, which Linux fixes at 100 per second.
const MICROS_PER_TICK: f64 = 10_000.0;

/// CPU time spent so far, in µs.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTime {
    /// This process, all threads, user + system.
    pub process_us: f64,
    /// Every core of the machine, busy (user, nice, system, irq, softirq; not idle, I/O wait
    /// or time stolen by a hypervisor).
    pub machine_us: f64,
}

impl CpuTime {
    pub fn now() -> Self {
        Self {
            process_us: process_ticks() as f64 * MICROS_PER_TICK,
            machine_us: machine_busy_ticks() as f64 * MICROS_PER_TICK,
        }
    }

    /// What was spent since `earlier`, per one of `requests`.
    pub fn per_request_since(self, earlier: CpuTime, requests: u64) -> CpuTime {
        let n = requests.max(1) as f64;
        CpuTime {
            process_us: (self.process_us - earlier.process_us) / n,
            machine_us: (self.machine_us - earlier.machine_us) / n,
        }
    }
}

/// Fields 14 and 15 of `/proc/self/stat` (utime, stime); 0 when unreadable.
fn process_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|field| field.parse::<u64>().ok())
        .sum()
}

/// The busy fields of the `cpu` line of `/proc/stat`; 0 when unreadable.
fn machine_busy_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return 0;
    };
    let Some(line) = stat.lines().find(|line| line.starts_with("cpu ")) else {
        return 0;
    };
    // user nice system idle iowait irq softirq steal ...
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    [0, 1, 2, 5, 6]
        .iter()
        .filter_map(|&index| fields.get(index))
        .sum()
}
