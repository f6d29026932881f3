// The dashboard: polls the node's JSON API every second and draws it. Every value from the node
// (names, labels, addresses, problem texts) is set as text, never parsed as HTML: certificates
// and content names come from other members.
'use strict';

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'title') e.title = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[i];
}
const rate = (n) => bytes(Math.max(0, n)) + '/s';
const short = (id) => id.slice(0, 14) + '…';

function bar(fraction) {
  const inner = el('div');
  inner.style.width = (Math.min(1, Math.max(0, fraction)) * 100).toFixed(1) + '%';
  return el('div', { class: 'bar' }, inner);
}

function fill(table, rows) {
  const body = $(table).tBodies[0];
  body.replaceChildren(...rows);
  $(table + '-empty').hidden = rows.length > 0;
  $(table).hidden = rows.length === 0;
}

function cell(v, cls) { return el('td', cls ? { class: cls } : {}, v); }

// Rates are what moved over the last few seconds of polls, over the time that passed on the
// node's clock (`clock_ms`), not the browser's: a late poll does not make a rate look higher,
// and a rate does not jump with each piece stored.
const window_ms = 5000;
let samples = [];  // {t, status}, oldest first
let previous = null;  // the oldest sample in the window

function perSecond(now, before, get) {
  if (!previous || before === undefined) return 0;
  const dt = (now - previous.t) / 1000;
  return dt > 0 ? (get - before) / dt : 0;
}

function drawOverview(s, now) {
  $('node-name').textContent = s.node;
  $('listen').textContent = s.listen;
  $('http').textContent = s.listen_http;
  const p = previous ? previous.status : null;
  const up = perSecond(now, p && p.uploaded_bytes, s.uploaded_bytes);
  const down = perSecond(now, p && p.downloaded_bytes, s.downloaded_bytes);
  const l = s.limits || {};
  $('up-rate').textContent = rate(up) + ' of ' + (l.upload_text || '?');
  $('down-rate').textContent = rate(down) + ' of ' + (l.download_text || '?');
  $('up-bar').hidden = !l.upload;
  $('down-bar').hidden = !l.download;
  if (l.upload) $('up-bar').firstChild.style.width = Math.min(100, 100 * up / l.upload) + '%';
  if (l.download) $('down-bar').firstChild.style.width = Math.min(100, 100 * down / l.download) + '%';
  $('moved').textContent = bytes(s.uploaded_bytes) + ' up, ' + bytes(s.downloaded_bytes) + ' down';
}

function drawFetches(s, now) {
  const before = new Map();
  if (previous) for (const f of previous.status.fetches) before.set(f.id, f.stored_bytes);
  fill('fetches', s.fetches.map((f) => {
    const frac = f.total_bytes > 0 ? f.stored_bytes / f.total_bytes : 0;
    const got = f.from_sources + f.from_peers;
    return el('tr', { 'data-id': f.id },
      el('td', { class: 'mono', title: f.id }, short(f.id)),
      el('td', {}, bar(frac), ' ' + (100 * frac).toFixed(1) + '%'),
      cell(bytes(f.stored_bytes) + ' of ' + (f.total_bytes ? bytes(f.total_bytes) : '?'), 'num'),
      cell(rate(perSecond(now, before.get(f.id), f.stored_bytes)), 'num'),
      cell(f.peers, 'num'),
      cell(got > 0 ? (100 * f.from_sources / got).toFixed(0) + '%' : '–', 'num'),
      cell(f.waiting || ''));
  }));
}

function drawContents(s, contents) {
  const swarms = new Map(s.swarms.map((x) => [x.id, x]));
  fill('contents', contents.map((c) => {
    const w = swarms.get(c.id);
    return el('tr', { 'data-id': c.id },
      el('td', { class: 'mono', title: c.id }, short(c.id)),
      cell(c.name),
      cell(bytes(c.size), 'num'),
      el('td', {}, bar(c.pieces ? c.pieces_present / c.pieces : 1),
         ' ' + c.pieces_present + ' / ' + c.pieces),
      cell((c.complete ? 'complete' : 'partial') + (c.pinned ? ', pinned' : '')),
      cell(w ? w.peers + ' peers, ' + w.pieces_only_here + ' only here' : '–'));
  }));
}

function drawPeers(s, now) {
  const before = new Map();
  if (previous) for (const p of previous.status.peers) before.set(p.node + p.address, p);
  fill('peers', s.peers.map((p) => {
    const b = before.get(p.node + p.address);
    const shared = new Set(p.swarms || []);
    for (const f of p.fetching || []) shared.add(f.id);
    const labels = Object.entries(p.labels || {}).map(([k, v]) => k + '=' + v).join(' ');
    return el('tr', { 'data-node': p.node },
      cell(p.name),
      el('td', { class: 'mono', title: p.node }, short(p.node)),
      cell(p.address, 'mono'),
      cell(p.direction),
      cell(rate(perSecond(now, b && b.bytes_in, p.bytes_in)), 'num'),
      cell(rate(perSecond(now, b && b.bytes_out, p.bytes_out)), 'num'),
      cell(bytes(p.bytes_in), 'num'),
      cell(bytes(p.bytes_out), 'num'),
      el('td', { class: 'mono', title: [...shared].join('\n') }, [...shared].map(short).join(' ')),
      cell(labels));
  }));
}

function pairs(dl, entries) {
  $(dl).replaceChildren(...entries.flatMap(([k, v, warn]) =>
    [el('dt', {}, k), el('dd', warn ? { class: 'warn' } : {}, v)]));
}

function drawDht(d) {
  const last = (d.recent_lookups || []).slice(-1)[0];
  pairs('dht', [
    ['Members known', d.contacts, d.contacts === 0 && (d.bootstrap || []).length > 0],
    ['Records for others', d.records],
    ['Lookups', d.lookups + ' (' + d.lookups_running + ' running)'],
    ['Last lookup', last ? last.kind + ', ' + last.rounds + ' round trips, ' + last.queries +
      ' queries (' + last.failed + ' failed), ' + last.ms.toFixed(1) + ' ms' : '–'],
    ['Bootstrap', (d.bootstrap || []).join(' ') || 'none'],
  ]);
}

function drawProblems(p) {
  const reasons = (o) => Object.entries(o || {}).map(([k, v]) => k + ' ' + v).join(', ') || 'none';
  pairs('problem-counts', [
    ['Refused by this node', reasons(p.rejects_sent)],
    ['Refused by peers', reasons(p.rejects_received)],
    ['Peers cut off', p.cut_offs + ' (' + p.bad_blocks + ' for bad blocks)', p.cut_offs > 0],
    ['Certificates refused', p.refused_in + ' incoming, ' + p.refused_out + ' dialed',
     p.refused_in + p.refused_out > 0],
  ]);
  fill('problems', (p.recent || []).slice().reverse().map((x) =>
    el('tr', {}, cell(x.seconds_ago.toFixed(0) + ' s ago', 'num'), cell(x.peer), cell(x.what))));
}

async function json(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
}

async function poll() {
  try {
    const [s, contents] = await Promise.all([json('/api/v1/status'), json('/api/v1/contents')]);
    const now = s.clock_ms;
    if (samples.length > 0 && now <= samples[samples.length - 1].t) samples = [];  // a restart
    previous = samples.length > 0 ? samples[0] : null;
    drawOverview(s, now);
    drawFetches(s, now);
    drawContents(s, contents);
    drawPeers(s, now);
    drawDht(s.dht || {});
    drawProblems(s.problems || {});
    samples.push({ t: now, status: s });
    while (samples.length > 2 && now - samples[1].t >= window_ms) samples.shift();
    previous = samples[0];
    $('state').textContent = 'live';
    $('state').className = 'state';
  } catch (e) {
    $('state').textContent = 'the node does not answer: ' + e.message;
    $('state').className = 'state bad';
  }
  setTimeout(poll, 1000);
}

poll();
