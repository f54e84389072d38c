//! The Gorilla encoding (Pelkonen et al., VLDB 2015): timestamps as
//! delta-of-delta with variable-width buckets, floats as the XOR with the
//! previous value, storing only the meaningful bits.

/// Appends bits most-significant first.
#[derive(Default)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    used: u32,
}

impl BitWriter {
    /// Appends the low `n` bits of `v` (n ≤ 64).
    pub fn put(&mut self, v: u64, n: u32) {
        let mut left = n;
        while left > 0 {
            if self.used == 0 || self.used == 8 {
                self.bytes.push(0);
                self.used = 0;
            }
            let room = 8 - self.used;
            let take = room.min(left);
            let shift = left - take;
            let chunk = ((v >> shift) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = self.bytes.last_mut() {
                *last |= chunk << (room - take);
            }
            self.used += take;
            left -= take;
        }
    }

    /// Appends one bit.
    pub fn bit(&mut self, b: bool) {
        self.put(u64::from(b), 1);
    }

    /// The written bytes (the last one zero-padded).
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads bits most-significant first.
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader at the first bit of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, pos: 0 }
    }

    /// Reads `n` bits (n ≤ 64).
    pub fn get(&mut self, n: u32) -> Result<u64, String> {
        let mut v = 0u64;
        let mut left = n;
        while left > 0 {
            let byte = *self
                .bytes
                .get(self.pos / 8)
                .ok_or_else(|| "bit stream truncated".to_string())?;
            let offset = (self.pos % 8) as u32;
            let room = 8 - offset;
            let take = room.min(left);
            let chunk = (u64::from(byte) >> (room - take)) & ((1u64 << take) - 1);
            v = (v << take) | chunk;
            self.pos += take as usize;
            left -= take;
        }
        Ok(v)
    }

    /// Reads one bit.
    pub fn bit(&mut self) -> Result<bool, String> {
        Ok(self.get(1)? == 1)
    }
}

fn zigzag(v: i64) -> u64 {
    super::varint::zigzag(v)
}

fn unzigzag(v: u64) -> i64 {
    super::varint::unzigzag(v)
}

/// Delta-of-delta buckets: prefix bits and payload width.
const DOD_BUCKETS: [(u64, u32, u32); 4] = [
    (0b10, 2, 7),
    (0b110, 3, 9),
    (0b1110, 4, 12),
    (0b11110, 5, 32),
];

/// Encodes integers (timestamps, counts) as first value, then deltas of deltas.
pub(crate) fn put_ints(w: &mut BitWriter, values: &[i64]) {
    let mut prev = 0i64;
    let mut prev_delta = 0i64;
    for (i, &v) in values.iter().enumerate() {
        if i == 0 {
            w.put(v as u64, 64);
        } else {
            let delta = v.wrapping_sub(prev);
            let dod = zigzag(delta.wrapping_sub(prev_delta));
            if dod == 0 {
                w.bit(false);
            } else if let Some(&(prefix, plen, width)) = DOD_BUCKETS
                .iter()
                .find(|&&(_, _, width)| dod < (1u64 << width))
            {
                w.put(prefix, plen);
                w.put(dod, width);
            } else {
                w.put(0b11111, 5);
                w.put(dod, 64);
            }
            prev_delta = delta;
        }
        prev = v;
    }
}

/// Decodes `n` integers written by [`put_ints`].
pub(crate) fn get_ints(r: &mut BitReader<'_>, n: usize) -> Result<Vec<i64>, String> {
    let mut out = Vec::with_capacity(n);
    let mut prev = 0i64;
    let mut prev_delta = 0i64;
    for i in 0..n {
        let v = if i == 0 {
            r.get(64)? as i64
        } else {
            let mut ones = 0;
            while ones < 5 && r.bit()? {
                ones += 1;
            }
            let dod = match ones {
                0 => 0,
                5 => unzigzag(r.get(64)?),
                k => unzigzag(r.get(DOD_BUCKETS[k - 1].2)?),
            };
            let delta = prev_delta.wrapping_add(dod);
            prev_delta = delta;
            prev.wrapping_add(delta)
        };
        out.push(v);
        prev = v;
    }
    Ok(out)
}

/// Encodes floats as XORs with the previous value.
pub(crate) fn put_floats(w: &mut BitWriter, values: &[f64]) {
    let mut prev = 0u64;
    let mut window: Option<(u32, u32)> = None; // (leading, trailing) of the last block
    for (i, v) in values.iter().enumerate() {
        let bits = v.to_bits();
        if i == 0 {
            w.put(bits, 64);
        } else {
            let x = bits ^ prev;
            if x == 0 {
                w.bit(false);
            } else {
                let lead = x.leading_zeros().min(31);
                let trail = x.trailing_zeros();
                match window {
                    Some((pl, pt)) if lead >= pl && trail >= pt => {
                        w.put(0b10, 2);
                        w.put(x >> pt, 64 - pl - pt);
                    }
                    _ => {
                        let len = 64 - lead - trail;
                        w.put(0b11, 2);
                        w.put(u64::from(lead), 5);
                        w.put(u64::from(len & 63), 6);
                        w.put(x >> trail, len);
                        window = Some((lead, trail));
                    }
                }
            }
        }
        prev = bits;
    }
}

/// Decodes `n` floats written by [`put_floats`].
pub(crate) fn get_floats(r: &mut BitReader<'_>, n: usize) -> Result<Vec<f64>, String> {
    let mut out = Vec::with_capacity(n);
    let mut prev = 0u64;
    let mut window: Option<(u32, u32)> = None;
    for i in 0..n {
        let bits = if i == 0 {
            r.get(64)?
        } else if !r.bit()? {
            prev
        } else if !r.bit()? {
            let (pl, pt) = window.ok_or("xor block refers to no previous block")?;
            prev ^ (r.get(64 - pl - pt)? << pt)
        } else {
            let lead = r.get(5)? as u32;
            let len = match r.get(6)? as u32 {
                0 => 64,
                l => l,
            };
            let trail = 64u32
                .checked_sub(lead + len)
                .ok_or("xor block wider than 64 bits")?;
            window = Some((lead, trail));
            let meaningful = r.get(len)?;
            prev ^ if trail == 64 { 0 } else { meaningful << trail }
        };
        out.push(f64::from_bits(bits));
        prev = bits;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip() {
        let mut w = BitWriter::default();
        w.put(0b101, 3);
        w.put(u64::MAX, 64);
        w.put(7, 5);
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.get(3).unwrap(), 0b101);
        assert_eq!(r.get(64).unwrap(), u64::MAX);
        assert_eq!(r.get(5).unwrap(), 7);
    }

    #[test]
    fn ints_and_floats_round_trip() {
        let ints = [i64::MIN, 0, 10_000, 20_000, 30_001, 29_000, i64::MAX, -5];
        let floats = [1.5, 1.5, f64::NAN, f64::INFINITY, -0.0, 1e-300, 42.25, 42.5];
        let mut w = BitWriter::default();
        put_ints(&mut w, &ints);
        put_floats(&mut w, &floats);
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes);
        assert_eq!(get_ints(&mut r, ints.len()).unwrap(), ints);
        let back = get_floats(&mut r, floats.len()).unwrap();
        let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&floats));
    }

    #[test]
    fn regular_timestamps_cost_one_bit() {
        let ts: Vec<i64> = (0..1000).map(|i| 1_700_000_000_000 + i * 10_000).collect();
        let mut w = BitWriter::default();
        put_ints(&mut w, &ts);
        assert!(w.finish().len() < 8 + 2 + 1000 / 8 + 8);
    }
}
