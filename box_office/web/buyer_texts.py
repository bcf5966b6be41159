"""The buyer pages' words, in Chinese and English (names, never codes, in what buyers see)."""

from __future__ import annotations

from typing import Any

STATES = {
    "zh": {
        "held": "已锁座",
        "pending_payment": "待付款",
        "paid": "已付款",
        "ticketed": "已出票",
        "refunded": "已退款",
        "cancelled": "已取消",
        "expired": "已过期",
        "valid": "有效",
        "revoked": "已作废",
        "pending": "处理中",
    },
    "en": {
        "held": "Held",
        "pending_payment": "Awaiting payment",
        "paid": "Paid",
        "ticketed": "Tickets issued",
        "refunded": "Refunded",
        "cancelled": "Cancelled",
        "expired": "Expired",
        "valid": "Valid",
        "revoked": "Void",
        "pending": "Processing",
    },
}

TEXTS: dict[str, dict[str, Any]] = {
    "zh": {
        "orders": "我的订单",
        "tickets": "我的门票",
        "sign_in": "登录 / 注册",
        "phone": "手机号",
        "send_code": "获取验证码",
        "email_abroad": "没有中国大陆手机号？用电子邮箱登录",
        "send_email_code": "发送邮箱验证码",
        "passkey_hint": "已在本机设置通行密钥（指纹或面容）？",
        "passkey_sign_in": "用通行密钥登录",
        "enter_code": "输入验证码",
        "code_sent_to": "验证码已发送至",
        "code": "6 位验证码",
        "confirm": "确认",
        "code_rules": "验证码 5 分钟内有效，最多可输错 5 次。",
        "my_orders": "我的订单",
        "no_orders": "还没有订单。",
        "order": "订单",
        "ticket_count": "张门票",
        "timeline": "订单进度",
        "venue": "场馆",
        "session": "场次",
        "paid": "实付",
        "zone": "区域",
        "seat": "座位",
        "price": "票价",
        "holder": "持票人",
        "state": "状态",
        "qr_alt": "入场二维码",
        "after_sales": "售后",
        "coming": "即将开放",
        "refund": "申请退票",
        "exchange": "换票",
        "transfer": "转赠",
        "invoice": "开发票",
        "my_tickets": "我的门票",
        "no_tickets": "还没有有效门票。",
        "offline_hint": "打开一次后，无网络时也能出示门票二维码。可添加到主屏幕。",
        "saved_offline": "门票已保存在本机，离线可用。",
        "general_admission": "站席",
        "confirm_it_is_you": "确认是您本人",
        "step_up_why": "退票、转赠、更换持票人和大额付款需要再次验证。我们会向您的手机发送验证码。",
        "use_passkey": "用通行密钥确认",
        "account": "账户",
        "passkeys": "通行密钥",
        "add_passkey": "添加通行密钥（指纹或面容）",
        "passkey_added": "通行密钥已添加。",
        "sign_out": "退出登录",
        "not_found": "页面不存在",
        "not_found_text": "没有找到您要的内容。",
        "back": "返回我的订单",
        "errors": {
            "otp_wrong": "验证码不正确，请重试。",
            "otp_locked": "输错次数过多，请重新获取验证码。",
            "otp_expired": "验证码已过期，请重新获取。",
            "otp_used": "该验证码已使用，请重新获取。",
            "otp_unknown": "请重新获取验证码。",
            "otp_throttled": "获取验证码过于频繁，请稍后再试。",
            "otp_unavailable": "验证码暂时无法发送，请稍后再试。",
            "phone_invalid": "请输入正确的手机号（境外号码请加 + 和国家代码）。",
            "email_invalid": "请输入正确的电子邮箱。",
            "csrf": "页面已过期，请刷新后重试。",
        },
    },
    "en": {
        "orders": "My orders",
        "tickets": "My tickets",
        "sign_in": "Sign in / sign up",
        "phone": "Mobile number",
        "send_code": "Text me a code",
        "email_abroad": "No mainland China number? Sign in with e-mail",
        "send_email_code": "E-mail me a code",
        "passkey_hint": "Set up a passkey (fingerprint or face) on this device?",
        "passkey_sign_in": "Sign in with a passkey",
        "enter_code": "Enter the code",
        "code_sent_to": "We sent a code to",
        "code": "6-digit code",
        "confirm": "Confirm",
        "code_rules": "The code works for 5 minutes; after 5 wrong tries ask for a new one.",
        "my_orders": "My orders",
        "no_orders": "No orders yet.",
        "order": "Order",
        "ticket_count": "ticket(s)",
        "timeline": "Progress",
        "venue": "Venue",
        "session": "Session",
        "paid": "Paid",
        "zone": "Zone",
        "seat": "Seat",
        "price": "Price",
        "holder": "Holder",
        "state": "State",
        "qr_alt": "Entry QR code",
        "after_sales": "After-sales",
        "coming": "coming soon",
        "refund": "Request a refund",
        "exchange": "Exchange",
        "transfer": "Transfer",
        "invoice": "Invoice",
        "my_tickets": "My tickets",
        "no_tickets": "No valid tickets yet.",
        "offline_hint": "After one visit your QR codes open here with no signal. "
        "Add this page to your home screen.",
        "saved_offline": "Tickets saved on this phone for offline use.",
        "general_admission": "General admission",
        "confirm_it_is_you": "Confirm it is you",
        "step_up_why": "Refunds, transfers, holder changes and large payments need a fresh confirmation. "
        "We will text a code to your phone.",
        "use_passkey": "Use my passkey",
        "account": "Account",
        "passkeys": "Passkeys",
        "add_passkey": "Add a passkey (fingerprint or face)",
        "passkey_added": "Passkey added.",
        "sign_out": "Sign out",
        "not_found": "Page not found",
        "not_found_text": "We could not find what you asked for.",
        "back": "Back to my orders",
        "errors": {
            "otp_wrong": "That code is not right. Try again.",
            "otp_locked": "Too many wrong codes: ask for a new one.",
            "otp_expired": "The code has expired: ask for a new one.",
            "otp_used": "That code was used already: ask for a new one.",
            "otp_unknown": "Ask for a new code.",
            "otp_throttled": "Too many codes asked for: try again a little later.",
            "otp_unavailable": "The code cannot be sent right now: try again shortly.",
            "phone_invalid": "Enter a mobile number "
            "(+ and the country code if it is not a mainland China number).",
            "email_invalid": "Enter an e-mail address.",
            "csrf": "This page has expired: reload it and try again.",
        },
    },
}
for _lang in TEXTS:
    TEXTS[_lang]["states"] = STATES[_lang]


def language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """``?lang=`` first, then the switch's cookie, then the browser's languages; Chinese by default."""
    for choice in (query, cookie):
        if choice in ("zh", "en"):
            return choice
    for part in (accept_language or "")[:500].split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "zh"
