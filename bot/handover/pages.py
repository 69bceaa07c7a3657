"""HTML of the agent console, built in Python with every value escaped.

Nothing here trusts its input: citizen text, agent text, user names, queue names and
reasons all pass :func:`h` (HTML escape, quotes included) before they reach the page, and
the pages carry no inline script or style, so ``Content-Security-Policy: default-src
'self'`` holds. Behaviour (live updates, confirmations) is in ``static/console.js``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from typing import Any

from bot.handover.accounts import Agent, ConsoleSession
from bot.handover.hours import STOCKHOLM
from bot.handover.service import (
    AuditEntry,
    Banner,
    Callback,
    HandoverView,
    Message,
    TipSummary,
    iso,
)

STATUS_LABELS = {"waiting": "Väntar", "active": "Pågår", "closed": "Avslutad"}
KIND_LABELS = {"citizen": "Medborgare", "bot": "Assistenten", "agent": "Handläggare"}


def h(value: object) -> str:
    """Escape for HTML text and attribute values (None becomes empty)."""
    return "" if value is None else escape(str(value), quote=True)


def local_time(value: datetime | None) -> str:
    """A time as staff read it: Stockholm wall clock, to the minute."""
    if value is None:
        return ""
    return value.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def waited(since: datetime, now: datetime) -> str:
    """How long ago `since` was, in minutes (the queue's waiting time)."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def _time(value: datetime | None) -> str:
    if value is None:
        return ""
    return f'<time datetime="{h(iso(value))}">{h(local_time(value))}</time>'


def csrf_field(csrf: str) -> str:
    return f'<input type="hidden" name="csrf_token" value="{h(csrf)}">'


def _button_form(
    action: str, label: str, csrf: str, *, confirm: str | None = None, css: str = ""
) -> str:
    confirm_attr = f' data-confirm="{h(confirm)}"' if confirm else ""
    return (
        f'<form method="post" action="{h(action)}" class="inline"{confirm_attr}>'
        f'{csrf_field(csrf)}<button type="submit" class="{h(css)}">{h(label)}</button></form>'
    )


def layout(
    title: str,
    body: str,
    *,
    current: ConsoleSession | None = None,
    page: str = "",
    data: dict[str, Any] | None = None,
    notice: str | None = None,
    error: str | None = None,
) -> str:
    """The frame of every console page: head, navigation with logout, messages."""
    attrs = "".join(f' data-{h(k)}="{h(v)}"' for k, v in (data or {}).items())
    nav = ""
    meta = ""
    if current is not None:
        agent = current.agent
        links = [
            ("/console", "Kö", "queue"),
            ("/console/tips", "Tips", "tips"),
            ("/console/callbacks", "Återuppringningar", "callbacks"),
        ]
        if agent.is_admin:
            links.append(("/console/admin", "Administration", "admin"))
        current_attr = ' aria-current="page"'
        items = "".join(
            f'<li><a href="{h(href)}"{current_attr if key == page else ""}>{h(label)}</a></li>'
            for href, label, key in links
        )
        nav = (
            f'<header class="top"><nav aria-label="Konsol"><ul>{items}</ul></nav>'
            f'<div class="who"><span>{h(agent.username)} ({h(agent.role)})</span>'
            f"{_button_form('/console/logout', 'Logga ut', current.csrf_token)}</div></header>"
        )
        meta = f'<meta name="csrf-token" content="{h(current.csrf_token)}">'
    messages = ""
    if error:
        messages += f'<p class="error" role="alert">{h(error)}</p>'
    if notice:
        messages += f'<p class="notice" role="status">{h(notice)}</p>'
    return (
        '<!doctype html>\n<html lang="sv"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="same-origin">{meta}'
        f"<title>{h(title)} – Kontaktcenter</title>"
        '<link rel="stylesheet" href="/console/static/console.css">'
        '<script src="/console/static/console.js" defer></script>'
        f'</head><body data-page="{h(page)}"{attrs}>{nav}<main>'
        f'<h1>{h(title)}</h1><div id="live-status" class="live" role="status"></div>'
        f"{messages}{body}</main></body></html>"
    )


def login_page(
    csrf: str, *, next_url: str = "/console", username: str = "", error: str | None = None
) -> str:
    body = (
        '<form method="post" action="/console/login" class="login">'
        f'{csrf_field(csrf)}<input type="hidden" name="next" value="{h(next_url)}">'
        '<label for="username">Användarnamn</label>'
        f'<input id="username" name="username" autocomplete="username" required '
        f'value="{h(username)}" autofocus>'
        '<label for="password">Lösenord</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        '<button type="submit">Logga in</button></form>'
    )
    return layout("Logga in", body, page="login", error=error)


def error_page(title: str, message: str, current: ConsoleSession | None = None) -> str:
    return layout(
        title,
        f'<p>{h(message)}</p><p><a href="/console">Till kön</a></p>',
        current=current,
        page="error",
    )


def _queue_rows(items: Sequence[HandoverView], status: str, now: datetime) -> str:
    if not items:
        return '<tr class="empty"><td colspan="7">Inga</td></tr>'
    rows = []
    for item in items:
        if status == "waiting":
            extra = (
                f'<td class="waited" data-since="{h(iso(item.created_at))}">'
                f"{h(waited(item.created_at, now))}</td>"
            )
        elif status == "active":
            extra = f"<td>{h(item.agent)}</td>"
        else:
            extra = f"<td>{_time(item.closed_at)} ({h(item.closed_by)})</td>"
        rows.append(
            f'<tr data-id="{item.id}"><td><a href="/console/conversations/{item.id}">'
            f"#{item.id}</a></td><td>{h(item.queue)}</td><td>{h(item.reason)}</td>"
            f"<td>{h(item.channel)}</td><td>{h(item.language)}</td><td>{h(item.area)}</td>"
            f"{extra}</tr>"
        )
    return "".join(rows)


def _queue_table(
    status: str, heading: str, last: str, items: Sequence[HandoverView], now: datetime
) -> str:
    return (
        f'<section aria-labelledby="h-{status}"><h2 id="h-{status}">{h(heading)} '
        f'<span class="count" data-count="{status}">{len(items)}</span></h2>'
        f'<table class="queue"><thead><tr><th>Ärende</th><th>Kö</th><th>Orsak</th>'
        f"<th>Kanal</th><th>Språk</th><th>Område</th><th>{h(last)}</th></tr></thead>"
        f'<tbody id="list-{status}">{_queue_rows(items, status, now)}</tbody></table></section>'
    )


def queue_page(
    current: ConsoleSession,
    waiting: Sequence[HandoverView],
    active: Sequence[HandoverView],
    closed: Sequence[HandoverView],
    now: datetime,
) -> str:
    body = (
        _queue_table("waiting", "Väntar", "Väntat", waiting, now)
        + _queue_table("active", "Pågår", "Handläggare", active, now)
        + _queue_table("closed", "Avslutade", "Avslutad", closed, now)
    )
    return layout("Kö", body, current=current, page="queue", data={"live": "1"})


def _message_item(message: Message, csrf: str, handover_id: int) -> str:
    who = KIND_LABELS.get(message.kind, message.kind)
    if message.kind == "agent" and message.agent:
        who = f"{who} {message.agent}"
    state = ""
    if message.kind == "agent":
        if message.delivered is False:
            retry = _button_form(
                f"/console/conversations/{handover_id}/replies/{message.id}/retry",
                "Skicka igen",
                csrf,
            )
            state = f'<span class="undelivered">Inte levererat</span>{retry}'
        elif message.delivered is None:
            state = '<span class="pending">Skickas…</span>'
    return (
        f'<li class="msg {h(message.kind)}" data-id="{message.id}"><div class="meta">'
        f"<strong>{h(who)}</strong> {_time(message.created_at)} {state}</div>"
        f'<div class="text">{h(message.text)}</div></li>'
    )


def _note_item(message: Message) -> str:
    return (
        f'<li class="msg note"><div class="meta"><strong>{h(message.agent)}</strong> '
        f'{_time(message.created_at)}</div><div class="text">{h(message.text)}</div></li>'
    )


def conversation_page(
    current: ConsoleSession,
    handover: HandoverView,
    transcript: Sequence[Message],
    notes: Sequence[Message],
    tip_references: Sequence[str] | None,
    queues: Sequence[str],
    now: datetime,
    *,
    error: str | None = None,
    notice: str | None = None,
    draft: str = "",
    window_note: str | None = None,
) -> str:
    csrf = current.csrf_token
    me = current.agent.username
    base = f"/console/conversations/{handover.id}"
    tips = (
        (", ".join(h(r) for r in tip_references) if tip_references else "Inga")
        if tip_references is not None
        else "Okänt (tipsen är inte kopplade till samtal)"
    )
    facts = [
        ("Status", STATUS_LABELS.get(handover.status, handover.status)),
        ("Handläggare", handover.agent or "–"),
        ("Kö", handover.queue),
        ("Orsak", handover.reason),
        ("Kanal", handover.channel),
        ("Språk", handover.language),
        ("Område", handover.area or "–"),
        ("Samtals-id", handover.conversation_id),
        ("Skapat", local_time(handover.created_at)),
    ]
    if handover.status == "waiting":
        facts.append(("Väntat", waited(handover.created_at, now)))
    facts_html = (
        "".join(f"<dt>{h(k)}</dt><dd>{h(v)}</dd>" for k, v in facts)
        + f"<dt>Tips</dt><dd>{tips}</dd>"
    )

    actions = []
    if handover.status == "waiting":
        actions.append(_button_form(f"{base}/claim", "Ta ärendet", csrf, css="primary"))
    if handover.status != "closed" and (handover.status == "waiting" or handover.agent == me):
        options = "".join(
            f'<option value="{h(q)}"{" selected" if q == handover.queue else ""}>{h(q)}</option>'
            for q in queues
        )
        actions.append(
            f'<form method="post" action="{h(base)}/transfer" class="inline">{csrf_field(csrf)}'
            f'<label for="queue">Flytta till kö</label> <select id="queue" name="queue">'
            f'{options}</select> <button type="submit">Flytta</button></form>'
        )
        actions.append(
            _button_form(
                f"{base}/close",
                "Avsluta (assistenten tar över)",
                csrf,
                confirm="Avsluta ärendet? Medborgaren får fortsätta med assistenten.",
            )
        )
    reply = ""
    if handover.status == "active" and handover.agent == me:
        reply = (
            (f'<p class="warning" role="status">{h(window_note)}</p>' if window_note else "")
            + f'<form method="post" action="{h(base)}/reply" class="compose">{csrf_field(csrf)}'
            '<label for="reply-text">Svar till medborgaren</label>'
            f'<textarea id="reply-text" name="text" rows="4" maxlength="4000" required>'
            f"{h(draft)}</textarea>"
            '<button type="submit" class="primary">Skicka svar</button>'
            '<span class="hint">Ctrl+Enter skickar</span></form>'
        )
    elif handover.status == "active":
        reply = f'<p class="hint">{h(handover.agent)} handlägger ärendet.</p>'
    note_form = (
        f'<form method="post" action="{h(base)}/note" class="compose">{csrf_field(csrf)}'
        '<label for="note-text">Intern anteckning (syns inte för medborgaren)</label>'
        '<textarea id="note-text" name="text" rows="2" maxlength="4000" required></textarea>'
        '<button type="submit">Spara anteckning</button></form>'
    )
    transcript_html = "".join(_message_item(m, csrf, handover.id) for m in transcript) or (
        '<li class="empty">Inga meddelanden ännu</li>'
    )
    notes_html = "".join(_note_item(m) for m in notes) or '<li class="empty">Inga</li>'
    body = (
        f'<div class="conversation"><section class="facts"><h2>Uppgifter</h2>'
        f'<dl>{facts_html}</dl><div class="actions">{"".join(actions)}</div></section>'
        '<section class="transcript"><h2>Samtalet</h2>'
        f'<ol id="transcript" class="messages">{transcript_html}</ol>{reply}</section>'
        '<section class="notes"><h2>Interna anteckningar</h2>'
        f'<ol id="notes" class="messages">{notes_html}</ol>{note_form}</section></div>'
    )
    return layout(
        f"Ärende #{handover.id}",
        body,
        current=current,
        page="conversation",
        data={
            "live": "1",
            "handover-id": handover.id,
            "status": handover.status,
            "agent": handover.agent or "",
            "me": me,
        },
        error=error,
        notice=notice,
    )


def tips_page(current: ConsoleSession, tips: Sequence[TipSummary] | None) -> str:
    if tips is None:
        body = "<p>Tipslådan finns inte i den här installationen.</p>"
    else:
        rows = (
            "".join(
                f"<tr><td>{h(t.reference)}</td><td>{_time(t.created_at)}</td>"
                f"<td>{h(t.status)}</td></tr>"
                for t in tips
            )
            or '<tr class="empty"><td colspan="3">Inga tips</td></tr>'
        )
        body = (
            "<p>Tipsen läses via personal-API:t med referensen; här visas bara referens, "
            "tid och leveransstatus.</p>"
            "<table><thead><tr><th>Referens</th><th>Inkom</th><th>Status</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    return layout("Tips", body, current=current, page="tips")


def callbacks_page(current: ConsoleSession, items: Iterable[Callback]) -> str:
    rows = []
    for c in items:
        if c.status == "new":
            state = "Ny " + _button_form(
                f"/console/callbacks/{c.id}/handled",
                "Markera som hanterad",
                current.csrf_token,
            )
        else:
            state = f"Hanterad av {h(c.handled_by)} {_time(c.handled_at)}"
        rows.append(
            f"<tr><td>{h(c.reference)}</td><td>{_time(c.created_at)}</td>"
            f"<td>{h(c.phone)}</td><td>{h(c.name or '–')}</td><td>{h(c.best_time or '–')}</td>"
            f"<td>{h(c.language)}</td><td>{state}</td></tr>"
        )
    body = (
        "<table><thead><tr><th>Referens</th><th>Inkom</th><th>Telefon</th><th>Namn</th>"
        "<th>Bästa tid</th><th>Språk</th><th>Status</th></tr></thead>"
        f"<tbody>{''.join(rows) or '<tr class=empty><td colspan=7>Inga</td></tr>'}</tbody>"
        "</table>"
    )
    return layout("Återuppringningar", body, current=current, page="callbacks")


def admin_page(
    current: ConsoleSession,
    banner: Banner,
    accounts: Sequence[Agent],
    audit: Sequence[AuditEntry],
    *,
    error: str | None = None,
    notice: str | None = None,
) -> str:
    csrf = current.csrf_token
    set_by = (
        f'<p class="hint">Satt av {h(banner.updated_by)} {_time(banner.updated_at)}</p>'
        if banner.updated_by
        else ""
    )
    banner_form = (
        "<section><h2>Krisbanner</h2><p>Visas i chattfönstret och i assistentens första "
        "svar, t.ex. vid en större händelse. Tom text tar bort den.</p>"
        f'<form method="post" action="/console/admin/banner" class="compose">{csrf_field(csrf)}'
        '<label for="banner-text">Text</label>'
        f'<textarea id="banner-text" name="text" rows="3" maxlength="500">{h(banner.text)}'
        f'</textarea><button type="submit">Spara</button></form>{set_by}</section>'
    )
    rows = "".join(
        f"<tr><td>{h(a.username)}</td><td>{h(a.role)}</td>"
        f"<td>{'aktiv' if a.active else 'avstängd'}</td><td>{_time(a.last_login_at)}</td></tr>"
        for a in accounts
    )
    accounts_html = (
        "<section><h2>Konton</h2><table><thead><tr><th>Användarnamn</th><th>Roll</th>"
        f"<th>Status</th><th>Senast inloggad</th></tr></thead><tbody>{rows}</tbody></table>"
        f'<form method="post" action="/console/admin/agents" class="compose">{csrf_field(csrf)}'
        '<label for="new-username">Nytt användarnamn</label>'
        '<input id="new-username" name="username" required autocomplete="off">'
        '<label for="new-password">Lösenord (minst 12 tecken)</label>'
        '<input id="new-password" name="password" type="password" required minlength="12" '
        'autocomplete="new-password">'
        '<label for="new-role">Roll</label><select id="new-role" name="role">'
        '<option value="agent">agent</option><option value="admin">admin</option></select>'
        '<button type="submit">Skapa konto</button></form></section>'
    )
    audit_rows = "".join(
        f"<tr><td>{_time(e.at)}</td><td>{h(e.agent)}</td><td>{h(e.action)}</td>"
        f"<td>{h(e.object_type)}</td><td>{h(e.object_id)}</td></tr>"
        for e in audit
    )
    audit_html = (
        "<section><h2>Granskningslogg (senaste)</h2><table><thead><tr><th>Tid</th>"
        "<th>Vem</th><th>Åtgärd</th><th>Typ</th><th>Id</th></tr></thead>"
        f"<tbody>{audit_rows}</tbody></table></section>"
    )
    return layout(
        "Administration",
        banner_form + accounts_html + audit_html,
        current=current,
        page="admin",
        error=error,
        notice=notice,
    )
