"""After the sale: refunds and holder changes (transfers and exchanges belong here too)."""
