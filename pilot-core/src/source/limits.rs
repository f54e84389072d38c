//! Bounds on what a fetch may write.

use serde::{Deserialize, Serialize};

use super::SourceError;

/// Upper bounds on a fetched release.
///
/// Bytes are counted as they are written (archive headers are not trusted);
/// files count every regular file, symlink and directory of the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchLimits {
    /// Most bytes of file content to write (also bounds a git download).
    pub max_bytes: u64,
    /// Most files, symlinks and directories to create.
    pub max_files: u64,
}

impl Default for FetchLimits {
    /// 1 GiB and 100 000 files.
    fn default() -> Self {
        FetchLimits {
            max_bytes: 1 << 30,
            max_files: 100_000,
        }
    }
}

impl FetchLimits {
    /// Fails with [`SourceError::TooManyFiles`] when `count` is over the limit.
    pub(crate) fn check_files(&self, count: u64) -> Result<(), SourceError> {
        if count > self.max_files {
            return Err(SourceError::TooManyFiles {
                limit: self.max_files,
            });
        }
        Ok(())
    }
}

/// Running count of content bytes written, checked against the limit.
#[derive(Debug)]
pub(crate) struct ByteBudget {
    limit: u64,
    used: u64,
}

impl ByteBudget {
    /// A budget of `limit` bytes.
    pub(crate) fn new(limit: u64) -> Self {
        ByteBudget { limit, used: 0 }
    }

    /// Takes `n` more bytes for `entry`, or fails with [`SourceError::TooLarge`].
    pub(crate) fn charge(
        &mut self,
        n: u64,
        entry: &dyn std::fmt::Display,
    ) -> Result<(), SourceError> {
        match self.used.checked_add(n) {
            Some(total) if total <= self.limit => {
                self.used = total;
                Ok(())
            }
            _ => Err(SourceError::TooLarge {
                limit: self.limit,
                entry: entry.to_string(),
            }),
        }
    }

    /// Bytes taken so far.
    pub(crate) fn used(&self) -> u64 {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_allows_exactly_the_limit_and_names_the_entry_past_it() {
        let mut budget = ByteBudget::new(10);
        budget.charge(4, &"a").expect("within limit");
        budget.charge(6, &"b").expect("exactly at limit");
        let err = budget.charge(1, &"c").expect_err("over limit");
        assert!(matches!(err, SourceError::TooLarge { limit: 10, ref entry } if entry == "c"));
        assert_eq!(budget.used(), 10);
    }

    #[test]
    fn file_count_over_limit_is_rejected() {
        let limits = FetchLimits {
            max_bytes: 1,
            max_files: 2,
        };
        assert!(limits.check_files(2).is_ok());
        assert!(matches!(
            limits.check_files(3),
            Err(SourceError::TooManyFiles { limit: 2 })
        ));
    }
}
