// The "bare workerd" lane: the provider's deployable bundle served by `workerd serve` alone,
// without wrangler dev's proxy, local-binding services and dev-time wrapping. Cheap endpoints
// cannot be told from the floor under wrangler dev (a hello-world costs several times more
// there); here they can.
//
//   bundle()   -> { dir, main, files: [{ name, bytes, gzipBytes }], bytes, gzipBytes, wrangler }
//                 `wrangler deploy --dry-run --outdir bench/out/bundle` (runs the [build]
//                 command) and the sizes of what it would upload: the modules, not the README
//                 or source map. gzipBytes is zlib level 9; `wrangler` is wrangler's own
//                 "Total Upload" line, for comparison.
//   bundleSizes(dir) -> the same sizes for an existing bundle dir, without rebuilding.
//   startBare({ port, vars, d1Tables, dir }) -> { origin, pid, stop, output }
//                 serves the bundle in `dir` (default bench/out/bundle, built when missing) with
//                 `vars` as text bindings, DB as a fake D1 answering reads from
//                 `d1Tables` = { table: [row objects] } (bench/floors/fake-d1.mjs), and the
//                 KV namespaces and Durable Object namespaces wrangler.toml declares, present
//                 but empty (the Worker requires them to build a request's services; KV
//                 answers every read with a miss, objects keep their storage in memory), so
//                 endpoints that use them do not work as in production.
//   seedTables({ keySecret }) -> { tables, vars, clientId, corsOrigin }
//                 real rows for d1Tables: runs the real Worker under wrangler dev once, lets it
//                 create its signing keys (JWKS) and an SPA application allowing
//                 https://spa.example, and reads the signing_keys and applications tables.
//                 `vars` holds the KEY_ENCRYPTION_SECRET that encrypts those keys.

import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import {
  REPO_ROOT,
  FLOORS_DIR,
  capnpText,
  compatibility,
  freePort,
  nodeBinary,
  run,
  serveWorkerd,
  spawnGroup,
  waitFor,
  wranglerBin,
} from './floors.mjs';

export const BUNDLE_DIR = join(REPO_ROOT, 'bench', 'out', 'bundle');
const FAKE_D1_SOURCE = join(FLOORS_DIR, 'fake-d1.mjs');
const FAKE_D1_MODULE = 'bench-fake-d1:binding';

// How wrangler's default module rules type a file, as workerd module kinds.
const MODULE_KINDS = {
  '.js': 'esModule',
  '.mjs': 'esModule',
  '.cjs': 'commonJsModule',
  '.wasm': 'wasm',
  '.txt': 'text',
  '.html': 'text',
  '.sql': 'text',
  '.bin': 'data',
  '.json': 'json',
};

/** The module files of a bundle dir, main first: [{ name, kind }]. */
async function modulesOf(dir) {
  if (!existsSync(dir)) return [];
  const names = (await readdir(dir)).filter((n) => MODULE_KINDS[extname(n)] && !n.endsWith('.map'));
  if (!names.length) return [];
  const toml = await readFile(join(REPO_ROOT, 'wrangler.toml'), 'utf8');
  const mainStem = basename(/^\s*main\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? 'index.js').replace(/\.[^.]+$/, '');
  const js = names.filter((n) => MODULE_KINDS[extname(n)] === 'esModule');
  const main = js.find((n) => n.replace(/\.[^.]+$/, '') === mainStem) ?? js[0];
  if (!main) throw new Error(`no JavaScript module in ${dir}`);
  return [main, ...names.filter((n) => n !== main).sort()].map((name) => ({
    name,
    kind: MODULE_KINDS[extname(name)],
  }));
}

/** Builds the upload bundle and measures it. See the header. */
export async function bundle({ outdir = BUNDLE_DIR } = {}) {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const out = await run(nodeBinary(), [wranglerBin(), 'deploy', '--dry-run', '--outdir', outdir], {
    cwd: REPO_ROOT,
  });
  const sizes = await bundleSizes(outdir);
  const reported = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(out);
  return { ...sizes, wrangler: reported ? { kib: Number(reported[1]), gzipKib: Number(reported[2]) } : null };
}

/** The sizes of an existing bundle dir (what bundle() reports, without rebuilding). */
export async function bundleSizes(dir = BUNDLE_DIR) {
  const modules = await modulesOf(dir);
  if (!modules.length) throw new Error(`no bundle in ${dir}`);
  const files = [];
  for (const m of modules) {
    const data = await readFile(join(dir, m.name));
    files.push({ name: m.name, bytes: data.length, gzipBytes: gzipSync(data, { level: 9 }).length });
  }
  return {
    dir,
    main: modules[0].name,
    files,
    bytes: files.reduce((a, f) => a + f.bytes, 0),
    gzipBytes: files.reduce((a, f) => a + f.gzipBytes, 0),
  };
}

/** Serves the bundle with bare workerd. See the header. */
export async function startBare({ port, vars = {}, d1Tables = {}, dir = BUNDLE_DIR } = {}) {
  let modules = await modulesOf(dir);
  if (!modules.length) {
    if (dir !== BUNDLE_DIR) throw new Error(`no bundle in ${dir}`);
    await bundle();
    modules = await modulesOf(dir);
  }
  port ??= await freePort();
  const compat = compatibility(await readFile(join(REPO_ROOT, 'wrangler.toml'), 'utf8'));

  // Everything the config embeds goes into one temporary directory beside it.
  const work = await mkdtemp(join(tmpdir(), 'bench-bare-'));
  try {
    for (const m of modules) await copyFile(join(dir, m.name), join(work, m.name));
    await copyFile(FAKE_D1_SOURCE, join(work, 'fake-d1.mjs'));
    await writeFile(join(work, 'tables.json'), JSON.stringify(d1Tables));
  } catch (e) {
    await rm(work, { recursive: true, force: true });
    throw e;
  }

  const moduleLines = modules
    .map((m) => `    (name = ${capnpText(m.name)}, ${m.kind} = embed ${capnpText(m.name)}),`)
    .join('\n');
  const varLines = Object.entries(vars)
    .map(([k, v]) => `    (name = ${capnpText(k)}, text = ${capnpText(v)}),`)
    .join('\n');
  // The Worker builds its services from every binding it has (src/wasm.rs), so each KV and
  // Durable Object namespace wrangler.toml declares must exist here too, even unused.
  const toml = await readFile(join(REPO_ROOT, 'wrangler.toml'), 'utf8');
  const { kv, durableObjects } = storageBindings(toml);
  const kvLines = kv.map((name) => `    (name = ${capnpText(name)}, kvNamespace = "kv-empty"),`).join('\n');
  const doLines = durableObjects.map((d) => `    (name = ${capnpText(d.name)}, durableObjectNamespace = (className = ${capnpText(d.className)})),`).join('\n');
  const doClasses = [...new Set(durableObjects.map((d) => d.className))];
  const config = `# Generated by bench/lib/bare.mjs: the upload bundle on bare workerd.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # KV namespaces: every read a miss (a 404 from this service).
    (name = "kv-empty", worker = (
      modules = [ (name = "kv.js", esModule = "export default { fetch() { return new Response(null, { status: 404 }); } };") ],
      compatibilityDate = ${capnpText(compat.date)},
    )),
  ],
  sockets = [ (name = "http", address = ${capnpText(`127.0.0.1:${port}`)}, http = (), service = "main") ],
  extensions = [ (modules = [
    (name = ${capnpText(FAKE_D1_MODULE)}, internal = true, esModule = embed "fake-d1.mjs"),
  ]) ],
);

const worker :Workerd.Worker = (
  modules = [
${moduleLines}
  ],
  compatibilityDate = ${capnpText(compat.date)},
  compatibilityFlags = [ ${compat.flags.map(capnpText).join(', ')} ],
  bindings = [
${varLines}
    (name = "DB", wrapped = (
      moduleName = ${capnpText(FAKE_D1_MODULE)},
      innerBindings = [ (name = "tables", json = embed "tables.json") ],
    )),
${kvLines}
${doLines}
  ],
  durableObjectNamespaces = [ ${doClasses.map((c) => `(className = ${capnpText(c)}, uniqueKey = ${capnpText(`bench-bare-${c}`)}, enableSql = true)`).join(', ')} ],
  durableObjectStorage = (inMemory = void),
);
`;
  // Discovery needs no storage: it answers as soon as the Worker is up.
  return serveWorkerd({
    dir: work,
    config,
    port,
    readyPath: '/.well-known/openid-configuration',
    tempDirs: [work],
  });
}

/**
 * The KV namespace bindings and Durable Object bindings of a wrangler.toml:
 * { kv: [binding], durableObjects: [{ name, className }] }. Reads only the array-of-tables
 * sections it needs ([[kv_namespaces]], [[durable_objects.bindings]]).
 */
export function storageBindings(toml) {
  const kv = [];
  const durableObjects = [];
  let section = null;
  let cur = null;
  const flush = () => {
    if (section === 'kv_namespaces' && cur?.binding) kv.push(cur.binding);
    if (section === 'durable_objects.bindings' && cur?.name && cur?.class_name && !cur.script_name) {
      durableObjects.push({ name: cur.name, className: cur.class_name });
    }
  };
  for (const line of toml.split('\n')) {
    const h = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*$/.exec(line);
    if (h) {
      flush();
      section = h[1];
      cur = {};
      continue;
    }
    const kvm = /^\s*(\w+)\s*=\s*"([^"]*)"/.exec(line);
    if (kvm && cur) cur[kvm[1]] = kvm[2];
  }
  flush();
  return { kv, durableObjects };
}

/** Real signing_keys and applications rows from the real Worker. See the header. */
export async function seedTables({ keySecret = randomBytes(32).toString('base64url') } = {}) {
  const persist = await mkdtemp(join(tmpdir(), 'bench-seed-'));
  const wrangler = (args) => run(nodeBinary(), [wranglerBin(), ...args], { cwd: REPO_ROOT });
  let group;
  try {
    await wrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist]);
    const port = await freePort();
    const inspector = await freePort();
    const adminToken = `admin-${randomBytes(18).toString('base64url')}`;
    group = spawnGroup(
      nodeBinary(),
      [
        wranglerBin(), 'dev',
        '--ip', '127.0.0.1',
        '--port', String(port),
        '--inspector-port', String(inspector),
        '--persist-to', persist,
        '--log-level', 'warn',
        '--show-interactive-dev-session=false',
        '--var', `ADMIN_TOKEN:${adminToken}`,
        '--var', `KEY_ENCRYPTION_SECRET:${keySecret}`,
      ],
      { cwd: REPO_ROOT },
    );
    const origin = `http://127.0.0.1:${port}`;
    await waitFor(`${origin}/.well-known/openid-configuration`, group);
    const jwks = await fetch(`${origin}/.well-known/jwks.json`);
    if (jwks.status !== 200) throw new Error(`JWKS: ${jwks.status} ${await jwks.text()}`);
    await jwks.arrayBuffer();
    const created = await fetch(`${origin}/api/v1/applications`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        name: 'b',
        type: 'spa',
        redirect_uris: ['https://spa.example/cb'],
        allowed_origins: ['https://spa.example'],
      }),
    });
    const app = await created.json().catch(() => ({}));
    if (created.status !== 201 && created.status !== 200) {
      throw new Error(`creating the application: ${created.status} ${JSON.stringify(app)}`);
    }
    await group.stop();
    group = null;
    const query = async (sql) => {
      const out = await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', persist, '--json', '--command', sql]);
      return JSON.parse(out.slice(out.indexOf('[')))[0].results;
    };
    const tables = {
      signing_keys: await query('SELECT * FROM signing_keys'),
      applications: await query('SELECT * FROM applications'),
    };
    return { tables, vars: { KEY_ENCRYPTION_SECRET: keySecret }, clientId: app.client_id, corsOrigin: 'https://spa.example' };
  } finally {
    if (group) await group.stop();
    await rm(persist, { recursive: true, force: true });
  }
}
