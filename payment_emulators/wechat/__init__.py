"""An emulator of WeChat Pay API v3 (see :mod:`payment_emulators.wechat.server`)."""
