//! The login-throttle Durable Object's wire format (`store::throttle_do`): the operation as
//! a query string, the state as three numbers. Plain Rust, so it is tested natively.

use crate::model::ThrottleState;

/// What the client asks an object, as the query of a GET (`op=fail&now=..&window=..`):
/// plain text both ways keeps the object's glue small in the Wasm.
pub enum Op {
    Read,
    Fail { now: i64, window: i64 },
    Lock { until: i64 },
    Clear,
}

impl Op {
    pub fn to_query(&self) -> String {
        match self {
            Op::Read => "op=read".into(),
            Op::Fail { now, window } => format!("op=fail&now={now}&window={window}"),
            Op::Lock { until } => format!("op=lock&until={until}"),
            Op::Clear => "op=clear".into(),
        }
    }

    pub fn from_query(query: &str) -> Option<Self> {
        let get = |name: &str| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
        };
        let num = |name: &str| get(name)?.parse::<i64>().ok();
        Some(match get("op")? {
            "read" => Op::Read,
            "fail" => Op::Fail {
                now: num("now")?,
                window: num("window")?,
            },
            "lock" => Op::Lock {
                until: num("until")?,
            },
            "clear" => Op::Clear,
            _ => return None,
        })
    }
}

/// The state as the object stores and answers it: `failures window_start locked_until`.
pub fn encode(s: &ThrottleState) -> String {
    format!("{} {} {}", s.failures, s.window_start, s.locked_until)
}

pub fn decode(text: &str) -> Option<ThrottleState> {
    let mut n = text.split(' ').map(|v| v.parse::<i64>().ok());
    Some(ThrottleState {
        failures: n.next()??,
        window_start: n.next()??,
        locked_until: n.next()??,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_and_states_round_trip() {
        for op in [
            Op::Read,
            Op::Fail {
                now: 1_700_000_000,
                window: 900,
            },
            Op::Lock { until: 42 },
            Op::Clear,
        ] {
            let q = op.to_query();
            assert_eq!(Op::from_query(&q).map(|o| o.to_query()), Some(q));
        }
        let s = ThrottleState {
            failures: 3,
            window_start: 10,
            locked_until: 70,
        };
        assert_eq!(decode(&encode(&s)), Some(s));
    }

    #[test]
    fn anything_else_is_refused() {
        for q in [
            "",
            "op=fly",
            "op=fail&now=1",
            "op=lock&until=soon",
            "now=1&window=2",
        ] {
            assert!(Op::from_query(q).is_none(), "{q}");
        }
        for t in ["", "1 2", "a b c", "1 2 3x"] {
            assert_eq!(decode(t), None, "{t}");
        }
    }
}
