"""`python -m bot.rasa_server run …`: Rasa's own command line, with `bot.rasa_fixes` applied
first. The launcher starts the Rasa server this way; everything else is stock Rasa."""

from __future__ import annotations

from bot import rasa_fixes
from bot.settings import Settings
from bot.tips.pii import install_log_masking


def main() -> None:
    install_log_masking()
    rasa_fixes.apply(Settings.from_env().rasa_concurrent_messages)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
