#!/usr/bin/env node
// The local mail sink: where the provider's mail lands on a developer's machine and in the
// tests, so no message leaves the machine. It speaks the HTTP mail API the provider's `http`
// transport uses (Resend's: POST JSON {from, to: [...], subject, text, html} with
// `Authorization: Bearer <MAIL_API_KEY>`), so locally the provider runs the very code that
// talks to a real mail API in production; only the URL differs.
//
// Each message is kept as files in the sink's directory: <n>.json (everything), <n>.html and
// <n>.txt, and latest.html / latest.txt for the newest. The sink also serves them to a
// browser: GET / lists the messages, GET /latest shows the newest, GET /messages/<n> one.
//
//   node scripts/mail-sink.mjs --dir .mail --port 8025 --key <MAIL_API_KEY>   (make dev)
//   import { startMailSink } from '../../scripts/mail-sink.mjs'                 (the tests)

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const MAX_BODY = 1 << 20;

const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** The messages in `dir`, oldest first. */
export function readMessages(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^\d+\.json$/.test(n))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10))
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')));
}

/**
 * Starts the sink on 127.0.0.1 (`port` 0: a free one). Returns { url, apiUrl, key, dir, stop() }:
 * `apiUrl` is what MAIL_API_URL should be.
 */
export async function startMailSink({ dir, port = 0, key }) {
  mkdirSync(dir, { recursive: true });
  let count = readMessages(dir).length;
  const server = http.createServer((req, res) => {
    const send = (status, type, body) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method === 'POST' && req.url === '/emails') {
      if (req.headers.authorization !== `Bearer ${key}`) {
        return send(401, 'application/json', JSON.stringify({ message: 'missing or wrong API key' }));
      }
      let body = '';
      req.on('data', (d) => {
        body += d;
        if (body.length > MAX_BODY) req.destroy();
      });
      req.on('end', () => {
        let m;
        try {
          m = JSON.parse(body);
        } catch {
          return send(422, 'application/json', JSON.stringify({ message: 'not JSON' }));
        }
        const to = Array.isArray(m.to) ? m.to : [m.to];
        if (!m.from || !to.length || !to.every((t) => typeof t === 'string' && t.includes('@')) || !m.subject || !(m.text || m.html)) {
          return send(422, 'application/json', JSON.stringify({ message: 'from, to, subject and text or html are required' }));
        }
        count += 1;
        const id = count;
        const message = { id, receivedAt: new Date().toISOString(), from: m.from, to, subject: m.subject, text: m.text ?? '', html: m.html ?? '' };
        writeFileSync(join(dir, `${id}.json`), JSON.stringify(message, null, 2));
        writeFileSync(join(dir, `${id}.html`), message.html);
        writeFileSync(join(dir, `${id}.txt`), message.text);
        writeFileSync(join(dir, 'latest.html'), message.html);
        writeFileSync(join(dir, 'latest.txt'), message.text);
        send(200, 'application/json', JSON.stringify({ id: String(id) }));
      });
      return;
    }
    if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed');
    const messages = readMessages(dir);
    if (req.url === '/') {
      const rows = messages
        .reverse()
        .map((m) => `<li><a href="/messages/${m.id}">${escapeHtml(m.subject)}</a> to ${escapeHtml(m.to.join(', '))} <small>${escapeHtml(m.receivedAt)}</small></li>`)
        .join('');
      return send(200, 'text/html; charset=utf-8', `<!doctype html><html lang="en"><meta charset="utf-8"><title>Local mail</title><h1>Local mail (${messages.length})</h1><ul>${rows || '<li>No mail yet.</li>'}</ul>`);
    }
    const match = req.url.match(/^\/messages\/(\d+)$/);
    const found = req.url === '/latest' ? messages.at(-1) : match && messages.find((m) => m.id === Number(match[1]));
    if (!found) return send(404, 'text/plain', 'no such message');
    return send(200, 'text/html; charset=utf-8', found.html || `<pre>${escapeHtml(found.text)}</pre>`);
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    apiUrl: `${url}/emails`,
    key,
    dir,
    stop: () => new Promise((ok) => server.close(() => ok())),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const sink = await startMailSink({ dir: arg('dir', '.mail'), port: Number(arg('port', 8025)), key: arg('key', 'local') });
  console.log(`[mail] local mail sink: ${sink.url} (newest: ${sink.url}/latest; files in ${sink.dir}/)`);
}
