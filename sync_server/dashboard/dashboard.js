// Live entry dashboard: one WebSocket, every message a full stats object rendered as is.
// Chinese and English (the browser's language, or the switch, remembered in localStorage).
"use strict";
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const eventQuery = params.get("event_id") ? "?event_id=" + encodeURIComponent(params.get("event_id")) : "";
const TEXT = {
  en: {
    title: "Live entry", connecting: "connecting…", live: "live", reconnecting: "reconnecting…", logout: "Log out",
    entries: "entries", sold: "tickets sold", percent: "of tickets sold", conflicts: "admitted conflicts",
    attempts: "out-of-scope attempts", flagged: "scans with a doubtful time", per_minute: "Entries per minute (last hour)",
    by_gate: "By gate", by_zone: "By zone", refusals: "Refusals (last hour)", gate: "gate", zone: "zone",
    reason: "reason", scans: "scans", devices: "Devices", device: "device", state: "state", backlog: "backlog",
    last_seen: "last seen", version: "version", clock: "clock", doubtful: "doubtful times",
    attempts_title: "Out-of-scope attempts",
    attempts_note: "Requests a device made outside its enrolment (another event, gate, device id, direction or zone); refused with 403 and nothing stored.",
    time: "time", conflicts_title: "Admitted conflicts", ticket: "ticket", kind: "kind", this_scan: "this scan",
    conflicts_with: "conflicts with", revoke: "revoke", revoked: "revoked", online: "online", offline: "offline",
    wrong_clock: "wrong clock", none: "(none)", at: " at ", revoked_earlier: "revoked earlier", session: "session",
    confirm_revoke: "Cut off device ", other: "中文", peak: "peak",
  },
  zh: {
    title: "实时入场", connecting: "连接中…", live: "实时", reconnecting: "重新连接中…", logout: "退出登录",
    entries: "已入场", sold: "已售门票", percent: "入场率", conflicts: "冲突放行",
    attempts: "越权尝试", flagged: "时间存疑的扫描", per_minute: "每分钟入场人数（最近一小时）",
    by_gate: "按闸口", by_zone: "按票区", refusals: "拒绝（最近一小时）", gate: "闸口", zone: "票区",
    reason: "原因", scans: "扫描数", devices: "设备", device: "设备", state: "状态", backlog: "待上传",
    last_seen: "最后在线", version: "版本", clock: "时钟", doubtful: "时间存疑",
    attempts_title: "越权尝试",
    attempts_note: "设备超出其登记范围的请求（其他活动、闸口、设备号、方向或区域），已拒绝（403），未保存任何数据。",
    time: "时间", conflicts_title: "冲突放行", ticket: "门票", kind: "类型", this_scan: "本次扫描",
    conflicts_with: "冲突对象", revoke: "停用", revoked: "已停用", online: "在线", offline: "离线",
    wrong_clock: "时钟错误", none: "（无）", at: " · ", revoked_earlier: "此前已作废", session: "场次",
    confirm_revoke: "停用设备 ", other: "English", peak: "峰值",
  },
};
let lang = localStorage.getItem("dashboard-lang") || ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");
const t = (key) => TEXT[lang][key] ?? TEXT.en[key] ?? key;
let last = null;
function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  $("lang").textContent = t("other");
  document.title = "Encore — " + t("title");
  if (last) render(last);
}
$("lang").onclick = () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("dashboard-lang", lang); applyLanguage(); };

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}
function fillTable(id, rows) {
  const body = $(id).querySelector("tbody");
  body.replaceChildren(...rows.map((cells) => { const tr = document.createElement("tr"); tr.append(...cells); return tr; }));
}
function clock(d) {
  // How far the device's clock was off at its last upload (if it says); a wrong clock is flagged.
  if (d.clock_offset === null || d.clock_offset === undefined) return "";
  const s = Math.round(d.clock_offset);
  const text = (s >= 0 ? "+" : "") + (Math.abs(s) >= 120 ? Math.round(s / 60) + " min" : s + " s");
  return d.clock_wrong ? text + " — " + t("wrong_clock") : text;
}
function when(ts) { return ts ? new Date(ts * 1000).toLocaleTimeString() : ""; }

function render(s) {
  last = s;
  // names, not ids: the box office's keyring gives the event's and the session's names
  const name = s.event_name || "#" + s.event_id;
  $("event").textContent = s.session_name ? name + " · " + s.session_name : name;
  $("entries").textContent = s.entries;
  $("sold").textContent = s.sold;
  $("percent").textContent = s.sold ? Math.round((100 * s.entries) / s.sold) + "%" : "–";
  $("conflict-count").textContent = s.conflict_count;
  $("attempt-count").textContent = s.attempts ? s.attempts.requests : 0;
  $("flagged-count").textContent = s.time_flagged ?? 0;
  fillTable("gates", s.by_gate.map((g) => [cell(g.gate), cell(g.entries)]));
  fillTable("zones", s.by_zone.map((z) => [cell(z.zone || t("none")), cell(z.entries), cell(z.sold)]));
  fillTable("refusals", Object.entries(s.refusals).map(([v, n]) => [cell(v), cell(n)]));
  fillTable("devices", s.devices.map((d) => {
    const action = document.createElement("td");
    if (!d.revoked) {
      const b = document.createElement("button");
      b.textContent = t("revoke");
      b.onclick = async () => {
        if (confirm(t("confirm_revoke") + d.device_id + "?")) await fetch("/api/devices/" + encodeURIComponent(d.device_id) + "/revoke", { method: "POST" });
      };
      action.append(b);
    }
    const state = d.revoked ? t("revoked") : d.online ? t("online") : t("offline");
    return [cell(d.gate_id), cell(d.device_id), cell(state, d.online ? "online" : "offline"), cell(d.backlog ?? 0),
            cell(when(d.last_seen)), cell(d.software_version), cell(clock(d), d.clock_wrong ? "warn" : ""),
            cell(d.time_flagged || ""), action];
  }));
  fillTable("attempts", (s.attempts ? s.attempts.recent : []).map((a) => [cell(when(a.at)), cell(a.gate_id),
    cell(a.device_id), cell(a.count), cell(a.detail)]));
  fillTable("conflicts", s.conflicts.map((c) => [cell(c.ticket_id), cell(c.kind),
    cell(when(c.at) + t("at") + c.gate), cell(c.first_scan_id ? when(c.first_at) + t("at") + c.first_gate : t("revoked_earlier"))]));
  // one bar per minute of the last hour, scaled to the busiest minute; each bar carries its count
  const svg = $("chart");
  const minutes = s.per_minute;
  const max = Math.max(1, ...minutes.map((m) => m.entries));
  const w = 600 / Math.max(1, minutes.length);
  svg.replaceChildren(...minutes.map((m, i) => {
    const r = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    const h = m.entries ? Math.max(2, (130 * m.entries) / max) : 0;
    r.setAttribute("x", i * w + 1); r.setAttribute("width", Math.max(1, w - 2));
    r.setAttribute("y", 140 - h); r.setAttribute("height", h);
    r.dataset.entries = m.entries;
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = when(m.minute) + ": " + m.entries; r.append(title);
    return r;
  }));
  $("chart-from").textContent = minutes.length ? when(minutes[0].minute) : "";
  $("chart-to").textContent = minutes.length ? when(minutes[minutes.length - 1].minute) : "";
  $("chart-max").textContent = t("peak") + " " + max + "/min";
  document.body.dataset.generatedAt = s.generated_at;
}

function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/dashboard/ws" + eventQuery);
  ws.onopen = () => { $("conn").dataset.t = "live"; $("conn").textContent = t("live"); $("conn").className = "on"; };
  ws.onmessage = (m) => { const msg = JSON.parse(m.data); if (msg.type === "stats") render(msg.stats); };
  ws.onclose = () => { $("conn").dataset.t = "reconnecting"; $("conn").textContent = t("reconnecting"); $("conn").className = "off"; setTimeout(connect, 1000); };
}
applyLanguage();
connect();
