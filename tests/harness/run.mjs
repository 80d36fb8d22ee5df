#!/usr/bin/env node
// Runs integration test files with shared servers (see index.mjs):
//
//   node tests/harness/run.mjs [node --test options] [files or globs]
//
// e.g. node tests/harness/run.mjs --test-reporter=spec 'tests/integration/*.test.mjs'
//
// Starts the broker, then `node --test --test-concurrency=1 <arguments>` with HARNESS_BROKER
// set, so that each test file gets the run's server for its configuration; when node --test is
// done, stops every server and exits with its status. Files run one at a time, since files
// with the same configuration share a database (a later --test-concurrency overrides this, at
// that risk). Without files, runs tests/integration/*.test.mjs and conformance/*.test.mjs. HARNESS_SHARE=0: no broker,
// each file starts its own server (as node --test alone would).

import { spawn } from 'node:child_process';

import { startBroker } from './broker.mjs';

const args = process.argv.slice(2);
if (!args.some((a) => !a.startsWith('-'))) args.push('tests/integration/*.test.mjs', 'tests/integration/conformance/*.test.mjs');

const share = process.env.HARNESS_SHARE !== '0' && !process.env.HARNESS_ORIGIN;
const broker = share ? await startBroker() : null;
const t0 = Date.now();

const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...args], {
  cwd: process.cwd(),
  env: broker ? { ...process.env, HARNESS_BROKER: broker.url } : process.env,
  stdio: 'inherit',
});

let stopping;
async function finish(code) {
  stopping ??= (async () => {
    if (broker) {
      for (const line of broker.report()) console.error(`[harness] ${line}`);
      await broker.stopAll();
    }
    console.error(`[harness] ${((Date.now() - t0) / 1000).toFixed(1)} s in all`);
    process.exit(code);
  })();
  return stopping;
}

// A signal to this process alone (not to the whole foreground group) still ends the tests.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    child.kill(sig);
  });
}
child.on('error', (err) => {
  console.error(err);
  finish(1);
});
child.on('exit', (code, signal) => finish(code ?? (signal ? 1 : 0)));
