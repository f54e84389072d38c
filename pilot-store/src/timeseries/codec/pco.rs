//! Columns compressed with the `pco` crate's standalone format.
//!
//! Level 6 of pco's 0..=12: on the benchmark data it is within 0.5% of the
//! default level 8 in size and encodes about 30% faster; level 4 is 3.5%
//! larger. Integer columns (timestamps, scaled values) use first-order
//! deltas instead of pco's automatic choice: the same size on timestamps,
//! much smaller on mostly constant series in 8-hour windows (pco's guess
//! goes wrong there), and faster.

use ::pco::data_types::Number;
use ::pco::standalone::{simple_compress, simple_decompress};
use ::pco::{ChunkConfig, DeltaSpec};

use super::varint::Cursor;
#[cfg(test)]
use super::varint::put_u64;

/// Compression level.
const LEVEL: usize = 6;

/// Compresses a column.
pub(crate) fn compress<T: Number>(values: &[T], delta: DeltaSpec) -> Result<Vec<u8>, String> {
    let config = ChunkConfig::default()
        .with_compression_level(LEVEL)
        .with_delta_spec(delta);
    simple_compress(values, &config).map_err(|e| format!("pco compression failed: {e}"))
}

/// Decompresses a column written by [`compress`].
pub(crate) fn decompress<T: Number>(bytes: &[u8]) -> Result<Vec<T>, String> {
    simple_decompress(bytes).map_err(|e| format!("pco column is corrupt: {e}"))
}

/// Appends one compressed column, prefixed by its byte length (the format
/// of chunks written before columns carried their encoding).
#[cfg(test)]
pub(crate) fn put_column<T: Number>(out: &mut Vec<u8>, values: &[T]) -> Result<(), String> {
    let bytes = compress(values, DeltaSpec::Auto)?;
    put_u64(out, bytes.len() as u64);
    out.extend_from_slice(&bytes);
    Ok(())
}

/// Reads one column written by `put_column`.
pub(crate) fn get_column<T: Number>(c: &mut Cursor<'_>) -> Result<Vec<T>, String> {
    let len = c.len()?;
    decompress(c.take(len)?)
}
