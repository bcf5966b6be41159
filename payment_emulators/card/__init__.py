"""The Stripe-compatible card emulator (see :mod:`payment_emulators.card.server`)."""
