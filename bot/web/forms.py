"""Reading a POSTed form without a 500 on a broken body."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

UNREADABLE = ("The form could not be read. Send it as UTF-8, as "
              "application/x-www-form-urlencoded or multipart/form-data.")


async def read_form(request: web.Request) -> MultiDictProxy[Any]:
    """`request.post()`, with a clear 400 for a body aiohttp cannot parse: not UTF-8
    (UnicodeDecodeError), a truncated or boundary-less multipart body (ValueError,
    AssertionError) or an unknown charset (LookupError). Too large stays 413."""
    try:
        return await request.post()
    except web.HTTPException:
        raise
    except (ValueError, AssertionError, LookupError) as error:
        raise web.HTTPBadRequest(text=UNREADABLE) from error
