# ruff: noqa: E501  (the FAQ is prose in two languages: lines follow the sentences)
"""A starting FAQ for a concert, in Chinese and English, that a promoter adapts to the event.

The console offers it as a template (``GET /api/support/faq-template``) and the demo concert
uses it. ``keywords`` are the other words buyers use for the topic: they are part of what the
bot searches, and the promoter edits them like the rest.
"""

from __future__ import annotations

from typing import Any

TEMPLATE: list[dict[str, Any]] = [
    {
        "topic": "doors",
        "question_zh": "几点开始入场？",
        "question_en": "What time do doors open?",
        "answer_zh": "演出当天 18:00 开始检票入场，19:30 演出开始。建议提前 1 小时到达，开演后入场需听从工作人员安排。",
        "answer_en": "Doors open at 18:00 on the day; the show starts at 19:30. Come an hour early; "
        "after the start, staff seat late-comers between songs.",
        "keywords": "开门 入场时间 进场 进去 提前 多久 检票 几点 开场 迟到 到场 when get in doors open time start late arrive gate entry early",
    },
    {
        "topic": "bags",
        "question_zh": "可以带包进场吗？有寄存吗？",
        "question_en": "Can I bring a bag? Is there a cloakroom?",
        "answer_zh": "可携带不超过 A4 大小的小包；大包、行李箱、自拍杆、专业相机、充电宝以外的电池、玻璃瓶、打火机不得入场。场馆北门设有寄存处（每件 20 元）。",
        "answer_en": "Small bags up to A4 size are allowed. Large bags, suitcases, selfie sticks, professional "
        "cameras, glass bottles and lighters are not. A cloakroom at the north gate keeps items for CNY 20 each.",
        "keywords": "包 背包 双肩包 书包 行李 行李箱 寄存 存包 安检 违禁品 充电宝 打火机 "
        "bag backpack luggage suitcase cloakroom locker security check prohibited items power bank",
    },
    {
        "topic": "children",
        "question_zh": "儿童可以入场吗？需要买票吗？",
        "question_en": "Can children come? Do they need a ticket?",
        "answer_zh": "1.2 米以上儿童须购票入场，一人一票；1.2 米以下儿童谢绝入场。未满 16 岁须由成人陪同。",
        "answer_en": "Children taller than 1.2 m need their own ticket; children under 1.2 m are not admitted. "
        "Under-16s must come with an adult.",
        "keywords": "儿童 小孩 孩子 宝宝 婴儿 未成年 未成年人 多大 岁 身高 年龄 学生 独自 一个人 child children kid kids baby toddler age "
        "minor height teenager son daughter family limit year old alone",
    },
    {
        "topic": "parking",
        "question_zh": "场馆有停车场吗？",
        "question_en": "Is there parking at the venue?",
        "answer_zh": "场馆 P1、P2 停车场共 800 个车位，演出当天 10 元/小时，先到先得；散场时拥堵，建议乘坐地铁。",
        "answer_en": "Car parks P1 and P2 have 800 spaces, CNY 10 per hour on show day, first come first served. "
        "Leaving is slow after the show: the metro is quicker.",
        "keywords": "停车 停车场 车位 开车 自驾 停车费 parking park car drive driving garage space fee cost price",
    },
    {
        "topic": "transport",
        "question_zh": "怎么去场馆？坐地铁怎么走？",
        "question_en": "How do I get to the venue by public transport?",
        "answer_zh": "乘地铁 2 号线到体育中心站 B 出口，步行 5 分钟。散场后地铁加开班次至 23:30。公交 15、38 路体育中心站下车。",
        "answer_en": "Take metro line 2 to Sports Centre, exit B, then walk 5 minutes. Extra trains run until 23:30 "
        "after the show. Buses 15 and 38 stop at Sports Centre.",
        "keywords": "地铁 公交 交通 路线 怎么走 打车 出租车 地址 位置 metro subway bus train taxi address "
        "directions route location station",
    },
    {
        "topic": "real_name",
        "question_zh": "是实名制购票吗？入场要带身份证吗？",
        "question_en": "Are tickets in my real name? Do I need ID to enter?",
        "answer_zh": "本场实行实名制购票、实名入场：一证一票，购票人须与观演人一致。入场时请携带购票时登记的身份证件原件，人、证、票一致方可入场。",
        "answer_en": "This show is real-name: one ID per ticket, and the holder must be the person named on it. "
        "Bring the original ID you registered with; name, ID and ticket must match at the gate.",
        "keywords": "实名 实名制 身份证 证件 护照 观演人 购票人 一致 一证一票 一张 几张 人证票 名字 改名 忘带 没带 real name id card passport "
        "identity document holder name identification forgot match",
    },
    {
        "topic": "refund_policy",
        "question_zh": "退票规则是什么？",
        "question_en": "What is the refund policy?",
        "answer_zh": "未付款订单可随时免费取消。已付款订单在演出开始前、且票未检票入场时可整单申请退票，票款原路退回；演出开始后或已入场的票不予退票。演出取消将全额退款。",
        "answer_en": "Unpaid orders can be cancelled free at any time. A paid order can be refunded as a whole "
        "before the show starts, as long as no ticket of it has been scanned at the gate; the money goes back "
        "the way you paid. No refunds after the start or after entry. If the show is cancelled, everyone is "
        "refunded in full.",
        "keywords": "退票 退款 规则 政策 手续费 退钱 取消 演出取消 不能去 到账 多久 原路 refund policy rules cancel cancellation "
        "fee money back cancelled show happens how long refunded",
    },
    {
        "topic": "transfer",
        "question_zh": "票可以转让给朋友吗？",
        "question_en": "Can I give my ticket to a friend?",
        "answer_zh": "实名制演出门票不得转赠、转售。若无法到场，请在演出开始前申请退票。",
        "answer_en": "Real-name tickets cannot be given away or resold. If you cannot go, ask for a refund "
        "before the show starts.",
        "keywords": "转让 转赠 转售 转卖 卖 送人 朋友 别人 替 代替 换 观演人 过户 二手 黄牛 transfer give friend resell resale sell "
        "someone else another person",
    },
    {
        "topic": "entry_process",
        "question_zh": "怎么入场？要打印纸质票吗？",
        "question_en": "How do I get in? Do I need a printed ticket?",
        "answer_zh": "无需纸质票：入场时在闸机出示手机上的动态二维码（每 15 秒更新，截图无效），并出示身份证件。请提前打开票夹页面。",
        "answer_en": "No paper ticket needed: show the live QR code on your phone at the gate (it changes every "
        "15 seconds, so screenshots don't work) together with your ID. Open the ticket page before you queue.",
        "keywords": "入场 怎么进 二维码 纸质票 打印 截图 闸机 扫码 扫 检票 电子票 手机 qr code paper print printed screenshot "
        "scan gate phone e-ticket",
    },
    {
        "topic": "food",
        "question_zh": "可以带吃的喝的进去吗？",
        "question_en": "Can I bring food and drinks?",
        "answer_zh": "不可携带外带食品、酒精饮料和玻璃瓶；可携带一瓶 500ml 以下未开封的瓶装水。场内有饮品和小食售卖。",
        "answer_en": "Outside food, alcohol and glass bottles are not allowed; one sealed water bottle up to "
        "500 ml is fine. Drinks and snacks are sold inside.",
        "keywords": "吃 吃的 喝 食物 零食 饮料 水 矿泉水 酒 外卖 卖 food drink drinks water snack alcohol beer bottle eat",
    },
    {
        "topic": "photography",
        "question_zh": "可以拍照录像吗？",
        "question_en": "Can I take photos or videos?",
        "answer_zh": "可用手机拍照，禁止使用闪光灯；禁止专业相机、长焦镜头和全程录像直播。",
        "answer_en": "Phone photos are fine without flash. Professional cameras, zoom lenses and filming or "
        "live-streaming the whole show are not allowed.",
        "keywords": "拍照 照相 录像 录视频 相机 单反 闪光灯 直播 photo photos picture camera video film filming record "
        "flash livestream",
    },
    {
        "topic": "accessibility",
        "question_zh": "有无障碍座位吗？轮椅可以进吗？",
        "question_en": "Is the venue wheelchair accessible?",
        "answer_zh": "场馆设有无障碍通道和轮椅席位（购票时选择带无障碍标记的座位），每位轮椅观众可带一名陪同人员坐陪同座。",
        "answer_en": "The venue has step-free entrances and wheelchair spaces (choose seats marked accessible "
        "when you buy); each wheelchair user may bring one companion in the companion seat.",
        "keywords": "无障碍 轮椅 残疾 残障 陪同 电梯 老人 wheelchair accessible accessibility disabled disability "
        "companion elevator lift step-free",
    },
    {
        "topic": "invoice",
        "question_zh": "怎么开发票？",
        "question_en": "How do I get an invoice (fapiao)?",
        "answer_zh": "演出结束前可在订单页申请电子发票（数电票），填写抬头和税号，主办方在 24 小时内开具并发送到您的邮箱。",
        "answer_en": "Before the show ends, request an electronic invoice (fapiao) from your order page with "
        "the title and tax ID; the promoter issues it within 24 hours and e-mails it to you.",
        "keywords": "发票 开票 开 抬头 税号 报销 公司 电子发票 数电票 专票 普票 invoice fapiao receipt tax id title "
        "company reimbursement",
    },
    {
        "topic": "duration",
        "question_zh": "演出大概多长时间？",
        "question_en": "How long is the show?",
        "answer_zh": "演出时长约 150 分钟（含返场），无中场休息。",
        "answer_en": "The show runs about 150 minutes including the encore, with no interval.",
        "keywords": "时长 多长时间 多久 几个小时 小时 结束 几点结束 散场 中场 休息 返场 how long length duration hour hours end ends finish "
        "interval intermission encore concert",
    },
    {
        "topic": "merch",
        "question_zh": "现场有周边卖吗？",
        "question_en": "Is there merchandise at the venue?",
        "answer_zh": "官方周边在场馆东门售卖，17:00 开始，支持微信、支付宝和银行卡。",
        "answer_en": "Official merchandise is sold at the east gate from 17:00; WeChat Pay, Alipay and cards accepted.",
        "keywords": "周边 应援 荧光棒 手幅 纪念品 T恤 merch merchandise t-shirt shirt souvenir light stick sticks lightstick sell",
    },
]
