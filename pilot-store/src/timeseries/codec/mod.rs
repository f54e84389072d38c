//! Encodings of closed windows: raw samples (timestamps and values), rollup
//! chunks (bucket start, min, max, sum, count) and blocks (the raw samples of
//! several series of one node, see [`block`]), in one of two codecs.
//!
//! The first byte of every payload names its format, and every column its
//! encoding, so data written with one codec, or by an earlier version, stays
//! readable after the default changes.

pub(crate) mod block;
mod columns;
mod gorilla;
mod pco;
pub(crate) mod varint;

use serde::{Deserialize, Serialize};

use super::rollup::Bucket;

/// How closed windows are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkCodec {
    /// Delta-of-delta timestamps and XOR floats (Gorilla).
    Gorilla,
    /// The `pco` crate (numeric compression with automatic delta, float
    /// multiplier and quantisation detection) at level 6, with decimal
    /// values stored as integers; the default, see the
    /// [module docs](crate::timeseries#codec) for the measurements.
    #[default]
    Pco,
}

/// Earlier format: one Gorilla bit stream (count, timestamps, values).
const TAG_GORILLA: u8 = 1;
/// Earlier format: length-prefixed pco columns.
const TAG_PCO: u8 = 2;
/// Self-describing columns (see `columns`).
const TAG_COLUMNS: u8 = 3;

/// Samples of one series in one window, sorted by timestamp.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RawColumns {
    /// Unix ms, strictly increasing.
    pub ts: Vec<i64>,
    /// Values, bit-exact.
    pub values: Vec<f64>,
}

/// Encodes samples (sorted by time, no duplicate timestamps) the way the
/// store encodes the samples of one series in a block; for measurements and
/// tools.
pub fn encode_samples(codec: ChunkCodec, ts: &[i64], values: &[f64]) -> crate::Result<Vec<u8>> {
    if ts.len() != values.len() {
        return Err(crate::Error::invalid(
            "samples",
            format!("{} timestamps but {} values", ts.len(), values.len()),
        ));
    }
    encode_raw(codec, ts, values).map_err(|reason| crate::Error::invalid("samples", reason))
}

/// Decodes a payload written by [`encode_samples`] (or a raw chunk of an
/// earlier version of the store).
pub fn decode_samples(payload: &[u8]) -> crate::Result<(Vec<i64>, Vec<f64>)> {
    let raw =
        decode_raw(payload).map_err(|reason| crate::Error::invalid("chunk payload", reason))?;
    Ok((raw.ts, raw.values))
}

/// Encodes raw samples.
pub(crate) fn encode_raw(codec: ChunkCodec, ts: &[i64], values: &[f64]) -> Result<Vec<u8>, String> {
    let mut out = vec![TAG_COLUMNS];
    columns::put_ints(&mut out, codec, ts)?;
    columns::put_floats(&mut out, codec, values)?;
    Ok(out)
}

/// Decodes raw samples of any format.
pub(crate) fn decode_raw(bytes: &[u8]) -> Result<RawColumns, String> {
    let mut c = varint::Cursor::new(bytes);
    let raw = match c.u8()? {
        TAG_GORILLA => {
            let (n, rest) = gorilla_header(&mut c)?;
            let mut r = gorilla::BitReader::new(rest);
            RawColumns {
                ts: gorilla::get_ints(&mut r, n)?,
                values: gorilla::get_floats(&mut r, n)?,
            }
        }
        TAG_PCO => RawColumns {
            ts: pco::get_column(&mut c)?,
            values: pco::get_column(&mut c)?,
        },
        TAG_COLUMNS => RawColumns {
            ts: columns::get_ints(&mut c)?,
            values: columns::get_floats(&mut c)?,
        },
        tag => return Err(format!("unknown codec tag {tag}")),
    };
    if raw.ts.len() != raw.values.len() {
        return Err("timestamp and value columns differ in length".into());
    }
    Ok(raw)
}

/// Encodes rollup buckets.
pub(crate) fn encode_rollup(codec: ChunkCodec, buckets: &[Bucket]) -> Result<Vec<u8>, String> {
    let starts: Vec<i64> = buckets.iter().map(|b| b.start_ms).collect();
    let counts: Vec<i64> = buckets.iter().map(|b| b.count as i64).collect();
    let mins: Vec<f64> = buckets.iter().map(|b| b.min).collect();
    let maxs: Vec<f64> = buckets.iter().map(|b| b.max).collect();
    let sums: Vec<f64> = buckets.iter().map(|b| b.sum).collect();
    let mut out = vec![TAG_COLUMNS];
    columns::put_ints(&mut out, codec, &starts)?;
    columns::put_ints(&mut out, codec, &counts)?;
    for column in [&mins, &maxs, &sums] {
        columns::put_floats(&mut out, codec, column)?;
    }
    Ok(out)
}

/// Decodes rollup buckets of any format.
pub(crate) fn decode_rollup(bytes: &[u8]) -> Result<Vec<Bucket>, String> {
    let mut c = varint::Cursor::new(bytes);
    let (starts, counts, mins, maxs, sums) = match c.u8()? {
        TAG_GORILLA => {
            let (n, rest) = gorilla_header(&mut c)?;
            let mut r = gorilla::BitReader::new(rest);
            (
                gorilla::get_ints(&mut r, n)?,
                gorilla::get_ints(&mut r, n)?,
                gorilla::get_floats(&mut r, n)?,
                gorilla::get_floats(&mut r, n)?,
                gorilla::get_floats(&mut r, n)?,
            )
        }
        TAG_PCO => (
            pco::get_column::<i64>(&mut c)?,
            pco::get_column::<i64>(&mut c)?,
            pco::get_column::<f64>(&mut c)?,
            pco::get_column::<f64>(&mut c)?,
            pco::get_column::<f64>(&mut c)?,
        ),
        TAG_COLUMNS => (
            columns::get_ints(&mut c)?,
            columns::get_ints(&mut c)?,
            columns::get_floats(&mut c)?,
            columns::get_floats(&mut c)?,
            columns::get_floats(&mut c)?,
        ),
        tag => return Err(format!("unknown codec tag {tag}")),
    };
    let n = starts.len();
    if [counts.len(), mins.len(), maxs.len(), sums.len()]
        .iter()
        .any(|&l| l != n)
    {
        return Err("rollup columns differ in length".into());
    }
    Ok((0..n)
        .map(|i| Bucket {
            start_ms: starts[i],
            count: counts[i].max(0) as u64,
            min: mins[i],
            max: maxs[i],
            sum: sums[i],
        })
        .collect())
}

/// The value count and bit stream of an earlier Gorilla payload; the count
/// is checked against the stream length (every value takes at least one
/// bit) so that a corrupt count cannot request a huge allocation.
fn gorilla_header<'a>(c: &mut varint::Cursor<'a>) -> Result<(usize, &'a [u8]), String> {
    let n = c.len()?;
    let rest = c.rest();
    if n > rest.len().saturating_mul(8) {
        return Err(format!(
            "count {n} exceeds what {} bytes can hold",
            rest.len()
        ));
    }
    Ok((n, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RawColumns {
        let ts: Vec<i64> = (0..500)
            .map(|i| 1_700_000_000_000 + i * 10_000 + (i % 3))
            .collect();
        let values = (0..500)
            .map(|i| match i {
                7 => f64::NAN,
                8 => f64::NEG_INFINITY,
                _ => (i as f64 * 0.37).sin() * 40.0 + 50.0,
            })
            .collect();
        RawColumns { ts, values }
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|f| f.to_bits()).collect()
    }

    #[test]
    fn both_codecs_round_trip_bit_exact() {
        let raw = sample();
        for codec in [ChunkCodec::Gorilla, ChunkCodec::Pco] {
            let back = decode_raw(&encode_raw(codec, &raw.ts, &raw.values).unwrap()).unwrap();
            assert_eq!(back.ts, raw.ts, "{codec:?}");
            assert_eq!(bits(&back.values), bits(&raw.values), "{codec:?}");
        }
    }

    #[test]
    fn earlier_formats_stay_readable() {
        let raw = sample();
        let mut w = gorilla::BitWriter::default();
        gorilla::put_ints(&mut w, &raw.ts);
        gorilla::put_floats(&mut w, &raw.values);
        let mut old_gorilla = vec![TAG_GORILLA];
        varint::put_u64(&mut old_gorilla, raw.ts.len() as u64);
        old_gorilla.extend_from_slice(&w.finish());
        let mut old_pco = vec![TAG_PCO];
        pco::put_column(&mut old_pco, &raw.ts).unwrap();
        pco::put_column(&mut old_pco, &raw.values).unwrap();
        for payload in [old_gorilla, old_pco] {
            let back = decode_raw(&payload).unwrap();
            assert_eq!(back.ts, raw.ts);
            assert_eq!(bits(&back.values), bits(&raw.values));
        }
        let buckets = [Bucket::of(0, 1.5), Bucket::of(60_000, -2.0)];
        let mut old_rollup = vec![TAG_PCO];
        pco::put_column(&mut old_rollup, &[0i64, 60_000]).unwrap();
        pco::put_column(&mut old_rollup, &[1i64, 1]).unwrap();
        for _ in 0..3 {
            pco::put_column(&mut old_rollup, &[1.5f64, -2.0]).unwrap();
        }
        assert_eq!(decode_rollup(&old_rollup).unwrap(), buckets);
    }

    #[test]
    fn rollups_round_trip() {
        let buckets: Vec<Bucket> = (0..100)
            .map(|i| Bucket {
                start_ms: i * 60_000,
                count: 6,
                min: i as f64,
                max: i as f64 + 2.5,
                sum: i as f64 * 6.0 + 1.0 / 3.0,
            })
            .collect();
        for codec in [ChunkCodec::Gorilla, ChunkCodec::Pco] {
            let back = decode_rollup(&encode_rollup(codec, &buckets).unwrap()).unwrap();
            assert_eq!(back, buckets, "{codec:?}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &[][..],
            &[9u8][..],
            &[TAG_PCO, 200, 1][..],
            &[TAG_GORILLA, 5, 1][..],
            &[TAG_COLUMNS, 2, 1][..],
        ] {
            assert!(decode_raw(bytes).is_err());
            assert!(decode_rollup(bytes).is_err());
        }
    }
}
