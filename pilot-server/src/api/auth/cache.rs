//! Recently read accounts: the user row and session epoch behind the
//! tokens seen lately, so a busy client does not cost two database reads
//! per request.
//!
//! An entry is reused for at most the cache's time to live. Changes made
//! through this server (password change, user deletion, role change) call
//! [`AccountCache::forget`] and apply to the very next request. A read that
//! started before a `forget` never lands in the cache: every `forget`
//! advances a generation, and [`AccountCache::insert`] drops accounts read
//! under an older one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pilot_store::records::User;

/// A user as stored and their current session epoch.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    /// The user row.
    pub(crate) user: User,
    /// The user's session epoch.
    pub(crate) epoch: u64,
}

/// Proof of which generation a database read started under; see
/// [`AccountCache::ticket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

#[derive(Debug)]
struct Entry {
    account: Account,
    read_at: Instant,
}

#[derive(Debug, Default)]
struct Entries {
    /// Advanced by every `forget`.
    generation: u64,
    by_username: HashMap<String, Entry>,
}

/// Accounts by user name, each valid for a short time.
#[derive(Debug)]
pub(crate) struct AccountCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<Entries>,
}

impl AccountCache {
    /// A cache keeping up to `capacity` accounts for `ttl` each; a zero
    /// `ttl` or `capacity` keeps nothing.
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        AccountCache {
            ttl,
            capacity,
            entries: Mutex::new(Entries::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The account of `username` if it was read less than the time to live
    /// before `now`.
    pub(crate) fn get(&self, username: &str, now: Instant) -> Option<Account> {
        let entries = self.lock();
        let entry = entries.by_username.get(username)?;
        (now.saturating_duration_since(entry.read_at) < self.ttl).then(|| entry.account.clone())
    }

    /// Take before reading an account from the database; pass it to
    /// [`AccountCache::insert`] with what was read.
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(self.lock().generation)
    }

    /// Keeps `account`, read at `read_at` (when the read started), unless
    /// something was forgotten since `ticket` was taken.
    pub(crate) fn insert(&self, ticket: Ticket, account: Account, read_at: Instant) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        if entries.generation != ticket.0 {
            return;
        }
        let username = account.user.username.clone();
        if entries.by_username.len() >= self.capacity
            && !entries.by_username.contains_key(&username)
        {
            let ttl = self.ttl;
            entries
                .by_username
                .retain(|_, e| read_at.saturating_duration_since(e.read_at) < ttl);
            if entries.by_username.len() >= self.capacity {
                entries.by_username.clear();
            }
        }
        entries
            .by_username
            .insert(username, Entry { account, read_at });
    }

    /// Drops the account of `username`: the next request reads it again.
    pub(crate) fn forget(&self, username: &str) {
        let mut entries = self.lock();
        entries.generation = entries.generation.wrapping_add(1);
        entries.by_username.remove(username);
    }
}

#[cfg(test)]
mod tests {
    use pilot_store::records::Role;

    use super::*;

    fn account(name: &str, epoch: u64) -> Account {
        Account {
            user: User {
                id: 7,
                username: name.to_string(),
                role: Role::Viewer,
                created_ms: 0,
                updated_ms: 0,
            },
            epoch,
        }
    }

    #[test]
    fn accounts_are_reused_until_they_are_too_old() {
        let cache = AccountCache::new(Duration::from_secs(5), 8);
        let t0 = Instant::now();
        cache.insert(cache.ticket(), account("ada", 3), t0);
        let hit = cache
            .get("ada", t0 + Duration::from_secs(4))
            .expect("fresh");
        assert_eq!((hit.user.username.as_str(), hit.epoch), ("ada", 3));
        assert!(cache.get("ada", t0 + Duration::from_secs(5)).is_none());
        assert!(cache.get("bob", t0).is_none());
    }

    #[test]
    fn forgetting_drops_the_entry_and_reads_started_before() {
        let cache = AccountCache::new(Duration::from_secs(5), 8);
        let t0 = Instant::now();
        cache.insert(cache.ticket(), account("ada", 0), t0);
        let before = cache.ticket();
        cache.forget("ada");
        assert!(cache.get("ada", t0).is_none());
        // A read that began before the change would bring back the old epoch.
        cache.insert(before, account("ada", 0), t0);
        assert!(cache.get("ada", t0).is_none());
        cache.insert(cache.ticket(), account("ada", 1), t0);
        assert_eq!(cache.get("ada", t0).map(|a| a.epoch), Some(1));
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = AccountCache::new(Duration::from_secs(5), 2);
        let t0 = Instant::now();
        cache.insert(cache.ticket(), account("a", 0), t0);
        cache.insert(cache.ticket(), account("b", 0), t0 + Duration::from_secs(1));
        // Full of live entries: the newcomer replaces them all.
        cache.insert(cache.ticket(), account("c", 0), t0 + Duration::from_secs(2));
        assert!(cache.get("c", t0 + Duration::from_secs(2)).is_some());
        assert!(cache.get("a", t0 + Duration::from_secs(2)).is_none());
        cache.insert(cache.ticket(), account("d", 0), t0 + Duration::from_secs(6));
        // Full again, but c expired: it makes room and d stays.
        let t8 = t0 + Duration::from_secs(8);
        cache.insert(cache.ticket(), account("e", 0), t8);
        assert!(cache.get("d", t8).is_some());
        assert!(cache.get("e", t8).is_some());
        assert_eq!(cache.lock().by_username.len(), 2);
    }

    #[test]
    fn a_zero_time_to_live_keeps_nothing() {
        let cache = AccountCache::new(Duration::ZERO, 8);
        let t0 = Instant::now();
        cache.insert(cache.ticket(), account("ada", 0), t0);
        assert!(cache.get("ada", t0).is_none());
    }
}
