//! `/proc/self/mountinfo`: the mounted filesystems.

/// One mount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Mount {
    /// Device number `major:minor` of the mounted filesystem.
    pub device: (u32, u32),
    /// Where it is mounted.
    pub mountpoint: String,
    /// Filesystem type, e.g. "ext4".
    pub fstype: String,
    /// Mount source, e.g. "/dev/vda1".
    pub source: String,
}

/// Parses `text` into `mounts` (in the file's order), reusing the entries'
/// strings.
pub(crate) fn parse(text: &str, mounts: &mut Vec<Mount>) -> Result<(), &'static str> {
    let mut count = 0;
    for line in text.lines() {
        let mut fields = line.split(' ');
        let (Some(_id), Some(_parent), Some(device), Some(_root), Some(mountpoint)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err("a mount line has fewer than five fields");
        };
        // Mount options and optional fields, up to the `-` separator.
        if !fields.any(|f| f == "-") {
            return Err("a mount line has no `-` separator");
        }
        let (Some(fstype), Some(source)) = (fields.next(), fields.next()) else {
            return Err("a mount line has no filesystem type or source");
        };
        let device = device
            .split_once(':')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .ok_or("a mount line has a malformed device number")?;
        if count == mounts.len() {
            mounts.push(Mount::default());
        }
        let mount = &mut mounts[count];
        mount.device = device;
        unescape_into(mountpoint, &mut mount.mountpoint);
        unescape_into(fstype, &mut mount.fstype);
        unescape_into(source, &mut mount.source);
        count += 1;
    }
    mounts.truncate(count);
    Ok(())
}

/// Copies `field` into `out`, decoding the kernel's octal escapes (`\040`
/// for a space, `\011`, `\012`, `\134`).
fn unescape_into(field: &str, out: &mut String) {
    out.clear();
    let bytes = field.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)))
            .map(|d| d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0')))
            .and_then(|code| u8::try_from(code).ok());
        if let Some(code) = octal {
            out.push(char::from(code));
            i += 4;
        } else {
            let next = field[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(next);
            i += next.len_utf8();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mounts_with_optional_fields_and_escapes() {
        let text = "22 27 0:21 / /proc rw,relatime - proc proc rw\n\
27 1 254:0 / / rw,relatime shared:1 master:2 - ext4 /dev/vda rw,discard\n\
30 27 8:17 / /mnt/my\\040disk rw - xfs /dev/sdb1 rw\n";
        let mut mounts = Vec::new();
        parse(text, &mut mounts).unwrap();
        assert_eq!(mounts.len(), 3);
        assert_eq!(
            mounts[1],
            Mount {
                device: (254, 0),
                mountpoint: "/".into(),
                fstype: "ext4".into(),
                source: "/dev/vda".into()
            }
        );
        assert_eq!(mounts[2].mountpoint, "/mnt/my disk");
        parse("22 27 0:21 / /proc rw - proc proc rw\n", &mut mounts).unwrap();
        assert_eq!(mounts.len(), 1);
    }

    #[test]
    fn rejects_malformed_lines() {
        let mut mounts = Vec::new();
        assert!(parse("1 2 0:1 / /x rw proc proc\n", &mut mounts).is_err());
        assert!(parse("1 2 x / /x rw - proc proc rw\n", &mut mounts).is_err());
        assert!(parse("1 2\n", &mut mounts).is_err());
    }

    #[test]
    fn unescapes_only_octal_sequences() {
        let mut out = String::new();
        unescape_into("a\\134b\\x\\04", &mut out);
        assert_eq!(out, "a\\b\\x\\04");
    }
}
