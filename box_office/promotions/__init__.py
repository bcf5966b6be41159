"""Promotions: promoter price changes, campaigns, coupons, members; adapters around core.pricing_pipeline."""
