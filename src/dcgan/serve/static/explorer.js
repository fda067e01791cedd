// The explorer page: plain JavaScript over the JSON API of dcgan.serve.api (no build step, no network).
'use strict';

const $ = (id) => document.getElementById(id);
const BUCKETS = ['A', 'B', 'C'];
const STRENGTHS = Array.from({ length: 13 }, (_, i) => -3 + i * 0.5);
const state = {
  info: null, sheet: null, sheetName: '', selected: [], boxes: [],
  buckets: Object.fromEntries(BUCKETS.map((b) => [b, []])), results: {},
};

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = false;
}

function clearError() { $('error').hidden = true; }

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  if (!response.ok) {
    let problem = `${response.status} ${response.statusText}`;
    try {
      const data = await response.json();
      problem = data.error + (data.fix ? `\nfix: ${data.fix}` : '');
    } catch (_) { /* not JSON: keep the status line */ }
    throw new Error(problem);
  }
  return response;
}

// Runs one request, reports its time in the status line, and shows any failure as the page's error message.
async function run(label, work) {
  clearError();
  $('status').textContent = `${label}...`;
  const start = performance.now();
  try {
    await work();
    const ms = Math.round(performance.now() - start);
    $('status').textContent = `${label}: ${ms} ms`;
    $('status').dataset.ms = ms;
  } catch (err) {
    $('status').textContent = '';
    showError(err.message);
  }
}

function download(name, href) {
  const a = document.createElement('a');
  a.href = href; a.download = name;
  document.body.appendChild(a); a.click(); a.remove();
}

async function downloadZ(name, z, meta) {
  const response = await api('/api/zfile', { z, name, meta });
  const url = URL.createObjectURL(await response.blob());
  download(`${name}.safetensors`, url);
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// A figure of rows of images (data URIs) drawn on a canvas, as a PNG data URI.
async function figure(rows) {
  const images = await Promise.all(rows.flat().map((src) => new Promise((done) => {
    const img = new Image(); img.onload = () => done(img); img.src = src;
  })));
  const w = images[0].naturalWidth, h = images[0].naturalHeight, cols = Math.max(...rows.map((r) => r.length));
  const canvas = document.createElement('canvas');
  canvas.width = cols * (w + 2) + 2; canvas.height = rows.length * (h + 2) + 2;
  const ctx = canvas.getContext('2d');
  let k = 0;
  rows.forEach((row, r) => row.forEach((_, c) => { ctx.drawImage(images[k++], 2 + c * (w + 2), 2 + r * (h + 2)); }));
  return canvas.toDataURL('image/png');
}

function checkpoint() { return $('checkpoint').value; }

// The class index a conditional checkpoint draws (its class menu), or null for an unconditional one.
function label() { return $('class-picker').hidden ? null : Number($('class').value); }

// A z file's metadata with the class its images were drawn at, where there is one.
function withLabel(meta, at) { return at === null ? meta : { ...meta, label: at }; }

// The class menu of the chosen checkpoint: shown for a conditional one, at the class chosen before if it has it.
function showClasses() {
  const info = state.info.checkpoints.find((c) => c.name === checkpoint());
  const before = label();
  $('class').replaceChildren(...info.classes.map((name, i) => new Option(`${i}: ${name}`, i)));
  $('class-picker').hidden = !info.classes.length;
  if (info.classes.length) $('class').value = before !== null && before < info.classes.length ? before : info.label;
}

function image(src, name) {
  const a = document.createElement('a');
  a.href = src; a.download = name; a.title = `download ${name}`;
  const img = document.createElement('img');
  img.src = src;
  a.appendChild(img);
  return a;
}

// Shows rows of result images with PNG and z downloads; returns the panel's element.
function showResult(key, title, rows, zRows, meta) {
  const panel = $(`${key}-result`);
  panel.replaceChildren();
  state.results[key] = { rows, z: zRows };
  rows.forEach((row, r) => {
    const line = document.createElement('div');
    line.className = 'row';
    row.forEach((src, c) => line.appendChild(image(src, `${title}-${r}-${c}.png`)));
    panel.appendChild(line);
  });
  const actions = document.createElement('div');
  actions.className = 'actions';
  const png = document.createElement('button');
  png.textContent = 'PNG'; png.className = 'download-png';
  png.onclick = async () => download(`${title}.png`, await figure(rows));
  const z = document.createElement('button');
  z.textContent = 'z file'; z.className = 'download-z';
  z.onclick = () => run('z file', () => downloadZ(title, zRows.flat(), meta));
  actions.append(png, ' ', z);
  panel.appendChild(actions);
  return panel;
}

// ---- the sheet ----------------------------------------------------------------------------
async function drawSheet() {
  const body = { checkpoint: checkpoint(), label: label(), seed: Number($('seed').value), n: Number($('count').value) };
  const data = await (await api('/api/sheet', body)).json();
  state.sheet = { ...data, label: body.label };
  const at = body.label === null ? '' : `-class${body.label}`;
  state.sheetName = `sheet-${checkpoint().replace(/[^A-Za-z0-9._-]+/g, '_')}${at}-seed${data.seed}`;
  state.selected = []; state.boxes = [];
  $('sheet-name').textContent = state.sheetName;
  const sheet = $('sheet');
  sheet.replaceChildren(...data.images.map((src, i) => cell(src, i)));
  renderBoxes();
}

function cell(src, i) {
  const div = document.createElement('div');
  div.className = 'cell'; div.dataset.index = i; div.draggable = true;
  const img = document.createElement('img');
  img.src = src; img.alt = `sample ${i}`; img.draggable = false;
  const index = document.createElement('span');
  index.className = 'index'; index.textContent = i;
  const save = document.createElement('a');
  save.className = 'save'; save.href = src; save.download = `${state.sheetName}-${i}.png`; save.textContent = '\u2b07';
  save.onclick = (e) => e.stopPropagation();
  div.append(img, index, save);
  div.addEventListener('click', () => { if (!$('box-mode').checked) toggle(i); });
  div.addEventListener('dragstart', (e) => e.dataTransfer.setData('text/plain', String(i)));
  img.addEventListener('mousedown', (e) => startBox(e, div, img, i));
  return div;
}

function toggle(i) {
  const k = state.selected.indexOf(i);
  if (k >= 0) state.selected.splice(k, 1); else state.selected.push(i);
  renderSelection();
}

function renderSelection() {
  document.querySelectorAll('#sheet .cell').forEach((div) => {
    const k = state.selected.indexOf(Number(div.dataset.index));
    div.classList.toggle('selected', k >= 0);
    div.querySelector('.order')?.remove();
    if (k >= 0) {
      const order = document.createElement('span');
      order.className = 'order'; order.textContent = k + 1;
      div.appendChild(order);
    }
  });
}

function selectedZ() { return state.selected.map((i) => state.sheet.z[i]); }

// ---- boxes: drawn in the cell image's own pixel coordinates --------------------------------
function startBox(event, div, img, i) {
  if (!$('box-mode').checked) return;
  event.preventDefault();
  const rect = img.getBoundingClientRect();
  const scale = img.naturalWidth / rect.width;
  const at = (e) => [
    Math.round(Math.min(Math.max(e.clientX - rect.left, 0), rect.width) * scale),
    Math.round(Math.min(Math.max(e.clientY - rect.top, 0), rect.height) * scale),
  ];
  const [x0, y0] = at(event);
  const outline = document.createElement('div');
  outline.className = 'box';
  div.appendChild(outline);
  let box = [x0, y0, x0, y0];
  const place = (b) => Object.assign(outline.style, {
    left: `${b[0] / scale}px`, top: `${b[1] / scale}px`,
    width: `${(b[2] - b[0]) / scale}px`, height: `${(b[3] - b[1]) / scale}px`,
  });
  const move = (e) => {
    const [x1, y1] = at(e);
    box = [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)];
    place(box);
  };
  const up = (e) => {
    move(e);
    window.removeEventListener('mousemove', move);
    window.removeEventListener('mouseup', up);
    if (box[2] - box[0] < 1 || box[3] - box[1] < 1) { outline.remove(); return; }
    state.boxes.push({ cell: i, box });
    renderBoxes();
  };
  window.addEventListener('mousemove', move);
  window.addEventListener('mouseup', up);
}

function renderBoxes() {
  $('box-list').replaceChildren(...state.boxes.map((b) => {
    const li = document.createElement('li');
    li.textContent = `cell ${b.cell}: [${b.box.join(', ')}]`;
    return li;
  }));
  if (!state.boxes.length) document.querySelectorAll('#sheet .box').forEach((el) => el.remove());
}

// the file dcgan forget reads: {"boxes": {"CELL": [[x0, y0, x1, y1], ...]}}, (x1, y1) excluded
function boxesJson() {
  const boxes = {};
  state.boxes.forEach((b) => { (boxes[b.cell] ??= []).push(b.box); });
  return { sheet: `${state.sheetName}.safetensors`, boxes };
}

// ---- walks, concepts, arithmetic, directions ------------------------------------------------
async function walk() {
  if (state.selected.length < 2) throw new Error('select two or more samples to walk between (click them in order)');
  const body = {
    checkpoint: checkpoint(), label: label(), z: selectedZ(), steps: Number($('steps').value),
    spherical: $('walk-kind').value === 'slerp',
  };
  const data = await (await api('/api/walk', body)).json();
  const meta = withLabel({ spherical: body.spherical }, body.label);
  showResult('walk', `walk-${$('walk-kind').value}`, data.images, data.z, meta);
}

function renderBuckets() {
  $('buckets').replaceChildren(...BUCKETS.map((name) => {
    const div = document.createElement('div');
    div.className = 'bucket'; div.dataset.name = name;
    const title = document.createElement('div');
    title.innerHTML = `<strong>${name}</strong> `;
    const add = document.createElement('button');
    add.textContent = 'add selected'; add.className = 'add';
    add.onclick = () => { state.selected.forEach((i) => addToBucket(name, i)); };
    const clear = document.createElement('button');
    clear.textContent = 'clear'; clear.onclick = () => { state.buckets[name] = []; renderBuckets(); };
    title.append(add, ' ', clear);
    const items = document.createElement('div');
    items.className = 'items';
    state.buckets[name].forEach((item) => { const img = document.createElement('img'); img.src = item.src; items.appendChild(img); });
    div.append(title, items);
    div.addEventListener('dragover', (e) => { e.preventDefault(); div.classList.add('over'); });
    div.addEventListener('dragleave', () => div.classList.remove('over'));
    div.addEventListener('drop', (e) => {
      e.preventDefault(); div.classList.remove('over');
      addToBucket(name, Number(e.dataTransfer.getData('text/plain')));
    });
    return div;
  }));
  for (const id of ['dir-from', 'dir-to']) {
    const select = $(id), value = select.value;
    select.replaceChildren(...BUCKETS.map((b) => new Option(b, b)));
    select.value = value || (id === 'dir-from' ? 'A' : 'B');
  }
}

function addToBucket(name, i) {
  const limit = state.info.limits.points;
  if (state.buckets[name].length >= limit) { showError(`a concept holds at most ${limit} samples`); return; }
  state.buckets[name].push({ z: state.sheet.z[i], src: state.sheet.images[i] });
  renderBuckets();
}

async function compute() {
  const concepts = {};
  for (const name of BUCKETS) if (state.buckets[name].length) concepts[name] = state.buckets[name].map((item) => item.z);
  const body = {
    checkpoint: checkpoint(), label: label(), expression: $('expression').value, concepts,
    seed: Number($('seed').value),
  };
  const data = await (await api('/api/arithmetic', body)).json();
  const meta = withLabel({ expression: body.expression }, body.label);
  showResult('arithmetic', 'arithmetic', [data.images], [data.z], meta);
}

async function direction() {
  const from = state.buckets[$('dir-from').value], to = state.buckets[$('dir-to').value];
  if (!from.length || !to.length) throw new Error('put samples in both concept buckets the direction goes from and to');
  const z = state.selected.length ? selectedZ().slice(0, state.info.limits.points) : state.sheet.z.slice(0, 4);
  const body = {
    checkpoint: checkpoint(), label: label(), positive: to.map((x) => x.z), negative: from.map((x) => x.z), z,
    strengths: STRENGTHS,
  };
  const data = await (await api('/api/direction', body)).json();
  const meta = withLabel({ strengths: STRENGTHS.join(',') }, body.label);
  showResult('direction', 'direction', data.images, data.z, meta);
  $('strength').disabled = false;
  showStrength();
}

function showStrength() {
  const k = Number($('strength').value);
  $('strength-label').textContent = `strength ${STRENGTHS[k]}`;
  document.querySelectorAll('#direction-result .row').forEach((row) => {
    row.querySelectorAll('img').forEach((img, c) => img.classList.toggle('shown', c === k));
  });
}

// ---- start ---------------------------------------------------------------------------------
async function start() {
  const info = await (await api('/api/info')).json();
  state.info = info;
  $('checkpoint').replaceChildren(...info.checkpoints.map((c) => new Option(
    `${c.name} (epoch ${c.epoch}, ${c.resolution}px, nz ${c.nz})`, c.name,
  )));
  showClasses();
  $('count').max = info.limits.sheet;
  $('steps').max = info.limits.steps;
  $('strength').max = STRENGTHS.length - 1;
  $('strength').value = STRENGTHS.indexOf(0);
  renderBuckets();
  await drawSheet();
}

$('draw').onclick = () => run('sheet', drawSheet);
$('checkpoint').onchange = showClasses;
$('class').onchange = () => run('sheet', drawSheet);
$('reseed').onclick = () => { $('seed').value = Math.floor(Math.random() * 1e6); run('sheet', drawSheet); };
$('clear-selection').onclick = () => { state.selected = []; renderSelection(); };
$('box-mode').onchange = () => $('sheet').classList.toggle('boxing', $('box-mode').checked);
$('download-sheet').onclick = () => download(`${state.sheetName}.png`, state.sheet.grid);
$('download-sheet-z').onclick = () => run('z file', () => downloadZ(state.sheetName, state.sheet.z, withLabel({
  checkpoint: checkpoint(), seed: state.sheet.seed,
}, state.sheet.label)));
$('walk').onclick = () => run('walk', walk);
$('compute').onclick = () => run('arithmetic', compute);
$('direction').onclick = () => run('direction', direction);
$('strength').oninput = showStrength;
$('export-boxes').onclick = () => {
  if (!state.boxes.length) { showError('draw a box first: tick "draw boxes" and drag on a sample'); return; }
  const json = JSON.stringify(boxesJson(), null, 2);
  download(`${state.sheetName}.boxes.json`, `data:application/json;charset=utf-8,${encodeURIComponent(json)}`);
};
$('clear-boxes').onclick = () => { state.boxes = []; renderBoxes(); };
run('sheet', start);
