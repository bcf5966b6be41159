"""The sandbox provider (a development tool): its client, its bank and the bank's own table."""
