// The buyer's seat map page: draw the venue, keep seat status live, choose, hold, check out, pay,
// show the tickets. Everything goes through the box office's public HTTP API; the server decides
// every rule (limits, boxes, no orphan seats, hold expiry) and this page only explains its answers.

import { I18n, pickLanguage } from "./i18n.js";
import { SeatRenderer, STATE_COLOURS, STATUS, ZONE_COLOURS } from "./render.js";

const $ = (id) => document.getElementById(id);
const sessionId = Number(document.body.dataset.session);
const i18n = new I18n(pickLanguage());
const MAX_HOLD = 50; // the box office's largest hold
const MARK_SELECTED = 1;
const MARK_MINE = 2;

const app = {
  doc: null,
  seats: null,
  renderer: null,
  labelIndex: new Map(),
  mark: null, // Uint8Array: 0, MARK_SELECTED, MARK_MINE
  selected: new Set(),
  gaQty: new Map(),
  ga: [],
  hold: null,
  order: null,
  orderKey: null,
  orderBody: null,
  offset: 0, // server clock minus this clock, ms
  timer: null,
  paying: false,
};
window.seatmap = app; // for people debugging in the console, and for the tests' look inside

class ApiError extends Error {
  constructor(status, detail, code) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

// ------------------------------------------------------------------ buyer identity and the API

function account() {
  try {
    return JSON.parse(localStorage.getItem("encore.buyer") || "null");
  } catch {
    return null;
  }
}

function deviceId() {
  let id = localStorage.getItem("encore.device");
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem("encore.device", id);
  }
  return id;
}

async function api(method, path, body, headers = {}) {
  const who = account();
  const init = { method, headers: { "X-Device-Id": deviceId(), ...headers } };
  if (who) init.headers.Authorization = `Bearer ${who.token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  // At an on-sale peak the box office's waiting room answers 429 with Retry-After: wait in
  // line (telling the buyer) and try again, rather than showing an error.
  for (let attempt = 0; ; attempt++) {
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new ApiError(0, String(err), "network");
    }
    if (response.status !== 429 || attempt >= 60) break;
    const ticket = response.headers.get("X-Queue-Ticket");
    if (ticket) init.headers["X-Queue-Ticket"] = ticket; // keeps our place in line
    const wait = Math.max(1, Number(response.headers.get("Retry-After")) || 1);
    notice(i18n.t("busy", wait), "info");
    await new Promise((resolve) => setTimeout(resolve, wait * (500 + Math.random() * 1000)));
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data.detail || response.statusText, data.code);
  return data;
}

/** A bearer token for this page from the buyer's signed-in session (SMS code or passkey on
 * /me/signin), with the device id the server issued; null when nobody is signed in. */
async function pageToken() {
  const answer = await fetch("/me/api-token", { method: "POST", headers: { "X-Encore-Page": "1" }, credentials: "same-origin" });
  if (!answer.ok) return null;
  const made = await answer.json();
  localStorage.setItem("encore.device", made.device_id);
  localStorage.setItem("encore.buyer", JSON.stringify({ token: made.token, email: made.email || "" }));
  return account();
}

async function ensureAccount() {
  if (account()) return account();
  const signed = await pageToken();
  if (signed) return signed;
  if (document.body.dataset.openAccounts !== "1") {
    // accounts are verified numbers: sign in, then come back to this map
    location.assign(`/me/signin?next=${encodeURIComponent(location.pathname)}`);
    return new Promise(() => {});
  }
  return emailShortcut();
}

/** The development shortcut (an account from an e-mail), only where the box office allows it. */
function emailShortcut() {
  const dialog = $("signin");
  $("signin-error").hidden = true;
  return new Promise((resolve, reject) => {
    const form = $("signin-form");
    const done = (value, error) => {
      form.onsubmit = null;
      $("signin-cancel").onclick = null;
      dialog.close();
      error ? reject(error) : resolve(value);
    };
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const email = $("signin-email").value.trim();
      if (!$("signin-email").checkValidity() || !email) {
        $("signin-email").reportValidity();
        return;
      }
      try {
        const made = await api("POST", "/api/accounts", { email });
        localStorage.setItem("encore.buyer", JSON.stringify({ token: made.token, email }));
        done(account());
      } catch (err) {
        $("signin-error").textContent = `${i18n.t("signinFailed")}: ${err.message}`;
        $("signin-error").hidden = false;
      }
    };
    $("signin-cancel").onclick = () => done(null, new ApiError(0, "cancelled", "cancelled"));
    dialog.showModal();
    $("signin-email").focus();
  });
}

// ------------------------------------------------------------------ loading the map

function buildSeats(doc) {
  const s = doc.seats;
  const n = s.label.length;
  const seats = {
    n,
    label: s.label,
    x: Float64Array.from(s.x),
    y: Float64Array.from(s.y),
    zone: Uint8Array.from(s.zone),
    status: new Uint8Array(n), // available unless listed in doc.status
    row: Int32Array.from(s.row),
    position: Int32Array.from(s.position),
    accessible: new Uint8Array(n),
    boxOf: new Int32Array(n).fill(-1),
    boxes: [],
    boxNames: [],
    rowSection: s.rows.map((r) => r[0]),
    rowCode: s.rows.map((r) => r[1]),
  };
  for (const [i, st] of doc.status) seats.status[i] = st;
  for (const i of s.accessible) seats.accessible[i] = 1;
  for (const [name, members] of Object.entries(s.boxes)) {
    const b = seats.boxes.length;
    seats.boxes.push(members);
    seats.boxNames.push(name);
    for (const i of members) seats.boxOf[i] = b;
  }
  for (let i = 0; i < n; i++) app.labelIndex.set(s.label[i], i);
  return seats;
}

function zoneColours(zones) {
  // dearest zone first gets the first colour, so the legend reads from top price down
  const order = zones.map((z, i) => i).sort((a, b) => zones[b].price_cents - zones[a].price_cents);
  const colours = new Array(zones.length);
  order.forEach((zi, rank) => (colours[zi] = ZONE_COLOURS[rank % ZONE_COLOURS.length]));
  return { colours, order };
}

async function load() {
  const started = performance.now();
  const early = window.__seatmapDoc; // started by index.html before the scripts loaded
  const asked = early ? early.asked : Date.now();
  const doc = early ? await early.response : await api("GET", `/api/sessions/${sessionId}/seatmap`);
  app.offset = doc.now * 1000 - (asked + Date.now()) / 2; // the server read its clock mid-request
  app.doc = doc;
  app.ga = doc.ga;
  app.seats = buildSeats(doc);
  app.mark = new Uint8Array(app.seats.n);
  const { colours, order } = zoneColours(doc.zones);
  app.zoneColours = colours;
  app.zoneOrder = order;
  const nz = doc.zones.length;
  const styles = [...colours, STATE_COLOURS.held, STATE_COLOURS.sold, STATE_COLOURS.reserved,
    STATE_COLOURS.blocked, STATE_COLOURS.selected, STATE_COLOURS.mine];
  const SEL = nz + 4, MINE = nz + 5;
  const { status, zone } = app.seats;
  const mark = app.mark;
  const styleOf = (i) => {
    if (mark[i] === MARK_MINE) return MINE;
    if (mark[i] === MARK_SELECTED) return SEL;
    const st = status[i];
    return st === STATUS.available ? zone[i] : nz + st - 1;
  };
  const canvas = $("map");
  app.renderer = new SeatRenderer(canvas, app.seats, styleOf, styles, doc.venue.stage, i18n.t("stage"));
  app.renderer.resize();
  app.renderer.fit();
  app.renderer.draw();
  window.__seatmapTiming = {
    documentMs: performance.now() - started,
    firstRender: performance.now(),
    seats: app.seats.n,
  };
  performance.mark("seatmap-rendered");
  texts();
  bindMap(canvas);
  connectLive();
  await loadProviders();
  await restoreHold();
}

// ------------------------------------------------------------------ texts, legend, lists

function seatName(i) {
  const { rowSection, row, label, boxOf, boxNames } = app.seats;
  const section = rowSection[i >= 0 ? row[i] : 0];
  const rowCode = app.seats.rowCode[row[i]];
  const number = label[i].slice(section.length + rowCode.length + 2);
  const name = i18n.t("seatName", section, rowCode, number);
  return boxOf[i] >= 0 ? `${name} (${i18n.t("box", boxNames[boxOf[i]])})` : name;
}

function money(cents) {
  return i18n.money(cents, app.doc.event.currency);
}

function statusName(i) {
  if (app.mark[i] === MARK_MINE) return i18n.t("st_mine");
  if (app.mark[i] === MARK_SELECTED) return i18n.t("st_selected");
  return i18n.t(`st_${app.doc.statuses[app.seats.status[i]]}`);
}

function describe(i) {
  const zone = app.doc.zones[app.seats.zone[i]];
  const parts = [seatName(i), `${zone.name} ${money(zone.price_cents)}`, statusName(i)];
  if (app.seats.accessible[i]) parts.push(i18n.t("accessible"));
  return parts.join(" · ");
}

// a phone has no arrow keys: its help text speaks of taps and pinches only
const TOUCH = window.matchMedia("(pointer: coarse)").matches;

function texts() {
  i18n.apply();
  if (TOUCH) $("map-help").textContent = i18n.t("mapHelpTouch");
  const doc = app.doc;
  document.title = `${doc.event.name} · ${doc.session.name}`;
  $("event-name").textContent = doc.event.name;
  const when = new Intl.DateTimeFormat(i18n.lang === "zh" ? "zh-CN" : "en-GB", {
    dateStyle: "full",
    timeStyle: "short",
  }).format(new Date(doc.session.starts_at * 1000));
  $("session-line").textContent = `${doc.session.name} · ${when} · ${doc.venue.name}`;
  $("lang-switch").textContent = i18n.t("langName");
  $("lang-switch").setAttribute("aria-label", i18n.t("langLabel"));
  $("map").setAttribute("aria-label", `${doc.venue.name}: ${i18n.t("mapHelp")}`);
  app.renderer.stageLabel = i18n.t("stage");
  legend();
  bestZones();
  gaList();
  renderSelection();
  if (app.hold) retitleTickets();
  liveState(app.liveState || "connecting");
  app.renderer.requestDraw();
}

function legend() {
  const ul = $("legend");
  ul.replaceChildren();
  const add = (colour, text, cls = "") => {
    const li = document.createElement("li");
    const dot = document.createElement("span");
    dot.className = `swatch ${cls}`;
    dot.style.background = colour;
    li.append(dot, document.createTextNode(text));
    ul.append(li);
  };
  for (const zi of app.zoneOrder) {
    const z = app.doc.zones[zi];
    if (app.seats.zone.includes(zi)) add(app.zoneColours[zi], `${z.name} ${money(z.price_cents)}`);
  }
  for (const st of ["held", "sold", "reserved", "blocked", "selected", "mine"]) {
    add(STATE_COLOURS[st], i18n.t(`st_${st}`), st === "selected" || st === "mine" ? "ring" : "");
  }
  const li = document.createElement("li");
  li.innerHTML = '<span class="swatch access" aria-hidden="true">♿</span>';
  li.append(document.createTextNode(i18n.t("accessible")));
  ul.append(li);
}

function bestZones() {
  const select = $("best-zone");
  const before = select.value;
  select.replaceChildren();
  for (const zi of app.zoneOrder) {
    const z = app.doc.zones[zi];
    if (!app.seats.zone.includes(zi)) continue;
    const opt = new Option(`${z.name} · ${money(z.price_cents)}`, z.code);
    select.append(opt);
  }
  if (before) select.value = before;
  $("best-qty").max = String(limit());
}

function limit() {
  const l = app.doc.session.limits;
  return Math.min(MAX_HOLD, l.per_account ?? MAX_HOLD, l.per_device ?? MAX_HOLD);
}

function gaList() {
  const box = $("ga-list");
  box.replaceChildren();
  for (const area of app.ga) {
    const zone = app.doc.zones.find((z) => z.code === area.zone);
    const row = document.createElement("div");
    row.className = "ga";
    const id = `ga-${area.code}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = `${area.name} · ${money(zone ? zone.price_cents : 0)}`;
    const left = document.createElement("span");
    left.className = "muted";
    left.textContent = area.available > 0 ? i18n.t("gaLeft", area.available) : i18n.t("gaSoldOut");
    const input = document.createElement("input");
    input.type = "number";
    input.id = id;
    input.min = "0";
    input.max = String(Math.min(area.available, limit()));
    input.value = String(app.gaQty.get(area.code) || 0);
    input.inputMode = "numeric";
    input.disabled = area.available <= 0 || !!app.hold;
    input.onchange = () => {
      let q = Math.max(0, Math.min(Number(input.value) || 0, area.available));
      const others = app.selected.size + [...app.gaQty].reduce((s, [c, v]) => s + (c === area.code ? 0 : v), 0);
      if (others + q > limit()) {
        q = Math.max(0, limit() - others);
        notice(i18n.t("tooMany", limit()));
      }
      input.value = String(q);
      app.gaQty.set(area.code, q);
      renderSelection();
    };
    row.append(label, left, input);
    box.append(row);
  }
}

function renderSelection() {
  const ul = $("selection");
  ul.replaceChildren();
  let total = 0;
  const count = app.selected.size + [...app.gaQty.values()].reduce((a, b) => a + b, 0);
  for (const i of [...app.selected].sort((a, b) => a - b)) {
    const zone = app.doc.zones[app.seats.zone[i]];
    total += zone.price_cents;
    const li = document.createElement("li");
    li.dataset.label = app.seats.label[i];
    const name = document.createElement("span");
    name.textContent = seatName(i);
    const price = document.createElement("span");
    price.textContent = money(zone.price_cents);
    const drop = document.createElement("button");
    drop.type = "button";
    drop.className = "link";
    drop.textContent = "×";
    drop.setAttribute("aria-label", `${i18n.t("release")}: ${seatName(i)}`);
    drop.onclick = () => toggle(i);
    li.append(name, price, drop);
    ul.append(li);
  }
  for (const [code, q] of app.gaQty) {
    const area = app.ga.find((a) => a.code === code);
    const zone = area && app.doc.zones.find((z) => z.code === area.zone);
    if (zone) total += zone.price_cents * q;
  }
  $("selection-empty").hidden = count > 0;
  $("sel-total").textContent = money(total);
  $("limit-line").textContent = i18n.t("limit", limit());
  $("hold-btn").disabled = count === 0 || !!app.hold;
}

let noticeTimer = null;
function notice(text, kind = "warn") {
  const el = $("notice");
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (el.hidden = true), 12000);
}

// ------------------------------------------------------------------ choosing seats

function setMark(i, value) {
  app.mark[i] = value;
  app.renderer.touch(i);
  if (value) app.renderer.outlined.add(i);
  else app.renderer.outlined.delete(i);
}

function toggle(i) {
  if (i < 0) return;
  if (app.hold) {
    notice(i18n.t("heldTitle"));
    return;
  }
  const { boxOf, boxes, status } = app.seats;
  const group = boxOf[i] >= 0 ? boxes[boxOf[i]] : [i];
  if (group.every((j) => app.selected.has(j))) {
    for (const j of group) {
      app.selected.delete(j);
      setMark(j, 0);
    }
  } else {
    if (group.some((j) => status[j] !== STATUS.available)) {
      notice(i18n.t("notAvailable"));
      announce(i);
      return;
    }
    const gaCount = [...app.gaQty.values()].reduce((a, b) => a + b, 0);
    const adding = group.filter((j) => !app.selected.has(j)).length;
    if (app.selected.size + gaCount + adding > limit()) {
      notice(i18n.t("tooMany", limit()));
      return;
    }
    for (const j of group) {
      app.selected.add(j);
      setMark(j, MARK_SELECTED);
    }
  }
  renderSelection();
  announce(i);
  app.renderer.flush();
}

function announce(i) {
  $("seat-focus").textContent = i >= 0 ? describe(i) : i18n.t("focusNone");
}

function bindMap(canvas) {
  const r = app.renderer;
  const pointers = new Map();
  let moved = false;
  let pinch = null;
  const tooltip = $("tooltip");
  const local = (ev) => {
    const rect = canvas.getBoundingClientRect();
    return [ev.clientX - rect.left, ev.clientY - rect.top];
  };
  canvas.addEventListener("pointerdown", (ev) => {
    canvas.setPointerCapture(ev.pointerId);
    pointers.set(ev.pointerId, local(ev));
    moved = false;
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch = { d: Math.hypot(a[0] - b[0], a[1] - b[1]), mx: (a[0] + b[0]) / 2, my: (a[1] + b[1]) / 2 };
    }
  });
  canvas.addEventListener("pointermove", (ev) => {
    const p = local(ev);
    if (!pointers.has(ev.pointerId)) {
      if (ev.pointerType === "mouse") hover(p);
      return;
    }
    const last = pointers.get(ev.pointerId);
    pointers.set(ev.pointerId, p);
    if (pointers.size === 1) {
      if (!moved && Math.hypot(p[0] - last[0], p[1] - last[1]) < 1) return;
      moved = true;
      r.panBy(p[0] - last[0], p[1] - last[1]);
    } else if (pointers.size === 2 && pinch) {
      moved = true;
      const [a, b] = [...pointers.values()];
      const d = Math.hypot(a[0] - b[0], a[1] - b[1]);
      const mx = (a[0] + b[0]) / 2, my = (a[1] + b[1]) / 2;
      r.panBy(mx - pinch.mx, my - pinch.my);
      if (pinch.d > 0) r.zoomAt(d / pinch.d, mx, my);
      pinch = { d, mx, my };
    }
  });
  const end = (ev) => {
    const p = pointers.get(ev.pointerId);
    pointers.delete(ev.pointerId);
    if (pointers.size < 2) pinch = null;
    if (ev.type === "pointerup" && p && !moved && pointers.size === 0) {
      const i = r.seatAt(p[0], p[1]);
      if (i >= 0) {
        r.focus = i;
        toggle(i);
      }
    }
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  canvas.addEventListener("pointerleave", () => (tooltip.hidden = true));
  canvas.addEventListener(
    "wheel",
    (ev) => {
      ev.preventDefault();
      const [sx, sy] = local(ev);
      r.zoomAt(Math.exp(-ev.deltaY * 0.0015), sx, sy);
    },
    { passive: false },
  );
  function hover([sx, sy]) {
    const i = r.seatAt(sx, sy);
    if (i < 0) {
      tooltip.hidden = true;
      canvas.style.cursor = "grab";
      return;
    }
    canvas.style.cursor = app.seats.status[i] === STATUS.available ? "pointer" : "not-allowed";
    tooltip.textContent = describe(i);
    tooltip.style.left = `${sx + 14}px`;
    tooltip.style.top = `${sy + 14}px`;
    tooltip.hidden = false;
  }
  canvas.addEventListener("keydown", (ev) => {
    const dirs = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down" };
    if (dirs[ev.key]) {
      ev.preventDefault();
      let next;
      if (r.focus < 0) {
        next = r.seatAt(r.width / 2, r.height / 2);
        if (next < 0) next = firstAvailable();
      } else {
        next = r.neighbour(r.focus, dirs[ev.key]);
      }
      if (next >= 0) {
        r.focus = next;
        r.ensureVisible(next);
      }
      announce(next >= 0 ? next : r.focus);
    } else if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      if (r.focus >= 0) toggle(r.focus);
    } else if (ev.key === "+" || ev.key === "=") {
      r.zoomAt(1.4, r.width / 2, r.height / 2);
    } else if (ev.key === "-") {
      r.zoomAt(1 / 1.4, r.width / 2, r.height / 2);
    } else if (ev.key === "0") {
      r.fit();
    }
  });
  $("zoom-in").onclick = () => r.zoomAt(1.4, r.width / 2, r.height / 2);
  $("zoom-out").onclick = () => r.zoomAt(1 / 1.4, r.width / 2, r.height / 2);
  $("zoom-fit").onclick = () => r.fit();
  new ResizeObserver(() => {
    const [w, h] = [r.width, r.height];
    r.resize();
    if (w !== r.width || h !== r.height) r.fit();
  }).observe(canvas);
}

function firstAvailable() {
  const { n, status } = app.seats;
  for (let i = 0; i < n; i++) if (status[i] === STATUS.available) return i;
  return n ? 0 : -1;
}

// ------------------------------------------------------------------ live status

function liveState(state) {
  app.liveState = state;
  const el = $("live-state");
  el.dataset.state = state;
  el.textContent = i18n.t(state === "live" ? "live" : state === "offline" ? "offline" : "connecting");
}

function connectLive() {
  const source = new EventSource(`/api/sessions/${sessionId}/live`);
  source.onopen = () => liveState("live");
  source.onerror = () => liveState("offline");
  source.addEventListener("snapshot", (ev) => {
    const data = JSON.parse(ev.data);
    applyStatuses(data.seats);
    window.__seatmapTiming.liveMs ??= performance.now(); // first snapshot from the live channel
    updateGa(data.ga);
    liveState("live");
  });
  source.addEventListener("seats", (ev) => applyStatuses(JSON.parse(ev.data)));
  source.addEventListener("ga", (ev) => updateGa(JSON.parse(ev.data)));
  app.live = source;
}

function applyStatuses(changes) {
  const index = new Map(app.doc.statuses.map((s, k) => [s, k]));
  const { status } = app.seats;
  const lost = [];
  for (const [label, name] of Object.entries(changes)) {
    const i = app.labelIndex.get(label);
    const st = index.get(name);
    if (i === undefined || st === undefined) continue;
    if (status[i] !== st) app.renderer.touch(i);
    status[i] = st;
    if (app.selected.has(i) && st !== STATUS.available) {
      app.selected.delete(i);
      setMark(i, 0);
      lost.push(i);
    }
  }
  if (lost.length) {
    // a box goes whole: drop the rest of a box that lost a seat
    for (const i of lost) {
      const b = app.seats.boxOf[i];
      if (b < 0) continue;
      for (const j of app.seats.boxes[b]) {
        app.selected.delete(j);
        setMark(j, 0);
      }
    }
    notice(i18n.t("taken", lost.map(seatName).join(", ")));
    renderSelection();
  }
  app.lastLive = performance.now();
  app.renderer.flush();
}

function updateGa(ga) {
  if (!Array.isArray(ga) || !ga.length) return;
  app.ga = ga;
  for (const area of ga) {
    const q = app.gaQty.get(area.code) || 0;
    if (q > area.available) app.gaQty.set(area.code, area.available);
  }
  gaList();
  renderSelection();
}

// ------------------------------------------------------------------ holding

async function holdWith(body) {
  try {
    await ensureAccount();
  } catch {
    return;
  }
  try {
    const hold = await api("POST", `/api/sessions/${sessionId}/holds`, body);
    held(hold);
  } catch (err) {
    notice(`${i18n.t("holdFailed")}: ${err.message}`);
  }
}

$("hold-btn").onclick = () => {
  const seats = [...app.selected].map((i) => app.seats.label[i]);
  const ga = [...app.gaQty].filter(([, q]) => q > 0).map(([area, quantity]) => ({ area, quantity }));
  holdWith({ seats, ga });
};

$("best-form").onsubmit = (ev) => {
  ev.preventDefault();
  const quantity = Math.max(1, Math.min(Number($("best-qty").value) || 1, limit()));
  holdWith({
    best_available: { zone: $("best-zone").value, quantity, accessible: $("best-accessible").checked },
  });
};

function held(hold) {
  app.hold = hold;
  app.order = null;
  app.orderKey = null;
  localStorage.setItem(`encore.hold.${sessionId}`, String(hold.id));
  for (const i of app.selected) setMark(i, 0);
  app.selected.clear();
  app.gaQty.clear();
  for (const s of hold.seats) {
    const i = app.labelIndex.get(s.label);
    if (i !== undefined) setMark(i, MARK_MINE);
  }
  $("choose").hidden = true;
  $("held").hidden = false;
  document.body.dataset.step = "held";
  if (window.matchMedia("(max-width: 800px)").matches) $("held").scrollIntoView({ block: "start" });
  $("pay").hidden = true;
  $("tickets").hidden = true;
  $("co-error").hidden = true;
  $("co-submit").disabled = false;
  $("co-email").value = $("co-email").value || account()?.email || "";
  ticketLines(hold);
  gaList();
  renderSelection();
  startCountdown(hold.expires_at);
  app.renderer.flush();
  $("countdown").focus?.();
}

async function restoreHold() {
  const saved = localStorage.getItem(`encore.hold.${sessionId}`);
  if (!saved || !account()) return;
  try {
    const hold = await api("GET", `/api/holds/${saved}`);
    if (hold.status === "active") held(hold);
    else localStorage.removeItem(`encore.hold.${sessionId}`);
  } catch {
    localStorage.removeItem(`encore.hold.${sessionId}`);
  }
}

function startCountdown(expiresAt) {
  clearInterval(app.timer);
  app.expiresAt = expiresAt;
  const tick = () => {
    const left = Math.max(0, app.expiresAt * 1000 - (Date.now() + app.offset));
    const secs = Math.round(left / 1000);
    $("countdown").textContent = `${String(Math.floor(secs / 60)).padStart(2, "0")}:${String(secs % 60).padStart(2, "0")}`;
    $("countdown").dataset.seconds = String(secs);
    if (left <= 0 && !app.paying) holdGone(true);
  };
  tick();
  app.timer = setInterval(tick, 250);
}

function holdGone(expired) {
  clearInterval(app.timer);
  app.timer = null;
  if (app.hold) {
    for (const s of app.hold.seats) {
      const i = app.labelIndex.get(s.label);
      if (i !== undefined) setMark(i, 0);
    }
  }
  app.hold = null;
  app.order = null;
  localStorage.removeItem(`encore.hold.${sessionId}`);
  $("held").hidden = true;
  $("pay").hidden = true;
  $("choose").hidden = false;
  if (expired) notice(i18n.t("expired"));
  gaList();
  renderSelection();
  app.renderer.flush();
}

$("release-btn").onclick = async () => {
  if (!app.hold) return;
  try {
    await api("DELETE", `/api/holds/${app.hold.id}`);
  } catch (err) {
    if (err.code !== "hold_closed") {
      notice(err.message);
      return;
    }
  }
  holdGone(false);
};

// ------------------------------------------------------------------ checkout

function typesFor(inBox) {
  return app.doc.ticket_types.filter((t) => (t.kind === "box") === inBox);
}

function ticketLines(hold) {
  const box = $("ticket-lines");
  box.replaceChildren();
  const realName = app.doc.session.real_name;
  if (realName) {
    const p = document.createElement("p");
    p.className = "muted";
    p.dataset.i18n = "realName";
    p.textContent = i18n.t("realName");
    box.append(p);
  }
  const lines = [];
  for (const s of hold.seats) lines.push({ seat: s.label, zone: s.zone, inBox: app.seats.boxOf[app.labelIndex.get(s.label)] >= 0 });
  for (const g of hold.ga) for (let k = 1; k <= g.quantity; k++) lines.push({ area: g.area, zone: g.zone, k, inBox: false });
  lines.forEach((line, n) => {
    const fs = document.createElement("fieldset");
    fs.className = "ticket-line";
    fs.dataset.seat = line.seat || "";
    fs.dataset.area = line.area || "";
    const legend = document.createElement("legend");
    legend.className = "line-title";
    fs.append(legend);
    const types = typesFor(line.inBox);
    const select = document.createElement("select");
    select.className = "ticket-type";
    select.id = `tt-${n}`;
    const zone = app.doc.zones.find((z) => z.code === line.zone);
    for (const t of types) {
      const price = t.prices[line.zone] ?? zone.price_cents;
      const opt = new Option(`${t.name} · ${money(price)}`, t.code);
      opt.dataset.price = String(price);
      select.append(opt);
    }
    select.onchange = coTotal;
    fs.append(field("ticketType", select));
    if (realName) {
      const name = document.createElement("input");
      name.className = "holder-name";
      name.required = true;
      name.autocomplete = "name";
      const idType = document.createElement("select");
      idType.className = "holder-id-type";
      for (const code of ["cn_ric", "passport", "hk_mo_permit", "tw_permit"]) idType.append(new Option(code, code));
      const idNumber = document.createElement("input");
      idNumber.className = "holder-id";
      idNumber.required = true;
      idNumber.autocomplete = "off";
      fs.append(field("holderName", name), field("idType", idType), field("idNumber", idNumber));
    }
    box.append(fs);
  });
  retitleTickets();
  coTotal();
}

function field(key, control) {
  const label = document.createElement("label");
  const span = document.createElement("span");
  span.dataset.i18n = key;
  span.textContent = i18n.t(key);
  label.append(span, control);
  return label;
}

function retitleTickets() {
  for (const fs of $("ticket-lines").querySelectorAll("fieldset")) {
    const title = fs.querySelector(".line-title");
    if (fs.dataset.seat) title.textContent = seatName(app.labelIndex.get(fs.dataset.seat));
    else title.textContent = `${i18n.t("area")} · ${fs.dataset.area}`;
    for (const opt of fs.querySelectorAll(".holder-id-type option")) opt.textContent = i18n.t("idTypes")[opt.value];
  }
  i18n.apply($("ticket-lines"));
}

function coTotal() {
  let total = 0;
  for (const select of $("ticket-lines").querySelectorAll(".ticket-type")) {
    total += Number(select.selectedOptions[0]?.dataset.price || 0);
  }
  $("co-total").textContent = money(total);
}

function checkoutBody() {
  const tickets = [];
  for (const fs of $("ticket-lines").querySelectorAll("fieldset")) {
    const t = fs.dataset.seat ? { seat: fs.dataset.seat } : { area: fs.dataset.area };
    t.ticket_type = fs.querySelector(".ticket-type").value;
    const name = fs.querySelector(".holder-name");
    if (name) {
      t.holder = {
        name: name.value.trim(),
        id_type: fs.querySelector(".holder-id-type").value,
        id_number: fs.querySelector(".holder-id").value.trim(),
      };
    }
    tickets.push(t);
  }
  const body = { hold_id: app.hold.id, email: $("co-email").value.trim(), tickets };
  const phone = $("co-phone").value.trim();
  if (phone) body.phone = phone;
  return body;
}

$("checkout").onsubmit = async (ev) => {
  ev.preventDefault();
  const error = $("co-error");
  error.hidden = true;
  const form = $("checkout");
  if (!form.checkValidity()) {
    form.reportValidity();
    return;
  }
  const body = checkoutBody();
  const text = JSON.stringify(body);
  const kept = `encore.order.${app.hold.id}`;
  if (!app.orderKey) [app.orderBody, app.orderKey] = JSON.parse(sessionStorage.getItem(kept) || "[null, null]");
  if (text !== app.orderBody) {
    app.orderBody = text;
    app.orderKey = crypto.randomUUID(); // same request again (a retry) keeps its key: one order
  }
  // kept for this tab: back from the step-up page, the same order is asked for again
  sessionStorage.setItem(kept, JSON.stringify([app.orderBody, app.orderKey]));
  $("co-submit").disabled = true;
  try {
    const order = await api("POST", "/api/orders", body, { "Idempotency-Key": app.orderKey });
    app.order = order;
    startCountdown(order.expires_at);
    const provider = chosenProvider();
    const payBody = { provider };
    if (provider !== "sandbox") payBody.return_url = location.href.split("#")[0];
    // Inside WeChat the page is opened after WeChat's OAuth (snsapi_base), which hands it the
    // payer's openid: JSAPI pays with it; without one the server falls back to a QR.
    const openid = new URLSearchParams(location.search).get("openid");
    if (provider === "wechat" && openid) payBody.openid = openid;
    const payment = await startPayment(order.id, payBody);
    showPayment(order, payment);
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
    $("co-submit").disabled = false;
  }
};

// ------------------------------------------------------------------ payment and tickets

// The providers this session can be paid with (the server says which, and their flows); the
// flow itself (QR on a desktop, H5 on a phone, JSAPI inside WeChat) the server picks from the
// browser's User-Agent.
async function loadProviders() {
  try {
    app.providers = await api("GET", `/api/sessions/${sessionId}/payment-providers`);
  } catch {
    app.providers = [];
  }
  providerChoices();
}

function providerChoices() {
  const list = $("co-provider-list");
  const current = list.querySelector("input:checked")?.value;
  list.replaceChildren();
  (app.providers || []).forEach((p, k) => {
    const label = document.createElement("label");
    label.className = "check";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "provider";
    input.value = p.name;
    input.id = `provider-${p.name}`;
    input.checked = current ? current === p.name : k === 0;
    const span = document.createElement("span");
    span.textContent = p.label[i18n.lang] || p.label.en;
    label.append(input, " ", span);
    list.append(label);
  });
  $("co-providers").hidden = (app.providers || []).length < 2;
}

function chosenProvider() {
  return $("co-provider-list").querySelector("input:checked")?.value || app.providers?.[0]?.name || "sandbox";
}

/** Start paying; an order above the promoter's amount needs a fresh confirmation (SMS code or
 * passkey): from the page session if it has one, else on the step-up page and back here. */
async function startPayment(orderId, body) {
  const path = `/api/orders/${orderId}/payments`;
  try {
    return await api("POST", path, body);
  } catch (err) {
    if (err.code !== "step_up_required") throw err;
    const answer = await fetch("/me/step-up-proof", { method: "POST", headers: { "X-Encore-Page": "1" }, credentials: "same-origin" });
    if (answer.ok) return api("POST", path, body, { "X-Step-Up": (await answer.json()).step_up });
    location.assign(`/me/step-up?action=payment&next=${encodeURIComponent(location.pathname)}`);
    return new Promise(() => {});
  }
}

function showPayment(order, payment) {
  $("held").hidden = true;
  document.body.dataset.step = "pay";
  $("pay").hidden = false;
  $("pay-amount").textContent = money(order.total_cents);
  $("pay-link").href = payment.pay_url;
  $("pay-link").hidden = !payment.pay_url;
  $("pay-state").textContent = "";
  $("pay-confirm").disabled = false;
  app.payment = payment;
  const sandbox = payment.provider === "sandbox";
  $("pay-confirm").hidden = !sandbox;
  const notes = { native: "scanNote", h5: "h5Note", jsapi: "jsapiNote" };
  $("pay-note").dataset.i18n = sandbox ? "sandboxNote" : notes[payment.channel] || "otherNote";
  $("pay-note").textContent = i18n.t($("pay-note").dataset.i18n);
  const qr = $("pay-qr");
  qr.hidden = true;
  delete qr.dataset.loaded;
  if (sandbox) return;
  if (payment.channel === "native") {
    qr.alt = i18n.t("payQrAlt");
    fetch(`/api/orders/${order.id}/payments/${payment.id}/qr.png`, {
      headers: { Authorization: `Bearer ${account().token}` },
    })
      .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(r.statusText))))
      .then((blob) => {
        qr.src = URL.createObjectURL(blob);
        qr.hidden = false;
        qr.dataset.loaded = "1";
      })
      .catch((err) => ($("pay-state").textContent = err.message));
  }
  if (payment.channel === "jsapi" && payment.client_params && window.WeixinJSBridge) {
    window.WeixinJSBridge.invoke("getBrandWCPayRequest", payment.client_params, () => null);
  }
  // The provider tells the box office by a signed notification; this page just waits for it.
  app.paying = true;
  $("pay-state").textContent = i18n.t("waitingPay");
  waitTicketed(order.id)
    .then(showTickets)
    .catch((err) => {
      app.paying = false;
      $("pay-state").textContent = `${i18n.t("payFailed")}: ${err.message}`;
    });
}

$("pay-confirm").onclick = async () => {
  // The buyer confirms at the (sandbox) bank; the bank tells the box office by a signed callback.
  $("pay-confirm").disabled = true;
  app.paying = true;
  $("pay-state").textContent = i18n.t("waitingPay");
  try {
    const response = await fetch(app.payment.pay_url, { method: "POST" });
    if (!response.ok && response.status !== 409) throw new Error(await response.text());
    const order = await waitTicketed(app.order.id);
    showTickets(order);
  } catch (err) {
    app.paying = false;
    $("pay-state").textContent = `${i18n.t("payFailed")}: ${err.message}`;
    $("pay-confirm").disabled = false;
  }
};

async function waitTicketed(orderId) {
  const started = Date.now();
  let asked = false;
  for (;;) {
    const order = await api("GET", `/api/orders/${orderId}`);
    if (order.status === "ticketed") return order;
    if (order.status === "paid") $("pay-state").textContent = i18n.t("paid");
    if (["expired", "cancelled", "refunded"].includes(order.status)) throw new Error(order.reason || order.status);
    if (!asked && Date.now() - started > 4000) {
      asked = true; // the bank's callback is late: ask the provider ourselves
      await api("POST", `/api/orders/${orderId}/reconcile`).catch(() => null);
    }
    if (Date.now() - started > 60000) throw new Error("timeout");
    await new Promise((r) => setTimeout(r, 400));
  }
}

async function showTickets(order) {
  clearInterval(app.timer);
  app.paying = false;
  if (app.hold) for (const s of app.hold.seats) {
    const i = app.labelIndex.get(s.label);
    if (i !== undefined) setMark(i, 0);
  }
  app.hold = null;
  localStorage.removeItem(`encore.hold.${sessionId}`);
  $("pay").hidden = true;
  $("tickets").hidden = false;
  const ul = $("ticket-list");
  ul.replaceChildren();
  for (const t of order.tickets) {
    const li = document.createElement("li");
    li.className = "ticket";
    li.dataset.ticket = t.id;
    const where = t.seat ? seatName(app.labelIndex.get(t.seat)) : `${i18n.t("area")} · ${t.area}`;
    const h = document.createElement("h3");
    h.textContent = where;
    const meta = document.createElement("p");
    meta.className = "muted";
    const typeName = app.doc.ticket_types.find((x) => x.code === t.ticket_type)?.name || t.ticket_type;
    meta.textContent = `${typeName} · ${money(t.price_cents)}${t.holder ? ` · ${i18n.t("holder")}: ${t.holder}` : ""}`;
    const img = document.createElement("img");
    img.className = "qr";
    img.alt = `QR · ${where}`;
    img.width = 220;
    img.height = 220;
    li.append(h, meta, img);
    ul.append(li);
    const who = account();
    fetch(`/api/tickets/${t.id}/qr.png`, { headers: { Authorization: `Bearer ${who.token}` } })
      .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(r.statusText))))
      .then((blob) => {
        img.src = URL.createObjectURL(blob);
        img.dataset.loaded = "1";
      })
      .catch((err) => (meta.textContent += ` · ${err.message}`));
  }
  renderSelection();
  app.renderer.flush();
}

$("again-btn").onclick = () => {
  $("tickets").hidden = true;
  $("choose").hidden = false;
  gaList();
  renderSelection();
};

$("lang-switch").onclick = () => {
  i18n.set(i18n.lang === "zh" ? "en" : "zh");
  localStorage.setItem("encore.lang", i18n.lang);
  texts();
  providerChoices();
};

load().catch((err) => {
  document.body.classList.add("failed");
  $("event-name").textContent = err.message;
});
