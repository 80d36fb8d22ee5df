//! Counts the storage calls one request makes, so the benchmark can report round trips per
//! endpoint (issue 6) from the store layer itself rather than from guesses.

use std::cell::Cell;
use std::rc::Rc;

/// What one request did to storage. A D1 batch is one round trip of several statements.
/// Round trips are classed by where they may go: the D1 primary (every write, and the
/// reads that decide single use), a D1 replica (reads in a session), KV reads and writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub d1_round_trips: u32,
    pub d1_statements: u32,
    pub d1_primary: u32,
    pub d1_replica: u32,
    pub kv_calls: u32,
    pub kv_reads: u32,
    pub kv_writes: u32,
    pub do_calls: u32,
}

/// Shared by the stores a request creates (the Worker runs one request per `Ctx`).
#[derive(Debug, Clone, Default)]
pub struct Meter(Rc<Cell<Counts>>);

impl Meter {
    fn add(&self, f: impl FnOnce(&mut Counts)) {
        let mut c = self.0.get();
        f(&mut c);
        self.0.set(c);
    }

    /// A round trip of `statements` that goes to the D1 primary.
    pub fn d1_primary(&self, statements: u32) {
        self.add(|c| {
            c.d1_round_trips += 1;
            c.d1_statements += statements;
            c.d1_primary += 1;
        });
    }

    /// A round trip of `statements` that a D1 replica may answer.
    pub fn d1_replica(&self, statements: u32) {
        self.add(|c| {
            c.d1_round_trips += 1;
            c.d1_statements += statements;
            c.d1_replica += 1;
        });
    }

    pub fn kv_read(&self) {
        self.add(|c| {
            c.kv_calls += 1;
            c.kv_reads += 1;
        });
    }

    pub fn durable_object(&self) {
        self.add(|c| c.do_calls += 1);
    }

    pub fn kv_write(&self) {
        self.add(|c| {
            c.kv_calls += 1;
            c.kv_writes += 1;
        });
    }

    pub fn counts(&self) -> Counts {
        self.0.get()
    }

    /// The `X-Storage-Calls` header value the Worker sends when `STORAGE_METER` is on.
    pub fn header(&self) -> String {
        let c = self.counts();
        format!(
            "d1={}; d1_statements={}; kv={}; d1_primary={}; d1_replica={}; kv_read={}; kv_write={}; do={}",
            c.d1_round_trips,
            c.d1_statements,
            c.kv_calls,
            c.d1_primary,
            c.d1_replica,
            c.kv_reads,
            c.kv_writes,
            c.do_calls
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_count_by_kind() {
        let m = Meter::default();
        let other = m.clone();
        m.d1_replica(1);
        other.d1_primary(3);
        other.kv_read();
        m.kv_write();
        other.durable_object();
        assert_eq!(
            m.counts(),
            Counts {
                d1_round_trips: 2,
                d1_statements: 4,
                d1_primary: 1,
                d1_replica: 1,
                kv_calls: 2,
                kv_reads: 1,
                kv_writes: 1,
                do_calls: 1,
            }
        );
        assert_eq!(
            m.header(),
            "d1=2; d1_statements=4; kv=2; d1_primary=1; d1_replica=1; kv_read=1; kv_write=1; do=1"
        );
    }
}
