"""Contracts between Encore services: plain typed modules, one per contract, no I/O of their own.

Services never import each other (DESIGN.md); what two of them must agree on lives here.
- :mod:`wire.snapshot`: the ticket snapshot a gate loads (JSON Lines; sync server -> gate agent).
- :mod:`wire.sync_api`: gate agent <-> sync server messages (enrolment, deltas, scan batches,
  acknowledgements, the push channel; DESIGN contract 4).
- :mod:`wire.venue_feed`: box office -> sync server ticket feed and check-ins back
  (DESIGN contract 5).
The signed ticket itself is the other shared package, :mod:`ticket_format` (contract 1).
"""
