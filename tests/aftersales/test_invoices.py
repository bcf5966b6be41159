"""Invoices (发票): title and tax-number rules, gap-free numbers per promoter under concurrent
requests, the PDF read back with pdftotext (every field), e-mailed as an attachment, and the
credit (红字) invoice issued by itself on a refund."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from box_office.core.errors import RuleError
from box_office.core.invoice_rules import check_title, credit_lines, printed_number
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy

USCC = "91110108551385082Q"  # a well-formed unified social credit code (check character Q)


def pdf_text(data: bytes, tmp: Path) -> str:
    path = tmp / "invoice.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60
    )
    return out.stdout.decode()


def test_title_rules() -> None:
    company = check_title("company", "  北京 某某 文化有限公司 ", USCC.lower(), "fin@example.test")
    assert (company.name, company.tax_number) == ("北京 某某 文化有限公司", USCC)
    assert check_title("individual", "张三", None, "z@example.test").tax_number is None
    for args, code in [
        (("company", "Acme", None, "a@example.test"), "bad_tax_number"),
        (("company", "Acme", USCC[:-1] + "A", "a@example.test"), "bad_tax_number"),  # wrong check character
        (("company", "Acme", "123", "a@example.test"), "bad_tax_number"),
        (("government", "Acme", USCC, "a@example.test"), "bad_title"),
        (("individual", "   ", None, "a@example.test"), "bad_title"),
        (("individual", "Li", None, "nobody"), "bad_email"),
    ]:
        with pytest.raises(RuleError) as caught:
            check_title(*args)
        assert caught.value.code == code
    assert printed_number(7, 42) == "000700000042"


def test_credit_lines_never_exceed_the_original() -> None:
    original = [
        {"ticket_id": "a", "name": "A", "amount_cents": 1000},
        {"ticket_id": "b", "name": "B", "amount_cents": 500},
    ]
    assert credit_lines(original, ["b"], 500, 0) == [{"ticket_id": "b", "name": "B", "amount_cents": -500}]
    assert sum(line["amount_cents"] for line in credit_lines(original, ["a", "b"], 9999, 0)) == -1500
    assert sum(line["amount_cents"] for line in credit_lines(original, ["a"], 1000, 1200)) == -300
    assert credit_lines(original, ["a"], 1000, 1500) == []


def _ask(buyer: Any, order_id: int, **body: Any) -> Any:
    payload = {"title_type": "company", "title": "上海某某文化传媒有限公司", "tax_number": USCC,
               "email": "finance@example.test"} | body  # fmt: skip
    return buyer.post(f"/api/orders/{order_id}/invoice", json=payload)


def test_invoice_pdf_mail_and_credit_on_refund(server: Server, tmp_path: Path) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    done = buy(concert, buyer, seats=["A-3-4", "A-3-5"])
    bad = _ask(buyer, done["id"], tax_number="91110108551385082A")
    assert bad.status_code == 422 and bad.json()["code"] == "bad_tax_number"
    assert _ask(concert.buyer(), done["id"]).status_code == 403
    made = _ask(buyer, done["id"], email=f"inv-{done['id']}@example.test")
    assert made.status_code == 201, made.text
    invoice = made.json()
    assert invoice["kind"] == "blue" and invoice["amount_cents"] == 40000
    assert _ask(buyer, done["id"]).json()["code"] == "already_invoiced"

    text = pdf_text(buyer.get(invoice["pdf_url"]).content, tmp_path)
    for field in (
        "发票 Invoice",
        invoice["number"],
        time.strftime("%Y-%m-%d", time.gmtime(invoice["issued_at"])),
        invoice["seller"],
        "上海某某文化传媒有限公司",
        "企业 Company",
        USCC,
        f"inv-{done['id']}@example.test",
        str(done["id"]),
        "A-3-4",
        "A-3-5",
        "200.00 CNY",
        "400.00 CNY",
        "Test Concert",
    ):
        assert field in text, (field, text)
    assert concert.buyer().get(invoice["pdf_url"]).status_code == 403
    assert concert.org.get(f"/api/organiser/invoices/{invoice['id']}.pdf").status_code == 200
    assert Concert(server).org.get(f"/api/organiser/invoices/{invoice['id']}.pdf").status_code == 403

    deadline = time.monotonic() + 10
    mails: list[Any] = []
    while not mails and time.monotonic() < deadline:
        mails = [m for m in server.smtp.messages if m["To"] == f"inv-{done['id']}@example.test"]
        time.sleep(0.05)
    assert mails, "the invoice was not e-mailed"
    attached = [p for p in mails[0].iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(attached) == 1 and invoice["number"] in pdf_text(attached[0].get_content(), tmp_path)

    # a refund of one ticket: the credit invoice follows by itself, for exactly what came back
    seat = next(t for t in done["tickets"] if t["seat"] == "A-3-5")
    refunded = buyer.post(f"/api/orders/{done['id']}/refund-requests", json={"ticket_ids": [seat["id"]]})
    assert refunded.status_code == 201, refunded.text
    listed = buyer.get(f"/api/orders/{done['id']}/invoices").json()
    assert [i["kind"] for i in listed] == ["blue", "red"]
    credit = listed[1]
    assert credit["amount_cents"] == -refunded.json()["amount_cents"] == -20000
    assert credit["original_number"] == invoice["number"] and credit["reason"] == "sales_return"
    assert credit["sequence"] == invoice["sequence"] + 1
    text = pdf_text(buyer.get(credit["pdf_url"]).content, tmp_path)
    for field in ("红字发票 Credit invoice", credit["number"], invoice["number"], "销货退回 Refund", "A-3-5",
                  "-200.00 CNY", USCC):  # fmt: skip
        assert field in text, (field, text)
    assert "A-3-4" not in text
    deadline = time.monotonic() + 10
    credits: list[Any] = []
    while not credits and time.monotonic() < deadline:
        credits = [m for m in server.smtp.messages if credit["number"] in str(m["Subject"])]
        time.sleep(0.05)
    assert credits, "the credit invoice was not e-mailed"
    attached = [p for p in credits[0].iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(attached) == 1 and "红字发票" in pdf_text(attached[0].get_content(), tmp_path)


def test_numbers_are_gap_free_per_promoter_under_concurrency(server: Server) -> None:
    concert = Concert(server)
    other = Concert(server)
    orders = []
    for index in range(6):
        buyer = concert.buyer()
        orders.append((buyer, buy(concert, buyer, seats=[f"A-2-{index + 1}"])["id"]))
    buyer_b = other.buyer()
    other_order = buy(other, buyer_b, seats=["A-2-1"])["id"]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda pair: _ask(pair[0], pair[1]), [*orders, (buyer_b, other_order)]))
    assert all(r.status_code == 201 for r in results), [r.text for r in results]
    mine = sorted(r.json()["sequence"] for r in results[:-1])
    assert mine == list(range(1, 7))  # gap-free, each number once
    assert results[-1].json()["sequence"] == 1  # the other promoter counts on its own


def test_whole_order_cancel_issues_the_credit_too(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    done = buy(concert, buyer, seats=["A-3-9"])
    assert _ask(buyer, done["id"], title_type="individual", title="李四", tax_number=None).status_code == 201
    assert buyer.post(f"/api/orders/{done['id']}/cancel").json()["status"] == "refunded"
    listed = buyer.get(f"/api/orders/{done['id']}/invoices").json()
    assert [(i["kind"], i["amount_cents"], i["reason"]) for i in listed] == [
        ("blue", 20000, None),
        ("red", -20000, "sales_return"),
    ]
