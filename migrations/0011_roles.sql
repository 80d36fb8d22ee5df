-- Migration 0011: roles as records of their own (issue 17). Users keep holding roles by name
-- (users.roles) and access rules keep naming them (applications.access_rules); the
-- management API creates, renames and deletes them here and rewrites both. Every role a
-- user holds or a rule names today becomes a record, and `admin` always exists.
CREATE TABLE IF NOT EXISTS roles (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);

INSERT OR IGNORE INTO roles (name, description, created_at)
  VALUES ('admin', 'May use the dashboard and the management API', CAST(strftime('%s', 'now') AS INTEGER));

-- The space-separated users.roles, one name per row.
INSERT OR IGNORE INTO roles (name, description, created_at)
  WITH RECURSIVE split(name, rest) AS (
    SELECT '', trim(roles) || ' ' FROM users
    UNION ALL
    SELECT substr(rest, 1, instr(rest, ' ') - 1), ltrim(substr(rest, instr(rest, ' ') + 1))
      FROM split WHERE rest <> ''
  )
  SELECT DISTINCT name, '', CAST(strftime('%s', 'now') AS INTEGER) FROM split WHERE name <> '';

INSERT OR IGNORE INTO roles (name, description, created_at)
  SELECT DISTINCT j.value, '', CAST(strftime('%s', 'now') AS INTEGER)
    FROM applications,
         json_each(CASE WHEN json_valid(applications.access_rules)
                        THEN applications.access_rules ELSE '{}' END, '$.roles') AS j
   WHERE j.type = 'text';
