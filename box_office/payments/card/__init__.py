"""Cards through the stripe package: PaymentIntents, 3-D Secure, signed webhooks, refunds."""
