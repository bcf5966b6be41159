"""Contracts between Encore services: plain typed modules, one per contract, no I/O of their own.

Services never import each other (DESIGN.md); what two of them must agree on lives here.
- :mod:`wire.snapshot`: the ticket snapshot a gate loads (JSON Lines; sync server -> gate agent).
"""
