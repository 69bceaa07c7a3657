"""The bot web service (aiohttp): status page and health now; widget, console and staff API
later."""
