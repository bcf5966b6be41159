import { t, reason, money, zh } from "/aftersales-assets/i18n.js";

const $ = (id) => document.getElementById(id);
const orderId = Number(location.pathname.split("/")[3]);
const stored = JSON.parse(localStorage.getItem("encore.buyer") || "null");
document.documentElement.lang = zh ? "zh-CN" : "en";
document.title = t("refundTitle");
$("title").textContent = t("refundTitle");
$("pick-label").textContent = t("pick");
$("quote-label").textContent = t("youGet");
$("submit").textContent = t("submit");

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { "content-type": "application/json", authorization: `Bearer ${stored.token}`, ...(options.headers || {}) },
  });
  return { status: response.status, body: await response.json() };
}

function policyText(policy) {
  const parts = [];
  if (policy.grace_hours > 0) parts.push(t("grace", policy.grace_hours));
  for (const tier of policy.tiers) parts.push(t("before", tier.hours_before, tier.percent));
  if (policy.cutoff_hours > 0) parts.push(t("cutoff", policy.cutoff_hours));
  if (policy.scope === "order") parts.push(t("wholeOrder"));
  if (policy.once_per_account) parts.push(t("once"));
  return `${t("policyTiers")}: ${parts.join(zh ? "；" : "; ")}`;
}

let order = null;
function chosen() {
  return [...document.querySelectorAll("input[name=ticket]:checked")].map((box) => box.value);
}

async function preview() {
  const ids = chosen();
  $("submit").disabled = ids.length === 0;
  if (ids.length === 0) {
    $("amount").textContent = "—";
    $("detail").textContent = "";
    $("reason").textContent = "";
    return;
  }
  const query = ids.map((id) => `ticket=${encodeURIComponent(id)}`).join("&");
  const { status, body } = await api(`/api/orders/${orderId}/refund-preview?${query}`);
  if (status !== 200) {
    $("amount").textContent = "—";
    $("reason").textContent = reason(body.code);
    $("submit").disabled = true;
    document.body.dataset.state = "quoted";
    return;
  }
  $("amount").textContent = money(body.amount_cents, body.currency);
  $("detail").textContent = `${t("percent", body.percent)} · ${t("fee", money(body.fee_cents, body.currency))}`;
  $("reason").textContent = body.reason ? reason(body.reason) : "";
  $("policy").textContent = policyText(body.policy);
  document.body.dataset.state = "quoted";
  document.body.dataset.amount = String(body.amount_cents);
}

async function submit() {
  $("submit").disabled = true;
  const { status, body } = await api(`/api/orders/${orderId}/refund-requests`, {
    method: "POST",
    body: JSON.stringify({ ticket_ids: chosen() }),
  });
  const result = $("result");
  result.hidden = false;
  if (status === 201 && body.status === "approved") {
    result.innerHTML = `<span class="ok"></span>`;
    result.firstChild.textContent = t("approved", money(body.amount_cents, body.currency));
  } else if (status === 201) {
    result.textContent = t("pending");
  } else {
    result.textContent = reason(body.code);
  }
  document.body.dataset.state = status === 201 ? body.status : "refused";
}

async function start() {
  if (!stored || !stored.token) {
    $("order").textContent = t("signIn");
    document.body.dataset.state = "signed-out";
    return;
  }
  const { body } = await api(`/api/orders/${orderId}`);
  order = body;
  $("order").textContent = `${t("order")} ${order.id} · ${money(order.total_cents, order.currency)}`;
  const list = $("tickets");
  const valid = order.tickets.filter((ticket) => ticket.status === "valid");
  if (valid.length === 0) list.textContent = t("noTicket");
  for (const ticket of valid) {
    const label = document.createElement("label");
    label.className = "ticket";
    const box = document.createElement("input");
    Object.assign(box, { type: "checkbox", name: "ticket", value: ticket.id, checked: true });
    box.addEventListener("change", preview);
    const text = document.createElement("span");
    const place = ticket.seat ? `${t("seat")} ${ticket.seat}` : `${t("ga")} ${ticket.area || ""}`;
    text.textContent = `${place} · ${ticket.zone} · ${money(ticket.price_cents, order.currency)}`;
    label.append(box, text);
    list.append(label);
  }
  $("submit").addEventListener("click", submit);
  await preview();
}

start();
