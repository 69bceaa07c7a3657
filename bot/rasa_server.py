"""`python -m bot.rasa_server run …`: Rasa's own command line, with `bot.rasa_fixes` and
`bot.rasa_honest_failure` applied first. The launcher starts the Rasa server this way, and
the story tests run `rasa test` this way (`python -m bot.rasa_server test core …`), so both
run what production runs; everything else is stock Rasa. On any Rasa but the one the fixes
were checked against it stops with a message saying so."""

from __future__ import annotations

from bot import rasa_fixes, rasa_honest_failure
from bot.settings import Settings
from bot.tips.pii import install_log_masking


def main() -> None:
    install_log_masking()
    settings = Settings.from_env()
    try:
        rasa_fixes.apply(settings.rasa_concurrent_messages, settings.actions_url)
    except rasa_fixes.UnsupportedRasaVersion as error:
        raise SystemExit(f"Not starting: {error}") from error
    rasa_honest_failure.apply(settings.action_timeout_seconds)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
