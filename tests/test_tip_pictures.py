"""Pictures as tip attachments, end to end against the real servers: the web chat (socket.io)
and Messenger stage pictures for the conversation, the form asks for them and counts them,
sending the tip takes them along (the staff API lists them), cancelling discards them. Also:
questions in the middle of the form are answered and the form goes on."""

from __future__ import annotations

import dataclasses
import queue
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.launcher import Stack, free_port, isolated_settings, service_env
from bot.promises.service import seed_database
from bot.settings import PROJECT_ROOT, Settings
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.tips.crypto import TipCipher
from bot.tips.settings import TipSettings
from bot.tips.store import get_tip
from bot.tips.tokens import create_token
from bot.tips.uploads import PictureStaging
from tests.conftest import Chat, RunningSystem
from tests.fake_graph import FakeGraph, FakeGraphServer
from tests.test_meta_channels import (
    CREDENTIALS_META,
    PAGE_TOKEN,
    SECRET,
    VERIFY,
    messaging,
    page_delivery,
    signed,
)
from tests.test_socketio import Client
from tests.test_tips_store import GIF, PNG

pytestmark = pytest.mark.servers

REFERENCE = re.compile(r"T-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")


def staging_for(settings: Settings, env: dict[str, str]) -> PictureStaging:
    """The staging the running services use (same database, same tip keys)."""
    return PictureStaging.from_settings(settings, env)


def cipher_for(settings: Settings, env: dict[str, str]) -> TipCipher:
    tips = TipSettings.from_env(env, root=settings.root)
    return TipCipher.from_settings(tips.encryption_keys, tips.key_file)


# --- the web chat (socket.io) ----------------------------------------------------------------


def turn(client: Client, text: str, token: str) -> list[dict[str, Any]]:
    """Everything the bot sends back for one message (texts and custom payloads)."""
    client.sio.emit("user_uttered", {"message": text, "session_id": token})
    replies = [client.replies.get(timeout=30)]
    while True:
        try:
            replies.append(client.replies.get(timeout=1.5))
        except queue.Empty:
            return replies


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def buttons(replies: list[dict[str, Any]]) -> list[str]:
    return [b.get("title", "") for r in replies for b in r.get("quick_replies") or []]


def _to_picture_question(client: Client, token: str) -> list[dict[str, Any]]:
    assert "Vad vill du tipsa om?" in texts(turn(client, "jag vill tipsa polisen", token))
    assert "När hände det?" in texts(turn(client, "En blå skåpbil lastar av stöldgods", token))
    assert "Var hände det?" in texts(turn(client, "varje tisdag natt", token))
    assert "Hur vet du" in texts(turn(client, "vid återvinningen på Industrigatan", token))
    return turn(client, "/tip_seen", token)


def test_web_chat_pictures_go_with_the_tip_and_staff_see_them(system: RunningSystem) -> None:
    env = system.stack.env
    staging = staging_for(system.settings, env)
    client = Client(system.rasa_url)
    token = client.start()
    conversation = token.split(".")[0]
    try:
        question = _to_picture_question(client, token)
        said = texts(question)
        assert "Har du bilder" in said and "frivilliga" in said
        assert "JPEG, PNG eller GIF" in said and "högst 4" in said and "10 MB" in said
        assert "Inga bilder" in buttons(question) and "Klar" not in buttons(question)
        uploads = [r["custom"]["upload"] for r in question if "upload" in (r.get("custom") or {})]
        assert uploads == [{"accept": "image/jpeg,image/png,image/gif", "max_files": 4,
                            "max_bytes": 10485760}], question

        # The upload endpoint stages the pictures; the widget then sends the payload.
        staging.stage(conversation, "IMG_1.png", "image/png", PNG)
        staging.stage(conversation, "IMG_2.gif", "image/gif", GIF)
        more = turn(client, "/pictures_added", token)
        assert "Jag har tagit emot 2 bilder" in texts(more)
        assert {"Klar", "Inga bilder"} <= set(buttons(more))
        assert any("upload" in (r.get("custom") or {}) for r in more)

        # An emergency at this step still gets 112 at once, and the tip waits.
        emergency = texts(turn(client, "han slår sönder dörren med en kniv nu", token))
        assert emergency.startswith("Ring 112") and "väntar" in emergency

        contact = texts(turn(client, "/tip_pictures_done", token))
        assert "Kontaktuppgifter är frivilliga" in contact
        summary = turn(client, "/tip_anonymous", token)
        assert "Bilder: 2" in texts(summary) and "Ändra bilder" in buttons(summary)
        done = texts(turn(client, "/affirm", token))
    finally:
        client.close()
    reference = REFERENCE.search(done)
    assert reference, done
    assert staging.staged(conversation) == [], "the tip took them"

    engine = make_engine(system.settings.database_url)
    staff_token = create_token(engine, "pictures-test")
    engine.dispose()
    web = f"http://127.0.0.1:{system.settings.web_port}"
    headers = {"Authorization": f"Bearer {staff_token}"}
    reply = requests.get(f"{web}/api/tips/{reference.group()}", headers=headers, timeout=10)
    assert reply.status_code == 200, reply.text
    tip = reply.json()
    assert tip["channel"] == "socketio"
    assert [(a["position"], a["content_type"], a["size"]) for a in tip["attachments"]] == [
        (1, "image/png", len(PNG)), (2, "image/gif", len(GIF))]
    picture = requests.get(web + tip["attachments"][1]["url"], headers=headers, timeout=10)
    assert picture.status_code == 200 and picture.content == GIF


def test_changing_the_pictures_at_the_summary_clears_them_and_asks_again(
    system: RunningSystem,
) -> None:
    staging = staging_for(system.settings, system.stack.env)
    client = Client(system.rasa_url)
    token = client.start()
    conversation = token.split(".")[0]
    try:
        _to_picture_question(client, token)
        staging.stage(conversation, "a.png", "image/png", PNG)
        assert "Jag har tagit emot 1 bild" in texts(turn(client, "/pictures_added", token))
        turn(client, "/tip_pictures_done", token)
        assert "Bilder: 1" in texts(turn(client, "/tip_anonymous", token))
        again = texts(turn(client, "/tip_change_pictures", token))
        assert staging.staged(conversation) == []
        assert "Har du bilder" in again
        summary = texts(turn(client, "/tip_no_pictures", token))
        assert "Bilder: inga" in summary
    finally:
        client.close()


def test_cancelling_the_tip_discards_its_pictures(system: RunningSystem) -> None:
    staging = staging_for(system.settings, system.stack.env)
    client = Client(system.rasa_url)
    token = client.start()
    conversation = token.split(".")[0]
    try:
        _to_picture_question(client, token)
        staging.stage(conversation, "a.png", "image/png", PNG)
        turn(client, "/pictures_added", token)
        assert "Vill du kasta tipset?" in texts(turn(client, "avbryt", token))
        assert staging.staged(conversation) != [], "nothing is deleted before the citizen says so"
        assert "skickades inte" in texts(turn(client, "ja", token))
    finally:
        client.close()
    assert staging.staged(conversation) == []


def test_pictures_outside_a_tip_are_offered_a_tip(chat: Chat) -> None:
    chat.say("hej")
    reply = chat.send("/pictures_added")
    said = " ".join(m.get("text", "") for m in reply)
    assert "Bilder tar jag emot som en del av ett tips" in said
    assert any(b.get("payload") == "/give_tip" for m in reply for b in m.get("buttons") or [])


def test_rest_cannot_send_pictures_so_the_form_does_not_ask(chat: Chat) -> None:
    chat.say("hej")
    chat.say("jag vill tipsa polisen")
    chat.say("Någon kör moped på gångbanan")
    chat.say("varje kväll")
    chat.say("/tip_skip")
    text = chat.say("/tip_heard")
    assert "Kontaktuppgifter är frivilliga" in text and "bilder" not in text.lower()
    summary = chat.say("/tip_anonymous")
    assert "Bilder" not in summary


# --- questions in the middle of the form ----------------------------------------------------


def test_a_question_mid_form_is_answered_and_the_form_goes_on(chat: Chat) -> None:
    chat.say("hej")
    assert "Vad vill du tipsa om?" in chat.say("jag vill tipsa polisen")
    answer = chat.say("vad är ett medborgarlöfte?")
    assert "löfte från lokalpolisen och kommunen" in answer
    assert "Nu fortsätter vi med ditt tips" in answer and "Vad vill du tipsa om?" in answer
    assert "När hände det?" in chat.say("Det säljs narkotika vid busshållplatsen")
    assert "Var hände det?" in chat.say("på fredagskvällar")
    assert "Hur vet du" in chat.say("vid Centralskolan")
    number = chat.say("vilket nummer ska jag ringa till polisen om det inte är akut?")
    assert "114 14" in number and "Hur vet du det här?" in number
    assert "Kontaktuppgifter" in chat.say("/tip_seen")
    summary = chat.say("/tip_anonymous")
    assert "Vad: Det säljs narkotika vid busshållplatsen" in summary
    assert REFERENCE.search(chat.say("/affirm"))


def test_an_answer_that_only_sounds_like_a_question_is_kept(chat: Chat) -> None:
    chat.say("hej")
    chat.say("jag vill tipsa polisen")
    text = chat.say("Grannen ringer polisen hela tiden och hotar andra i trapphuset")
    assert "När hände det?" in text and "Nu fortsätter vi" not in text


def test_small_talk_mid_form_gets_a_short_answer(chat: Chat) -> None:
    chat.say("hej")
    chat.say("jag vill tipsa polisen")
    chat.say("Någon har klottrat på skolan")
    reply = chat.say("tack")
    assert "Varsågod" in reply and "När hände det?" in reply


# --- Messenger: a picture through the real webhook ------------------------------------------


@dataclasses.dataclass
class MetaStack:
    rasa_url: str
    fake: FakeGraph
    graph_url: str
    settings: Settings
    env: dict[str, str]

    def post(self, body: dict[str, Any]) -> None:
        raw, signature = signed(body)
        reply = requests.post(
            f"{self.rasa_url}/webhooks/messenger/webhook",
            data=raw,
            timeout=10,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        )
        assert reply.status_code == 200

    def texts_to(self, psid: str) -> list[str]:
        return [m["message"].get("text", "") for m in self.fake.messages()
                if m.get("recipient") == {"id": psid}]

    def say(self, psid: str, mid: str, wait_for: str, timeout: float = 60, **message: Any) -> str:
        """Send one message and wait until a reply containing `wait_for` arrived."""
        before = len(self.texts_to(psid))
        self.post(page_delivery([messaging(psid, mid, **message)]))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = "\n".join(self.texts_to(psid)[before:])
            if wait_for in new:
                time.sleep(0.5)  # the rest of the turn
                return "\n".join(self.texts_to(psid)[before:])
            time.sleep(0.1)
        raise AssertionError(f"no {wait_for!r} in {self.texts_to(psid)[before:]}")


@pytest.fixture(scope="module")
def meta_stack(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetaStack]:
    fake = FakeGraph()
    server = FakeGraphServer(fake, free_port())
    server.start()
    directory = tmp_path_factory.mktemp("meta_pictures")
    settings = isolated_settings(f"sqlite:///{directory / 'polisbot.db'}")
    upgrade(settings.database_url)
    seed_database(settings.database_url, PROJECT_ROOT)
    env = service_env(settings)
    env.update({
        "META_APP_SECRET": SECRET,
        "META_VERIFY_TOKEN": VERIFY,
        "MESSENGER_PAGE_TOKEN": PAGE_TOKEN,
        "META_GRAPH_URL": f"{server.url}/v19.0",
        "META_RETRY_BASE_SECONDS": "0.05",
        "REDIS_URL": "",
    })
    stack = Stack(settings, model_path, env, log_dir=directory / "logs",
                  credentials=CREDENTIALS_META)
    try:
        stack.start()
        yield MetaStack(settings.rasa_url, fake, f"{server.url}/v19.0", settings, env)
    finally:
        stack.stop()
        server.stop()


def test_a_messenger_picture_becomes_part_of_the_tip(meta_stack: MetaStack) -> None:
    psid = "PSID-picture"
    meta_stack.fake.add_media("tip-photo", PNG, "image/png")
    picture_url = meta_stack.graph_url.replace("/v19.0", "/cdn/tip-photo")
    say = meta_stack.say
    say(psid, "p.1", "Vad vill du tipsa om?", text="jag vill lämna ett tips")
    say(psid, "p.2", "När hände det?", text="Det säljs stöldgods från en blå skåpbil")
    say(psid, "p.3", "Var hände det?", text="varje lördag förmiddag")
    say(psid, "p.4", "Hur vet du", text="Vet inte", quick_reply={"payload": "/tip_skip"})
    question = say(psid, "p.5", "Har du bilder", text="Jag såg det själv",
                   quick_reply={"payload": "/tip_seen"})
    assert "JPEG, PNG eller GIF" in question and "frivilliga" in question
    received = say(psid, "p.6", "Jag har tagit emot 1 bild",
                   attachments=[{"type": "image", "payload": {"url": picture_url}}])
    assert 'Tryck på "Klar"' in received
    say(psid, "p.7", "Kontaktuppgifter", text="Klar", quick_reply={"payload": "/tip_pictures_done"})
    summary = say(psid, "p.8", "Bilder: 1", text="Vara anonym",
                  quick_reply={"payload": "/tip_anonymous"})
    assert "Så här ser ditt tips ut" in summary
    done = say(psid, "p.9", "Referens", text="Skicka", quick_reply={"payload": "/affirm"})
    reference = REFERENCE.search(done)
    assert reference, done

    engine = make_engine(meta_stack.settings.database_url)
    try:
        tip = get_tip(engine, reference.group(), cipher_for(meta_stack.settings, meta_stack.env),
                      with_data=True)
    finally:
        engine.dispose()
    assert tip is not None and tip.channel == "messenger"
    assert [(a.content_type, a.data) for a in tip.attachments] == [("image/png", PNG)]
    staging = staging_for(meta_stack.settings, meta_stack.env)
    assert staging.staged(f"messenger:{psid}") == []
