"""Reads the rows an event's numbers are made from, checked against who asks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session as Db

from box_office.analytics import numbers
from box_office.analytics.views import ViewCounter, WaitingPeaks
from box_office.catalog.ownership import owned_event
from box_office.console.tables import SeatmapView, WaitingRoomPeak
from box_office.context import Context
from box_office.errors import NotFound
from box_office.store.models import (
    Event,
    Hold,
    Order,
    Session,
    SessionGa,
    SessionSeat,
    Ticket,
    TicketType,
    Zone,
)


def event_report(
    ctx: Context,
    organiser_id: int,
    event_id: int,
    session_id: int | None = None,
    *,
    views: ViewCounter | None = None,
    waiting: WaitingPeaks | None = None,
) -> dict[str, Any]:
    """Everything the dashboard, the API and the exports show, for the event or one of its sessions."""
    if views is not None:
        views.flush(ctx)
    if waiting is not None:
        waiting.flush(ctx)
    now = ctx.now()
    with ctx.db.read() as db:
        event = owned_event(db, organiser_id, event_id)
        sessions = db.scalars(
            select(Session).where(Session.event_id == event_id).order_by(Session.starts_at)
        ).all()
        session_ids = [s.id for s in sessions]
        if session_id is not None:
            if session_id not in session_ids:
                raise NotFound(f"no session {session_id} in event {event_id}")
            session_ids = [session_id]
        report, meta = _report(db, event, session_ids, sessions, now)
    return {
        "event": {"id": event.id, "name": event.name, "currency": event.currency},
        "sessions": [
            {"id": s.id, "name": s.name, "starts_at": s.starts_at, "sale_starts_at": s.sale_starts_at}
            for s in sessions
        ],
        "session_id": session_id,
        "generated_at": now,
        **meta,
        **as_json(report),
    }


def _report(
    db: Db, event: Event, session_ids: list[int], sessions: Any, now: float
) -> tuple[numbers.Report, dict[str, Any]]:
    zones = db.execute(
        select(Zone.id, Zone.code, Zone.name).where(Zone.event_id == event.id).order_by(Zone.id)
    ).all()
    zone_code = {z.id: z.code for z in zones}
    zone_names = {z.code: z.name for z in zones}
    type_names = dict(
        db.execute(
            select(TicketType.code, TicketType.name)
            .where(TicketType.event_id == event.id)
            .order_by(TicketType.id)
        ).all()
    )
    # seats grouped in SQL by zone, status and whether a hold is still running (one row per
    # group, not per seat: a 20,000-seat arena is a handful of rows)
    live = case((SessionSeat.hold_expires_at >= now, 1), else_=0).label("live")
    seats = [
        numbers.SeatRow(zone_code.get(r.zone_id, "?"), r.status, now if r.live else None, int(r.n))
        for r in db.execute(
            select(SessionSeat.zone_id, SessionSeat.status, live, func.count().label("n"))
            .where(SessionSeat.session_id.in_(session_ids))
            .group_by(SessionSeat.zone_id, SessionSeat.status, live)
        )
    ]
    areas = [
        numbers.GaRow(zone_code.get(r.zone_id, "?"), r.capacity, r.held, r.sold)
        for r in db.execute(
            select(SessionGa.zone_id, SessionGa.capacity, SessionGa.held, SessionGa.sold).where(
                SessionGa.session_id.in_(session_ids)
            )
        )
    ]
    tickets = [
        numbers.TicketRow(r.zone, r.ticket_type, r.price_cents, r.status, r.paid_at)
        for r in db.execute(
            select(Ticket.zone, Ticket.ticket_type, Ticket.price_cents, Order.status, Order.paid_at)
            .join(Order, Order.id == Ticket.order_id)
            .where(Order.session_id.in_(session_ids))
        )
    ]
    report = numbers.Report()
    report.stock = numbers.stock_by_zone(seats, areas, zone_names, now)
    report.by_zone = numbers.revenue(tickets, "zone", zone_names)
    report.by_type = numbers.revenue(tickets, "ticket_type", type_names)
    chosen = [s for s in sessions if s.id in session_ids]
    start = min((s.sale_starts_at for s in chosen), default=now)
    paid_times = [t.paid_at for t in tickets if t.paid_at is not None]
    end = max([now, *paid_times]) if paid_times else now
    end = min(end, max((s.sale_ends_at for s in chosen), default=now)) if chosen else end
    end = max(end, start + 60)
    report.sell_through = numbers.sell_through(tickets, report.totals.capacity, start, end)
    views = db.scalar(
        select(func.coalesce(func.sum(SeatmapView.views), 0)).where(SeatmapView.session_id.in_(session_ids))
    )
    holds = db.scalar(select(func.count()).select_from(Hold).where(Hold.session_id.in_(session_ids)))
    orders = db.scalar(select(func.count()).select_from(Order).where(Order.session_id.in_(session_ids)))
    paid = db.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.session_id.in_(session_ids), Order.paid_at.is_not(None))
    )
    report.funnel = numbers.funnel(int(views or 0), int(holds or 0), int(orders or 0), int(paid or 0))
    peaks = db.execute(
        select(WaitingRoomPeak.minute, WaitingRoomPeak.peak)
        .where(WaitingRoomPeak.minute >= int(start // 60), WaitingRoomPeak.minute <= int(end // 60))
        .order_by(WaitingRoomPeak.minute)
    ).all()
    waiting = [{"at": minute * 60, "peak": peak} for minute, peak in peaks]
    meta = {
        "zone_names": zone_names,
        "type_names": type_names,
        "waiting_room": waiting,
        "waiting_room_peak": max((w["peak"] for w in waiting), default=0),
    }
    return report, meta


def as_json(report: numbers.Report) -> dict[str, Any]:
    totals = report.totals
    return {
        "totals": {
            "capacity": totals.capacity,
            "sold": totals.sold,
            "held": totals.held,
            "available": totals.available,
            "blocked": totals.blocked,
            "revenue_cents": report.revenue_cents,
            "refunded_cents": report.refunded_cents,
        },
        "stock": [vars(line) for line in report.stock],
        "revenue_by_zone": [vars(line) for line in report.by_zone],
        "revenue_by_ticket_type": [vars(line) for line in report.by_type],
        "sell_through": [{"at": at, "tickets": n, "share": share} for at, n, share in report.sell_through],
        "funnel": [{"step": s.step, "count": s.count, "rate": s.rate} for s in report.funnel],
    }


def event_session_ids(ctx: Context, event_id: int) -> list[int]:
    with ctx.db.read() as db:
        return list(db.scalars(select(Session.id).where(Session.event_id == event_id)))
