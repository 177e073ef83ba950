//! The PostgreSQL connection pools of one node: a hard ceiling per pool, a bounded wait,
//! and no thread ever holding two connections of one pool.
//!
//! A node has two pools. `work` serves every store call, which holds exactly one connection
//! from begin to commit. `locks` serves [`crate::Store::cross_node_locks`], whose holder keeps
//! an advisory-lock transaction open while it does store calls of its own: the lock
//! connection comes from its own small pool, so holding it never eats into the work pool
//! and the work pool's ceiling can be hard without a path that waits on itself.

use std::cell::RefCell;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::StoreError;

thread_local! {
    /// The pools (by address) this thread holds a connection of right now.
    static HELD: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// What a pooled thing must tell the pool.
pub(crate) trait Pooled {
    fn is_closed(&self) -> bool;
}

struct Slots<C> {
    idle: Vec<C>,
    /// Connections handed out or idle; never above the pool's size.
    open: usize,
}

pub(crate) struct Pool<C> {
    name: &'static str,
    size: usize,
    wait: Duration,
    slots: Mutex<Slots<C>>,
    freed: Condvar,
}

impl<C: Pooled> Pool<C> {
    pub(crate) fn new(name: &'static str, size: usize, wait: Duration) -> Pool<C> {
        Pool {
            name,
            size,
            wait,
            slots: Mutex::new(Slots {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn id(&self) -> usize {
        self as *const Self as usize
    }

    /// A connection: an idle one, a new one from `connect` while below the ceiling, or the
    /// first one freed within the wait. A thread that already holds one of this pool is
    /// refused at once: it would otherwise wait on itself once the pool is full.
    pub(crate) fn take(
        &self,
        connect: impl FnOnce() -> Result<C, StoreError>,
    ) -> Result<C, StoreError> {
        let id = self.id();
        if HELD.with(|h| h.borrow().contains(&id)) {
            return Err(StoreError::Backend(format!(
                "a {} connection was requested by a thread that already holds one",
                self.name
            )));
        }
        let c = self.take_free(connect)?;
        HELD.with(|h| h.borrow_mut().push(id));
        Ok(c)
    }

    fn take_free(&self, connect: impl FnOnce() -> Result<C, StoreError>) -> Result<C, StoreError> {
        let poisoned = || StoreError::Backend("pool poisoned".into());
        let mut slots = self.slots.lock().map_err(|_| poisoned())?;
        let start = Instant::now();
        loop {
            if let Some(c) = slots.idle.pop() {
                if c.is_closed() {
                    slots.open = slots.open.saturating_sub(1);
                    continue;
                }
                return Ok(c);
            }
            if slots.open < self.size {
                slots.open += 1;
                drop(slots);
                return connect().inspect_err(|_| self.release_slot());
            }
            let waited = start.elapsed();
            if waited >= self.wait {
                return Err(StoreError::Backend(format!(
                    "database busy: all {} {} connections in use for {} s",
                    self.size,
                    self.name,
                    self.wait.as_secs()
                )));
            }
            slots = self
                .freed
                .wait_timeout(slots, self.wait - waited)
                .map_err(|_| poisoned())?
                .0;
        }
    }

    fn unhold(&self) {
        let id = self.id();
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            if let Some(i) = h.iter().position(|x| *x == id) {
                h.swap_remove(i);
            }
        });
    }

    /// Returns a connection taken with [`Pool::take`].
    pub(crate) fn put(&self, c: C) {
        self.unhold();
        if let Ok(mut slots) = self.slots.lock() {
            if c.is_closed() {
                slots.open = slots.open.saturating_sub(1);
            } else {
                slots.idle.push(c);
            }
        }
        self.freed.notify_one();
    }

    /// A connection taken with [`Pool::take`] that was dropped instead of returned.
    pub(crate) fn discard(&self) {
        self.unhold();
        self.release_slot();
    }

    fn release_slot(&self) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.open = slots.open.saturating_sub(1);
        }
        self.freed.notify_one();
    }

    #[cfg(test)]
    fn open(&self) -> usize {
        self.slots.lock().map(|s| s.open).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    struct Fake;
    impl Pooled for Fake {
        fn is_closed(&self) -> bool {
            false
        }
    }

    #[test]
    fn a_thread_holding_one_is_refused_a_second_and_may_take_again_after_put() {
        let p: Pool<Fake> = Pool::new("work", 2, Duration::from_millis(50));
        let a = p.take(|| Ok(Fake)).unwrap();
        let e = p.take(|| Ok(Fake)).err().unwrap();
        assert!(e.to_string().contains("already holds one"), "{e}");
        p.put(a);
        let b = p.take(|| Ok(Fake)).unwrap();
        p.put(b);
        // Another pool is not this one: holding a lock connection and a work one is fine.
        let other: Pool<Fake> = Pool::new("locks", 1, Duration::from_millis(50));
        let l = other.take(|| Ok(Fake)).unwrap();
        let w = p.take(|| Ok(Fake)).unwrap();
        p.put(w);
        other.put(l);
    }

    #[test]
    fn the_ceiling_is_hard_and_a_waiter_gets_the_first_freed_or_a_clear_error() {
        let p: Arc<Pool<Fake>> = Arc::new(Pool::new("work", 2, Duration::from_millis(300)));
        let held: Vec<_> = (0..2)
            .map(|_| {
                let p = p.clone();
                std::thread::spawn(move || {
                    // Never put back: the slot stays taken after this thread ends.
                    let _kept = p.take(|| Ok(Fake)).unwrap();
                })
            })
            .collect();
        for h in held {
            h.join().unwrap();
        }
        assert_eq!(p.open(), 2);
        let e = p.take(|| Ok(Fake)).err().unwrap();
        assert!(e.to_string().contains("database busy"), "{e}");
        assert_eq!(
            p.open(),
            2,
            "a waiter opened a connection above the ceiling"
        );

        let q = p.clone();
        let waiter = std::thread::spawn(move || q.take(|| Ok(Fake)).map(|c| q.put(c)).is_ok());
        std::thread::sleep(Duration::from_millis(50));
        p.release_slot();
        assert!(
            waiter.join().unwrap(),
            "the waiter did not get the freed slot"
        );
        assert!(p.open() <= 2);
    }

    #[test]
    fn a_failed_connect_frees_its_slot() {
        let p: Pool<Fake> = Pool::new("work", 1, Duration::from_millis(50));
        assert!(p
            .take(|| Err(StoreError::Backend("refused".into())))
            .is_err());
        assert_eq!(p.open(), 0);
        let c = p.take(|| Ok(Fake)).unwrap();
        p.put(c);
    }
}
