//! `/proc/meminfo`: physical memory and swap.

/// The memory figures the collector uses, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MemInfo {
    /// `MemTotal`: usable physical memory.
    pub total: u64,
    /// `MemFree`: memory not used at all.
    pub free: u64,
    /// `MemAvailable`: memory available to new work without swapping.
    pub available: u64,
    /// `Buffers`: block-device buffers.
    pub buffers: u64,
    /// `Cached`: the page cache.
    pub cached: u64,
    /// `SReclaimable`: reclaimable kernel slab memory.
    pub slab_reclaimable: u64,
    /// `SwapTotal`: swap space.
    pub swap_total: u64,
    /// `SwapFree`: unused swap space.
    pub swap_free: u64,
}

impl MemInfo {
    /// Parses the text of `/proc/meminfo`. Kernels before 3.14 have no
    /// `MemAvailable`; it is then estimated as free + buffers + cache.
    pub fn parse(text: &str) -> Result<MemInfo, &'static str> {
        let mut info = MemInfo::default();
        let mut saw_total = false;
        let mut saw_available = false;
        for line in text.lines() {
            let Some((key, rest)) = line.split_once(':') else {
                continue;
            };
            let slot = match key {
                "MemTotal" => {
                    saw_total = true;
                    &mut info.total
                }
                "MemFree" => &mut info.free,
                "MemAvailable" => {
                    saw_available = true;
                    &mut info.available
                }
                "Buffers" => &mut info.buffers,
                "Cached" => &mut info.cached,
                "SReclaimable" => &mut info.slab_reclaimable,
                "SwapTotal" => &mut info.swap_total,
                "SwapFree" => &mut info.swap_free,
                _ => continue,
            };
            let mut parts = rest.split_ascii_whitespace();
            let value: u64 = parts
                .next()
                .and_then(|v| v.parse().ok())
                .ok_or("a memory line has no number")?;
            *slot = match parts.next() {
                Some("kB") => value * 1024,
                _ => value,
            };
        }
        if !saw_total {
            return Err("no `MemTotal` line");
        }
        if !saw_available {
            info.available = (info.free + info.buffers + info.cache()).min(info.total);
        }
        Ok(info)
    }

    /// Page cache plus reclaimable slab, as `free` reports it under "cache".
    pub fn cache(&self) -> u64 {
        self.cached + self.slab_reclaimable
    }

    /// Memory in use: total minus available (what `free` reports as "used").
    pub fn used(&self) -> u64 {
        self.total.saturating_sub(self.available)
    }

    /// Swap in use.
    pub fn swap_used(&self) -> u64 {
        self.swap_total.saturating_sub(self.swap_free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_derives() {
        let text = "MemTotal:       24683300 kB\nMemFree:        19166400 kB\n\
                    MemAvailable:   23946620 kB\nBuffers:          123456 kB\n\
                    Cached:          4500000 kB\nSwapCached:            0 kB\n\
                    SReclaimable:     200000 kB\nSwapTotal:       1048576 kB\n\
                    SwapFree:         1000000 kB\nHugePages_Total:       0\n";
        let m = MemInfo::parse(text).unwrap();
        assert_eq!(m.total, 24683300 * 1024);
        assert_eq!(m.available, 23946620 * 1024);
        assert_eq!(m.used(), (24683300 - 23946620) * 1024);
        assert_eq!(m.cache(), 4700000 * 1024);
        assert_eq!(m.buffers, 123456 * 1024);
        assert_eq!(m.swap_used(), 48576 * 1024);
    }

    #[test]
    fn estimates_available_on_old_kernels() {
        let m = MemInfo::parse("MemTotal: 100 kB\nMemFree: 10 kB\nBuffers: 5 kB\nCached: 20 kB\n")
            .unwrap();
        assert_eq!(m.available, 35 * 1024);
    }

    #[test]
    fn requires_the_total() {
        assert_eq!(MemInfo::parse("MemFree: 1 kB\n"), Err("no `MemTotal` line"));
        assert!(MemInfo::parse("MemTotal: x kB\n").is_err());
    }
}
