"""The promoter's console at ``/console/``: sign-in with roles, audit, and the pages.

Other features add their own pages through :mod:`box_office.console.shell` (a nav registry, a
base template, shared CSS and per-page string tables); see ``box_office/console/README.md``.
"""
