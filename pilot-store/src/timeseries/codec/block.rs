//! Blocks: the raw samples of one window for several series of one node, in
//! one payload. A node's collector samples its series at the same instants,
//! so a block stores each distinct timestamp column once and lets every
//! series point at one; series with their own timestamps (late samples, other
//! collection intervals) get their own column.
//!
//! Layout: format byte, count and timestamp columns, count and per series
//! (ascending id) the id delta and its timestamp column's index, then the
//! value columns in the same order. Reading one series decodes only its two
//! columns.

use super::columns;
use super::varint::{Cursor, put_u64};
use super::{ChunkCodec, RawColumns};

/// Format of block payloads.
const BLOCK_V1: u8 = 1;

/// The samples of one series in a block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesSamples {
    /// Series id.
    pub series: i64,
    /// Its samples in the window, sorted by timestamp.
    pub raw: RawColumns,
}

/// Encodes series (ascending ids, each sorted by time) into a block.
pub(crate) fn encode(codec: ChunkCodec, series: &[SeriesSamples]) -> Result<Vec<u8>, String> {
    let mut times: Vec<&[i64]> = Vec::new();
    let mut index = Vec::with_capacity(series.len());
    for s in series {
        let ts = s.raw.ts.as_slice();
        let found = times.iter().position(|t| *t == ts);
        index.push(found.unwrap_or_else(|| {
            times.push(ts);
            times.len() - 1
        }));
    }
    let mut out = vec![BLOCK_V1];
    put_u64(&mut out, times.len() as u64);
    for ts in &times {
        columns::put_ints(&mut out, codec, ts)?;
    }
    put_u64(&mut out, series.len() as u64);
    let mut previous = 0i64;
    for (s, &t) in series.iter().zip(&index) {
        let delta = s
            .series
            .checked_sub(previous)
            .filter(|&d| d > 0 || previous == 0)
            .ok_or_else(|| format!("series ids must ascend, {} after {previous}", s.series))?;
        put_u64(&mut out, delta as u64);
        put_u64(&mut out, t as u64);
        previous = s.series;
    }
    for s in series {
        columns::put_floats(&mut out, codec, &s.raw.values)?;
    }
    Ok(out)
}

/// A parsed block: where each column is, nothing decoded yet.
pub(crate) struct Block<'a> {
    times: Vec<&'a [u8]>,
    /// Series id, index of its timestamp column, its value column.
    series: Vec<(i64, usize, &'a [u8])>,
}

impl<'a> Block<'a> {
    /// Reads the layout of a block payload.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let mut c = Cursor::new(bytes);
        let version = c.u8()?;
        if version != BLOCK_V1 {
            return Err(format!("unknown block format {version}"));
        }
        let n_times = c.len()?;
        // Every column takes at least two bytes: a bound before allocating.
        if n_times > bytes.len() / 2 {
            return Err(format!(
                "{n_times} timestamp columns in {} bytes",
                bytes.len()
            ));
        }
        let times = (0..n_times)
            .map(|_| columns::take(&mut c))
            .collect::<Result<Vec<_>, _>>()?;
        let n_series = c.len()?;
        if n_series > bytes.len() / 2 {
            return Err(format!("{n_series} series in {} bytes", bytes.len()));
        }
        let mut ids = Vec::with_capacity(n_series);
        let mut previous = 0i64;
        for _ in 0..n_series {
            let delta = i64::try_from(c.u64()?).map_err(|_| "series id out of range")?;
            let id = previous
                .checked_add(delta)
                .ok_or("series id out of range")?;
            let t = c.len()?;
            if t >= times.len() {
                return Err(format!(
                    "series {id} points at timestamp column {t} of {}",
                    times.len()
                ));
            }
            ids.push((id, t));
            previous = id;
        }
        let mut series = Vec::with_capacity(n_series);
        for (id, t) in ids {
            series.push((id, t, columns::take(&mut c)?));
        }
        if !c.is_empty() {
            return Err("trailing bytes after the last column".into());
        }
        Ok(Block { times, series })
    }

    /// The series in the block, ascending.
    #[cfg(test)]
    pub fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.series.iter().map(|s| s.0)
    }

    /// The samples of one series, if the block holds it.
    pub fn read(&self, series: i64) -> Option<Result<RawColumns, String>> {
        let i = self.series.binary_search_by_key(&series, |s| s.0).ok()?;
        Some(self.read_at(i))
    }

    /// Every series with its samples.
    pub fn read_all(&self) -> Result<Vec<SeriesSamples>, String> {
        (0..self.series.len())
            .map(|i| {
                Ok(SeriesSamples {
                    series: self.series[i].0,
                    raw: self.read_at(i)?,
                })
            })
            .collect()
    }

    fn read_at(&self, i: usize) -> Result<RawColumns, String> {
        let (id, t, values) = self.series[i];
        let ts = columns::get_ints(&mut Cursor::new(self.times[t]))?;
        let values = columns::get_floats(&mut Cursor::new(values))?;
        if ts.len() != values.len() {
            return Err(format!(
                "series {id} has {} timestamps but {} values",
                ts.len(),
                values.len()
            ));
        }
        Ok(RawColumns { ts, values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(series: i64, ts: Vec<i64>, f: impl Fn(i64) -> f64) -> SeriesSamples {
        let values = ts.iter().map(|&t| f(t)).collect();
        SeriesSamples {
            series,
            raw: RawColumns { ts, values },
        }
    }

    #[test]
    fn shared_timestamps_are_stored_once() {
        let ts: Vec<i64> = (0..1000)
            .map(|i| 1_700_000_000_000 + i * 10_000 + i % 7)
            .collect();
        let other: Vec<i64> = ts.iter().map(|t| t + 3).collect();
        let series = vec![
            samples(3, ts.clone(), |t| (t % 1000) as f64 / 10.0),
            samples(4, ts.clone(), |t| t as f64 * 2.0),
            samples(9, other, |_| f64::NAN),
            samples(12, ts.clone(), |t| (t as f64).sin()),
        ];
        for codec in [ChunkCodec::Gorilla, ChunkCodec::Pco] {
            let bytes = encode(codec, &series).unwrap();
            let block = Block::parse(&bytes).unwrap();
            assert_eq!(block.times.len(), 2, "{codec:?}");
            assert_eq!(block.ids().collect::<Vec<_>>(), [3, 4, 9, 12]);
            let all = block.read_all().unwrap();
            for (got, want) in all.iter().zip(&series) {
                assert_eq!(got.series, want.series);
                assert_eq!(got.raw.ts, want.raw.ts);
                let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got.raw.values), bits(&want.raw.values));
            }
            assert_eq!(block.read(4).unwrap().unwrap().ts, ts);
            assert!(block.read(5).is_none());
        }
    }

    #[test]
    fn bad_blocks_are_errors() {
        assert!(
            encode(
                ChunkCodec::Pco,
                &[samples(2, vec![1], |_| 1.0), samples(1, vec![1], |_| 1.0)]
            )
            .is_err()
        );
        for bytes in [
            &[][..],
            &[9][..],
            &[BLOCK_V1, 200][..],
            &[BLOCK_V1, 0, 1, 1, 0][..],
        ] {
            assert!(Block::parse(bytes).is_err());
        }
        let good = encode(ChunkCodec::Pco, &[samples(1, vec![1, 2], |_| 1.0)]).unwrap();
        assert!(Block::parse(&good[..good.len() - 1]).is_err());
    }
}
