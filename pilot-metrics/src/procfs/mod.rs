//! Readers and parsers for the kernel's statistics files under `/proc`.
//!
//! Files read every collection are kept open and re-read from their start
//! ([`ProcFile`]) into a [`ReadBuf`] the caller reuses, so a collection costs
//! an `lseek` and a few `read`s per file and allocates nothing for the text.

pub(crate) mod diskstats;
pub(crate) mod load;
pub(crate) mod meminfo;
pub(crate) mod mountinfo;
pub(crate) mod netdev;
pub(crate) mod pidstat;
pub(crate) mod stat;

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A statistics file kept open between collections.
#[derive(Debug)]
pub(crate) struct ProcFile {
    path: PathBuf,
    file: Option<File>,
}

impl ProcFile {
    /// A reader of `path`; the file is opened on the first read.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ProcFile {
            path: path.into(),
            file: None,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the content of `buf` with the file's current content (read
    /// from offset 0 with `pread`, so no seek is needed). An open file that
    /// cannot be re-read is opened again once.
    pub fn read_into(&mut self, buf: &mut ReadBuf) -> Result<()> {
        if let Some(file) = &self.file {
            if buf.fill_from_start(file, false).is_ok() {
                return Ok(());
            }
            self.file = None;
        }
        let file = File::open(&self.path).map_err(|e| Error::io("open", &self.path, e))?;
        buf.fill_from_start(&file, false)
            .map_err(|e| Error::io("read", &self.path, e))?;
        self.file = Some(file);
        Ok(())
    }

    /// Reads the file into `buf` and returns it as text.
    pub fn read_text<'b>(&mut self, buf: &'b mut ReadBuf) -> Result<&'b str> {
        self.read_into(buf)?;
        std::str::from_utf8(buf.bytes())
            .map_err(|_| Error::format(&self.path, "the file is not UTF-8 text"))
    }
}

/// A read buffer that keeps its zero-filled memory between reads, so
/// refilling it neither allocates nor clears (as `Read::read_to_end` into a
/// cleared `Vec` would, besides asking the file for its size, which `/proc`
/// files do not know).
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadBuf {
    data: Vec<u8>,
    filled: usize,
}

impl ReadBuf {
    /// A buffer with room for `capacity` bytes before it grows.
    pub fn with_capacity(capacity: usize) -> Self {
        ReadBuf {
            data: vec![0; capacity],
            filled: 0,
        }
    }

    /// The bytes of the latest read.
    pub fn bytes(&self) -> &[u8] {
        &self.data[..self.filled]
    }

    /// Replaces the content with what `file` yields from its position to its
    /// end. With `one_piece`, a read that leaves room in the buffer is taken
    /// as the whole file: the kernel produces small per-process files such as
    /// `stat` and `statm` in one piece, and this saves a `read` call each.
    pub fn fill(&mut self, file: &mut impl Read, one_piece: bool) -> io::Result<()> {
        self.fill_with(|buf, _| file.read(buf), one_piece)
    }

    /// Like [`ReadBuf::fill`], reading `file` from offset 0 with `pread`
    /// whatever its position: one call per read for a file kept open.
    pub fn fill_from_start(&mut self, file: &File, one_piece: bool) -> io::Result<()> {
        self.fill_with(|buf, offset| file.read_at(buf, offset as u64), one_piece)
    }

    fn fill_with(
        &mut self,
        mut read: impl FnMut(&mut [u8], usize) -> io::Result<usize>,
        one_piece: bool,
    ) -> io::Result<()> {
        self.filled = 0;
        loop {
            if self.filled == self.data.len() {
                let grow = self.data.len().max(1024);
                self.data.resize(self.data.len() + grow, 0);
            }
            match read(&mut self.data[self.filled..], self.filled) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    self.filled += n;
                    if one_piece && self.filled < self.data.len() {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.filled = 0;
                    return Err(e);
                }
            }
        }
    }
}

/// A named entry of a per-device table, kept between collections so its name
/// allocation is reused.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Named<T> {
    /// Device or interface name.
    pub name: String,
    /// Its values.
    pub value: T,
}

/// Sets entry `index` of `table` to `name` and `value`, reusing the entry's
/// string when the table already has one there.
pub(crate) fn put_named<T>(table: &mut Vec<Named<T>>, index: usize, name: &str, value: T) {
    if let Some(entry) = table.get_mut(index) {
        entry.name.clear();
        entry.name.push_str(name);
        entry.value = value;
    } else {
        table.push(Named {
            name: name.to_owned(),
            value,
        });
    }
}

/// Parses the whitespace-separated unsigned integers of `fields` into `out`,
/// stopping at the first one that is missing or malformed; returns how many
/// were parsed.
pub(crate) fn parse_u64s<'a>(fields: impl Iterator<Item = &'a str>, out: &mut [u64]) -> usize {
    let mut n = 0;
    for (slot, field) in out.iter_mut().zip(fields) {
        match field.parse() {
            Ok(v) => *slot = v,
            Err(_) => break,
        }
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_file_rereads_current_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("counter");
        std::fs::write(&path, "1\n").unwrap();
        let mut file = ProcFile::new(&path);
        let mut buf = ReadBuf::default();
        assert_eq!(file.read_text(&mut buf).unwrap(), "1\n");
        std::fs::write(&path, "22\n").unwrap();
        assert_eq!(file.read_text(&mut buf).unwrap(), "22\n");
    }

    #[test]
    fn proc_file_names_a_missing_file() {
        let mut file = ProcFile::new("/proc/does-not-exist");
        let err = file.read_into(&mut ReadBuf::default()).unwrap_err();
        assert!(err.to_string().contains("/proc/does-not-exist"), "{err}");
    }

    #[test]
    fn read_buf_grows_and_keeps_only_the_latest_content() {
        let mut buf = ReadBuf::with_capacity(4);
        let long = vec![7u8; 5000];
        buf.fill(&mut long.as_slice(), false).unwrap();
        assert_eq!(buf.bytes(), long.as_slice());
        buf.fill(&mut &b"ab"[..], true).unwrap();
        assert_eq!(buf.bytes(), b"ab");
        // A reader that hands out one byte at a time is read to its end.
        let mut slow = std::io::Read::chain(&b"x"[..], &b"yz"[..]);
        buf.fill(&mut slow, false).unwrap();
        assert_eq!(buf.bytes(), b"xyz");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "hello").unwrap();
        let mut file = File::open(dir.path().join("f")).unwrap();
        buf.fill(&mut file, false).unwrap();
        buf.fill_from_start(&file, false).unwrap();
        assert_eq!(buf.bytes(), b"hello");
    }

    #[test]
    fn named_entries_are_reused() {
        let mut table = vec![Named {
            name: String::with_capacity(32),
            value: 1,
        }];
        let capacity = table[0].name.capacity();
        put_named(&mut table, 0, "eth0", 2);
        put_named(&mut table, 1, "lo", 3);
        assert_eq!(table[0].name, "eth0");
        assert_eq!(table[0].name.capacity(), capacity);
        assert_eq!(
            table[1],
            Named {
                name: "lo".into(),
                value: 3
            }
        );
    }

    #[test]
    fn integers_stop_at_the_first_bad_field() {
        let mut out = [0u64; 4];
        assert_eq!(parse_u64s("1 2 x 4".split_whitespace(), &mut out), 2);
        assert_eq!(out, [1, 2, 0, 0]);
    }
}
