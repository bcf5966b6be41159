import { t, reason, money, zh } from "/aftersales-assets/i18n.js";

const $ = (id) => document.getElementById(id);
const stored = JSON.parse(localStorage.getItem("encore.organiser") || "null");
document.documentElement.lang = zh ? "zh-CN" : "en";
document.title = t("consoleTitle");
$("title").textContent = t("consoleTitle");
$("event-label").textContent = t("event");
$("load").textContent = t("load");
$("h-order").textContent = t("order");
$("h-tickets").textContent = t("tickets");
$("h-why").textContent = t("why");
$("h-asked").textContent = t("asked");
$("empty").textContent = t("empty");

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { "content-type": "application/json", authorization: `Bearer ${stored.token}` },
  });
  return { status: response.status, body: await response.json() };
}

async function decide(request, row, approve) {
  const percent = Number(row.querySelector("input").value);
  const path = `/api/refund-requests/${request.id}/${approve ? "approve" : "deny"}`;
  const { status, body } = await api(path, { method: "POST", body: JSON.stringify(approve ? { percent } : {}) });
  const cell = row.lastChild;
  cell.textContent =
    status === 200
      ? body.status === "approved"
        ? `${t("decidedApproved")} · ${t("refunded")} ${money(body.amount_cents, body.currency)}`
        : t("decidedDenied")
      : reason(body.code);
  row.dataset.decided = status === 200 ? body.status : "error";
}

async function load() {
  const eventId = Number($("event").value);
  const { status, body } = await api(`/api/events/${eventId}/refund-requests`);
  const tbody = $("queue").querySelector("tbody");
  tbody.replaceChildren();
  const requests = status === 200 ? body : [];
  $("empty").hidden = requests.length > 0;
  for (const request of requests) {
    const row = document.createElement("tr");
    row.dataset.request = String(request.id);
    const asked = new Date(request.created_at * 1000).toLocaleString(zh ? "zh-CN" : "en-GB");
    for (const text of [String(request.order_id), String(request.ticket_ids.length), reason(request.reason), asked]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    const actions = document.createElement("td");
    actions.className = "row";
    const percent = document.createElement("input");
    Object.assign(percent, { type: "number", min: 0, max: 100, value: 100 });
    percent.setAttribute("aria-label", "%");
    const approve = document.createElement("button");
    approve.textContent = t("approve");
    approve.className = "approve";
    approve.addEventListener("click", () => decide(request, row, true));
    const deny = document.createElement("button");
    deny.textContent = t("deny");
    deny.className = "secondary deny";
    deny.addEventListener("click", () => decide(request, row, false));
    actions.append(percent, document.createTextNode("%"), approve, deny);
    row.append(actions);
    tbody.append(row);
  }
  document.body.dataset.state = "loaded";
}

$("bulk-title").textContent = t("bulkTitle");
$("session-label").textContent = t("session");
$("cancel-session").textContent = t("cancelSession");

async function cancelSession() {
  const sessionId = Number($("session").value);
  if (!sessionId || !confirm(t("confirmCancel", sessionId))) return;
  const { status, body } = await api(`/api/sessions/${sessionId}/cancel`, { method: "POST" });
  if (status !== 202) {
    $("bulk-progress").textContent = body.detail || String(status);
    return;
  }
  const show = (job) => {
    $("bulk-progress").textContent = t("progress", job.counts.done, job.total);
    document.body.dataset.bulk = job.status;
  };
  show(body);
  // the live counter: the job runs on the server; this page only watches it
  while (document.body.dataset.bulk !== "done") {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { body: job } = await api(`/api/bulk-jobs/${body.id}`);
    show(job);
  }
}

$("cancel-session").addEventListener("click", cancelSession);
$("load").addEventListener("click", load);
const fromQuery = new URLSearchParams(location.search).get("event");
if (fromQuery) {
  $("event").value = fromQuery;
  load();
} else {
  document.body.dataset.state = "ready";
}
