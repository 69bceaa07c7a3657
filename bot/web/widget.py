"""The web chat widget's server side: its assets, the demo page, the status page, the
accessibility statement with problem reports, the neutral quick-exit page and the staff's
emergency banner.

`setup_widget(app)` registers everything. The widget itself is built from `widget/src/` into
`bot/web/static/` (committed, so running the service needs no Node). Every HTML page here
carries a strict Content-Security-Policy: the widget must work without inline script or
style, and the pages prove it.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import inspect
import json
import logging
import os
import re
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot.ratelimit import FEEDBACK_PER_ADDRESS
from bot.web import health
from bot.web.clients import client_address
from bot.web.forms import read_form
from bot.web.keys import ENGINE, HTTP, RATE_LIMITS, SETTINGS

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
FEEDBACK_FILE = Path("var") / "accessibility-feedback.jsonl"
FEEDBACK_MAX_BYTES = 5 * 1024 * 1024
MAX_REPORT_CHARS = 2000
MAX_FIELD_CHARS = 200
MAX_BANNER_CHARS = 1000
SHORT_CACHE = "public, max-age=3600, must-revalidate"
LONG_CACHE = "public, max-age=31536000, immutable"

BannerSource = Callable[[], Awaitable[str | None] | str | None]
"""Returns the staff's current emergency banner text, or None for no banner."""

BANNER_SOURCE: web.AppKey[BannerSource] = web.AppKey("widget_banner_source")


@dataclass(frozen=True)
class Asset:
    """One static file, read once: its bytes, a gzipped copy and their validators."""

    body: bytes
    gzipped: bytes
    digest: str
    content_type: str

    @classmethod
    def load(cls, path: Path, content_type: str) -> Asset:
        body = path.read_bytes()
        return cls(
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            digest=hashlib.sha256(body).hexdigest(),
            content_type=content_type,
        )


@dataclass(frozen=True)
class WidgetConfig:
    """What the widget routes of one app use (kept on the app, not in module globals)."""

    assets: Mapping[str, Asset]
    feedback_path: Path
    feedback_max_bytes: int = FEEDBACK_MAX_BYTES
    feedback_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


WIDGET = web.AppKey("widget", WidgetConfig)

routes = web.RouteTableDef()


def setup_widget(
    app: web.Application,
    feedback_path: Path | None = None,
    feedback_max_bytes: int = FEEDBACK_MAX_BYTES,
) -> None:
    """Register the widget's routes on `app` (which holds SETTINGS); `/` is the demo page.

    Problem reports go to `feedback_path` (default `<root>/var/accessibility-feedback.jsonl`).
    """
    root = app[SETTINGS].root
    if any(r.method == "GET" and r.resource is not None and r.resource.canonical == "/"
           for r in app.router.routes()):
        logger.warning("another GET / is registered before the widget's demo page and wins: "
                       "remove it (its status page lives at /status now)")
    app[WIDGET] = WidgetConfig(
        assets={
            "widget.js": Asset.load(STATIC_DIR / "widget.js", "application/javascript"),
            "widget.css": Asset.load(STATIC_DIR / "widget.css", "text/css"),
            "site.css": Asset.load(STATIC_DIR / "site.css", "text/css"),
        },
        feedback_path=feedback_path or root / FEEDBACK_FILE,
        feedback_max_bytes=feedback_max_bytes,
    )
    app.add_routes(routes)


# ------------------------------------------------------------------------------ headers


def content_security_policy(rasa_url: str) -> str:
    """The pages' policy: own origin only, plus the Rasa server for the chat socket."""
    rasa = urlsplit(rasa_url)
    rasa_origin = f"{rasa.scheme}://{rasa.netloc}"
    return (
        "default-src 'self'; "
        f"connect-src 'self' {rasa_origin} ws: wss:; "
        "img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def _page(request: web.Request, body: str, status: int = 200,
          cache: str = "no-cache") -> web.Response:
    response = web.Response(text=body, status=status, content_type="text/html",
                            charset="utf-8")
    response.headers["Content-Security-Policy"] = content_security_policy(
        request.app[SETTINGS].rasa_url)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = cache
    return response


def _etag_matches(request: web.Request, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    return etag in candidates or "*" in candidates


def _asset_response(request: web.Request, name: str) -> web.Response:
    """Serve an asset gzipped when the client takes it, with an ETag (304 on a match).

    A URL versioned with the asset's own hash (`?v=…`, as the widget loads its CSS) is
    cached for a year; the unversioned URL that host pages embed must revalidate hourly,
    so a fix reaches every citizen the same day.
    """
    asset = request.app[WIDGET].assets[name]
    use_gzip = "gzip" in request.headers.get("Accept-Encoding", "")
    etag = f'"{asset.digest[:20]}{"-gz" if use_gzip else ""}"'
    version = request.query.get("v")
    versioned = version is not None and asset.digest.startswith(version) and len(version) >= 8
    headers = {
        "ETag": etag,
        "Cache-Control": LONG_CACHE if versioned else SHORT_CACHE,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if _etag_matches(request, etag):
        return web.Response(status=304, headers=headers)
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    response = web.Response(body=asset.gzipped if use_gzip else asset.body, headers=headers)
    response.content_type = asset.content_type
    response.charset = "utf-8"
    return response


# ------------------------------------------------------------------------------- assets


@routes.get("/widget.js")
async def widget_js(request: web.Request) -> web.Response:
    """The one script a host page embeds."""
    return _asset_response(request, "widget.js")


@routes.get("/widget.css")
async def widget_css(request: web.Request) -> web.Response:
    """The widget's stylesheet (loaded by the script into its shadow root)."""
    return _asset_response(request, "widget.css")


@routes.get("/site.css")
async def site_css(request: web.Request) -> web.Response:
    """The pages' stylesheet (a file, since the policy forbids inline style)."""
    return _asset_response(request, "site.css")


@routes.get("/widget/banner")
async def banner(request: web.Request) -> web.Response:
    """The staff's emergency banner, `{"text": null}` when there is none.

    A failing banner source must never break the chat, so it answers null and logs.
    """
    text: str | None = None
    source = request.app.get(BANNER_SOURCE)
    if source is not None:
        try:
            result = source()
            if inspect.isawaitable(result):
                result = await result
            if isinstance(result, str) and result.strip():
                text = result.strip()[:MAX_BANNER_CHARS]
        except Exception:  # noqa: BLE001 - no banner is better than a broken widget
            logger.exception("widget banner source failed")
    response = web.json_response({"text": text})
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# -------------------------------------------------------------------------------- pages

HEAD = """<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="/site.css"></head>
"""

SITE_HEAD = """<a class="skip" href="#main">{skip}</a>
<header class="site-head"><div class="inner">
<a class="brand" href="/">Polisen</a>
<nav class="site-nav" aria-label="{nav}"><ul>
<li><a href="/">{home}</a></li><li><a href="/tillganglighet">{a11y}</a></li>
<li><a href="/status">{status}</a></li></ul></nav></div></header>
"""

SITE_FOOT = """<footer class="site-foot"><div class="inner">
<p><a href="/tillganglighet">Tillgänglighetsredogörelse</a> ·
<a href="/tillganglighet#english" lang="en">Accessibility statement</a> ·
<a href="/status">Driftstatus</a></p>
<p>Vid nödläge: ring 112. För övriga ärenden: ring 114 14.</p></div></footer>
"""

NAV_SV = {"skip": "Till huvudinnehållet", "nav": "Huvudmeny", "home": "Start",
          "a11y": "Tillgänglighet", "status": "Driftstatus"}
NAV_EN = {"skip": "Skip to main content", "nav": "Main menu", "home": "Home",
          "a11y": "Accessibility", "status": "Service status"}

DEMO_SV = """<nav class="crumbs" aria-label="Du är här"><ol><li><a href="/">Start</a></li>
<li><a href="/">Om polisen</a></li><li aria-current="page">Medborgarlöften</li></ol></nav>
<main id="main">
<article>
<h1>Medborgarlöften – polisens och kommunens löfte till dig</h1>
<p class="meta">Demonstrationssida för Polisens digitala assistent.
<span lang="en">Demonstration page for the police's digital assistant.</span></p>
<p class="lead">Ett medborgarlöfte är ett löfte från polisen och kommunen till dem som bor i
ett område: vad de ska göra tillsammans för att öka tryggheten och minska brottsligheten
där.</p>
<h2>Så tas ett medborgarlöfte fram</h2>
<p>Polisen och kommunen tar först fram en gemensam bild av problemen i området. Invånarna
får tycka till, till exempel i medborgardialoger och trygghetsundersökningar. Utifrån det
väljer man ett eller några fokusproblem och skriver ett löfte med konkreta åtaganden.</p>
<h2>Vad står det i löftet där du bor?</h2>
<p>Fråga assistenten: öppna chatten längst ned till höger och skriv din kommun, stadsdel
eller ditt postnummer. Assistenten svarar på svenska och engelska.</p>
<section class="fact" aria-labelledby="fact-title">
<h2 id="fact-title">Bra att veta</h2>
<p>Assistenten är en AI. Vid nödläge ska du alltid ringa 112. För ärenden som inte är akuta
når du polisen på 114 14.</p>
<p>Behöver du lämna sidan snabbt? Tryck på <strong>Lämna snabbt</strong> i chatten eller
på Esc två gånger: chatten töms och sidan byts ut.</p>
</section>
</article>
</main>
"""

DEMO_EN = """<nav class="crumbs" aria-label="You are here"><ol><li><a href="/?lang=en">Home</a></li>
<li><a href="/?lang=en">About the police</a></li>
<li aria-current="page">Citizen promises</li></ol></nav>
<main id="main">
<article>
<h1>Citizen promises – the police's and the municipality's promise to you</h1>
<p class="meta">Demonstration page for the Swedish Police's digital assistant.</p>
<p class="lead">A citizen promise (<span lang="sv">medborgarlöfte</span>) is a promise from
the police and the municipality to the people who live in an area: what they will do
together to make it safer and reduce crime there.</p>
<h2>What does the promise say where you live?</h2>
<p>Ask the assistant: open the chat at the bottom right and write your municipality,
district or postcode. The assistant answers in Swedish and English.</p>
<section class="fact" aria-labelledby="fact-title">
<h2 id="fact-title">Good to know</h2>
<p>The assistant is an AI. In an emergency, always call 112. For matters that are not
urgent, call the police on 114 14.</p>
<p>Need to leave the page quickly? Press <strong>Quick exit</strong> in the chat, or Esc
twice: the chat is cleared and the page is replaced.</p>
</section>
</article>
</main>
"""


def _site(lang: str, title: str, main: str) -> str:
    nav = NAV_EN if lang == "en" else NAV_SV
    return (HEAD.format(lang=lang, title=escape(title)) + "<body>\n"
            + SITE_HEAD.format(**nav) + main + SITE_FOOT)


@routes.get("/")
async def demo(request: web.Request) -> web.Response:
    """A polisen.se-like article with the one script tag a host page needs (`?lang=en`).
    Another language (`?lang=ar`) keeps the Swedish article, and the tag asks the widget for
    that language, as such a page on polisen.se would: the widget says what it offers."""
    asked = request.query.get("lang", "")
    asked = asked if re.fullmatch(r"[a-z]{2,3}", asked) else "sv"
    lang = "en" if asked == "en" else "sv"
    rasa_url = request.app[SETTINGS].rasa_url
    title = ("Citizen promises – the Swedish Police" if lang == "en"
             else "Medborgarlöften – Polisen")
    tag = (f'<script src="/widget.js" data-lang="{asked}" '
           f'data-server="{escape(rasa_url, quote=True)}" async></script>\n')
    body = _site(lang, title, DEMO_EN if lang == "en" else DEMO_SV) + tag + "</body></html>\n"
    return _page(request, body)


@routes.get("/status")
async def status(request: web.Request) -> web.Response:
    """A page that shows the service runs and how each component is doing."""
    app = request.app
    report = await health.check(app[SETTINGS], app[ENGINE], app[HTTP])
    items = "".join(
        f'<li>{escape(name)}: <span class="{"ok" if c["ok"] else "bad"}">'
        f"{'fungerar' if c['ok'] else 'fungerar inte'}</span></li>"
        for name, c in report["components"].items()
    )
    main = (
        '<main id="main"><h1>Polisens digitala assistent</h1>\n'
        '<p>Tjänsten körs. <span lang="en">The service is running.</span></p>\n'
        '<h2>Delar <span lang="en">(components)</span></h2>\n'
        f"<ul>{items}</ul>\n"
        '<p><a href="/health">/health</a> (JSON)</p></main>\n'
    )
    return _page(request, _site("sv", "Driftstatus – Polisens digitala assistent", main)
                 + "</body></html>\n")


STATEMENT = """<main id="main">
<h1>Tillgänglighetsredogörelse för Polisens digitala assistent</h1>
<p class="lead">Polisen står bakom den digitala assistenten (chatten) på polisen.se. Vi vill
att alla ska kunna använda den. Här beskriver vi hur den uppfyller lagen (2018:1937) om
tillgänglighet till digital offentlig service, kända brister och hur du rapporterar problem
så att vi kan åtgärda dem.</p>
<p><a href="#english" lang="en">Accessibility statement in English</a></p>

<h2>Hur tillgänglig är tjänsten?</h2>
<p>Vi bedömer att chatten uppfyller kraven i WCAG 2.1 på nivå AA. Du kan bland annat:</p>
<ul>
<li>använda hela chatten med bara tangentbordet: öppna, skriva, välja svarsalternativ,
följa länkar och stänga;</li>
<li>använda skärmläsare: nya meddelanden läses upp en gång, varje meddelande är märkt med
det språk det är skrivet på (så att ett svar på engelska läses med engelsk röst), och alla
knappar och fält har namn på svenska och engelska;</li>
<li>bifoga bilder till ett tips med bara tangentbordet; för varje bild visas och läses upp om
den togs emot, och annars varför inte;</li>
<li>förstora texten till 400 procent och använda en skärm som är 320 pixlar bred utan att
något försvinner;</li>
<li>välja minskad rörelse i ditt operativsystem, så stängs animeringar av;</li>
<li>ta den tid du behöver: chatten har inga tidsgränser;</li>
<li>lämna snabbt med knappen <strong>Lämna snabbt</strong> eller genom att trycka Esc två
gånger. Chatten töms från enheten och sidan byts mot en neutral sida.</li>
</ul>

<h2>Kända brister</h2>
<p>Vi känner inte till några brister i chatten just nu. Hittar du en vill vi gärna veta det:
använd formuläret nedan.</p>

<h2>Vad kan du göra om du inte kan använda chatten?</h2>
<p>Ring polisen på 114 14 (dygnet runt). Vid nödläge: ring 112. Har du en hörsel- eller
talnedsättning kan du ringa via Texttelefoni eller Teletal.</p>

<h2 id="rapportera">Rapportera brister i tillgängligheten</h2>
<p>Fungerar något inte för dig, eller har vi missat något? Berätta det här. Skriv inte
personnummer eller känsliga uppgifter om dig själv eller andra. Vill du ha svar kan du
lämna en e-postadress; annars är rapporten anonym.</p>
{errors}
<form class="report" method="post" action="/tillganglighet/feedback" novalidate>
<div><label for="message">Beskriv problemet
<span class="hint" id="message-hint">Vad försökte du göra och vad hände? Högst 2000 tecken.
<span lang="en">(Describe the problem, in Swedish or English.)</span></span></label>
<textarea id="message" name="message" rows="6" maxlength="2000" required
aria-describedby="message-hint{message_error_id}"{message_invalid}>{message}</textarea>
{message_error}</div>
<div><label for="where">Var i tjänsten? (frivilligt)
<span class="hint" id="where-hint">Till exempel en knapp, en sida eller ett meddelande.</span>
</label>
<input id="where" name="where" type="text" maxlength="200" aria-describedby="where-hint"
value="{where}"></div>
<div><label for="contact">E-postadress om du vill ha svar (frivilligt)</label>
<input id="contact" name="contact" type="email" maxlength="200" autocomplete="email"
value="{contact}"></div>
<button type="submit">Skicka rapporten</button>
</form>

<h2>Tillsyn</h2>
<p>Myndigheten för digital förvaltning (Digg) har ansvaret för tillsyn över lagen om
tillgänglighet till digital offentlig service. Om du inte är nöjd med hur vi hanterar dina
synpunkter kan du kontakta <a href="https://www.digg.se/">Digg</a>.</p>

<h2>Hur vi testat tjänsten</h2>
<p>Vi testar chatten automatiskt vid varje ändring: med verktyget axe-core mot WCAG 2.1 nivå
A och AA i stängt och öppet läge, under ett samtal och när samtalet kopplats till
kontaktcenter, med ett test där hela samtalet förs med bara tangentbordet och med ett där ett
tips med två bilder lämnas med bara tangentbordet. Vi har ännu inte testat med användare av
skärmläsare.</p>

<section id="english" lang="en" aria-labelledby="english-title">
<h2 id="english-title">Accessibility statement (English)</h2>
<p>The Swedish Police provide the digital assistant (the chat) on polisen.se and want
everyone to be able to use it. We assess that it meets WCAG 2.1 level AA, as the Swedish
law on accessible digital public services (2018:1937) requires.</p>
<ul>
<li>The whole chat works with the keyboard alone; focus moves into the chat when you open it
and back to the chat button when you close it.</li>
<li>New messages are read out once by screen readers and each one is marked with the
language it is written in; controls are named in Swedish and English.</li>
<li>Pictures can be attached to a tip with the keyboard alone; whether each one arrived, or
why not, is shown and read out.</li>
<li>The chat reflows at 400% zoom and at 320 pixels width, follows your reduced-motion
setting and has no time limits.</li>
<li>Quick exit: the <strong>Quick exit</strong> button, or Esc pressed twice, clears the
chat from your device and replaces the page with a neutral one.</li>
</ul>
<p>Known issues: none that we know of at the moment. Please tell us if you find one.</p>
<p>If you cannot use the chat, call the police on 114 14 (or 112 in an emergency). To report
an accessibility problem, use <a href="#rapportera">the form above</a> (you may write in
English). If you are not satisfied with how we handle your report, contact the Agency for
Digital Government (<a href="https://www.digg.se/" lang="sv">Digg</a>).</p>
</section>
</main>
"""


def _statement(message: str = "", where: str = "", contact: str = "",
               errors: Mapping[str, str] | None = None) -> str:
    errors = errors or {}
    summary = ""
    if errors:
        items = "".join(f'<li><a href="#{k}">{escape(v)}</a></li>' for k, v in errors.items())
        summary = ('<div class="errors" role="alert" aria-labelledby="errors-title">'
                   '<h2 id="errors-title">Rapporten kunde inte skickas</h2>'
                   f"<ul>{items}</ul></div>")
    message_error = errors.get("message")
    return _site("sv", "Tillgänglighetsredogörelse – Polisens digitala assistent",
                 STATEMENT.format(
                     errors=summary,
                     message=escape(message),
                     where=escape(where, quote=True),
                     contact=escape(contact, quote=True),
                     message_invalid=' aria-invalid="true"' if message_error else "",
                     message_error_id=" message-error" if message_error else "",
                     message_error=(f'<p class="error" id="message-error">{escape(message_error)}'
                                    "</p>" if message_error else ""),
                 )) + "</body></html>\n"


@routes.get("/tillganglighet")
async def statement(request: web.Request) -> web.Response:
    """The accessibility statement (tillgänglighetsredogörelse), with a report form."""
    return _page(request, _statement())


def _clean(value: object, limit: int) -> str:
    """Printable text only (newlines kept), at most `limit` characters."""
    text = value if isinstance(value, str) else ""
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return text.strip()[:limit]


def _append_line(path: Path, line: bytes, max_bytes: int) -> bool:
    """Append one report unless the file would pass `max_bytes` (the cap keeps a flood of
    reports from filling the disk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = path.stat().st_size if path.exists() else 0
    if size + len(line) > max_bytes:
        return False
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "ab") as file:
        file.write(line)
    return True


@routes.post("/tillganglighet/feedback")
async def feedback(request: web.Request) -> web.Response:
    """Store a problem report as one JSON line, then show the thank-you page (303)."""
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(text="Reports are accepted from this site's own form only.")
    form = await read_form(request)
    message = _clean(form.get("message"), MAX_REPORT_CHARS + 1)
    where = _clean(form.get("where"), MAX_FIELD_CHARS)
    contact = _clean(form.get("contact"), MAX_FIELD_CHARS)
    errors: dict[str, str] = {}
    if not message:
        errors["message"] = "Beskriv problemet (Describe the problem)."
    elif len(message) > MAX_REPORT_CHARS:
        errors["message"] = f"Skriv högst {MAX_REPORT_CHARS} tecken."
    if errors:
        return _page(request, _statement(message, where, contact, errors), status=400)
    # Only a report that would be stored counts against the address's limit: a form sent
    # back with an error costs the citizen nothing.
    limits = request.app.get(RATE_LIMITS)
    if limits is not None and not await limits.allow(FEEDBACK_PER_ADDRESS, "feedback",
                                                     client_address(request)):
        raise web.HTTPTooManyRequests(
            headers={"Retry-After": "3600"},
            text="För många rapporter på kort tid: försök igen om en timme, eller ring 114 14. "
                 "/ Too many reports in a short time: try again in an hour, or call 114 14.")
    config = request.app[WIDGET]
    record = {
        "received": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "message": message,
        "where": where or None,
        "contact": contact or None,
    }
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    async with config.feedback_lock:
        stored = await asyncio.to_thread(_append_line, config.feedback_path, line,
                                         config.feedback_max_bytes)
    if not stored:
        logger.warning("accessibility feedback file is full (%s); report refused",
                       config.feedback_path)
        main = ('<main id="main"><h1>Rapporten kunde inte tas emot just nu</h1>'
                "<p>Vi kan inte ta emot fler rapporter via formuläret just nu. Ring 114 14 och "
                "berätta om problemet.</p><p lang=\"en\">We cannot receive more reports "
                "through the form right now. Please call 114 14.</p></main>\n")
        return _page(request, _site("sv", "Rapporten kunde inte tas emot", main)
                     + "</body></html>\n", status=503)
    raise web.HTTPSeeOther("/tillganglighet/tack")


@routes.get("/tillganglighet/tack")
async def thanks(request: web.Request) -> web.Response:
    """Where a stored report lands (after the redirect, so a reload does not resend it)."""
    main = ('<main id="main"><h1>Tack för din rapport</h1>'
            "<p>Vi har tagit emot din rapport om tillgängligheten. Den hjälper oss att göra "
            "tjänsten bättre.</p>"
            '<p lang="en">Thank you: we have received your report.</p>'
            '<p><a href="/tillganglighet">Tillbaka till tillgänglighetsredogörelsen</a></p>'
            "</main>\n")
    return _page(request, _site("sv", "Tack för din rapport", main) + "</body></html>\n")


EXIT = """<!doctype html>
<html lang="sv">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Enkel tomatsoppa – recept</title><link rel="stylesheet" href="/site.css"></head>
<body class="neutral"><main id="main">
<h1>Enkel tomatsoppa</h1>
<p>En snabb vardagssoppa för fyra personer. Klar på ungefär 30 minuter.</p>
<h2>Ingredienser</h2>
<ul><li>1 gul lök</li><li>2 vitlöksklyftor</li><li>2 msk olivolja</li>
<li>2 burkar krossade tomater (à 400 g)</li><li>5 dl grönsaksbuljong</li>
<li>1 dl matlagningsgrädde</li><li>salt och svartpeppar</li><li>färsk basilika</li></ul>
<h2>Gör så här</h2>
<ol><li>Hacka löken och vitlöken. Fräs dem mjuka i oljan utan att de får färg.</li>
<li>Tillsätt tomaterna och buljongen. Låt sjuda under lock i 20 minuter.</li>
<li>Mixa soppan slät, rör ner grädden och smaka av med salt och peppar.</li>
<li>Servera med basilika och ett gott bröd.</li></ol>
</main></body></html>
"""


@routes.get("/exit")
async def exit_page(request: web.Request) -> web.Response:
    """The quick exit's destination: a neutral page with nothing of the police on it."""
    response = _page(request, EXIT, cache="no-store")
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
