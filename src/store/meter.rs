//! Counts the storage calls one request makes, so the benchmark can report round trips per
//! endpoint (issue 6) from the store layer itself rather than from guesses.

use std::cell::Cell;
use std::rc::Rc;

/// What one request did to storage. A D1 batch is one round trip of several statements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub d1_round_trips: u32,
    pub d1_statements: u32,
    pub kv_calls: u32,
}

/// Shared by the stores a request creates (the Worker runs one request per `Ctx`).
#[derive(Debug, Clone, Default)]
pub struct Meter(Rc<Cell<Counts>>);

impl Meter {
    pub fn d1(&self, statements: u32) {
        let mut c = self.0.get();
        c.d1_round_trips += 1;
        c.d1_statements += statements;
        self.0.set(c);
    }

    pub fn kv(&self) {
        let mut c = self.0.get();
        c.kv_calls += 1;
        self.0.set(c);
    }

    pub fn counts(&self) -> Counts {
        self.0.get()
    }

    /// The `X-Storage-Calls` header value the Worker sends when `STORAGE_METER` is on.
    pub fn header(&self) -> String {
        let c = self.counts();
        format!(
            "d1={}; d1_statements={}; kv={}",
            c.d1_round_trips, c.d1_statements, c.kv_calls
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_count() {
        let m = Meter::default();
        let other = m.clone();
        m.d1(1);
        other.d1(3);
        other.kv();
        assert_eq!(
            m.counts(),
            Counts {
                d1_round_trips: 2,
                d1_statements: 4,
                kv_calls: 1
            }
        );
        assert_eq!(m.header(), "d1=2; d1_statements=4; kv=1");
    }
}
