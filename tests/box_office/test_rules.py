"""The box office's structural rules, each checked so that breaking it fails a test:

- only the ledger (``sales/ledger.py``) writes seat, GA and hold state: a scan of the source,
  and every statement that reaches the database during a whole sale, refund and organiser
  change, traced back to the module that issued it;
- every order status change goes through the state machine (``sales/order_state.py`` applying
  ``core/orders.py``): an illegal move raises, and no other module writes an order's status or
  compares it with a string literal;
- ``api/``, ``web/`` and ``notify/`` hold no SQL;
- one module validates and digests holder identities (``core/holders.py``).
"""

from __future__ import annotations

import ast
import re
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

import box_office
from box_office.core.orders import ORDER_STATES, PAID, REFUNDED, IllegalMove
from box_office.sales import order_state
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy, hold, order, pay, wait_status

PACKAGE = Path(box_office.__file__).parent
LEDGER = PACKAGE / "sales" / "ledger.py"
ORDER_STATE = PACKAGE / "sales" / "order_state.py"
STOCK_MODELS = {"SessionSeat", "SessionGa", "Hold", "HoldGa"}
STOCK_TABLES = ("session_seats", "session_ga", "holds", "hold_ga")


def sources(under: Path = PACKAGE) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(under.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _called(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        return (
            func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        )
    return None


def stock_writes(tree: ast.Module) -> list[int]:
    """Lines that write a stock table: ``insert/update/delete(<stock model>)`` or ``<stock model>(...)``."""
    lines = []
    for node in ast.walk(tree):
        name = _called(node)
        if name in ("insert", "update", "delete") and isinstance(node, ast.Call) and node.args:
            target = node.args[0]
            if isinstance(target, ast.Name) and target.id in STOCK_MODELS:
                lines.append(node.lineno)
        if name in STOCK_MODELS:
            lines.append(node.lineno)
    return lines


def _is_order_status(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "status"
        and isinstance(node.value, ast.Name)
        and node.value.id == "Order"
    )


def _literal_states(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Constant) and n.value in ORDER_STATES for n in ast.walk(node))


def order_status_writes_and_literals(tree: ast.Module) -> list[int]:
    """Lines that write ``orders.status`` (``update(Order)...values(status=...)``) or compare
    ``Order.status`` with a string literal instead of a ``core.orders`` constant."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values":
            chain = node.func.value
            while isinstance(chain, ast.Call) and isinstance(chain.func, ast.Attribute):
                chain = chain.func.value
            if (
                isinstance(chain, ast.Call)
                and _called(chain) == "update"
                and chain.args
                and isinstance(chain.args[0], ast.Name)
                and chain.args[0].id == "Order"
                and any(k.arg == "status" for k in node.keywords)
            ):
                lines.append(node.lineno)
        if (
            isinstance(node, ast.Compare)
            and any(_is_order_status(n) for n in [node.left, *node.comparators])
            and _literal_states(node)
        ):
            lines.append(node.lineno)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("in_", "not_in")
            and _is_order_status(node.func.value)
            and any(_literal_states(a) for a in node.args)
        ):
            lines.append(node.lineno)
    return lines


_SQL_NAMES = {"select", "insert", "update", "delete", "text"}


def sql_uses(tree: ast.Module) -> list[int]:
    """Lines with SQL or direct database access: statement builders from sqlalchemy, the models,
    transactions opened on the context's database, ``.execute(...)``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("sqlalchemy") and node.module != "sqlalchemy.exc":
                lines.append(node.lineno)
            if node.module.startswith("box_office.store"):
                lines.append(node.lineno)
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("read", "write")
            and isinstance(node.value, ast.Attribute)
        ) and node.value.attr == "db":
            lines.append(node.lineno)
        if isinstance(node, ast.Attribute) and node.attr == "execute":
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _SQL_NAMES:
            lines.append(node.lineno)
    return lines


def test_the_scanners_see_what_they_look_for() -> None:
    """Each scanner flags a small example of the rule broken (so a passing scan means something)."""
    bad = ast.parse(
        "db.execute(update(SessionSeat).values(status='sold'))\n"
        "db.add(Hold(status='active'))\n"
        "db.execute(update(Order).where(Order.id == 1).values(status=PAID))\n"
        "x = select(Order).where(Order.status == 'paid')\n"
        "y = select(Order).where(Order.status.in_(('paid', 'ticketed')))\n"
        "from sqlalchemy import select\n"
        "with ctx.db.read() as db: pass\n"
    )
    assert sorted(stock_writes(bad)) == [1, 2]
    assert sorted(order_status_writes_and_literals(bad)) == [3, 4, 5]
    assert {6, 7, 1} <= set(sql_uses(bad))


def test_only_the_ledger_writes_seat_ga_and_hold_state_in_the_source() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): lines
        for path, tree in sources()
        if path != LEDGER and (lines := stock_writes(tree))
    }
    assert offenders == {}


def test_order_status_is_written_only_by_the_state_machine_and_never_as_a_literal() -> None:
    offenders = {}
    for path, tree in sources():
        if path == PACKAGE / "core" / "orders.py":
            continue
        lines = order_status_writes_and_literals(tree)
        if path == ORDER_STATE:  # its UPDATEs are the state machine's own moves
            lines = [n for n in lines if n not in _update_lines(tree)]
        if lines:
            offenders[str(path.relative_to(PACKAGE))] = lines
    assert offenders == {}


def _update_lines(tree: ast.Module) -> set[int]:
    return {
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "values"
    }


def test_an_illegal_order_move_raises_before_anything_is_written() -> None:
    with pytest.raises(IllegalMove):
        order_state.move_if(None, 1, REFUNDED, PAID)  # type: ignore[arg-type]  # no database needed
    with pytest.raises(IllegalMove):
        order_state.move_if(None, 1, ("paid", "expired"), "ticketed")  # type: ignore[arg-type]


@pytest.mark.parametrize("layer", ["api", "web", "notify"])
def test_routes_pages_and_notifications_hold_no_sql(layer: str) -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): lines
        for path, tree in sources(PACKAGE / layer)
        if (lines := sql_uses(tree))
    }
    assert offenders == {}


def test_one_module_handles_holder_identities() -> None:
    """Parsing, normalising and digesting an ID happen in core/holders.py only."""
    users = sorted(
        str(path.relative_to(PACKAGE))
        for path, tree in sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "ticket_format.identity"
    )
    assert users == ["core/holders.py"]


# ------------------------------------------------------------------ the same rules, at run time

_WRITE = re.compile(r"^\s*(UPDATE|INSERT INTO|DELETE FROM)\s+\"?(\w+)\"?", re.IGNORECASE)


class Writers:
    """Every write statement on the stock tables and on orders.status, with the box office
    module that issued it (the innermost frame under ``box_office/`` outside ``store/``)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def __call__(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        found = _WRITE.match(statement)
        if found is None:
            return
        table = found.group(2).lower()
        if table not in STOCK_TABLES and not (table == "orders" and re.search(r"\bstatus\s*=", statement)):
            return
        frames = [
            f.filename
            for f in traceback.extract_stack()
            if f"{Path('box_office')}/" in f.filename
            and "/store/" not in f.filename
            and "/tests/" not in f.filename
        ]
        writer = str(Path(frames[-1]).relative_to(PACKAGE)) if frames else "?"
        self.seen.append((table, found.group(1).upper(), writer))


@pytest.fixture
def writers() -> Iterator[Writers]:
    seen = Writers()
    event.listen(Engine, "before_cursor_execute", seen)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", seen)


def test_every_stock_and_order_status_write_of_a_sale_comes_from_the_ledger_and_the_state_machine(
    server: Server, writers: Writers
) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    buy(concert, buyer, seats=["A-1-1", "A-1-2"], ga=[{"area": "FLOOR", "quantity": 2}])  # hold, sell, issue
    released = hold(buyer, concert.session_id, seats=["A-1-5"]).json()
    assert buyer.delete(f"/api/holds/{released['id']}").status_code == 200
    unpaid = order(buyer, hold(buyer, concert.session_id, seats=["A-1-6"]).json()["id"]).json()
    assert buyer.post(f"/api/orders/{unpaid['id']}/cancel").json()["status"] == "cancelled"
    paid = order(
        buyer, hold(buyer, concert.session_id, ga=[{"area": "FLOOR", "quantity": 1}]).json()["id"]
    ).json()
    pay(buyer, paid["id"])
    assert wait_status(buyer, paid["id"], "ticketed")["status"] == "ticketed"
    assert buyer.post(f"/api/orders/{paid['id']}/cancel").json()["status"] == "refunded"
    org, session = concert.org, concert.session_id
    assert org.post(
        f"/api/sessions/{session}/seats/status", json={"seats": ["A-2-1"], "status": "blocked"}
    ).is_success
    assert org.post(
        f"/api/sessions/{session}/seats/reprice", json={"seats": ["A-2-2"], "zone": "VIP"}
    ).is_success
    assert org.post(f"/api/sessions/{session}/seats/remove", json={"seats": ["A-2-3"]}).is_success
    assert org.put(f"/api/sessions/{session}/ga/FLOOR", json={"capacity": 15}).is_success
    writers_by_table = {(table, writer) for table, _verb, writer in writers.seen}
    assert {table for table, _ in writers_by_table} >= {*STOCK_TABLES, "orders"}, writers.seen
    stray = {
        (table, writer)
        for table, writer in writers_by_table
        if writer != ("sales/order_state.py" if table == "orders" else "sales/ledger.py")
    }
    assert stray == set(), f"written outside the ledger / state machine: {sorted(stray)}"


def test_one_definition_of_a_live_ticket_for_per_id_limits(server: Server) -> None:
    """A ticket of a cancelled (or expired) order holds no place under the per-ID limit, at
    checkout and at a holder change alike (the holder change used to count it)."""
    concert = Concert(server, session={"real_name": True})  # one ticket per ID
    first, second = concert.buyer(), concert.buyer()
    holder = {"name": "张三", "id_type": "cn_ric", "id_number": "11010519491231002X"}
    other = {"name": "李四", "id_type": "cn_ric", "id_number": "110105198001010016"}
    dropped = order(
        first,
        hold(first, concert.session_id, seats=["A-3-8"]).json()["id"],
        tickets=[{"seat": "A-3-8", "holder": holder}],
    ).json()
    assert first.post(f"/api/orders/{dropped['id']}/cancel").json()["status"] == "cancelled"
    made = order(
        second,
        hold(second, concert.session_id, seats=["A-3-9"]).json()["id"],
        tickets=[{"seat": "A-3-9", "holder": other}],
    ).json()
    pay(second, made["id"])
    ticket = wait_status(second, made["id"], "ticketed")["tickets"][0]
    changed = second.put(f"/api/tickets/{ticket['id']}/holder", json=holder)
    assert changed.status_code == 200, changed.text
    # ... and now the ID holds a live ticket: a second one is refused, here and at checkout.
    third = concert.buyer()
    refused = order(
        third,
        hold(third, concert.session_id, seats=["A-3-10"]).json()["id"],
        tickets=[{"seat": "A-3-10", "holder": holder}],
    )
    assert refused.status_code == 409 and refused.json()["code"] == "limit_id"
