// The buyer's live ticket: this phone's own Ed25519 key (WebCrypto, not extractable, kept in
// IndexedDB) is bound to the ticket once; from then on the page signs a new code every 15 s,
// offline too (ticket_format/rotating.py). A screenshot stops working within seconds.
// By default the compact code (fits QR 10-M; the gate has the ticket's signed bytes in its list):
//   "EN3:" + Base45(CBOR [ticket id (16 bytes for a UUID, else text), version, step,
//                         the ticket's COSE signature, device signature])
// with the device signing "encore-rotating-v2" || COSE signature || step (8 bytes, big-endian).
// The "full code" button shows the code that carries the whole ticket, for a gate whose list
// does not have it yet:  "EN2:" + Base45(CBOR [ticket COSE_Sign1, step, device signature]),
// the device signing "encore-rotating-v1" || COSE signature || step.
import qrcode from "./vendor/qrcode-generator/qrcode.mjs";

const PERIOD = 15;
const CONTEXT = new TextEncoder().encode("encore-rotating-v1");
const COMPACT_CONTEXT = new TextEncoder().encode("encore-rotating-v2");
const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

const TEXTS = {
  en: {
    switchTo: "中文",
    title: "Your ticket",
    hint: "Show this code at the gate. It changes every 15 seconds, so a screenshot or a copy will not get in.",
    binding: "Linking this ticket to this phone…",
    offline: "Offline: the code is made on this phone and still works at the gate.",
    otherPhone: "This ticket is linked to another phone. To move it to this one, confirm with a code sent to your e-mail.",
    sendCode: "E-mail me a code",
    codeSent: "We sent a 6-digit code to your e-mail. It works for 10 minutes.",
    codeLabel: "Code from the e-mail",
    confirm: "Move the ticket to this phone",
    codeWrong: "That code is not right, or it has expired. Try again or ask for a new one.",
    signIn: "Open this page on the phone you bought with (sign in on the seat map page first).",
    failed: "Could not load the ticket",
    noCrypto: "This browser cannot make the ticket's key (Ed25519). Please update it.",
    tooMany: (minutes) => `Too many codes asked for. Try again in ${minutes} min; the last code e-mailed still works.`,
    fullCode: "Gate cannot read it? Show the full code",
    shortCode: "Show the short code",
    seat: (t) => [t.zone && `Zone ${t.zone}`, t.seat && `Seat ${t.seat}`].filter(Boolean).join(" · "),
  },
  zh: {
    switchTo: "English",
    title: "我的门票",
    hint: "入场时出示此二维码。二维码每 15 秒更新一次，截图或转发无法入场。",
    binding: "正在将门票绑定到本机…",
    offline: "离线：二维码由本机生成，检票时仍然有效。",
    otherPhone: "此门票已绑定到另一部手机。如需转到本机，请用发送到您邮箱的确认码确认。",
    sendCode: "发送确认码到邮箱",
    codeSent: "6 位确认码已发送到您的邮箱，10 分钟内有效。",
    codeLabel: "邮件中的确认码",
    confirm: "把门票转到本机",
    codeWrong: "确认码不正确或已过期。请重试，或重新获取确认码。",
    signIn: "请在购票的手机上打开此页面（先在选座页面登录）。",
    failed: "无法加载门票",
    noCrypto: "此浏览器无法生成门票密钥（Ed25519），请更新浏览器。",
    tooMany: (minutes) => `确认码请求过多，请 ${minutes} 分钟后再试；最近一封邮件中的确认码仍然有效。`,
    fullCode: "检票机无法识别？显示完整二维码",
    shortCode: "显示简短二维码",
    seat: (t) => [t.zone && `${t.zone} 区`, t.seat && `座位 ${t.seat}`].filter(Boolean).join(" · "),
  },
};

const ticketId = document.body.dataset.ticket;
let lang = localStorage.getItem("encore.lang") || (document.documentElement.lang.startsWith("zh") ? "zh" : "en");
let record = null; // {ticketId, keys, token, zone, seat, version}
let lastStep = null;
let statusKey = "";
let statusArg = null;
let fullCode = false; // false: the compact EN3 code; true: the full EN2 code (the fallback)

const $ = (id) => document.getElementById(id);

function applyLanguage() {
  const t = TEXTS[lang];
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  $("title").textContent = t.title;
  $("hint").textContent = t.hint;
  $("lang-switch").textContent = t.switchTo;
  $("seat").textContent = record && record.token ? t.seat(record) : "";
  const said = statusKey ? t[statusKey] : "";
  $("status").textContent = typeof said === "function" ? said(statusArg) : said;
  $("qr").setAttribute("aria-label", t.title);
  $("send-code").textContent = t.sendCode;
  $("code-label").textContent = t.codeLabel;
  $("confirm").textContent = t.confirm;
  $("full-code").textContent = fullCode ? t.shortCode : t.fullCode;
}

function setStatus(key, arg = null) {
  statusKey = key;
  statusArg = arg;
  applyLanguage();
}

// --- IndexedDB: one record per ticket ------------------------------------------------------
function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("encore-live", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("tickets", { keyPath: "ticketId" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function dbDo(db, mode, work) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction("tickets", mode);
    const req = work(tx.objectStore("tickets"));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
  });
}

// --- encodings -----------------------------------------------------------------------------
function base45Encode(bytes) {
  let out = "";
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    let n = bytes[i] * 256 + bytes[i + 1];
    out += B45[n % 45] + B45[Math.floor(n / 45) % 45] + B45[Math.floor(n / 2025)];
  }
  if (bytes.length % 2) {
    const n = bytes[bytes.length - 1];
    out += B45[n % 45] + B45[Math.floor(n / 45)];
  }
  return out;
}

function base45Decode(text) {
  const values = [...text].map((c) => {
    const v = B45.indexOf(c);
    if (v < 0) throw new Error("bad Base45");
    return v;
  });
  const out = [];
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
      out.push(n >> 8, n & 255);
    } else {
      out.push(values[i] + values[i + 1] * 45);
    }
  }
  return new Uint8Array(out);
}

function cborHead(major, n) {
  if (n < 24) return [(major << 5) | n];
  if (n < 256) return [(major << 5) | 24, n];
  if (n < 65536) return [(major << 5) | 25, n >> 8, n & 255];
  return [(major << 5) | 26, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function cborCode(message, step, signature) {
  return concat([
    [0x83],
    cborHead(2, message.length), message,
    cborHead(0, step),
    cborHead(2, signature.length), signature,
  ]);
}

// The ticket id as EN3 carries it: a canonical UUID as its 16 bytes, anything else as text.
function cborTicketId(id) {
  if (UUID_TEXT.test(id)) {
    const hex = id.replace(/-/g, "");
    const bytes = hex.match(/../g).map((h) => parseInt(h, 16));
    return [...cborHead(2, 16), ...bytes];
  }
  const text = new TextEncoder().encode(id);
  return [...cborHead(3, text.length), ...text];
}

function cborCompact(id, version, step, ticketSignature, deviceSignature) {
  return concat([
    [0x85],
    cborTicketId(id),
    cborHead(0, version),
    cborHead(0, step),
    cborHead(2, 64), ticketSignature,
    cborHead(2, 64), deviceSignature,
  ]);
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// --- the code of a step --------------------------------------------------------------------
async function deviceSign(context, ticketSignature, privateKey, step) {
  const signed = new Uint8Array(context.length + 64 + 8);
  signed.set(context, 0);
  signed.set(ticketSignature, context.length);
  new DataView(signed.buffer).setBigInt64(context.length + 64, BigInt(step));
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, signed));
}

async function liveCode(ticket, privateKey, step, full) {
  const message = base45Decode(ticket.token.slice(4)); // "EN1:" + Base45(COSE_Sign1)
  const ticketSignature = message.slice(message.length - 64); // the last element: 64 bytes
  if (full) {
    const deviceSignature = await deviceSign(CONTEXT, ticketSignature, privateKey, step);
    return "EN2:" + base45Encode(cborCode(message, step, deviceSignature));
  }
  const deviceSignature = await deviceSign(COMPACT_CONTEXT, ticketSignature, privateKey, step);
  return "EN3:" + base45Encode(cborCompact(ticket.ticketId, ticket.version, step, ticketSignature, deviceSignature));
}

function drawQr(text) {
  const qr = qrcode(0, "M");
  qr.addData(text, "Alphanumeric");
  qr.make();
  const modules = qr.getModuleCount();
  const total = modules + 8; // 4 modules of quiet zone on each side
  const room = Math.min(window.innerWidth - 48, 440) * (window.devicePixelRatio || 1);
  const scale = Math.max(2, Math.floor(room / total));
  const canvas = $("qr");
  canvas.width = canvas.height = total * scale;
  canvas.style.width = canvas.style.height = `${(total * scale) / (window.devicePixelRatio || 1)}px`;
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = "#000";
  for (let r = 0; r < modules; r++) {
    for (let c = 0; c < modules; c++) {
      if (qr.isDark(r, c)) g.fillRect((c + 4) * scale, (r + 4) * scale, scale, scale);
    }
  }
}

async function tick() {
  const now = Date.now() / 1000;
  const step = Math.floor(now / PERIOD);
  $("progress-bar").style.width = `${(100 * (now - step * PERIOD)) / PERIOD}%`;
  if (step === lastStep) return;
  lastStep = step;
  const code = await liveCode(record, record.keys.privateKey, step, fullCode);
  drawQr(code);
  document.body.dataset.step = String(step);
  document.body.dataset.code = fullCode ? "full" : "compact";
  document.body.dataset.state = "shown";
}

// --- binding -------------------------------------------------------------------------------
async function bind(buyer, publicRaw, stepUpCode) {
  const body = { public_key: base64url(publicRaw) };
  if (stepUpCode) body.step_up_code = stepUpCode;
  const response = await fetch(`/api/tickets/${encodeURIComponent(ticketId)}/device-key`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${buyer.token}` },
    body: JSON.stringify(body),
  });
  return answer(response);
}

async function answer(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw Object.assign(new Error(body.detail || response.statusText), { code: body.code, retryAfter: body.retry_after });
  }
  return body;
}

// The page and its files, for the service worker to answer with when there is no network.
const PAGE_FILES = [
  "/tickets/live-assets/live.js",
  "/tickets/live-assets/live.css",
  "/tickets/live-assets/vendor/qrcode-generator/qrcode.mjs",
];

async function keepForOffline() {
  if (!("serviceWorker" in navigator) || !navigator.onLine) return false;
  try {
    await navigator.serviceWorker.register("/tickets/live-sw.js");
    await navigator.serviceWorker.ready;
    const cache = await caches.open("encore-live-v1");
    await cache.addAll([location.pathname, ...PAGE_FILES]);
    return true;
  } catch (error) {
    console.warn("offline copy not kept", error);
    return false;
  }
}

// A new phone for a bound ticket: the buyer confirms with a code e-mailed to them.
function offerMove(db, buyer) {
  setStatus("otherPhone");
  const form = $("move");
  form.hidden = false;
  $("send-code").addEventListener("click", async () => {
    try {
      await answer(
        await fetch(`/api/tickets/${encodeURIComponent(ticketId)}/device-key/step-up`, {
          method: "POST",
          headers: { authorization: `Bearer ${buyer.token}` },
        }),
      );
      setStatus("codeSent");
      document.body.dataset.state = "code-sent";
    } catch (error) {
      if (error.code && error.code.startsWith("step_up_too_many")) {
        setStatus("tooMany", Math.max(1, Math.ceil((error.retryAfter || 60) / 60)));
        document.body.dataset.state = "too-many";
      } else setStatus("failed");
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", record.keys.publicKey));
      const bound = await bind(buyer, publicRaw, $("code").value.trim());
      Object.assign(record, { token: bound.token, version: bound.version, zone: bound.zone, seat: bound.seat });
      await dbDo(db, "readwrite", (s) => s.put(record));
      form.hidden = true;
      setStatus("");
      await tick();
      setInterval(tick, 250);
    } catch (error) {
      setStatus(error.code && error.code.startsWith("step_up") ? "codeWrong" : "failed");
    }
  });
}

async function start() {
  applyLanguage();
  $("lang-switch").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("encore.lang", lang);
    applyLanguage();
  });
  $("full-code").addEventListener("click", async () => {
    fullCode = !fullCode;
    applyLanguage();
    if (record && record.token) {
      lastStep = null; // draw the other code now, not at the next step
      await tick();
    }
  });
  window.encoreLiveCached = keepForOffline();
  const db = await openDb();
  record = (await dbDo(db, "readonly", (s) => s.get(ticketId))) || null;
  if (!record) {
    let keys;
    try {
      keys = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    } catch {
      setStatus("noCrypto");
      document.body.dataset.state = "error";
      return;
    }
    record = { ticketId, keys, token: null };
    await dbDo(db, "readwrite", (s) => s.put(record));
  }
  const buyer = JSON.parse(localStorage.getItem("encore.buyer") || "null");
  if (buyer && buyer.token) {
    if (!record.token) setStatus("binding");
    try {
      const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", record.keys.publicKey));
      const bound = await bind(buyer, publicRaw);
      Object.assign(record, { token: bound.token, version: bound.version, zone: bound.zone, seat: bound.seat });
      await dbDo(db, "readwrite", (s) => s.put(record));
      setStatus("");
    } catch (error) {
      if (error.code === "rebind_needs_step_up") {
        offerMove(db, buyer);
        document.body.dataset.state = "other-phone";
        return;
      }
      if (error instanceof TypeError) setStatus(record.token ? "offline" : "failed"); // no network
      else setStatus("failed");
      if (!record.token) {
        document.body.dataset.state = "error";
        return;
      }
    }
  } else if (!record.token) {
    setStatus("signIn");
    document.body.dataset.state = "error";
    return;
  }
  applyLanguage();
  await tick();
  setInterval(tick, 250);
}

start().catch((error) => {
  console.error(error);
  setStatus("failed");
  document.body.dataset.state = "error";
});
