"""Sales analytics: pure numbers (``numbers``), the database reads behind them (``queries``),
server-side SVG charts (``charts``) and CSV/XLSX export (``export``)."""
