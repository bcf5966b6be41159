"""The box office: catalog, inventory with expiring holds, orders, payments, ticket issuing and
the venue feed (DESIGN.md). ``box_office.core`` holds the pure rules; everything else adapts
them to a database, HTTP, SMTP and payment providers.
"""
