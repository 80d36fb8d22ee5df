// The D1 schema's two forms agree, and upgrades keep what a database holds.
//
// Databases are made and upgraded by the numbered migrations in migrations/ (`wrangler d1
// migrations apply`); schema.sql is the whole current schema in one place to read. These tests
// work on local D1s in temporary directories of their own (wrangler's local D1; the upgrade
// test starts two servers of its own on one), never on the shared server's database.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { REPO_ROOT, applyMigrations, applySqlFile, d1Query, startServer } from '../harness/index.mjs';
import { CookieJar, managementApi, obtainCode, tokenRequest } from './helpers.mjs';

const CWD = process.env.HARNESS_CWD ?? REPO_ROOT;

/** `n` fresh temporary directories, each for a local D1, removed after `fn(...dirs)`. */
async function withStateDirs(n, fn) {
  const dirs = [];
  try {
    for (let i = 0; i < n; i++) dirs.push(await mkdtemp(join(tmpdir(), 'oidc-mig-')));
    return await fn(...dirs);
  } finally {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}

/** Not the application's: wrangler's record of applied migrations, SQLite's and D1's own. */
const internal = (name) =>
  name === 'd1_migrations' || name.startsWith('sqlite_') || name.startsWith('_cf_');

/**
 * A CREATE statement as compared: comments dropped, runs of whitespace made one space and none
 * kept beside ( ) or , (quoted text left as it is). SQLite stores the statement's own text
 * (without IF NOT EXISTS), and an ALTER TABLE ... ADD COLUMN splices ", <column>" in before the
 * closing parenthesis, so without this a column added by a migration could never be written
 * the same way in schema.sql. Anything else that differs (a name, a type, a default, a
 * constraint, the order of columns) still differs.
 */
function normalizeSql(sql) {
  if (sql == null) return null;
  let out = '';
  let plain = '';
  const flush = () => {
    out += plain.replace(/\s+/g, ' ').replace(/ ?([(),]) ?/g, '$1');
    plain = '';
  };
  for (let i = 0; i < sql.length; ) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`' || c === '[') {
      // Quoted text (a doubled quote stays inside it) is kept as it is.
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      while (j < sql.length && !(sql[j] === close && sql[j + 1] !== close)) j += sql[j] === close ? 2 : 1;
      flush();
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl;
      plain += ' ';
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
      plain += ' ';
    } else {
      plain += c;
      i++;
    }
  }
  flush();
  return out.trim();
}

/** The application's tables and indexes in the local D1 in `dir`, by type and name. */
async function schemaOf(dir) {
  const rows = await d1Query(dir, 'SELECT type, name, tbl_name, sql FROM sqlite_master', CWD);
  return rows
    .filter((r) => !internal(r.name) && !internal(r.tbl_name))
    .map((r) => ({ type: r.type, name: r.name, tbl_name: r.tbl_name, sql: normalizeSql(r.sql) }))
    .sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
}

/** What differs between two schemaOf() lists, in words (empty when they are equal). */
function schemaDiff(got, want, gotName, wantName) {
  const key = (r) => `${r.type} ${r.name}`;
  const g = new Map(got.map((r) => [key(r), r]));
  const w = new Map(want.map((r) => [key(r), r]));
  const lines = [];
  for (const k of w.keys()) if (!g.has(k)) lines.push(`only from ${wantName}: ${k}`);
  for (const k of g.keys()) if (!w.has(k)) lines.push(`only from ${gotName}: ${k}`);
  for (const [k, r] of g) {
    const o = w.get(k);
    if (o && (o.sql !== r.sql || o.tbl_name !== r.tbl_name)) {
      lines.push(`${k} differs:\n  ${gotName}: ${r.sql}\n  ${wantName}: ${o.sql}`);
    }
  }
  return lines;
}

const migrationFiles = async () =>
  (await readdir(join(CWD, 'migrations'), { withFileTypes: true }))
    .filter((e) => e.isFile() && e.name.endsWith('.sql'))
    .map((e) => e.name)
    .sort();

test('the migrations make exactly the schema of schema.sql', async () => {
  await withStateDirs(2, async (migrated, fromSchema) => {
    await applyMigrations(migrated, CWD);
    await applySqlFile(fromSchema, 'schema.sql', CWD);

    const want = await schemaOf(fromSchema);
    assert.ok(
      want.some((r) => r.type === 'table' && r.name === 'users') && want.some((r) => r.type === 'index'),
      `schema.sql made tables and indexes: ${want.map((r) => r.name)}`,
    );
    const got = await schemaOf(migrated);
    const diff = schemaDiff(got, want, 'migrations', 'schema.sql');
    assert.deepEqual(diff, [], `the migrations and schema.sql disagree:\n${diff.join('\n')}`);

    // Every numbered file was applied and recorded, and a second run has nothing to do.
    const applied = await d1Query(migrated, 'SELECT name FROM d1_migrations ORDER BY id', CWD);
    assert.deepEqual(applied.map((r) => r.name), await migrationFiles());
    const again = await applyMigrations(migrated, CWD);
    assert.match(again, /No migrations to apply/);
  });
});

test('a database from before 2026-11-30 gets today\'s columns from the legacy script and the migrations', async () => {
  // The columns (pragma_table_info) and indexes of a local D1's tables: the CREATE TABLE text
  // of a table changed by ALTER TABLE is not schema.sql's, its columns are.
  const shape = async (dir) =>
    (
      await d1Query(
        dir,
        `SELECT 'column' AS kind, m.name AS tbl, p.cid AS n, p.name, p.type, p."notnull" AS nn,
                p.dflt_value AS dflt, p.pk, NULL AS sql
           FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'
         UNION ALL
         SELECT 'index', tbl_name, NULL, name, NULL, NULL, NULL, NULL, sql
           FROM sqlite_master WHERE type = 'index'
         ORDER BY 1, 2, 3, 4`,
        CWD,
      )
    )
      .filter((r) => !internal(r.tbl) && !internal(r.name))
      .map((r) => ({ ...r, sql: normalizeSql(r.sql) }));

  await withStateDirs(2, async (old, fromSchema) => {
    // schema.sql before 2026-11-30 is the baseline (schema.sql at the switch to migrations)
    // without users.roles, users.disabled_at and the users_created index: commit 1e49847
    // added those, and nothing else changed until the switch.
    await applySqlFile(old, 'migrations/0001_baseline.sql', CWD);
    await d1Query(
      old,
      `DROP INDEX users_created;
       ALTER TABLE users DROP COLUMN disabled_at;
       ALTER TABLE users DROP COLUMN roles;
       INSERT INTO users (id, email, name, password_hash, created_at)
         VALUES ('u-old', 'old@example.com', 'Old', 'x', 1);`,
      CWD,
    );

    // As the README says: the legacy script once (its ADD COLUMN would fail on a database that
    // had the columns already), then the migrations.
    await applySqlFile(old, 'migrations/legacy/2026-11-30-user-roles.sql', CWD);
    await applyMigrations(old, CWD);

    await applySqlFile(fromSchema, 'schema.sql', CWD);
    assert.deepEqual(await shape(old), await shape(fromSchema));
    const users = await d1Query(old, 'SELECT id, email, roles, disabled_at FROM users', CWD);
    assert.deepEqual(users, [{ id: 'u-old', email: 'old@example.com', roles: '', disabled_at: null }]);
  });
});

test('migration 0011 makes a role of every name users hold and access rules name, and admin', async () => {
  await withStateDirs(1, async (dir) => {
    const files = await migrationFiles();
    const at = files.indexOf('0011_roles.sql');
    assert.ok(at > 0, 'there is a migration 0011');
    for (const f of files.slice(0, at)) await applySqlFile(dir, `migrations/${f}`, CWD);
    await d1Query(
      dir,
      `INSERT INTO users (id, email, password_hash, created_at, roles) VALUES
         ('u1', 'one@example.com', 'x', 1, 'hr payroll:read'),
         ('u2', 'two@example.com', 'x', 2, 'hr'),
         ('u3', 'three@example.com', 'x', 3, '');
       INSERT INTO applications (client_id, name, app_type, token_endpoint_auth_method, grant_types,
                                 redirect_uris, created_at, updated_at, access_rules)
         VALUES ('a1', 'Ruled', 'spa', 'none', '["authorization_code"]', '[]', 1, 1,
                 '{"roles":["legal","hr"],"countries":[],"email_domains":[]}'),
                ('a2', 'Open', 'spa', 'none', '["authorization_code"]', '[]', 1, 1, '{}');`,
      CWD,
    );
    await applySqlFile(dir, 'migrations/0011_roles.sql', CWD);
    const roles = await d1Query(dir, 'SELECT name FROM roles ORDER BY name', CWD);
    assert.deepEqual(roles.map((r) => r.name), ['admin', 'hr', 'legal', 'payroll:read']);
    const users = await d1Query(dir, 'SELECT roles FROM users ORDER BY id', CWD);
    assert.deepEqual(users.map((u) => u.roles), ['hr payroll:read', 'hr', ''], 'users keep their roles');
  });
});

test(
  'upgrade: a database made from schema.sql keeps its data, and a live refresh token still refreshes',
  { skip: process.env.HARNESS_ORIGIN ? 'needs servers of its own (HARNESS_ORIGIN is set)' : false },
  async () => {
    const REDIRECT = 'https://upgrade.example.com/cb';
    const stateDir = await mkdtemp(join(tmpdir(), 'oidc-upgrade-'));
    let first;
    let second;
    try {
      // A deployment as the deploy guide and `make dev` made them before the migrations: the
      // schema run as a plain SQL file (no d1_migrations table). 0001_baseline.sql is
      // schema.sql as it was then; today's schema.sql may already hold later migrations' changes.
      first = await startServer({ stateDir, prepare: 'migrations/0001_baseline.sql' });
      const none = await first.d1Query("SELECT count(*) AS n FROM sqlite_master WHERE name = 'd1_migrations'");
      assert.equal(none[0].n, 0, 'no d1_migrations table before the upgrade');

      // Today's Worker cannot stand in for that deployment's (it reads and writes columns
      // the baseline lacks), so its data is written as it wrote it, in its rows of then: the
      // application, the user (a password hash without pepper) and a live refresh token (in
      // refresh_tokens).
      const app = { client_id: `old-${randomBytes(6).toString('hex')}` };
      const user = { id: `u-${randomBytes(6).toString('hex')}`, email: `old-${randomBytes(4).toString('hex')}@example.com`, password: 'an old password' };
      const salt = randomBytes(16);
      const hash = pbkdf2Sync(user.password, salt, 20000, 32, 'sha256');
      const now = Math.floor(Date.now() / 1000);
      const refreshToken = randomBytes(32).toString('base64url');
      const tokenHash = createHash('sha256').update(refreshToken).digest('hex');
      const oldClaims = JSON.stringify({ email: user.email, email_verified: true, name: 'Old User' });
      await first.d1Query(
        `INSERT INTO applications (client_id, name, app_type, token_endpoint_auth_method, grant_types,
                                   redirect_uris, created_at, updated_at)
           VALUES ('${app.client_id}', 'Old SPA', 'spa', 'none', '["authorization_code","refresh_token"]',
                   '${JSON.stringify([REDIRECT])}', ${now - 120}, ${now - 120});
         INSERT INTO users (id, email, name, email_verified, password_hash, created_at, roles)
           VALUES ('${user.id}', '${user.email}', 'Old User', 1,
                   'pbkdf2-sha256$20000$${salt.toString('base64url')}$${hash.toString('base64url')}', ${now - 60}, '');
         INSERT INTO refresh_tokens (token_hash, grant_id, client_id, user_id, scope, auth_time, claims,
                                     created_at, expires_at, grant_expires_at)
           VALUES ('${tokenHash}', 'legacy-grant-${user.id}', '${app.client_id}', '${user.id}',
                   'openid email offline_access', ${now - 60}, '${oldClaims}', ${now - 60},
                   ${now + 14 * 86400}, ${now + 365 * 86400});
         INSERT INTO consents (user_id, client_id, scope, created_at, updated_at)
           VALUES ('${user.id}', '${app.client_id}', 'openid email', ${now - 60}, ${now - 60});`,
      );
      const issued = { json: { refresh_token: refreshToken } };
      await first.stop();

      // The upgrade: the migrations on the same database, then the server again (same secrets:
      // the signing keys in the database are sealed with KEY_ENCRYPTION_SECRET).
      const out = await applyMigrations(stateDir);
      assert.match(out, /0001_baseline\.sql/, out);
      second = await startServer({
        stateDir, prepare: 'none', adminToken: first.adminToken, keySecret: first.keySecret,
      });
      const applied = await second.d1Query('SELECT name FROM d1_migrations ORDER BY id');
      assert.deepEqual(applied.map((r) => r.name), await migrationFiles());
      // 0009 rebuilds applications; the rows that name it in other tables stay.
      const consents = await second.d1Query(`SELECT scope FROM consents WHERE client_id = '${app.client_id}'`);
      assert.deepEqual(consents, [{ scope: 'openid email' }], 'the consent survives the upgrade');

      const refreshed = await tokenRequest(second, {
        grant_type: 'refresh_token', refresh_token: issued.json.refresh_token, client_id: app.client_id,
      });
      assert.equal(refreshed.status, 200, refreshed.text);
      assert.ok(refreshed.json.access_token && refreshed.json.id_token, 'new tokens');
      assert.ok(
        refreshed.json.refresh_token && refreshed.json.refresh_token !== issued.json.refresh_token,
        'an SPA\'s refresh token rotates',
      );
      const claims = JSON.parse(Buffer.from(refreshed.json.id_token.split('.')[1], 'base64url'));
      assert.equal(claims.sub, user.id);

      // The application and the user are still there, and the user can still log in.
      const api = managementApi(second);
      const got = await api('GET', `/applications/${app.client_id}`);
      assert.equal(got.status, 200, got.text);
      assert.deepEqual(got.json.redirect_uris, [REDIRECT]);
      const again = await obtainCode(second, { app, redirectUri: REDIRECT, jar: new CookieJar(), user });
      assert.ok(again.code);
    } finally {
      await second?.stop();
      await first?.stop();
      await rm(stateDir, { recursive: true, force: true });
    }
  },
);
