-- For a D1 created from a schema.sql older than 2026-11-30 (before the dashboard): users get
-- roles and a disabled flag. Not a numbered migration: it fails ("duplicate column name") on
-- every newer database, so it lives outside migrations/*.sql, which wrangler does not search
-- below. Such a database has no `roles` among the columns this lists:
--   npx wrangler d1 execute DB --remote --command "PRAGMA table_info(users)"
-- Run this script once on it, then the migrations as for any upgrade (README, "Upgrading"):
--   npx wrangler d1 execute DB --remote --file migrations/legacy/2026-11-30-user-roles.sql
--   npx wrangler d1 migrations apply DB --remote
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
CREATE INDEX IF NOT EXISTS users_created ON users (created_at, id);
