-- Migration 0002: failed-login counters moved to Durable Objects (src/store/throttle_do.rs),
-- one strongly consistent object per account or address, so a login no longer writes to the
-- D1 primary. The table held only short-lived counters (locks last an hour at most) and the
-- Worker no longer reads or writes it.
DROP TABLE IF EXISTS login_throttle;
