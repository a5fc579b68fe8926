"""aiohttp application: health, panel (later), webhook endpoints (later)."""
