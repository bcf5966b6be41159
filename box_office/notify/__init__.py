"""Ticket delivery: e-mail over SMTP and SMS behind an interface, fed from a durable outbox."""
