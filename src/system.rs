//! How the machine is doing: CPU, memory, GPU and the data folder's disk, sampled in
//! the background (CPU use needs two readings apart) and kept for the last minutes,
//! so the dashboard can draw a chart without polling history of its own. Only while
//! someone reads them: a server nobody looks at spends nothing on samples.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::{Condvar, Mutex};
use tokio_util::sync::CancellationToken;

/// Time between samples.
const EVERY: Duration = Duration::from_secs(2);
/// Samples kept: ten minutes.
const KEEP: usize = 300;
/// The data folder's size is walked this often: it changes slowly and walking costs.
const WALK_EVERY: u32 = 15;
/// Sampling goes on this long after the last read (the dashboard reads every few
/// seconds while open), then waits for the next.
const READ_WINDOW: Duration = Duration::from_secs(600);

/// A GPU's load, when one is visible.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GpuUsage {
    /// The model, as the driver names it.
    pub name: String,
    /// Utilization, percent, if the driver reports it.
    pub percent: Option<f32>,
    /// Memory in use, bytes.
    pub memory_used: Option<u64>,
    /// Memory in all, bytes.
    pub memory_total: Option<u64>,
}

/// One sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// When, Unix seconds.
    pub at: u64,
    /// CPU use over all cores, percent.
    pub cpu_percent: f32,
    /// Memory in use, percent.
    pub memory_percent: f32,
    /// Memory in use, bytes.
    pub memory_used: u64,
    /// Memory in all, bytes.
    pub memory_total: u64,
    /// GPUs, empty when none is visible.
    pub gpus: Vec<GpuUsage>,
    /// NVENC use, percent (the busiest NVIDIA GPU), when an NVIDIA driver is there.
    pub nvenc_percent: Option<u32>,
    /// Bytes used by the data folder (clips, music cache, segments, state).
    pub data_bytes: u64,
    /// Free bytes on the data folder's file system.
    pub disk_free: u64,
    /// Size of the data folder's file system, bytes.
    pub disk_total: u64,
    /// Percent of that file system in use.
    pub disk_percent: f32,
}

/// The sampler and its history.
pub struct Monitor {
    data: PathBuf,
    samples: Mutex<VecDeque<Usage>>,
    /// When the samples were last read; the sampler waits on `read` while that is
    /// longer ago than [`READ_WINDOW`].
    last_read: Mutex<Option<Instant>>,
    read: Condvar,
}

impl Monitor {
    /// A monitor of this machine and of the data folder `data`.
    pub fn new(data: PathBuf) -> Arc<Monitor> {
        Arc::new(Monitor {
            data,
            samples: Mutex::new(VecDeque::new()),
            last_read: Mutex::new(None),
            read: Condvar::new(),
        })
    }

    /// The newest sample, if any yet. Reading keeps the sampler going.
    pub fn latest(&self) -> Option<Usage> {
        self.note_read();
        self.samples.lock().back().cloned()
    }

    /// The samples of the last minutes, oldest first. Reading keeps the sampler
    /// going.
    pub fn history(&self) -> Vec<Usage> {
        self.note_read();
        self.samples.lock().iter().cloned().collect()
    }

    fn note_read(&self) {
        let mut last = self.last_read.lock();
        let idle = last.is_none_or(|t| t.elapsed() > READ_WINDOW);
        *last = Some(Instant::now());
        if idle {
            self.read.notify_one();
        }
    }

    /// Waits while nobody has read the samples for [`READ_WINDOW`] (looking at
    /// `cancel` every [`EVERY`]). False once cancelled.
    fn wait_for_a_reader(&self, cancel: &CancellationToken) -> bool {
        let mut last = self.last_read.lock();
        while last.is_none_or(|t| t.elapsed() > READ_WINDOW) {
            if cancel.is_cancelled() {
                return false;
            }
            self.read.wait_for(&mut last, EVERY);
        }
        !cancel.is_cancelled()
    }

    /// Samples until cancelled, on a blocking thread (reading /proc and walking the
    /// data folder are blocking).
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let me = self.clone();
        let stop = cancel.clone();
        let _ = tokio::task::spawn_blocking(move || me.sample_loop(&stop)).await;
    }

    fn sample_loop(&self, cancel: &CancellationToken) {
        let Ok(mut sys) = sysinfo::System::new() else {
            tracing::warn!("system usage unavailable on this platform");
            return;
        };
        let mut disks = sysinfo::Disks::new_with_refreshed_list().ok();
        // No GPU (or no driver library) is the common case: quietly none.
        let mut gpus = sysinfo::Gpus::new_with_refreshed_list().ok();
        // NVML is loaded at run time: without the NVIDIA driver this is just None.
        let nvml = nvml_wrapper::Nvml::init().ok();
        let mut data_bytes = 0;
        let mut n = 0u32;
        let mut last_refresh: Option<Instant> = None;
        while self.wait_for_a_reader(cancel) {
            // CPU use is the change between two readings: a first one after a
            // pause, then the interval.
            if last_refresh.is_none_or(|t| t.elapsed() > 2 * EVERY) {
                sys.refresh_cpu_usage();
            }
            std::thread::sleep(EVERY);
            if cancel.is_cancelled() {
                break;
            }
            last_refresh = Some(Instant::now());
            sys.refresh_cpu_usage();
            sys.refresh_memory();
            if n.is_multiple_of(WALK_EVERY) {
                data_bytes = folder_size(&self.data, 0);
            }
            n += 1;
            let (disk_free, disk_total) = disks
                .as_mut()
                .and_then(|d| {
                    d.refresh(false);
                    disk_of(d, &self.data)
                })
                .unwrap_or((0, 0));
            let gpu_list = gpus
                .as_mut()
                .map(|g| {
                    g.refresh(false);
                    g.iter()
                        .map(|x| GpuUsage {
                            name: x.model().unwrap_or("GPU").to_string(),
                            percent: x.usage(),
                            memory_used: x.used_memory(),
                            memory_total: x.total_memory(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let nvenc_percent = nvml.as_ref().and_then(|n| {
                (0..n.device_count().ok()?)
                    .filter_map(|i| n.device_by_index(i).ok()?.encoder_utilization().ok())
                    .map(|u| u.utilization)
                    .max()
            });
            let (used, total) = (sys.used_memory(), sys.total_memory());
            let sample = Usage {
                at: SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                cpu_percent: sys.global_cpu_usage(),
                memory_percent: percent(used, total),
                memory_used: used,
                memory_total: total,
                gpus: gpu_list,
                nvenc_percent,
                data_bytes,
                disk_free,
                disk_total,
                disk_percent: percent(disk_total.saturating_sub(disk_free), disk_total),
            };
            let mut s = self.samples.lock();
            s.push_back(sample);
            while s.len() > KEEP {
                s.pop_front();
            }
        }
    }
}

fn percent(part: u64, whole: u64) -> f32 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 100.0) as f32
    }
}

/// Free and total bytes of the file system holding `path`: the disk with the
/// longest mount point that contains it.
fn disk_of(disks: &sysinfo::Disks, path: &Path) -> Option<(u64, u64)> {
    let path = std::fs::canonicalize(path).ok()?;
    disks
        .iter()
        .filter(|d| path.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| (d.available_space(), d.total_space()))
}

/// Bytes of the files under `dir`, not following links.
fn folder_size(dir: &Path, depth: usize) -> u64 {
    if depth > 16 {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => folder_size(&e.path(), depth + 1),
            Ok(m) if m.is_file() => m.len(),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn samples_the_machine_and_the_data_folder() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("chunks/a")).unwrap();
        std::fs::write(d.path().join("chunks/a/clip.ts"), vec![0u8; 100_000]).unwrap();
        std::fs::write(d.path().join("state.db"), vec![0u8; 5_000]).unwrap();
        let m = Monitor::new(d.path().to_path_buf());
        let cancel = CancellationToken::new();
        let task = tokio::spawn(m.clone().run(cancel.clone()));
        let t0 = std::time::Instant::now();
        while m.latest().is_none() {
            assert!(t0.elapsed() < Duration::from_secs(20), "no sample");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        cancel.cancel();
        task.await.unwrap();
        let u = m.latest().unwrap();
        assert_eq!(u.data_bytes, 105_000);
        assert!(u.memory_total > 0 && u.memory_used > 0 && u.memory_percent > 0.0);
        assert!((0.0..=100.0).contains(&u.cpu_percent));
        assert!(u.disk_total > 0 && u.disk_free <= u.disk_total, "{u:?}");
        assert!(!m.history().is_empty());
        // No NVIDIA driver on this machine: no encoder figure rather than a made-up one.
        if !std::path::Path::new("/proc/driver/nvidia").exists() {
            assert_eq!(u.nvenc_percent, None);
        }
    }

    /// Nobody reads: nothing is sampled; a read starts the sampler.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn samples_only_while_someone_reads() {
        let d = tempfile::tempdir().unwrap();
        let m = Monitor::new(d.path().to_path_buf());
        let cancel = CancellationToken::new();
        let task = tokio::spawn(m.clone().run(cancel.clone()));
        tokio::time::sleep(EVERY * 2 + Duration::from_millis(500)).await;
        assert!(m.samples.lock().is_empty(), "sampled with no reader");
        let t0 = std::time::Instant::now();
        while m.latest().is_none() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "no sample once read"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        cancel.cancel();
        task.await.unwrap();
    }
}
