"""Who may do what in the console: a pure table of permissions per role. No I/O.

Why a table: one place answers "may staff refund?" for every route and page, and the tests read
the same table to check each route against each role.
"""

from __future__ import annotations

OWNER = "owner"
STAFF = "staff"
FINANCE = "finance"
ROLES = (OWNER, STAFF, FINANCE)

VIEW = "view"
"""See events, live sales and analytics."""
ORDERS = "orders"
"""Search orders and buyers (identities masked)."""
STOCK = "stock"
"""Raise or lower GA quotas; hold, release and block seats; re-price seats."""
SETUP = "setup"
"""Create venues and events."""
REFUND = "refund"
"""Refund a paid order (money goes back)."""
EXPORT = "export"
"""Download sales as CSV or XLSX (buyer-level money figures leave the system)."""
TEAM = "team"
"""Add console users and read the audit trail."""

PERMISSIONS: dict[str, frozenset[str]] = {
    VIEW: frozenset({OWNER, STAFF, FINANCE}),
    ORDERS: frozenset({OWNER, STAFF, FINANCE}),
    STOCK: frozenset({OWNER, STAFF}),
    SETUP: frozenset({OWNER, STAFF}),
    REFUND: frozenset({OWNER, FINANCE}),
    EXPORT: frozenset({OWNER, FINANCE}),
    TEAM: frozenset({OWNER}),
}


def allowed(role: str, permission: str) -> bool:
    """True if ``role`` may use ``permission``; an unknown permission is allowed to no one."""
    return role in PERMISSIONS.get(permission, frozenset())


def register_permission(name: str, roles: frozenset[str]) -> None:
    """Let another feature (promotions, after-sales) add its own permission to the table."""
    if name in PERMISSIONS and PERMISSIONS[name] != roles:
        raise ValueError(f"permission {name} is already defined with other roles")
    if not roles <= set(ROLES):
        raise ValueError(f"unknown roles in {sorted(roles)}")
    PERMISSIONS[name] = roles
