//! The API's JSON: system.

use serde::Serialize;
use utoipa::ToSchema;

use crate::system::{GpuUsage as DomainGpu, Usage as DomainUsage};

// ---- system -----------------------------------------------------------------

/// GET /api/system-usage: the newest sample and the last ten minutes of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SystemUsage {
    /// The newest sample; null before the first.
    #[schema(required = true)]
    pub now: Option<Usage>,
    /// Samples, oldest first, one every 2 s.
    pub history: Vec<Usage>,
    /// The video encoder in use, e.g. "libx264 (CPU)".
    pub encoder: String,
}

/// One sample of the machine's load.
#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    /// When, Unix seconds.
    pub at: u64,
    /// CPU use over all cores, percent.
    pub cpu_percent: f64,
    /// Memory in use, percent.
    pub memory_percent: f64,
    /// Memory in use, bytes.
    pub memory_used: u64,
    /// Memory in all, bytes.
    pub memory_total: u64,
    /// GPUs; empty when none is visible.
    pub gpus: Vec<GpuUsage>,
    /// NVENC use, percent (the busiest NVIDIA GPU), when an NVIDIA driver is there.
    #[schema(required = true)]
    pub nvenc_percent: Option<u32>,
    /// Bytes used by the data folder.
    pub data_bytes: u64,
    /// Free bytes on the data folder's file system.
    pub disk_free: u64,
    /// Size of that file system, bytes.
    pub disk_total: u64,
    /// Percent of that file system in use.
    pub disk_percent: f64,
}

/// A GPU's load.
#[derive(Debug, Serialize, ToSchema)]
pub struct GpuUsage {
    /// The model, as the driver names it.
    pub name: String,
    /// Utilization, percent, if the driver reports it.
    #[schema(required = true)]
    pub percent: Option<f64>,
    /// Memory in use, bytes.
    #[schema(required = true)]
    pub memory_used: Option<u64>,
    /// Memory in all, bytes.
    #[schema(required = true)]
    pub memory_total: Option<u64>,
}

impl From<DomainUsage> for Usage {
    fn from(u: DomainUsage) -> Self {
        Usage {
            at: u.at,
            cpu_percent: u.cpu_percent.into(),
            memory_percent: u.memory_percent.into(),
            memory_used: u.memory_used,
            memory_total: u.memory_total,
            gpus: u.gpus.into_iter().map(GpuUsage::from).collect(),
            nvenc_percent: u.nvenc_percent,
            data_bytes: u.data_bytes,
            disk_free: u.disk_free,
            disk_total: u.disk_total,
            disk_percent: u.disk_percent.into(),
        }
    }
}

impl From<DomainGpu> for GpuUsage {
    fn from(g: DomainGpu) -> Self {
        GpuUsage {
            name: g.name,
            percent: g.percent.map(f64::from),
            memory_used: g.memory_used,
            memory_total: g.memory_total,
        }
    }
}
