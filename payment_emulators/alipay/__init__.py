"""The Alipay gateway emulator (see :mod:`payment_emulators.alipay.server`)."""
