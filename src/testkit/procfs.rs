//! What /proc says of a process and of the machine, for the benchmarks' figures.
//! A process is named as /proc names it: "self", or a pid.

/// The clock ticks /proc counts CPU time in, per second.
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// The fields of /proc/<pid>/stat after the command name, and the name.
pub fn stat_fields(pid: &str) -> Option<(String, Vec<String>)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, after) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_string();
    Some((comm, after.split_whitespace().map(str::to_string).collect()))
}

/// (utime + stime, cutime + cstime) of `pid` in seconds: its own CPU time, every
/// thread, and its reaped children's (the ffmpeg runs).
pub fn cpu_seconds(pid: &str) -> (f64, f64) {
    let f = stat_fields(pid).map(|x| x.1).unwrap_or_default();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14-17 (utime, stime, cutime, cstime) of proc_pid_stat(5), counted
    // after the ')'.
    let hz = clock_ticks();
    ((ticks(11) + ticks(12)) / hz, (ticks(13) + ticks(14)) / hz)
}

/// VmRSS of `pid`, MB.
pub fn rss_mb(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The machine's (busy, total) CPU time from /proc/stat, in ticks: the machine is
/// shared, and a figure taken while it was busy says so.
pub fn machine_ticks() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3).unwrap_or(&0.0) + v.get(4).unwrap_or(&0.0);
    (total - idle, total)
}

/// The one-minute load average, as /proc/loadavg writes it.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string()
}

/// Stops `child` as a service manager would: SIGTERM (nginx's fast shutdown, our
/// server's graceful stop; a SIGKILL of nginx's master would leave its workers
/// running), then SIGKILL if it has not exited within `grace`; reaped either way.
pub fn terminate(child: &mut std::process::Child, grace: std::time::Duration) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) on a child of this process that has not been reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let t0 = std::time::Instant::now();
    while t0.elapsed() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_name_cpu_time_and_memory() {
        let (comm, fields) = stat_fields("self").unwrap();
        assert!(!comm.is_empty() && fields.len() > 20);
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(50) {}
        assert!(cpu_seconds("self").0 > 0.0);
        assert!(rss_mb("self") > 1.0);
        let (busy, total) = machine_ticks();
        assert!(total > 0.0 && busy <= total);
        assert_ne!(loadavg(), "?");
    }
}
