//! Memory sizes such as `"512M"`, `"1G"`, `"256MiB"` or `"1.5G"`.
//!
//! A size is a decimal number followed by an optional unit: `B`, or `K`, `M`,
//! `G`, `T` optionally followed by `B` or `iB` (any case). Units are powers of
//! 1024, as for systemd's `MemoryMax=`, so `"1G"`, `"1GB"` and `"1GiB"` are the
//! same size. A number without a unit counts bytes.

/// Why a memory size could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemoryError {
    /// Not a number followed by a known unit.
    Syntax,
    /// A fraction of a byte (a fractional number without unit or with `B`).
    FractionalBytes,
    /// Larger than 2^64 - 1 bytes.
    TooLarge,
}

/// The smallest memory limit Pilot accepts: 1 MiB.
pub(crate) const MIN_MEMORY: u64 = 1 << 20;

/// Parses a memory size into bytes. Fractions of a unit are rounded down to
/// whole bytes.
pub(crate) fn parse_memory(text: &str) -> Result<u64, MemoryError> {
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let valid_number = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !(number.contains('.') && fraction.is_empty());
    if !valid_number || fraction.len() > 9 {
        return Err(MemoryError::Syntax);
    }
    let multiplier = unit_multiplier(unit).ok_or(MemoryError::Syntax)?;
    let scale = 10u128.pow(fraction.len() as u32);
    let whole: u128 = whole.parse().map_err(|_| MemoryError::TooLarge)?;
    let fraction: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| MemoryError::Syntax)?
    };
    if multiplier == 1 && fraction != 0 {
        return Err(MemoryError::FractionalBytes);
    }
    let bytes = whole
        .checked_mul(scale)
        .and_then(|n| n.checked_add(fraction))
        .and_then(|n| n.checked_mul(multiplier))
        .map(|n| n / scale)
        .ok_or(MemoryError::TooLarge)?;
    u64::try_from(bytes).map_err(|_| MemoryError::TooLarge)
}

/// Bytes per unit, or `None` for an unknown unit.
fn unit_multiplier(unit: &str) -> Option<u128> {
    let unit = unit.to_ascii_uppercase();
    let prefix = unit
        .strip_suffix("IB")
        .or_else(|| unit.strip_suffix('B'))
        .unwrap_or(&unit);
    let power = match prefix {
        "" if unit.ends_with("IB") => return None,
        "" => 0,
        "K" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        _ => return None,
    };
    Some(1u128 << (10 * power))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_units_are_powers_of_1024() {
        assert_eq!(parse_memory("512M"), Ok(512 << 20));
        assert_eq!(parse_memory("1G"), Ok(1 << 30));
        assert_eq!(parse_memory("1GB"), Ok(1 << 30));
        assert_eq!(parse_memory("256MiB"), Ok(256 << 20));
        assert_eq!(parse_memory("1.5G"), Ok(3 << 29));
        assert_eq!(parse_memory("2t"), Ok(2 << 40));
        assert_eq!(parse_memory("64k"), Ok(64 << 10));
        assert_eq!(parse_memory("1048576"), Ok(1 << 20));
        assert_eq!(parse_memory("100B"), Ok(100));
    }

    #[test]
    fn fractions_round_down_to_whole_bytes() {
        assert_eq!(parse_memory("1.3K"), Ok(1331));
        assert_eq!(parse_memory("0.5M"), Ok(512 << 10));
    }

    #[test]
    fn malformed_sizes_are_rejected() {
        for text in [
            "",
            "M",
            "512 M",
            "512X",
            "1.G",
            ".5G",
            "1..5G",
            "-1G",
            "1e3M",
            "1iB",
            "1GiBB",
            "1.0000000001G",
        ] {
            assert_eq!(parse_memory(text), Err(MemoryError::Syntax), "{text:?}");
        }
        assert_eq!(parse_memory("1.5"), Err(MemoryError::FractionalBytes));
        assert_eq!(parse_memory("1.5B"), Err(MemoryError::FractionalBytes));
        assert_eq!(parse_memory("17000000000T"), Err(MemoryError::TooLarge));
        assert_eq!(
            parse_memory("99999999999999999999999999999999999999999"),
            Err(MemoryError::TooLarge)
        );
    }
}
