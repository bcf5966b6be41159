// Chinese and English words of the after-sales pages (names, never codes, in what people read).
export const zh = navigator.language.toLowerCase().startsWith("zh");
const T = {
  refundTitle: ["申请退款", "Request a refund"],
  order: ["订单", "Order"],
  pick: ["选择要退的门票", "Choose the tickets to refund"],
  youGet: ["现在申请可退回", "If you ask now you get back"],
  submit: ["申请退款", "Request the refund"],
  seat: ["座位", "Seat"],
  ga: ["站席", "Standing"],
  percent: (p) => [`按 ${p}% 退款`, `${p}% of the price`],
  fee: (f) => [`手续费 ${f}`, `fee ${f}`],
  approved: (a) => [`退款已批准，${a} 将原路退回。`, `Refund approved: ${a} goes back to the account you paid with.`],
  pending: ["已提交，等待主办方审核。", "Sent to the promoter for approval."],
  noTicket: ["没有可退的门票。", "No ticket left to refund."],
  signIn: ["请先登录。", "Please sign in first."],
  policyTiers: ["退票规则", "Refund rules"],
  before: (h, p) => [`演出前 ${h} 小时以上：${p}%`, `${h} h or more before the show: ${p}%`],
  grace: (h) => [`购票后 ${h} 小时内全额退款`, `full refund within ${h} h of buying`],
  cutoff: (h) => [`演出前 ${h} 小时内不可退`, `no refunds in the last ${h} h`],
  wholeOrder: ["仅支持整单退款", "whole orders only"],
  once: ["每个账户每场演出限退一次", "one refund per account per show"],
  consoleTitle: ["售后审核", "After-sales queue"],
  event: ["演出编号", "Event"],
  load: ["载入", "Load"],
  empty: ["没有待审核的申请。", "No request is waiting."],
  tickets: ["门票", "Tickets"],
  asked: ["申请时间", "Asked"],
  why: ["原因", "Why it needs you"],
  approve: ["批准", "Approve"],
  deny: ["拒绝", "Deny"],
  decidedApproved: ["已批准", "Approved"],
  decidedDenied: ["已拒绝", "Denied"],
  refunded: ["退款", "Refund"],
  bulkTitle: ["取消场次（全额退款并通知所有购票人）", "Cancel a session (full refunds, every buyer told)"],
  session: ["场次编号", "Session"],
  cancelSession: ["取消本场", "Cancel this session"],
  confirmCancel: (id) => [`确定取消场次 ${id}？所有订单将全额退款。`, `Cancel session ${id}? Every order will be refunded in full.`],
  progress: (done, total) => [`已退款并通知 ${done} / ${total} 个订单`, `${done} of ${total} orders refunded and told`],
};
export const REASONS = {
  past_deadline: ["已过退票截止时间", "past the refund deadline"],
  show_started: ["演出已开始", "the show has started"],
  whole_order_only: ["本场仅支持整单退款", "this show refunds whole orders only"],
  refund_right_used: ["本场退票次数已用完", "this account already had its refund for this show"],
  entered: ["门票已入场使用", "the ticket was already used at the gate"],
  nothing_to_refund: ["没有可退的金额", "nothing left to refund"],
  already_refunded: ["订单已退款", "the order is already refunded"],
};
export function t(key, ...args) {
  const entry = T[key];
  const pair = typeof entry === "function" ? entry(...args) : entry;
  return pair[zh ? 0 : 1];
}
export function reason(code) {
  const pair = REASONS[code];
  return pair ? pair[zh ? 0 : 1] : code;
}
export function money(cents, currency) {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}${currency === "CNY" ? "¥" : currency + " "}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}
