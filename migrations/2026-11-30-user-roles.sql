-- For a D1 created from an older schema.sql (before the dashboard): users get roles and a
-- disabled flag. schema.sql has them for new databases. Run once:
--   npx wrangler d1 execute DB --remote --file migrations/2026-11-30-user-roles.sql
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
CREATE INDEX IF NOT EXISTS users_created ON users (created_at, id);
