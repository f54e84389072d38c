//! What a node tells the server when it registers: OS, kernel, CPU, memory
//! and disks.

use serde::{Deserialize, Serialize};
use sysinfo::{CpuRefreshKind, System};

use crate::collector::filesystems_now;
use crate::error::{Error, Result};

/// The node's hardware and operating system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// Host name.
    pub hostname: String,
    /// OS name, e.g. "Debian GNU/Linux".
    pub os_name: String,
    /// OS name and version, e.g. "Linux (Debian GNU/Linux 12)".
    pub os_version: String,
    /// Kernel release, e.g. "6.1.0-18-amd64".
    pub kernel_version: String,
    /// CPU architecture, e.g. "x86_64".
    pub architecture: String,
    /// CPU model, e.g. "AMD EPYC 7763 64-Core Processor".
    pub cpu_model: String,
    /// Logical CPUs.
    pub cpu_cores: usize,
    /// Physical cores, when the kernel tells.
    pub physical_cores: Option<usize>,
    /// Usable physical memory in bytes.
    pub memory_total_bytes: u64,
    /// Swap space in bytes.
    pub swap_total_bytes: u64,
    /// Local filesystems (as the collector reports them).
    pub disks: Vec<DiskInfo>,
}

/// One local filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskInfo {
    /// Mount source, e.g. "/dev/vda1".
    pub device: String,
    /// Mount point.
    pub mountpoint: String,
    /// Filesystem type.
    pub fstype: String,
    /// Size in bytes.
    pub size_bytes: u64,
}

const UNKNOWN: &str = "unknown";

impl SystemInfo {
    /// Gathers the facts now. Facts the platform does not tell are "unknown".
    pub fn gather() -> Result<SystemInfo> {
        let mut system = System::new().map_err(|cause| Error::SystemInfo { cause })?;
        system.refresh_cpu_list(CpuRefreshKind::nothing());
        system.refresh_memory();
        let cpu_model = system
            .cpus()
            .first()
            .map(|cpu| cpu.brand().trim().to_owned())
            .filter(|brand| !brand.is_empty())
            .unwrap_or_else(|| UNKNOWN.to_owned());
        let disks = filesystems_now()?
            .into_iter()
            .map(|fs| DiskInfo {
                device: fs.device,
                mountpoint: fs.mountpoint,
                fstype: fs.fstype,
                size_bytes: fs.size,
            })
            .collect();
        let known = |r: std::result::Result<String, sysinfo::Error>| {
            r.unwrap_or_else(|_| UNKNOWN.to_owned())
        };
        Ok(SystemInfo {
            hostname: known(System::host_name()),
            os_name: known(System::name()),
            os_version: known(System::long_os_version()),
            kernel_version: known(System::kernel_version()),
            architecture: System::cpu_arch(),
            cpu_model,
            cpu_cores: system.cpus().len(),
            physical_cores: System::physical_core_count().ok(),
            memory_total_bytes: system.total_memory(),
            swap_total_bytes: system.total_swap(),
            disks,
        })
    }
}
