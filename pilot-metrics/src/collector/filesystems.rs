//! Space on mounted local filesystems: mounts from `/proc/self/mountinfo`,
//! sizes from `statvfs`.

use nix::sys::statvfs::statvfs;

use super::devices::set;
use crate::procfs::mountinfo::Mount;
use crate::snapshot::FilesystemUsage;

/// Filesystem types that hold no user data on a disk: kernel interfaces,
/// memory-backed and read-only image filesystems.
const PSEUDO: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "erofs",
    "fusectl",
    "fuse.gvfsd-fuse",
    "fuse.lxcfs",
    "fuse.portal",
    "hugetlbfs",
    "iso9660",
    "mqueue",
    "nfsd",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
];

/// Network filesystems: `statvfs` on one whose server is unreachable can
/// block for minutes, which would stall every other metric.
const NETWORK: &[&str] = &[
    "9p",
    "afs",
    "ceph",
    "cifs",
    "fuse.rclone",
    "fuse.sshfs",
    "glusterfs",
    "lustre",
    "nfs",
    "nfs4",
    "smb3",
    "smbfs",
];

/// Whether a mount is a local filesystem worth reporting. An overlay mounted
/// on `/` (a container's root) counts: it is the only view of the disk there.
pub(crate) fn is_reported(mount: &Mount) -> bool {
    if mount.fstype == "overlay" && mount.mountpoint == "/" {
        return true;
    }
    !PSEUDO.contains(&mount.fstype.as_str()) && !NETWORK.contains(&mount.fstype.as_str())
}

/// Fills `out` with the usage of each reported mount, each device once (the
/// first mount of a device in mount order, so bind mounts do not repeat it).
/// Mounts that cannot be queried or have no blocks are skipped.
pub(crate) fn measure(
    mounts: &[Mount],
    seen: &mut Vec<(u32, u32)>,
    out: &mut Vec<FilesystemUsage>,
) {
    seen.clear();
    let mut count = 0;
    for mount in mounts.iter().filter(|m| is_reported(m)) {
        if seen.contains(&mount.device) {
            continue;
        }
        let Ok(vfs) = statvfs(mount.mountpoint.as_str()) else {
            continue;
        };
        let fragment = vfs.fragment_size();
        let size = vfs.blocks() * fragment;
        if size == 0 {
            continue;
        }
        seen.push(mount.device);
        let used = size.saturating_sub(vfs.blocks_free() * fragment);
        let available = vfs.blocks_available() * fragment;
        if count == out.len() {
            out.push(FilesystemUsage::default());
        }
        let fs = &mut out[count];
        set(&mut fs.device, &mount.source);
        set(&mut fs.mountpoint, &mount.mountpoint);
        set(&mut fs.fstype, &mount.fstype);
        fs.size = size;
        fs.used = used;
        fs.available = available;
        count += 1;
    }
    out.truncate(count);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(device: (u32, u32), mountpoint: &str, fstype: &str) -> Mount {
        Mount {
            device,
            mountpoint: mountpoint.into(),
            fstype: fstype.into(),
            source: format!("src-{fstype}"),
        }
    }

    #[test]
    fn pseudo_and_network_filesystems_are_skipped() {
        assert!(is_reported(&mount((8, 1), "/", "ext4")));
        assert!(is_reported(&mount((0, 50), "/", "overlay")));
        assert!(!is_reported(&mount((0, 51), "/var/lib/x", "overlay")));
        assert!(!is_reported(&mount((0, 21), "/proc", "proc")));
        assert!(!is_reported(&mount((0, 23), "/dev/shm", "tmpfs")));
        assert!(!is_reported(&mount((0, 40), "/mnt/share", "nfs4")));
    }

    #[test]
    fn each_device_is_reported_once() {
        let mounts = [
            mount((0, 21), "/proc", "proc"),
            mount((1, 1), "/", "ext4"),
            mount((1, 1), "/etc/hostname", "ext4"),
            mount((2, 2), "/does/not/exist", "ext4"),
        ];
        let mut out = Vec::new();
        measure(&mounts, &mut Vec::new(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].mountpoint, "/");
        assert!(out[0].size > 0 && out[0].used <= out[0].size);
        assert!(out[0].available <= out[0].size);
        assert!(out[0].used_percent() > 0.0);
    }
}
