"""Who owns what: an organiser's venues, events and sessions (403 for another's, 404 for none)."""

from __future__ import annotations

from sqlalchemy.orm import Session as Db

from box_office.errors import Forbidden, NotFound
from box_office.store.models import Event, Session, Venue


def owned_venue(db: Db, organiser_id: int, venue_id: int) -> Venue:
    venue = db.get(Venue, venue_id)
    if venue is None:
        raise NotFound(f"no venue {venue_id}")
    if venue.organiser_id != organiser_id:
        raise Forbidden(f"venue {venue_id} belongs to another organiser")
    return venue


def owned_event(db: Db, organiser_id: int, event_id: int) -> Event:
    event = db.get(Event, event_id)
    if event is None:
        raise NotFound(f"no event {event_id}")
    if event.organiser_id != organiser_id:
        raise Forbidden(f"event {event_id} belongs to another organiser")
    return event


def owned_session(db: Db, organiser_id: int, session_id: int) -> tuple[Session, Event]:
    session = db.get(Session, session_id)
    if session is None:
        raise NotFound(f"no session {session_id}")
    return session, owned_event(db, organiser_id, session.event_id)


def load_session(db: Db, session_id: int) -> Session:
    session = db.get(Session, session_id)
    if session is None:
        raise NotFound(f"no session {session_id}")
    return session
