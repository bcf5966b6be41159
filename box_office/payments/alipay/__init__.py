"""Alipay through python-alipay-sdk: page, wap and precreate (QR) payments, Huabei instalments,
refunds, refund queries and daily bills."""
