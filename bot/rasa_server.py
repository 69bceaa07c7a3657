"""`python -m bot.rasa_server run …`: Rasa's own command line, with `bot.rasa_fixes` and
`bot.rasa_honest_failure` applied first. The launcher starts the Rasa server this way, and
the story tests run `rasa test` this way (`python -m bot.rasa_server test core …`), so both
run what production runs; everything else is stock Rasa. On any Rasa but the one the fixes
were checked against it stops with a message saying so.

Two hardenings besides:

- the API token comes from the environment (`RASA_TOKEN`), not the command line, so `ps`
  does not show it: it is added to Rasa's arguments inside this process;
- `GET /version` needs the token like the rest of the API (Rasa answers it to anyone).
"""

from __future__ import annotations

import hmac
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

from bot import rasa_fixes, rasa_honest_failure, rasa_rate_limit
from bot.ratelimit import RateLimits
from bot.settings import Settings
from bot.tips.pii import install_log_masking

PROTECTED_PATHS = ("/version",)


def with_token(argv: list[str], token: str) -> list[str]:
    """Rasa's arguments with `--auth-token` from the environment (none if already given);
    as one `--auth-token=…` argument, since a token may begin with "-"."""
    if not token or any(a.split("=")[0] == "--auth-token" for a in argv) or \
            argv[1:2] != ["run"]:
        return argv
    return [*argv, f"--auth-token={token}"]


def token_guarded(create_app: Callable[..., Any], token: str) -> Callable[..., Any]:
    """`rasa.server.create_app` whose app refuses PROTECTED_PATHS without the API token."""

    @wraps(create_app)
    def create(*args: Any, **kwargs: Any) -> Any:
        from sanic import response

        app = create_app(*args, **kwargs)

        @app.middleware("request")
        async def needs_token(request: Any) -> Any:
            if request.path not in PROTECTED_PATHS:
                return None
            given = (request.args.get("token") or "").encode("utf-8", "replace")
            if token and hmac.compare_digest(given, token.encode("utf-8")):
                return None
            return response.json({"status": "failure", "reason": "NotAuthenticated",
                                  "message": "This endpoint needs the API token.",
                                  "code": 401}, status=401)

        return app

    return create


def main() -> None:
    install_log_masking()
    settings = Settings.from_env()
    try:
        rasa_fixes.apply(settings.rasa_concurrent_messages, settings.actions_url)
    except rasa_fixes.UnsupportedRasaVersion as error:
        raise SystemExit(f"Not starting: {error}") from error
    rasa_honest_failure.apply(settings.action_timeout_seconds)
    rasa_rate_limit.apply(RateLimits.from_redis_url(settings.redis_url))
    import rasa.server
    from rasa.__main__ import main as rasa_main

    rasa.server.create_app = token_guarded(rasa.server.create_app, settings.rasa_token)
    sys.argv = with_token(sys.argv, settings.rasa_token)
    rasa_main()


if __name__ == "__main__":
    main()
