// The agent console's behaviour: live updates over the WebSocket, waiting times that tick,
// confirmations and Ctrl+Enter. Loaded as a file (no inline script), so the page's
// Content-Security-Policy "default-src 'self'" holds. Everything received is put on the page
// with textContent, never as HTML, so citizen text stays inert.
"use strict";

(function () {
  const body = document.body;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  const KIND_LABELS = { citizen: "Medborgare", bot: "Assistenten", agent: "Handläggare" };
  const CLOSED_SHOWN = 50;

  // --- small helpers ----------------------------------------------------------------------

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function ([key, value]) {
      if (value !== null && value !== undefined) node.setAttribute(key, String(value));
    });
    (children || []).forEach(function (child) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  function localTime(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleString("sv-SE", {
      timeZone: "Europe/Stockholm", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit",
    });
  }

  function timeEl(iso) {
    return el("time", { datetime: iso }, [localTime(iso)]);
  }

  function formatWait(iso) {
    const minutes = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 60000));
    if (minutes < 120) return minutes + " min";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function tickWaits() {
    document.querySelectorAll("[data-since]").forEach(function (node) {
      node.textContent = formatWait(node.getAttribute("data-since"));
    });
  }

  function postForm(action, label, extraClass) {
    const form = el("form", { method: "post", action: action, class: "inline" }, [
      el("input", { type: "hidden", name: "csrf_token", value: csrf }),
      el("button", { type: "submit", class: extraClass || "" }, [label]),
    ]);
    return form;
  }

  // --- behaviour on every page -------------------------------------------------------------

  document.addEventListener("submit", function (event) {
    const message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) &&
        target.matches && target.matches("form.compose textarea")) {
      event.preventDefault();
      target.form.requestSubmit();
    }
  });

  setInterval(tickWaits, 15000);

  if (body.dataset.live !== "1") return;

  // --- live pages ---------------------------------------------------------------------------

  const liveStatus = document.getElementById("live-status");
  const page = body.dataset.page;
  const handoverId = body.dataset.handoverId ? Number(body.dataset.handoverId) : null;

  function setLive(text, ok) {
    if (!liveStatus) return;
    liveStatus.textContent = text;
    liveStatus.classList.toggle("offline", !ok);
  }

  async function getJSON(url) {
    const reply = await fetch(url, {
      credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store",
    });
    if (reply.status === 401) {
      window.location.href = "/console/login?next=" + encodeURIComponent(window.location.pathname);
      throw new Error("logged out");
    }
    if (!reply.ok) throw new Error("HTTP " + reply.status);
    return reply.json();
  }

  function queueRow(item, status) {
    let last;
    if (status === "waiting") {
      last = el("td", { class: "waited", "data-since": item.created_at }, [formatWait(item.created_at)]);
    } else if (status === "active") {
      last = el("td", {}, [item.agent || ""]);
    } else {
      last = el("td", {}, [timeEl(item.closed_at), " (" + (item.closed_by || "") + ")"]);
    }
    return el("tr", { "data-id": item.id }, [
      el("td", {}, [el("a", { href: "/console/conversations/" + item.id }, ["#" + item.id])]),
      el("td", {}, [item.queue]),
      el("td", {}, [item.reason]),
      el("td", {}, [item.channel]),
      el("td", {}, [item.language]),
      el("td", {}, [item.area || ""]),
      last,
    ]);
  }

  function renderQueue(data) {
    ["waiting", "active", "closed"].forEach(function (status) {
      const tbody = document.getElementById("list-" + status);
      if (!tbody) return;
      const items = (data[status] || []).slice(0, status === "closed" ? CLOSED_SHOWN : undefined);
      const rows = items.map(function (item) { return queueRow(item, status); });
      if (rows.length === 0) rows.push(el("tr", { class: "empty" }, [el("td", { colspan: 7 }, ["Inga"])]));
      tbody.replaceChildren.apply(tbody, rows);
      const count = document.querySelector('[data-count="' + status + '"]');
      if (count) count.textContent = String(items.length);
    });
    document.title = "(" + (data.waiting || []).length + ") Kö – Kontaktcenter";
  }

  function messageItem(message) {
    let who = KIND_LABELS[message.kind] || message.kind;
    if (message.kind === "agent" && message.agent) who += " " + message.agent;
    const meta = el("div", { class: "meta" }, [el("strong", {}, [who]), " ", timeEl(message.created_at), " "]);
    if (message.kind === "agent" && message.delivered === false) {
      meta.append(el("span", { class: "undelivered" }, ["Inte levererat"]));
      meta.append(postForm("/console/conversations/" + handoverId + "/replies/" + message.id + "/retry", "Skicka igen"));
    } else if (message.kind === "agent" && message.delivered === null) {
      meta.append(el("span", { class: "pending" }, ["Skickas…"]));
    }
    return el("li", { class: "msg " + message.kind, "data-id": message.id }, [
      meta, el("div", { class: "text" }, [message.text]),
    ]);
  }

  function noteItem(message) {
    return el("li", { class: "msg note" }, [
      el("div", { class: "meta" }, [el("strong", {}, [message.agent || ""]), " ", timeEl(message.created_at)]),
      el("div", { class: "text" }, [message.text]),
    ]);
  }

  function renderList(id, items, render) {
    const list = document.getElementById(id);
    if (!list) return;
    const nodes = items.map(render);
    if (nodes.length === 0) nodes.push(el("li", { class: "empty" }, ["Inga"]));
    list.replaceChildren.apply(list, nodes);
  }

  function renderConversation(data) {
    const transcript = document.getElementById("transcript");
    const atBottom = transcript &&
      transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    renderList("transcript", data.transcript, messageItem);
    renderList("notes", data.notes, noteItem);
    if (transcript && atBottom) transcript.scrollTop = transcript.scrollHeight;
    const handover = data.handover;
    if (handover.status !== body.dataset.status || (handover.agent || "") !== body.dataset.agent) {
      const notice = document.getElementById("changed") || el("p", { id: "changed", class: "notice", role: "status" }, []);
      notice.replaceChildren(
        "Ärendet har ändrats (" + handover.status + (handover.agent ? ", " + handover.agent : "") + "). ",
        el("a", { href: window.location.pathname }, ["Ladda om sidan"]),
      );
      const main = document.querySelector("main");
      if (main && !notice.parentNode) main.insertBefore(notice, main.children[1] || null);
    }
  }

  let refreshTimer = null;
  function refresh() {
    if (refreshTimer !== null) return;
    refreshTimer = setTimeout(async function () {
      refreshTimer = null;
      try {
        if (page === "queue") renderQueue(await getJSON("/console/api/queue"));
        else if (page === "conversation" && handoverId !== null) {
          renderConversation(await getJSON("/console/api/conversations/" + handoverId));
        }
      } catch (error) {
        setLive("Kunde inte uppdatera: " + error.message, false);
      }
    }, 150);
  }

  let retryDelay = 1000;
  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + "/console/ws");
    socket.addEventListener("open", function () {
      retryDelay = 1000;
      setLive("Live", true);
      refresh(); // catch up on what happened while disconnected
    });
    socket.addEventListener("message", function (message) {
      let data;
      try { data = JSON.parse(message.data); } catch (error) { return; }
      if (data.type === "resync") refresh();
      if (data.type !== "event") return;
      const event = data.event;
      if (page === "queue" || (handoverId !== null && event.handover_id === handoverId)) refresh();
    });
    socket.addEventListener("close", function (event) {
      if (event.code === 4401) {
        window.location.href = "/console/login";
        return;
      }
      setLive("Frånkopplad – försöker igen…", false);
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    });
  }

  connect();
})();
