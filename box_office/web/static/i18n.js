// Chinese and English texts of the seat map page, the language choice, and money formatting.
// The language comes from ?lang=, then the buyer's earlier choice, then the browser's languages.

const TEXTS = {
  en: {
    langName: "中文",
    langLabel: "切换到中文",
    zoomIn: "Zoom in",
    zoomOut: "Zoom out",
    fit: "Fit",
    mapHelp:
      "Tap or click a seat to choose it. Drag to move, pinch or scroll to zoom. Keyboard: arrow keys move between seats, Enter or Space chooses, + and − zoom.",
    mapHelpTouch: "Tap a seat to choose it. Drag to move, pinch to zoom.",
    yourSeats: "Your seats",
    pickSeats: "Choose seats on the map, ask for the best available, or pick standing places.",
    total: "Total",
    holdSeats: "Hold seats",
    bestTitle: "Best available seats",
    zone: "Zone",
    quantity: "Quantity",
    accessibleOnly: "Wheelchair accessible",
    findBest: "Find seats",
    heldTitle: "Seats held for you",
    expiresIn: "Held for",
    email: "E-mail",
    phone: "Phone (optional)",
    toPayment: "Continue to payment",
    release: "Release seats",
    payTitle: "Payment",
    amount: "Amount",
    sandboxNote: "Sandbox payment: no real money moves.",
    openBank: "Open the payment page (or scan it on your phone)",
    confirmPay: "Pay now (sandbox)",
    payWith: "Pay with",
    scanNote: "Scan the QR code with WeChat to pay. This page moves on by itself once you have paid.",
    h5Note: "Open WeChat Pay to pay, then come back here.",
    jsapiNote: "Confirm the payment in WeChat.",
    otherNote: "Open the payment page to pay.",
    payQrAlt: "QR code to pay with WeChat",
    ticketsTitle: "Your tickets",
    ticketsNote: "Show the QR code at the gate. It is also in your e-mail.",
    buyMore: "Buy more",
    signinTitle: "Your e-mail",
    signinNote: "We send your tickets here. It also keeps your seats yours while you pay.",
    continue: "Continue",
    cancel: "Cancel",
    live: "Live",
    connecting: "Connecting…",
    offline: "Reconnecting…",
    st_available: "Available",
    st_held: "Held",
    st_sold: "Sold",
    st_reserved: "Reserved",
    st_blocked: "Not for sale",
    st_selected: "Your choice",
    st_mine: "Held for you",
    accessible: "Wheelchair accessible",
    stage: "STAGE",
    seatName: (s, r, n) => `Section ${s}, row ${r}, seat ${n}`,
    box: (b) => `box ${b}`,
    gaLeft: (n) => `${n} left`,
    gaSoldOut: "Sold out",
    limit: (n) => `Up to ${n} tickets per buyer.`,
    tooMany: (n) => `You can choose up to ${n} tickets.`,
    busy: (n) => `So many fans are buying right now: you are in the queue, trying again in ${n} s.`,
    notAvailable: "That seat is not available.",
    taken: (list) => `Just taken by someone else: ${list}. Please choose again.`,
    expired: "Your hold expired and the seats were released. Please choose again.",
    holdFailed: "Could not hold the seats",
    ticketType: "Ticket type",
    holderName: "Holder's name (as on the ID)",
    idType: "ID type",
    idNumber: "ID number",
    realName: "Real-name event: enter each ticket holder's name and ID. It must match at the gate.",
    idTypes: { cn_ric: "Chinese resident ID", passport: "Passport", hk_mo_permit: "HK/Macau permit", tw_permit: "Taiwan permit" },
    waitingPay: "Waiting for the payment…",
    paid: "Paid. Issuing your tickets…",
    payFailed: "Payment could not be completed",
    place: (area, i) => `${area} · place ${i}`,
    seat: "Seat",
    area: "Standing",
    holder: "Holder",
    signinFailed: "Could not create your account",
    focusNone: "No seat here",
    bestNone: "No adjacent seats left in that zone.",
    status: "Status",
    price: "Price",
  },
  zh: {
    langName: "English",
    langLabel: "Switch to English",
    zoomIn: "放大",
    zoomOut: "缩小",
    fit: "全图",
    mapHelp: "点击座位即可选座；拖动可移动，双指或滚轮可缩放。键盘：方向键在座位间移动，回车或空格选座，+ 和 − 缩放。",
    mapHelpTouch: "轻点座位即可选座；拖动可移动，双指可缩放。",
    yourSeats: "已选座位",
    pickSeats: "请在座位图上选座，或使用“最佳座位”，或选择站票数量。",
    total: "合计",
    holdSeats: "锁定座位",
    bestTitle: "最佳可选座位",
    zone: "票档",
    quantity: "数量",
    accessibleOnly: "无障碍座位",
    findBest: "帮我选座",
    heldTitle: "座位已为您保留",
    expiresIn: "剩余时间",
    email: "电子邮箱",
    phone: "手机号（选填）",
    toPayment: "去支付",
    release: "释放座位",
    payTitle: "支付",
    amount: "金额",
    sandboxNote: "沙箱支付：不会发生真实扣款。",
    openBank: "打开支付页面（或用手机扫码）",
    confirmPay: "立即支付（沙箱）",
    payWith: "支付方式",
    scanNote: "请用微信扫描二维码支付。支付完成后本页面会自动跳转。",
    h5Note: "打开微信支付完成付款，然后返回本页面。",
    jsapiNote: "请在微信中确认支付。",
    otherNote: "打开支付页面完成付款。",
    payQrAlt: "微信支付二维码",
    ticketsTitle: "我的门票",
    ticketsNote: "入场时出示二维码。门票也已发送到您的邮箱。",
    buyMore: "继续购票",
    signinTitle: "您的电子邮箱",
    signinNote: "门票将发送到此邮箱，并在支付期间为您保留座位。",
    continue: "继续",
    cancel: "取消",
    live: "实时",
    connecting: "连接中…",
    offline: "重新连接中…",
    st_available: "可选",
    st_held: "已锁定",
    st_sold: "已售",
    st_reserved: "预留",
    st_blocked: "不可售",
    st_selected: "已选",
    st_mine: "为您保留",
    accessible: "无障碍座位",
    stage: "舞台",
    seatName: (s, r, n) => `${s}区 ${r}排 ${n}号`,
    box: (b) => `包厢 ${b}`,
    gaLeft: (n) => `余 ${n} 张`,
    gaSoldOut: "已售罄",
    limit: (n) => `每位购票人限购 ${n} 张。`,
    tooMany: (n) => `最多可选 ${n} 张。`,
    busy: (n) => `当前购票人数过多，您正在排队，${n} 秒后自动重试。`,
    notAvailable: "该座位不可选。",
    taken: (list) => `刚被他人选走：${list}。请重新选座。`,
    expired: "保留时间已到，座位已释放。请重新选座。",
    holdFailed: "锁座失败",
    ticketType: "票种",
    holderName: "观演人姓名（与证件一致）",
    idType: "证件类型",
    idNumber: "证件号码",
    realName: "实名制演出：请填写每位观演人的姓名和证件，入场时须一致。",
    idTypes: { cn_ric: "居民身份证", passport: "护照", hk_mo_permit: "港澳居民来往内地通行证", tw_permit: "台湾居民来往大陆通行证" },
    waitingPay: "等待支付结果…",
    paid: "支付成功，正在出票…",
    payFailed: "支付未完成",
    place: (area, i) => `${area} · 第 ${i} 张`,
    seat: "座位",
    area: "站票",
    holder: "观演人",
    signinFailed: "无法创建账户",
    focusNone: "此处无座位",
    bestNone: "该票档已没有相邻的座位。",
    status: "状态",
    price: "票价",
  },
};

export function pickLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked === "zh" || asked === "en") return asked;
  const saved = localStorage.getItem("encore.lang");
  if (saved === "zh" || saved === "en") return saved;
  for (const lang of navigator.languages || [navigator.language || "en"]) {
    const low = lang.toLowerCase();
    if (low.startsWith("zh")) return "zh";
    if (low.startsWith("en")) return "en";
  }
  return "en";
}

export class I18n {
  constructor(lang) {
    this.set(lang);
  }

  set(lang) {
    this.lang = lang === "zh" ? "zh" : "en";
    this.texts = TEXTS[this.lang];
    document.documentElement.lang = this.lang === "zh" ? "zh-CN" : "en";
  }

  t(key, ...args) {
    const value = this.texts[key] ?? TEXTS.en[key] ?? key;
    return typeof value === "function" ? value(...args) : value;
  }

  money(cents, currency) {
    const locale = this.lang === "zh" ? "zh-CN" : "en-GB";
    return new Intl.NumberFormat(locale, { style: "currency", currency }).format(cents / 100);
  }

  /** Fill every element marked data-i18n (text) or data-i18n-label (aria-label). */
  apply(root = document) {
    for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = this.t(el.dataset.i18n);
    for (const el of root.querySelectorAll("[data-i18n-label]")) {
      el.setAttribute("aria-label", this.t(el.dataset.i18nLabel));
      el.title = this.t(el.dataset.i18nLabel);
    }
  }
}
