// The staff phone app: screens, the scan pipeline and feedback. It decides like a gate agent
// (gate_agent/pipeline.py): text -> repeat window -> verify (ticket.js) -> rules (rules.js)
// against the IndexedDB snapshot -> journal (durable) -> only then the verdict on screen.

import { openStore } from "./db.js";
import { describe } from "./samples.js";
import { IdentityError, presentedIdentity, recordForRules } from "./identity.js";
import { TEXT, pickLanguage, setLanguage } from "./i18n.js";
import { decide, gateSettings, knownUsage, refuse } from "./rules.js";
import { Camera } from "./scanner.js";
import { Sync } from "./sync.js";
import { Keyring, TicketError, verifyToken } from "./ticket.js";

const REPEAT_WINDOW = 3000;
const MAX_TEXT = 4096;
const SHOW_FOR = 2500;
const $ = (id) => document.getElementById(id);

let lang = pickLanguage();
let store, sync, camera;
let keyringCache = { source: null, keyring: null };
let last = null;
let hold = null;
let queue = Promise.resolve();
let hideTimer = null;
let readyResolve;
const ready = new Promise((r) => (readyResolve = r));

// ---------------------------------------------------------------- text

function t(key) {
  return TEXT[lang][key];
}
function applyText() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll("[data-t-placeholder]")) el.placeholder = t(el.dataset.tPlaceholder);
  $("lang").textContent = t("language");
  const select = $("id-type");
  const chosen = select.value || "cn_ric";
  select.replaceChildren(...Object.entries(t("id_types")).map(([v, label]) => new Option(label, v)));
  select.value = chosen;
  renderStatus();
}

// ---------------------------------------------------------------- the scan pipeline

function keyringOf(header) {
  const json = header ? header.keyring : null;
  if (keyringCache.source !== json) {
    keyringCache = { source: json, keyring: new Keyring(json || { format: "encore-keyring/1", keys: [] }) };
  }
  return keyringCache.keyring;
}

function cleanText(text) {
  return Array.from(text.trim()).filter((ch) => ch >= " " && ch !== "\x7f").join("");
}

function journalEntry(decision, claims, source, now, extra) {
  const enrolment = store.get("enrolment");
  const details = { ...decision.details, ...extra };
  return {
    scan_id: crypto.randomUUID(),
    at: now,
    verdict: decision.verdict,
    reason: decision.reason,
    admit: decision.admit,
    gate: enrolment.gate_id,
    device: enrolment.device_id,
    direction: enrolment.direction || "in",
    source,
    ticket_id: claims ? claims.ticket_id : null,
    ticket_version: claims ? claims.version : null,
    details,
    ticket: decision.ticket,
    state: 0,
  };
}

/** Decide one scan and journal it; resolves with the outcome once it is durable (and shown). */
export function scan(text, source = "manual") {
  const run = queue.then(() => decideScan(text, source));
  queue = run.catch(() => {});
  return run;
}

async function decideScan(raw, source) {
  const enrolment = store.get("enrolment");
  if (!enrolment) throw new Error("not enrolled");
  const text = cleanText(String(raw).slice(0, MAX_TEXT + 1));
  const mono = performance.now();
  if (last && last.text === text && mono - last.mono <= REPEAT_WINDOW) {
    last.mono = mono;
    const outcome = { ...last.outcome, repeat: true };
    show(outcome);
    return outcome;
  }
  const header = store.get("header");
  const now = Date.now() / 1000;
  let decision = null;
  let verified = null;
  if (text.length > MAX_TEXT) {
    decision = { verdict: "malformed", reason: `scan longer than ${MAX_TEXT} characters`, admit: false, ticket: null, details: {} };
  } else {
    try {
      verified = await verifyToken(text, keyringOf(header), now);
    } catch (err) {
      if (!(err instanceof TicketError)) throw err;
      decision = refuse(err);
    }
  }
  const verifiedAt = performance.now();
  const gate = gateSettings(enrolment, header);
  const claims = verified ? verified.claims : null;
  // never the text of a non-ticket scan (it may be an ID number typed in the wrong field)
  const sample = claims || !text ? {} : await describe(text);
  const result = await store.decideAndJournal(claims ? claims.ticket_id : null, (record, usage) => {
    const merged = knownUsage(record, usage);
    const d = decision || decide(claims, record, merged, gate, now);
    return { decision: d, usage: merged, entry: journalEntry(d, claims, source, now, sample) };
  });
  const outcome = { ...result.entry, repeat: false, timing: { verify: verifiedAt - mono, journal: performance.now() - mono } };
  if (outcome.verdict === "identity_required") hold = { claims, signature: verified.signature, source };
  else if (claims || outcome.verdict !== "malformed") hold = null;
  last = { text, mono, outcome };
  sync.noteJournalled();
  show(outcome);
  return outcome;
}

/** Decide the held real-name ticket with what the holder showed (typed by staff). */
export async function presentIdentity(shown) {
  const run = queue.then(async () => {
    if (!hold) throw new IdentityError("no ticket is waiting for an ID check", "no_hold");
    const header = store.get("header");
    const presented = await presentedIdentity(header && header.identity_key, shown);
    const held = hold;
    const { record: stored } = await store.lookup(held.claims.ticket_id);
    const prepared = await recordForRules(stored, held.signature);
    const gate = gateSettings(store.get("enrolment"), header);
    const now = Date.now() / 1000;
    const result = await store.decideAndJournal(held.claims.ticket_id, (record, usage) => {
      const merged = knownUsage(record, usage);
      const withIdentity = record && prepared && prepared.identity ? { ...record, identity: prepared.identity } : record;
      const d = decide(held.claims, withIdentity, merged, gate, now, presented);
      return { decision: d, usage: merged, entry: journalEntry(d, held.claims, "staff", now, { identity_source: "staff" }) };
    });
    const outcome = { ...result.entry, repeat: false };
    if (outcome.verdict !== "identity_required") hold = null;
    last = null;
    sync.noteJournalled();
    show(outcome);
    return outcome;
  });
  queue = run.catch(() => {});
  return run;
}

// ---------------------------------------------------------------- feedback

function kindOf(outcome) {
  if (outcome.verdict === "exit_ok") return "exit";
  if (outcome.admit === true) return "ok";
  if (outcome.verdict === "identity_required") return "hold";
  return "no";
}

function timeOf(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
}

function show(outcome) {
  const box = $("verdict");
  const kind = kindOf(outcome);
  box.dataset.kind = kind;
  box.dataset.verdict = outcome.verdict;
  box.dataset.scanId = outcome.scan_id;
  box.dataset.repeat = String(Boolean(outcome.repeat));
  $("verdict-title").textContent = t("verdicts")[outcome.verdict] + (outcome.repeat ? t("repeat") : "");
  const reasons = t("reasons");
  let reason = reasons && reasons[outcome.verdict] ? reasons[outcome.verdict] : outcome.reason;
  if (outcome.verdict === "already_used" && outcome.details && outcome.details.used_gate) {
    reason = t("used_at")(outcome.details.used_at ? timeOf(outcome.details.used_at) : "", outcome.details.used_gate);
  }
  $("verdict-reason").textContent = reason;
  const ticket = outcome.ticket;
  $("verdict-ticket").textContent = ticket ? [ticket.zone, ticket.seat, ticket.ticket_type].filter(Boolean).join(" · ") : "";
  box.hidden = false;
  $("id-check").hidden = outcome.verdict !== "identity_required";
  if (outcome.verdict === "identity_required") {
    $("id-message").textContent = "";
    $("id-number").value = "";
    $("id-name").value = "";
  }
  if (!outcome.repeat) feedback(kind);
  clearTimeout(hideTimer);
  if (kind !== "hold") hideTimer = setTimeout(() => (box.hidden = true), SHOW_FOR);
  document.dispatchEvent(new CustomEvent("encore-verdict", { detail: outcome }));
  if (!outcome.repeat) {
    recentRows.unshift(outcome);
    recentRows.length = Math.min(recentRows.length, 15);
  }
  renderRecent();
}

let audio = null;
function feedback(kind) {
  const pattern = { ok: [80], exit: [80], hold: [100, 60, 100], no: [250, 100, 250] }[kind];
  if (navigator.vibrate) navigator.vibrate(pattern);
  try {
    audio = audio || new AudioContext();
    const tones = { ok: [[1320, 0.12]], exit: [[990, 0.12]], hold: [[880, 0.12], [660, 0.12]], no: [[220, 0.25], [180, 0.25]] }[kind];
    let at = audio.currentTime;
    for (const [freq, length] of tones) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = kind === "no" ? "square" : "sine";
      osc.frequency.value = freq;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      osc.start(at);
      osc.stop(at + length);
      at += length + 0.05;
    }
  } catch {
    // No sound (no user gesture yet, or no audio device): colours and vibration remain.
  }
}

// ---------------------------------------------------------------- status

function renderStatus() {
  if (!sync) return;
  const pill = $("state");
  const shown = store.get("enrolment") || sync.state === "revoked" ? sync.state : "unenrolled";
  pill.dataset.state = shown;
  pill.textContent = t(`state_${shown}`);
  pill.title = sync.error || "";
  const enrolment = store.get("enrolment");
  $("gate-name").textContent = enrolment
    ? `${t("gate")} ${enrolment.gate_id} · ${t(enrolment.direction === "out" ? "direction_out" : "direction_in")}`
    : "";
  const counts = $("counts");
  counts.dataset.backlog = String(sync.backlog);
  counts.dataset.quarantined = String(sync.quarantined);
  counts.textContent = `${t("backlog")} ${sync.backlog}` + (sync.quarantined ? ` · ${t("quarantined")} ${sync.quarantined}` : "");
  const progress = $("progress");
  if (sync.progress) {
    progress.hidden = false;
    const pct = sync.progress.total ? Math.floor((100 * sync.progress.done) / sync.progress.total) : 0;
    progress.textContent = `${t("progress")} ${sync.progress.done} / ${sync.progress.total} (${pct}%)`;
  } else {
    progress.hidden = !!store.get("header") || !enrolment;
    progress.textContent = t("no_snapshot");
  }
  showScreen();
}

function showScreen() {
  const revoked = sync && sync.state === "revoked" || store.get("revoked");
  const enrolled = !!store.get("enrolment");
  $("revoked").hidden = !revoked;
  $("enrol").hidden = revoked || enrolled;
  document.body.dataset.screen = revoked ? "revoked" : enrolled ? "scan" : "enrol";
}

let recentRows = [];

function renderRecent() {
  $("recent").replaceChildren(
    ...recentRows.map((row) => {
      const li = document.createElement("li");
      li.dataset.admit = String(row.admit);
      li.dataset.verdict = row.verdict;
      const ticket = row.ticket ? ` ${[row.ticket.zone, row.ticket.seat].filter(Boolean).join(" ")}` : "";
      li.textContent = `${timeOf(row.at)} ${t("verdicts")[row.verdict]}${ticket}`;
      return li;
    }),
  );
  if (store.get("revoked")) {
    store.countState(0).then((n) => ($("revoked-unsent").textContent = `${t("revoked_unsent")}${n}`));
  }
}

// ---------------------------------------------------------------- camera and input

async function onCameraText(text, source) {
  if (!store.get("enrolment")) {
    if (!store.get("revoked")) await enrolWith(text);
    return;
  }
  if (!$("id-check").hidden) return;
  await scan(text, source);
}

async function enrolWith(text) {
  // The enrolment QR holds "URL CODE" (sync-server enrol-code); a typed code is the code alone.
  const code = String(text).trim().split(/\s+/).pop();
  const message = $("enrol-message");
  message.textContent = t("enrolling");
  try {
    await sync.enrol(code);
    message.textContent = "";
    sync.setState("loading");
    sync.start();
    renderStatus();
  } catch (err) {
    message.textContent = t("enrol_failed") + err.message;
  }
}

async function startCamera() {
  try {
    await camera.start();
    $("camera-start").hidden = true;
    $("torch").hidden = !camera.torchSupported;
  } catch (err) {
    $("camera-start").hidden = false;
    $("hint").textContent = t("camera_denied") + err.message;
  }
}

function wire() {
  $("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    setLanguage(lang);
    applyText();
    renderRecent();
  });
  $("manual-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("manual").value;
    $("manual").value = "";
    if (value.trim()) scan(value, "manual");
  });
  $("enrol-form").addEventListener("submit", (event) => {
    event.preventDefault();
    enrolWith($("enrol-code").value);
  });
  $("re-enrol").addEventListener("click", async () => {
    await store.setMeta({ revoked: undefined });
    sync.setState("offline");
    showScreen();
  });
  $("id-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await presentIdentity({ id_type: $("id-type").value, id_number: $("id-number").value.trim(), name: $("id-name").value.trim() });
    } catch (err) {
      $("id-message").textContent = err instanceof IdentityError ? t("id_errors")[err.code] : err.message;
      $("id-message").title = err.message;
    }
  });
  $("id-cancel").addEventListener("click", () => {
    hold = null;
    $("id-check").hidden = true;
    $("verdict").hidden = true;
  });
  $("verdict").addEventListener("click", () => {
    if ($("verdict").dataset.kind !== "hold") $("verdict").hidden = true;
  });
  let torch = false;
  $("torch").addEventListener("click", async () => {
    torch = !torch;
    await camera.setTorch(torch);
    $("torch").setAttribute("aria-pressed", String(torch));
  });
  $("camera-start").addEventListener("click", startCamera);
}

async function main() {
  store = await openStore();
  await store.loadMeta();
  sync = new Sync(store);
  sync.addEventListener("status", renderStatus);
  camera = new Camera($("video"), onCameraText);
  wire();
  applyText();
  if (store.get("header")) await store.warm();
  if (store.get("enrolment")) sync.start();
  recentRows = await store.recentScans(15);
  renderRecent();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/staff/sw.js", { scope: "/staff/" }).catch((err) => console.warn("no service worker", err));
  }
  if (!new URLSearchParams(location.search).has("nocamera")) startCamera();
  globalThis.encoreStaff = { scan, presentIdentity, store, sync, camera };
  readyResolve();
}

globalThis.encoreStaffReady = ready;
main();
