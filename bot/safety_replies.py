"""The 112, self-harm and other-language answers in every language of the safety net,
generated into domain.yml from data/safety/<lang>.yml.

An emergency must never wait for the action server, so these answers are domain responses
that Rasa picks itself: a variant per language, conditioned on the `user_language` slot
(set by `SafetyNet` from every message) and the `language` slot (the Swedish or English
answer that follows the line). The one line in each language lives only in its rule file
(with its review status); the Swedish and English texts only in domain.yml, in the
hand-written variants above the generated block. `python -m bot.safety_replies` rewrites
the blocks; a test fails when domain.yml is not what this module would write.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Final

import yaml

from bot.safety import DEFAULT_DIR, EmergencyNet, load_net
from bot.settings import PROJECT_ROOT

__all__ = ["GENERATED", "NO_OTHER_LANGUAGE", "USER_LANGUAGE_SLOT", "render_domain"]

USER_LANGUAGE_SLOT: Final = "user_language"
NO_OTHER_LANGUAGE: Final = "-"
# response -> which line of the rule file opens it
GENERATED: Final = {
    "utter_emergency": "emergency",
    "utter_self_harm": "emergency",
    "utter_other_language": "other_language",
}
BEGIN: Final = "    # >>> generated from data/safety/*.yml by `python -m bot.safety_replies`"
END: Final = "    # <<< generated"


def _slot(name: str, value: str) -> dict[str, str]:
    return {"type": "slot", "name": name, "value": value}


def _home_texts(responses: dict[str, Any], name: str) -> dict[str, str]:
    """The hand-written Swedish (no condition) and English variants of a response."""
    texts = {}
    for variant in responses[name]:
        conditions = variant.get("condition") or []
        if any(c.get("name") == USER_LANGUAGE_SLOT and c.get("value") != NO_OTHER_LANGUAGE
               for c in conditions):
            continue  # a generated variant
        languages = [c.get("value") for c in conditions if c.get("name") == "language"]
        texts[languages[0] if languages else "sv"] = variant["text"]
    return texts


def _variants(net: EmergencyNet, responses: dict[str, Any], name: str) -> list[str]:
    home = _home_texts(responses, name)
    lines = []
    for code, language in sorted(net.languages.items()):
        line = language.replies.get(GENERATED[name])
        if not line:
            continue
        for home_language in ("en", "sv"):
            variant = {
                "condition": [_slot(USER_LANGUAGE_SLOT, code), _slot("language", home_language)],
                "text": f"{line}\n\n{home[home_language]}",
            }
            lines.append(f"    - {json.dumps(variant, ensure_ascii=False)}")
    return lines


def render_domain(domain_text: str, net: EmergencyNet) -> str:
    """`domain_text` with every generated block rewritten from the rule files."""
    responses = yaml.safe_load(domain_text)["responses"]
    out: list[str] = []
    skipping = False
    current: str | None = None
    for line in domain_text.splitlines():
        stripped = line.strip()
        if line.startswith("  ") and not line.startswith("   ") and stripped.endswith(":"):
            current = stripped[:-1]
        if line == BEGIN:
            if current not in GENERATED:
                raise ValueError(f"generated block inside {current!r}")
            out.append(line)
            out.extend(_variants(net, responses, current))
            skipping = True
            continue
        if line == END:
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    """Rewrite domain.yml's generated blocks (`--check`: only say whether it is current)."""
    path = PROJECT_ROOT / "domain.yml"
    text = path.read_text(encoding="utf-8")
    rendered = render_domain(text, load_net(Path(DEFAULT_DIR)))
    if "--check" in argv:
        print("up to date" if rendered == text else "domain.yml is out of date")
        return 0 if rendered == text else 1
    path.write_text(rendered, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
