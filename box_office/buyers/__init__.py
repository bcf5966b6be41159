"""Buyer accounts (issue #13): verified numbers and addresses, one-time codes, page sessions,
server-issued device ids, step-up and passkeys. Pure rules are in ``core/otp.py``."""
