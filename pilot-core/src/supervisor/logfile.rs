//! A service's log file: appended line by line, rotated by size
//! (`log` → `log.1` → … → `log.<keep>`), and read back from the end.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Mode of new log files: the service's user and group may read them.
const LOG_MODE: u32 = 0o640;

/// Block size when reading a file backwards.
const TAIL_BLOCK: u64 = 8 * 1024;

/// An append-only log file with size-based rotation.
#[derive(Debug)]
pub(super) struct LogFile {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    /// The open file and its size; `None` until the first write (or after a failure).
    current: Option<(File, u64)>,
}

impl LogFile {
    /// A log file at `path`, rotated when it would exceed `max_bytes`,
    /// keeping `keep` rotated files.
    pub fn new(path: PathBuf, max_bytes: u64, keep: u32) -> Self {
        LogFile {
            path,
            max_bytes,
            keep,
            current: None,
        }
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (a newline is added). On failure the file is reopened
    /// on the next call.
    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        let len = line.len() as u64 + 1;
        let result = self.append(line, len);
        if result.is_err() {
            self.current = None;
        }
        result
    }

    fn append(&mut self, line: &str, len: u64) -> io::Result<()> {
        let size = match &self.current {
            Some((_, size)) => *size,
            None => self.open()?,
        };
        if size > 0 && size + len > self.max_bytes {
            self.current = None;
            self.rotate()?;
            self.open()?;
        }
        let Some((file, size)) = self.current.as_mut() else {
            return Err(io::Error::other("log file is not open"));
        };
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        file.write_all(&bytes)?;
        *size += len;
        Ok(())
    }

    /// Opens (creating it and its directory) and returns the current size.
    fn open(&mut self) -> io::Result<u64> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(LOG_MODE)
            .open(&self.path)?;
        let size = file.metadata()?.len();
        self.current = Some((file, size));
        Ok(size)
    }

    /// Shifts `log.<n>` to `log.<n+1>` (dropping the oldest) and `log` to `log.1`.
    fn rotate(&self) -> io::Result<()> {
        if self.keep == 0 {
            return remove_if_exists(&self.path);
        }
        remove_if_exists(&rotated(&self.path, self.keep))?;
        for n in (1..self.keep).rev() {
            rename_if_exists(&rotated(&self.path, n), &rotated(&self.path, n + 1))?;
        }
        rename_if_exists(&self.path, &rotated(&self.path, 1))
    }
}

/// `log.<n>`.
pub(super) fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn rename_if_exists(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The last `n` lines of the log at `path`, continuing into the rotated files
/// (`.1`, `.2`, … up to `.<keep>`) while the newer ones hold fewer lines.
/// Missing files count as empty.
pub(super) fn tail(path: &Path, keep: u32, n: usize) -> io::Result<Vec<String>> {
    let mut newest_first: Vec<String> = Vec::new();
    for index in 0..=keep {
        if newest_first.len() >= n {
            break;
        }
        let file = if index == 0 {
            path.to_path_buf()
        } else {
            rotated(path, index)
        };
        let mut lines = match last_lines(&file, n - newest_first.len()) {
            Ok(lines) => lines,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        lines.reverse();
        newest_first.extend(lines);
    }
    newest_first.reverse();
    Ok(newest_first)
}

/// The last `n` lines of one file, oldest first, read backwards from its end.
fn last_lines(path: &Path, n: usize) -> io::Result<Vec<String>> {
    let mut file = File::open(path)?;
    let mut pos = file.seek(SeekFrom::End(0))?;
    // Blocks read so far, last block first.
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut newlines = 0usize;
    let mut first_block = true;
    // n separators (besides a final newline) delimit the last n whole lines.
    while pos > 0 && newlines < n {
        let size = pos.min(TAIL_BLOCK);
        pos -= size;
        file.seek(SeekFrom::Start(pos))?;
        let mut block = vec![0u8; size as usize];
        file.read_exact(&mut block)?;
        newlines += block.iter().filter(|b| **b == b'\n').count();
        if first_block && block.last() == Some(&b'\n') {
            // The final newline ends the last line; it separates nothing.
            newlines -= 1;
        }
        first_block = false;
        blocks.push(block);
    }
    let bytes: Vec<u8> = blocks.into_iter().rev().flatten().collect();
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let lines: Vec<&str> = text.split('\n').collect();
    // The first line may be cut off unless the start of the file was read.
    let start = lines.len().saturating_sub(n);
    Ok(lines[start..].iter().map(|l| l.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn rotates_by_size_and_keeps_the_newest_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/app.log");
        let mut log = LogFile::new(path.clone(), 20, 2);
        for i in 0..10 {
            log.write_line(&format!("line {i}")).unwrap();
        }
        // Seven bytes per line, two lines per file.
        assert_eq!(fs::read_to_string(&path).unwrap(), "line 8\nline 9\n");
        assert_eq!(
            fs::read_to_string(rotated(&path, 1)).unwrap(),
            "line 6\nline 7\n"
        );
        assert_eq!(
            fs::read_to_string(rotated(&path, 2)).unwrap(),
            "line 4\nline 5\n"
        );
        assert!(!rotated(&path, 3).exists());
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);

        assert_eq!(tail(&path, 2, 3).unwrap(), ["line 7", "line 8", "line 9"]);
        assert_eq!(tail(&path, 2, 100).unwrap().len(), 6);
        assert_eq!(tail(&path, 0, 100).unwrap(), ["line 8", "line 9"]);
    }

    #[test]
    fn a_line_longer_than_the_limit_gets_a_file_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut log = LogFile::new(path.clone(), 10, 1);
        log.write_line("short").unwrap();
        log.write_line("a much longer line").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a much longer line\n");
        assert_eq!(fs::read_to_string(rotated(&path, 1)).unwrap(), "short\n");
    }

    #[test]
    fn tail_reads_backwards_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let text: String = (0..5000).map(|i| format!("entry number {i}\n")).collect();
        fs::write(&path, text).unwrap();
        let last = tail(&path, 0, 1500).unwrap();
        assert_eq!(last.len(), 1500);
        assert_eq!(last[0], "entry number 3500");
        assert_eq!(last[1499], "entry number 4999");

        fs::write(&path, "no newline at the end").unwrap();
        assert_eq!(tail(&path, 0, 5).unwrap(), ["no newline at the end"]);
        fs::write(&path, "").unwrap();
        assert!(tail(&path, 0, 5).unwrap().is_empty());
        assert!(
            tail(&dir.path().join("missing.log"), 3, 5)
                .unwrap()
                .is_empty()
        );
    }
}
