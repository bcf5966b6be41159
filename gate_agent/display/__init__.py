"""The staff display: a page served by the agent (aiohttp), live over a WebSocket."""
