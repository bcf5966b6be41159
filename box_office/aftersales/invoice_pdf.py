"""An invoice as a PDF (fpdf2), Chinese and English, in Noto Sans CJK (Debian fonts-noto-cjk).

Every field is printed as text (not drawn), so the PDF can be read back (pdftotext) and searched.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fpdf import FPDF

from box_office.core.invoice_rules import CREDIT_REASONS

FONT_CANDIDATES = (
    # (path, index of the Simplified Chinese face in the collection)
    (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 2),
    (Path("/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc"), 2),
    (Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"), 2),
)


class FontMissing(RuntimeError):
    """No CJK font on this machine (install Debian's fonts-noto-cjk)."""


def _font() -> tuple[Path, int]:
    for path, index in FONT_CANDIDATES:
        if path.exists():
            return path, index
    raise FontMissing("no Noto Sans CJK font found: install fonts-noto-cjk")


def _money(cents: int, currency: str) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d} {currency}"


def render(invoice: dict[str, Any]) -> bytes:
    """The PDF of one invoice view (``aftersales.invoices.invoice_view``)."""
    path, index = _font()
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("NotoSansCJK", fname=str(path), collection_font_number=index)
    pdf.add_page()
    pdf.set_font("NotoSansCJK", size=18)
    red = invoice["kind"] == "red"
    heading = "红字发票 Credit invoice" if red else "发票 Invoice"
    pdf.cell(0, 12, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("NotoSansCJK", size=10)
    issued = time.strftime("%Y-%m-%d", time.gmtime(invoice["issued_at"]))
    rows = [
        ("发票号码 Number", invoice["number"]),
        ("开票日期 Date", issued),
        ("销售方 Seller", invoice["seller"]),
        ("购买方 Buyer", invoice["title"]),
        ("抬头类型 Title type", "企业 Company" if invoice["title_type"] == "company" else "个人 Individual"),
        ("纳税人识别号 Tax number", invoice["tax_number"] or "-"),
        ("电子邮箱 E-mail", invoice["email"]),
        ("订单 Order", str(invoice["order_id"])),
    ]
    if red:
        zh, en = CREDIT_REASONS.get(invoice["reason"], (invoice["reason"], invoice["reason"]))
        rows += [
            ("原发票号码 Original number", invoice["original_number"] or "-"),
            ("红冲原因 Reason", f"{zh} {en}"),
        ]
    for label, value in rows:
        pdf.cell(55, 7, label)
        pdf.cell(0, 7, str(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("NotoSansCJK", size=10)
    pdf.cell(130, 7, "项目 Item", border="B")
    pdf.cell(0, 7, "金额 Amount", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    for line in invoice["lines"]:
        pdf.cell(130, 7, line["name"])
        pdf.cell(
            0, 7, _money(line["amount_cents"], invoice["currency"]), align="R", new_x="LMARGIN", new_y="NEXT"
        )
    pdf.set_font("NotoSansCJK", size=12)
    pdf.cell(130, 9, "合计 Total", border="T")
    pdf.cell(
        0,
        9,
        _money(invoice["amount_cents"], invoice["currency"]),
        border="T",
        align="R",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
