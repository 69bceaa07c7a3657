"""`python -m bot.rasa_server run …`: Rasa's own command line, with `bot.rasa_fixes` and
`bot.rasa_honest_failure` applied first. The launcher starts the Rasa server this way;
everything else is stock Rasa."""

from __future__ import annotations

from bot import rasa_fixes, rasa_honest_failure
from bot.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    rasa_fixes.apply(settings.rasa_concurrent_messages)
    rasa_honest_failure.apply(settings.action_timeout_seconds)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
