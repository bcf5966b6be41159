"""Selling: the ledger of seats, GA places and holds; holds, checkout, settling payments, issuing."""
