// Live entry dashboard: one WebSocket, every message a full stats object rendered as is.
"use strict";
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const eventQuery = params.get("event_id") ? "?event_id=" + encodeURIComponent(params.get("event_id")) : "";

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
  return d.clock_wrong ? text + " — wrong clock · 时钟错误" : text;
}
function when(ts) { return ts ? new Date(ts * 1000).toLocaleTimeString() : ""; }

function render(s) {
  $("event").textContent = s.event_id;
  $("entries").textContent = s.entries;
  $("sold").textContent = s.sold;
  $("percent").textContent = s.sold ? Math.round((100 * s.entries) / s.sold) + "%" : "–";
  $("conflict-count").textContent = s.conflict_count;
  $("attempt-count").textContent = s.attempts ? s.attempts.requests : 0;
  $("flagged-count").textContent = s.time_flagged ?? 0;
  fillTable("gates", s.by_gate.map((g) => [cell(g.gate), cell(g.entries)]));
  fillTable("zones", s.by_zone.map((z) => [cell(z.zone || "(none)"), cell(z.entries), cell(z.sold)]));
  fillTable("refusals", Object.entries(s.refusals).map(([v, n]) => [cell(v), cell(n)]));
  fillTable("devices", s.devices.map((d) => {
    const action = document.createElement("td");
    if (!d.revoked) {
      const b = document.createElement("button");
      b.textContent = "revoke";
      b.onclick = async () => {
        if (confirm("Cut off device " + d.device_id + "?")) await fetch("/api/devices/" + encodeURIComponent(d.device_id) + "/revoke", { method: "POST" });
      };
      action.append(b);
    }
    const state = d.revoked ? "revoked" : d.online ? "online" : "offline";
    return [cell(d.gate_id), cell(d.device_id), cell(state, d.online ? "online" : "offline"), cell(d.backlog ?? 0),
            cell(when(d.last_seen)), cell(d.software_version), cell(clock(d), d.clock_wrong ? "warn" : ""),
            cell(d.time_flagged || ""), action];
  }));
  fillTable("attempts", (s.attempts ? s.attempts.recent : []).map((a) => [cell(when(a.at)), cell(a.gate_id),
    cell(a.device_id), cell(a.count), cell(a.detail)]));
  fillTable("conflicts", s.conflicts.map((c) => [cell(c.ticket_id), cell(c.kind),
    cell(when(c.at) + " at " + c.gate), cell(c.first_scan_id ? when(c.first_at) + " at " + c.first_gate : "revoked earlier")]));
  const svg = $("chart");
  const max = Math.max(1, ...s.per_minute.map((m) => m.entries));
  const w = 600 / s.per_minute.length;
  svg.replaceChildren(...s.per_minute.map((m, i) => {
    const r = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    const h = (110 * m.entries) / max;
    r.setAttribute("x", i * w + 1); r.setAttribute("width", w - 2);
    r.setAttribute("y", 120 - h); r.setAttribute("height", h);
    const t = document.createElementNS("http://www.w3.org/2000/svg", "title");
    t.textContent = when(m.minute) + ": " + m.entries; r.append(t);
    return r;
  }));
  document.body.dataset.generatedAt = s.generated_at;
}

function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/dashboard/ws" + eventQuery);
  ws.onopen = () => { $("conn").textContent = "live"; $("conn").className = "on"; };
  ws.onmessage = (m) => { const msg = JSON.parse(m.data); if (msg.type === "stats") render(msg.stats); };
  ws.onclose = () => { $("conn").textContent = "reconnecting…"; $("conn").className = "off"; setTimeout(connect, 1000); };
}
connect();
