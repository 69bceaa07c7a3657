"""Pick a domain response variant for an explicit language.

Rasa chooses conditional variants from the slots it already has; at session start the
language is known only from the channel's metadata, so actions choose the variant themselves.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"


def normalise_language(value: Any) -> str | None:
    """'sv-SE', 'en_GB', 'EN' → 'sv'/'en'; anything else → None."""
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


# Slots other than `language` that a variant may be conditioned on, at the value actions
# assume: a variant for a reader of another language (`user_language`, see
# bot/safety_replies.py) is chosen by Rasa itself, never by an action.
_NEUTRAL_SLOTS = {"user_language": "-"}


def _matches(variant: dict[str, Any], language: str) -> bool:
    slots = {**_NEUTRAL_SLOTS, "language": language}
    conditions = variant.get("condition") or []
    return all(c.get("name") in slots and slots[c["name"]] == c.get("value")
               for c in conditions)


def render(domain: dict[str, Any], name: str, language: str, **values: Any) -> dict[str, Any]:
    """The first variant of response `name` for `language`, as `utter_message` keyword args
    (with `language=`, which Rasa keeps as the reply's metadata).

    Conditional variants are listed before the unconditional (Swedish) default in domain.yml,
    so the first match is the most specific one.
    """
    variants = domain.get("responses", {}).get(name) or []
    variant = next((v for v in variants if _matches(v, language)), None)
    if variant is None:
        raise KeyError(f"no response {name!r} for language {language!r}")
    # The reply names its language (metadata the socket.io channel passes on as `lang`, so
    # the web chat marks it for screen readers).
    message: dict[str, Any] = {"language": language}
    if "text" in variant:
        message["text"] = variant["text"].format(**values) if values else variant["text"]
    if "buttons" in variant:
        message["buttons"] = [
            {k: (v.format(**values) if isinstance(v, str) and values else v)
             for k, v in button.items()}
            for button in variant["buttons"]
        ]
    return message
