"""The buyer-facing seat map page: its route module (``routes.router``) and static HTML/JS/CSS."""
