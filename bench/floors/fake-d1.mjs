// A fake D1 binding for bare `workerd serve` (bench/lib/bare.mjs): answers reads from fixed
// tables held in memory, so the bare lane measures the Worker with storage out of the way.
//
// Loaded as an internal extension module behind a `wrapped` binding: workerd calls the default
// export with the inner bindings, `{ tables: { table_name: [row objects] } }`, and the Worker
// sees its return value as `env.DB`. It also imports in Node, for checking the SQL subset.
//
// What it understands (enough for src/store/d1.rs): `SELECT <columns | * | expressions> FROM
// <table> [WHERE <expr>] [ORDER BY ...] [LIMIT n [OFFSET m]]` and `SELECT <expr>` without FROM.
// WHERE expressions: AND / OR / NOT, = == != <> < <= > >=, IS [NOT] NULL, [NOT] IN (list),
// [NOT] LIKE, BETWEEN, + - * / ||, parentheses, ?N and ? parameters, literals, and the functions
// lower, upper, length, instr, coalesce, ifnull, abs, max, min (scalar). SQLite's NULL logic is
// kept. Anything else in a SELECT throws (loudly, naming the SQL) rather than answering wrongly.
// Every other statement (INSERT, UPDATE, DELETE, ...) writes nothing and answers success with
// `meta.changes = 0` (and no rows, even with RETURNING). Tables it was not given read as empty.

const KEYWORDS = new Set([
  'SELECT', 'FROM', 'WHERE', 'ORDER', 'BY', 'LIMIT', 'OFFSET', 'AND', 'OR', 'NOT', 'IS', 'NULL',
  'IN', 'LIKE', 'BETWEEN', 'ASC', 'DESC', 'AS', 'GROUP', 'HAVING', 'JOIN', 'UNION', 'DISTINCT',
  'COLLATE', 'NULLS', 'FIRST', 'LAST', 'ESCAPE',
]);

class SqlError extends Error {}

// ---- tokens -----------------------------------------------------------------------------

function tokenize(sql) {
  const out = [];
  let i = 0;
  let maxParam = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= sql.length) throw new SqlError('unterminated string');
        if (sql[i] === "'") {
          if (sql[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += sql[i++];
      }
      out.push({ t: 'lit', v: s, text: `'${s}'` });
    } else if (c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      const end = sql.indexOf(close, i + 1);
      if (end < 0) throw new SqlError('unterminated identifier');
      const name = sql.slice(i + 1, end);
      out.push({ t: 'id', v: name, text: name });
      i = end + 1;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|[0-9]+\.)/.exec(sql.slice(i));
      out.push({ t: 'lit', v: Number(m[0]), text: m[0] });
      i += m[0].length;
    } else if (c === '?') {
      const m = /^\?([0-9]*)/.exec(sql.slice(i));
      const n = m[1] ? Number(m[1]) : maxParam + 1;
      maxParam = Math.max(maxParam, n);
      out.push({ t: 'param', v: n, text: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i));
      const up = m[0].toUpperCase();
      out.push(KEYWORDS.has(up) ? { t: 'kw', v: up, text: m[0] } : { t: 'id', v: m[0], text: m[0] });
      i += m[0].length;
    } else {
      const two = sql.slice(i, i + 2);
      if (['<=', '>=', '<>', '!=', '==', '||'].includes(two)) {
        out.push({ t: 'op', v: two, text: two });
        i += 2;
      } else if ('=<>(),.*+-/;%'.includes(c)) {
        out.push({ t: 'op', v: c, text: c });
        i++;
      } else {
        throw new SqlError(`unexpected character ${JSON.stringify(c)}`);
      }
    }
  }
  while (out.length && out[out.length - 1].v === ';') out.pop();
  return out;
}

// ---- parser -----------------------------------------------------------------------------

class Parser {
  constructor(tokens) {
    this.toks = tokens;
    this.i = 0;
  }
  peek(k = 0) {
    return this.toks[this.i + k];
  }
  is(v, k = 0) {
    const t = this.peek(k);
    return !!t && (t.t === 'kw' || t.t === 'op') && t.v === v;
  }
  take(v) {
    if (!this.is(v)) {
      const t = this.peek();
      throw new SqlError(`expected ${v}, found ${t ? t.text : 'end'}`);
    }
    return this.toks[this.i++];
  }
  eat(v) {
    if (this.is(v)) {
      this.i++;
      return true;
    }
    return false;
  }
  done() {
    return this.i >= this.toks.length;
  }

  select() {
    this.take('SELECT');
    if (this.is('DISTINCT')) throw new SqlError('DISTINCT is not supported');
    const columns = [];
    do {
      if (this.eat('*')) {
        columns.push({ star: true });
        continue;
      }
      const start = this.i;
      const expr = this.expr();
      const text = this.toks.slice(start, this.i).map((t) => t.text).join(' ');
      let name = expr.k === 'col' ? expr.name : text;
      if (this.eat('AS')) name = this.toks[this.i++].v;
      else if (this.peek()?.t === 'id') name = this.toks[this.i++].v;
      columns.push({ expr, name });
    } while (this.eat(','));
    const q = { columns, table: null, where: null, order: [], limit: null, offset: null };
    if (this.eat('FROM')) {
      const t = this.peek();
      if (!t || t.t !== 'id') throw new SqlError('expected a table name after FROM');
      q.table = t.v;
      this.i++;
      if (this.eat('AS')) this.i++;
      else if (this.peek()?.t === 'id') this.i++;
      if (this.is(',') || this.is('JOIN')) throw new SqlError('joins are not supported');
    }
    if (this.eat('WHERE')) q.where = this.expr();
    if (this.is('GROUP') || this.is('HAVING')) throw new SqlError('GROUP BY is not supported');
    if (this.eat('ORDER')) {
      this.take('BY');
      do {
        const expr = this.expr();
        if (this.eat('COLLATE')) this.i++;
        let desc = false;
        if (this.eat('DESC')) desc = true;
        else this.eat('ASC');
        if (this.eat('NULLS')) throw new SqlError('NULLS FIRST/LAST is not supported');
        q.order.push({ expr, desc });
      } while (this.eat(','));
    }
    if (this.eat('LIMIT')) {
      q.limit = this.expr();
      if (this.eat('OFFSET')) q.offset = this.expr();
      else if (this.eat(',')) {
        q.offset = q.limit;
        q.limit = this.expr();
      }
    }
    if (!this.done()) throw new SqlError(`unsupported SQL near ${this.peek().text}`);
    return q;
  }

  expr() {
    return this.or();
  }
  or() {
    let l = this.and();
    while (this.eat('OR')) l = { k: 'or', l, r: this.and() };
    return l;
  }
  and() {
    let l = this.not();
    while (this.eat('AND')) l = { k: 'and', l, r: this.not() };
    return l;
  }
  not() {
    if (this.eat('NOT')) return { k: 'not', e: this.not() };
    return this.cmp();
  }
  cmp() {
    let l = this.add();
    for (;;) {
      const t = this.peek();
      if (!t) return l;
      if (t.t === 'op' && ['=', '==', '!=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
        this.i++;
        l = { k: 'cmp', op: t.v, l, r: this.add() };
      } else if (this.is('IS')) {
        this.i++;
        const neg = this.eat('NOT');
        l = { k: 'is', neg, l, r: this.add() };
      } else if (this.is('IN') || (this.is('NOT') && this.is('IN', 1))) {
        const neg = this.eat('NOT');
        this.take('IN');
        this.take('(');
        if (this.is('SELECT')) throw new SqlError('IN (SELECT ...) is not supported');
        const list = [];
        if (!this.is(')')) {
          do list.push(this.expr());
          while (this.eat(','));
        }
        this.take(')');
        l = { k: 'in', neg, l, list };
      } else if (this.is('LIKE') || (this.is('NOT') && this.is('LIKE', 1))) {
        const neg = this.eat('NOT');
        this.take('LIKE');
        l = { k: 'like', neg, l, r: this.add() };
        if (this.is('ESCAPE')) throw new SqlError('LIKE ... ESCAPE is not supported');
      } else if (this.is('BETWEEN') || (this.is('NOT') && this.is('BETWEEN', 1))) {
        const neg = this.eat('NOT');
        this.take('BETWEEN');
        const lo = this.add();
        this.take('AND');
        l = { k: 'between', neg, l, lo, hi: this.add() };
      } else {
        return l;
      }
    }
  }
  add() {
    let l = this.mul();
    for (;;) {
      const t = this.peek();
      if (t && t.t === 'op' && ['+', '-', '||'].includes(t.v)) {
        this.i++;
        l = { k: 'arith', op: t.v, l, r: this.mul() };
      } else return l;
    }
  }
  mul() {
    let l = this.unary();
    for (;;) {
      const t = this.peek();
      if (t && t.t === 'op' && ['*', '/', '%'].includes(t.v)) {
        this.i++;
        l = { k: 'arith', op: t.v, l, r: this.unary() };
      } else return l;
    }
  }
  unary() {
    if (this.eat('-')) return { k: 'arith', op: '-', l: { k: 'lit', v: 0 }, r: this.unary() };
    if (this.eat('+')) return this.unary();
    return this.primary();
  }
  primary() {
    const t = this.peek();
    if (!t) throw new SqlError('unexpected end of SQL');
    this.i++;
    if (t.t === 'lit') return { k: 'lit', v: t.v };
    if (t.t === 'param') return { k: 'param', n: t.v };
    if (t.t === 'kw' && t.v === 'NULL') return { k: 'lit', v: null };
    if (t.t === 'op' && t.v === '(') {
      if (this.is('SELECT')) throw new SqlError('subqueries are not supported');
      const e = this.expr();
      this.take(')');
      return e;
    }
    if (t.t === 'id') {
      if (this.eat('(')) {
        const args = [];
        if (!this.is(')')) {
          do args.push(this.expr());
          while (this.eat(','));
        }
        this.take(')');
        const name = t.v.toLowerCase();
        if (!FUNCTIONS[name]) throw new SqlError(`function ${t.v} is not supported`);
        return { k: 'fn', name, args };
      }
      // table.column: the table part is dropped (one table per query).
      if (this.eat('.')) return { k: 'col', name: this.toks[this.i++].v };
      return { k: 'col', name: t.v };
    }
    throw new SqlError(`unexpected ${t.text}`);
  }
}

// ---- evaluation (SQLite semantics, NULL included) -----------------------------------------

const isNull = (v) => v === null || v === undefined;
const truthy = (v) => !isNull(v) && Number(v) !== 0 && !Number.isNaN(Number(v));

// SQLite's order across types: NULL < numbers < text < blobs.
function compare(a, b) {
  const rank = (v) => (typeof v === 'number' || typeof v === 'bigint' ? 1 : typeof v === 'string' ? 2 : 3);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 1) return Number(a) - Number(b);
  if (ra === 2) return a < b ? -1 : a > b ? 1 : 0;
  return 0;
}

const FUNCTIONS = {
  lower: ([s]) => (isNull(s) ? null : String(s).toLowerCase()),
  upper: ([s]) => (isNull(s) ? null : String(s).toUpperCase()),
  length: ([s]) => (isNull(s) ? null : String(s).length),
  instr: ([h, n]) => (isNull(h) || isNull(n) ? null : String(h).indexOf(String(n)) + 1),
  coalesce: (args) => args.find((v) => !isNull(v)) ?? null,
  ifnull: (args) => args.find((v) => !isNull(v)) ?? null,
  abs: ([n]) => (isNull(n) ? null : Math.abs(Number(n))),
  max: (args) => (args.some(isNull) ? null : args.reduce((a, b) => (compare(a, b) >= 0 ? a : b))),
  min: (args) => (args.some(isNull) ? null : args.reduce((a, b) => (compare(a, b) <= 0 ? a : b))),
};

function likeRegExp(pattern) {
  let re = '';
  for (const ch of String(pattern)) {
    if (ch === '%') re += '[\\s\\S]*';
    else if (ch === '_') re += '[\\s\\S]';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

function evaluate(e, row, params) {
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'param': {
      if (e.n > params.length) throw new SqlError(`parameter ?${e.n} is not bound`);
      return params[e.n - 1];
    }
    case 'col':
      if (!(e.name in row)) throw new SqlError(`no such column: ${e.name}`);
      return row[e.name];
    case 'and': {
      const l = evaluate(e.l, row, params);
      if (!isNull(l) && !truthy(l)) return 0;
      const r = evaluate(e.r, row, params);
      if (!isNull(r) && !truthy(r)) return 0;
      return isNull(l) || isNull(r) ? null : 1;
    }
    case 'or': {
      const l = evaluate(e.l, row, params);
      if (truthy(l)) return 1;
      const r = evaluate(e.r, row, params);
      if (truthy(r)) return 1;
      return isNull(l) || isNull(r) ? null : 0;
    }
    case 'not': {
      const v = evaluate(e.e, row, params);
      return isNull(v) ? null : truthy(v) ? 0 : 1;
    }
    case 'cmp': {
      const l = evaluate(e.l, row, params);
      const r = evaluate(e.r, row, params);
      if (isNull(l) || isNull(r)) return null;
      const c = compare(l, r);
      const ok = { '=': c === 0, '==': c === 0, '!=': c !== 0, '<>': c !== 0, '<': c < 0, '<=': c <= 0, '>': c > 0, '>=': c >= 0 }[e.op];
      return ok ? 1 : 0;
    }
    case 'is': {
      const l = evaluate(e.l, row, params);
      const r = evaluate(e.r, row, params);
      const same = isNull(l) || isNull(r) ? isNull(l) && isNull(r) : compare(l, r) === 0;
      return same !== e.neg ? 1 : 0;
    }
    case 'in': {
      const l = evaluate(e.l, row, params);
      if (isNull(l)) return null;
      let sawNull = false;
      for (const item of e.list) {
        const v = evaluate(item, row, params);
        if (isNull(v)) sawNull = true;
        else if (compare(l, v) === 0) return e.neg ? 0 : 1;
      }
      if (sawNull) return null;
      return e.neg ? 1 : 0;
    }
    case 'like': {
      const l = evaluate(e.l, row, params);
      const r = evaluate(e.r, row, params);
      if (isNull(l) || isNull(r)) return null;
      return likeRegExp(r).test(String(l)) !== e.neg ? 1 : 0;
    }
    case 'between': {
      const v = evaluate(e.l, row, params);
      const lo = evaluate(e.lo, row, params);
      const hi = evaluate(e.hi, row, params);
      if (isNull(v) || isNull(lo) || isNull(hi)) return null;
      return (compare(v, lo) >= 0 && compare(v, hi) <= 0) !== e.neg ? 1 : 0;
    }
    case 'arith': {
      const l = evaluate(e.l, row, params);
      const r = evaluate(e.r, row, params);
      if (isNull(l) || isNull(r)) return null;
      if (e.op === '||') return String(l) + String(r);
      const a = Number(l);
      const b = Number(r);
      switch (e.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          return b === 0 ? null : Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b;
        default:
          return b === 0 ? null : a % b;
      }
    }
    case 'fn':
      return FUNCTIONS[e.name](e.args.map((a) => evaluate(a, row, params)));
    default:
      throw new SqlError(`cannot evaluate ${e.k}`);
  }
}

// ---- statements -------------------------------------------------------------------------

const plans = new Map();

/** The parsed form of `sql`, cached: { kind: 'select', q } or { kind: 'write' }. */
function plan(sql) {
  let p = plans.get(sql);
  if (p) return p;
  const tokens = tokenize(sql);
  const first = tokens[0];
  if (first && first.t === 'kw' && first.v === 'SELECT') {
    p = { kind: 'select', q: new Parser(tokens).select() };
  } else if (first && first.t === 'id' && first.v.toUpperCase() === 'WITH') {
    throw new SqlError('WITH is not supported');
  } else {
    p = { kind: 'write' };
  }
  if (plans.size > 1000) plans.clear();
  plans.set(sql, p);
  return p;
}

function meta(rowsRead) {
  return {
    served_by: 'bench-fake-d1',
    duration: 0,
    changes: 0,
    last_row_id: 0,
    changed_db: false,
    size_after: 0,
    rows_read: rowsRead,
    rows_written: 0,
  };
}

function bindValue(v) {
  if (v === undefined) throw new SqlError('D1_TYPE_ERROR: undefined is not a supported bind value');
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

export class D1PreparedStatement {
  #db;
  #sql;
  #params;
  constructor(db, sql, params = []) {
    this.#db = db;
    this.#sql = sql;
    this.#params = params;
  }

  bind(...values) {
    return new D1PreparedStatement(this.#db, this.#sql, values.map(bindValue));
  }

  /** Runs the statement: { columns, rows: [row objects], rowsRead }. */
  execute() {
    let p;
    try {
      p = plan(this.#sql);
    } catch (e) {
      throw new Error(`D1_ERROR: bench fake D1 cannot run this query (${e.message}): ${this.#sql}`);
    }
    if (p.kind === 'write') return { rows: [], rowsRead: 0 };
    const { q } = p;
    const params = this.#params;
    try {
      let source = q.table === null ? [{}] : this.#db.table(q.table);
      const rowsRead = source.length;
      if (q.where) source = source.filter((row) => truthy(evaluate(q.where, row, params)));
      if (q.order.length) {
        source = source
          .map((row) => ({ row, keys: q.order.map((o) => evaluate(o.expr, row, params)) }))
          .sort((a, b) => {
            for (let i = 0; i < q.order.length; i++) {
              const x = a.keys[i];
              const y = b.keys[i];
              const c = isNull(x) || isNull(y) ? (isNull(x) ? 0 : 1) - (isNull(y) ? 0 : 1) : compare(x, y);
              if (c) return q.order[i].desc ? -c : c;
            }
            return 0;
          })
          .map((x) => x.row);
      }
      if (q.limit) {
        const limit = Number(evaluate(q.limit, {}, params));
        const offset = q.offset ? Number(evaluate(q.offset, {}, params)) : 0;
        source = source.slice(offset, limit < 0 ? undefined : offset + limit);
      }
      const rows = source.map((row) => {
        const out = {};
        for (const c of q.columns) {
          if (c.star) Object.assign(out, row);
          else out[c.name] = evaluate(c.expr, row, params);
        }
        return out;
      });
      return { rows, rowsRead };
    } catch (e) {
      throw new Error(`D1_ERROR: ${e.message}: ${this.#sql}`);
    }
  }

  async all() {
    const { rows, rowsRead } = this.execute();
    return { success: true, meta: meta(rowsRead), results: rows };
  }

  async run() {
    return this.all();
  }

  async first(column) {
    const { rows } = this.execute();
    const row = rows[0];
    if (!row) return null;
    if (column === undefined || column === null) return row;
    if (!(column in row)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
    return row[column];
  }

  async raw(options = {}) {
    const { rows } = this.execute();
    const out = rows.map((r) => Object.values(r));
    if (options.columnNames) {
      const names = rows[0] ? Object.keys(rows[0]) : [];
      out.unshift(names);
    }
    return out;
  }
}

export class D1DatabaseSession {
  #db;
  constructor(db) {
    this.#db = db;
  }
  prepare(sql) {
    return this.#db.prepare(sql);
  }
  batch(statements) {
    return this.#db.batch(statements);
  }
  getBookmark() {
    return null;
  }
}

export class D1Database {
  #tables;
  constructor(tables = {}) {
    this.#tables = tables ?? {};
  }
  table(name) {
    return this.#tables[name] ?? [];
  }
  prepare(sql) {
    return new D1PreparedStatement(this, sql);
  }
  async batch(statements) {
    return Promise.all(statements.map((s) => s.all()));
  }
  async exec(sql) {
    return { count: sql.split(';').filter((s) => s.trim()).length, duration: 0 };
  }
  async dump() {
    throw new Error('D1_ERROR: dump is not supported by the bench fake D1');
  }
  withSession() {
    return new D1DatabaseSession(this);
  }
}

/** The wrapped binding's entry point: `env.tables` is the JSON inner binding. */
export default function makeBinding(env) {
  return new D1Database(env?.tables ?? {});
}
