/*
 * The polisen.se web chat widget. Vanilla ES2019, no dependencies; it never parses HTML or
 * evaluates code, so it runs under a strict Content-Security-Policy and renders every
 * message as text.
 *
 * Embedding: <script src="https://host/widget.js" data-lang="sv" async></script>
 * Options (data attributes on that tag, all optional):
 *   data-lang        sv | en   interface language (default: the page's lang, else sv)
 *   data-server      URL of the Rasa server (socket.io); default: the script's origin
 *   data-exit-url    where quick exit goes; default: <script origin>/exit
 *   data-banner-url  the staff's emergency banner (JSON {"text": ...}); default: <origin>/widget/banner
 *   data-statement-url  the accessibility statement; default: <origin>/tillganglighet
 *   data-upload-url  where pictures for a tip go; default: <origin>/widget/upload
 *
 * Protocol: socket.io v5 over engine.io v4, WebSocket transport only (a small client below
 * instead of the 40+ KB official one). Events: session_request / session_confirm (signed
 * token kept in sessionStorage), user_uttered (with an ack, so queued messages go one at a
 * time, in order) and bot_uttered. Pictures go over HTTP (POST, one per request, with the
 * session token as bearer token) when a bot message asks for them (custom.upload).
 */
(function () {
  'use strict';

  var script = document.currentScript ||
    document.querySelector('script[src$="/widget.js"],script[src*="/widget.js?"]');
  if (!script || document.getElementById('polisen-chat')) return;

  var data = script.dataset || {};
  var base = new URL(script.src, location.href);
  var origin = base.origin;
  var server = (data.server || origin).replace(/\/+$/, '');
  var exitUrl = data.exitUrl || origin + '/exit';
  var bannerUrl = data.bannerUrl || origin + '/widget/banner';
  var statementUrl = data.statementUrl || origin + '/tillganglighet';
  var uploadUrl = data.uploadUrl || origin + '/widget/upload';
  var cssUrl = new URL('widget.css?v=__CSS_HASH__', base).href;

  var KEY = 'polisen-chat.';
  var MAX_LOG = 300;
  var ESC_WINDOW_MS = 1500;

  /* ------------------------------------------------------------------ texts */

  var TEXTS = {
    sv: {
      launcher: 'Chatta med polisen',
      unread: ' (nytt meddelande)',
      title: 'Polisens digitala assistent',
      intro: 'Vid nödläge: ring 112.',
      welcome: 'Du chattar med en AI, inte med en människa. Skriv inte personnummer eller ' +
        'känsliga uppgifter om andra. Vid nödläge: ring 112. Skriv din fråga nedan.',
      close: 'Stäng',
      closeLabel: 'Stäng chatten',
      exit: 'Lämna snabbt',
      exitLabel: 'Lämna snabbt: tömmer chatten och byter sida (eller tryck Esc två gånger)',
      other: 'In English',
      otherLang: 'en',
      tools: 'Verktyg för samtalet',
      clear: 'Rensa historik',
      download: 'Ladda ned samtalet',
      statement: 'Tillgänglighet',
      log: 'Samtalet',
      input: 'Skriv ditt meddelande',
      send: 'Skicka',
      typing: 'Assistenten skriver',
      bot: 'Assistenten',
      user: 'Du',
      agent: 'Handläggare på kontaktcenter',
      note: 'Information',
      choices: 'Svarsalternativ',
      image: 'Bild från polisen',
      newWindow: ' (öppnas i nytt fönster)',
      connecting: 'Ansluter …',
      offline: 'Ingen anslutning. Det du skriver skickas när anslutningen är tillbaka.',
      retrying: 'Anslutningen bröts. Försöker igen …',
      queued: 'Inte skickat än',
      banner: 'Viktigt meddelande från polisen',
      waiting: 'Du står i kö till Polisens kontaktcenter.',
      position: 'Din plats i kön: ',
      active: 'Du är kopplad till Polisens kontaktcenter. En handläggare svarar dig.',
      closed: 'Samtalet med kontaktcenter är avslutat. Du chattar med assistenten igen.',
      fresh: 'Ett nytt samtal har startat.',
      cleared: 'Historiken är rensad.',
      transcript: 'Samtal med Polisens digitala assistent',
      file: 'polisen-chatt-',
      attach: 'Bifoga bilder',
      attachHint: '{t}. Högst {n} bilder, {mb} MB tillsammans.',
      or: ' eller ',
      uploading: 'skickas …',
      received: 'mottagen',
      notSent: 'inte skickad: ',
      badType: 'Filen är inte en bild av rätt sort.',
      tooMany: 'Du kan skicka högst {n} bilder.',
      tooBig: 'Bilderna får vara högst {mb} MB tillsammans.',
      failed: 'Bilden kunde inte skickas. Försök igen.',
      gotPics: ['{n} bild mottagen.', '{n} bilder mottagna.'],
      lostPics: ['{n} bild kunde inte skickas.', '{n} bilder kunde inte skickas.'],
      sentPics: ['Skickade {n} bild', 'Skickade {n} bilder']
    },
    en: {
      launcher: 'Chat with the police',
      unread: ' (new message)',
      title: "The Swedish Police's digital assistant",
      intro: 'In an emergency, call 112.',
      welcome: 'You are chatting with an AI, not a person. Do not write personal identity ' +
        'numbers or sensitive details about others. In an emergency, call 112. Write your ' +
        'question below.',
      close: 'Close',
      closeLabel: 'Close the chat',
      exit: 'Quick exit',
      exitLabel: 'Quick exit: clears the chat and leaves this page (or press Esc twice)',
      other: 'På svenska',
      otherLang: 'sv',
      tools: 'Conversation tools',
      clear: 'Clear history',
      download: 'Download transcript',
      statement: 'Accessibility',
      log: 'Conversation',
      input: 'Write your message',
      send: 'Send',
      typing: 'The assistant is typing',
      bot: 'Assistant',
      user: 'You',
      agent: 'Contact centre officer',
      note: 'Information',
      choices: 'Reply options',
      image: 'Image from the police',
      newWindow: ' (opens in a new window)',
      connecting: 'Connecting …',
      offline: 'No connection. What you write is sent when the connection is back.',
      retrying: 'The connection was lost. Trying again …',
      queued: 'Not sent yet',
      banner: 'Important message from the police',
      waiting: "You are in the queue for the police's contact centre.",
      position: 'Your place in the queue: ',
      active: "You are connected to the police's contact centre. An officer will reply.",
      closed: 'The conversation with the contact centre has ended. You are chatting with ' +
        'the assistant again.',
      fresh: 'A new conversation has started.',
      cleared: 'The history has been cleared.',
      transcript: "Conversation with the Swedish Police's digital assistant",
      file: 'police-chat-',
      attach: 'Attach pictures',
      attachHint: '{t}. At most {n} pictures, {mb} MB together.',
      or: ' or ',
      uploading: 'uploading …',
      received: 'received',
      notSent: 'not sent: ',
      badType: 'The file is not a picture of the right kind.',
      tooMany: 'You can send at most {n} pictures.',
      tooBig: 'The pictures can be at most {mb} MB together.',
      failed: 'The picture could not be sent. Please try again.',
      gotPics: ['{n} picture received.', '{n} pictures received.'],
      lostPics: ['{n} picture could not be sent.', '{n} pictures could not be sent.'],
      sentPics: ['Sent {n} picture', 'Sent {n} pictures']
    }
  };

  /* ---------------------------------------------------------------- storage */

  /** sessionStorage, or memory where it is blocked: closing the browser forgets it. */
  var store = (function () {
    var memory = {};
    var s = null;
    try {
      s = window.sessionStorage;
      s.setItem(KEY + 'probe', '1');
      s.removeItem(KEY + 'probe');
    } catch (e) {
      s = null;
    }
    return {
      get: function (k, fallback) {
        var raw = s ? s.getItem(KEY + k) : memory[k];
        if (raw == null) return fallback;
        try { return JSON.parse(raw); } catch (e) { return fallback; }
      },
      set: function (k, v) {
        var raw = JSON.stringify(v);
        try { if (s) s.setItem(KEY + k, raw); else memory[k] = raw; } catch (e) { /* full */ }
      },
      clear: function () {
        memory = {};
        if (!s) return;
        for (var i = s.length - 1; i >= 0; i--) {
          var k = s.key(i);
          if (k && k.indexOf(KEY) === 0) s.removeItem(k);
        }
      }
    };
  })();

  // The language the page asks for; the interface is Swedish or English.
  var asked = (data.lang || document.documentElement.lang || 'sv').toLowerCase();

  function pageLang() {
    return asked.indexOf('en') === 0 ? 'en' : 'sv';
  }

  /** Said once, in both languages, when the page is in another language (polisen.se's
   * Arabic or Persian pages): the chat is in Swedish and English. */
  var LANG_NOTES = [{ x: 'Chatten finns på svenska och engelska.', l: 'sv' },
    { x: 'The chat is available in Swedish and English.', l: 'en' }];

  var state = {
    lang: store.get('lang', null) || pageLang(),
    token: store.get('token', null),
    log: store.get('log', []),
    outbox: store.get('outbox', []),
    handover: store.get('handover', null),
    upload: store.get('upload', null),
    pics: store.get('pics', []),
    open: store.get('open', false),
    unread: false,
    clang: null,
    ready: false,
    inflight: null,
    seq: store.get('seq', 0)
  };

  function t(key) { return TEXTS[state.lang][key]; }

  // A reload in the middle of an upload: that picture's answer never arrived.
  state.pics.forEach(function (p) { if (p.s === 'up') p.s = 'err'; });

  /** A text with {name} filled in; a [one, many] pair is chosen by n. */
  function tf(key, v) {
    var s = t(key);
    if (typeof s !== 'string') s = s[v.n === 1 ? 0 : 1];
    return s.replace(/\{(\w+)\}/g, function (_, k) { return String(v[k]); });
  }

  /** 'sv' or 'en' from a language tag ('en-GB'); null for anything else. */
  function langOf(v) {
    var l = typeof v === 'string' ? v.slice(0, 2).toLowerCase() : '';
    return l === 'sv' || l === 'en' ? l : null;
  }

  /* -------------------------------------------------------------------- dom */

  /** Element builder: attributes are set one by one; text only through textContent. */
  function h(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v == null || v === false) return;
        if (k === 'text') e.textContent = v;
        else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? '' : String(v));
      });
    }
    (kids || []).forEach(function (c) {
      if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return e;
  }

  /** Only absolute http(s) URLs pass; anything else (javascript:, data:, ...) is text. */
  function safeUrl(raw) {
    try {
      var u = new URL(String(raw), location.href);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function anchor(href, label) {
    return h('a', { href: href, target: '_blank', rel: 'noopener noreferrer' },
      [label, h('span', { class: 'vh', lang: state.lang, text: t('newWindow') })]);
  }

  /** Text with [label](url) and bare http(s) URLs made into links; the rest stays text. */
  function richText(parent, text) {
    var re = /\[([^\]\n]{1,200})\]\((https?:\/\/[^\s)]+)\)|https?:\/\/[^\s<>"']+/g;
    var last = 0;
    var m;
    while ((m = re.exec(text))) {
      var whole = m[0];
      var url = m[2] || whole;
      var trail = '';
      if (!m[2]) {
        var tail = /[.,;:!?)\]]+$/.exec(url);
        if (tail) {
          trail = tail[0];
          url = url.slice(0, -trail.length);
        }
      }
      parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      var href = safeUrl(url);
      parent.appendChild(href ? anchor(href, m[1] || url) : document.createTextNode(url));
      if (trail) parent.appendChild(document.createTextNode(trail));
      last = m.index + whole.length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  var host = h('div', { id: 'polisen-chat', hidden: true });
  var shadow = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
  var sheet = h('link', { rel: 'stylesheet', href: cssUrl });
  // The log can only be scrolled to its newest message once it has its size: a panel
  // restored after a reload is scrolled again when the stylesheet has arrived.
  var reveal = function () {
    host.hidden = false;
    scrollDown();
  };
  sheet.addEventListener('load', reveal);
  sheet.addEventListener('error', reveal);

  var launcher = h('button', { type: 'button', class: 'launcher', 'aria-expanded': 'false',
    'aria-controls': 'pc-panel' });
  var live = h('div', { class: 'vh', 'aria-live': 'polite', 'aria-atomic': 'false' });
  var title = h('h2', { id: 'pc-title', class: 'title' });
  var intro = h('p', { class: 'intro' });
  var exitBtn = h('button', { type: 'button', class: 'exit' });
  var closeBtn = h('button', { type: 'button', class: 'close' });
  var langBtn = h('button', { type: 'button', class: 'tool' });
  var clearBtn = h('button', { type: 'button', class: 'tool' });
  var downloadBtn = h('button', { type: 'button', class: 'tool' });
  var tools = h('div', { class: 'tools', role: 'group' }, [langBtn, clearBtn, downloadBtn]);
  var banner = h('div', { class: 'banner', role: 'region', hidden: true });
  var bannerHead = h('strong', { class: 'banner-head' });
  var bannerText = h('p');
  banner.appendChild(bannerHead);
  banner.appendChild(bannerText);
  var handoverBox = h('p', { class: 'handover', hidden: true });
  var status = h('p', { class: 'status', role: 'status' });
  var logList = h('ol', { class: 'log', tabindex: '0' });
  var typing = h('p', { class: 'typing', hidden: true }, [
    h('span', { class: 'typing-text' }),
    h('span', { class: 'dots', 'aria-hidden': 'true' }, [h('span'), h('span'), h('span')])
  ]);
  var input = h('textarea', { id: 'pc-input', class: 'input', rows: '2', maxlength: '5000',
    autocomplete: 'off' });
  var inputLabel = h('label', { for: 'pc-input', class: 'label' });
  var sendBtn = h('button', { type: 'submit', class: 'send' });
  // The picture upload for a tip, shown while the latest bot turn asks for it
  // (`custom.upload`): a real file input, visually hidden but focusable, named and shown by
  // its label, which looks like a button.
  var fileInput = h('input', { type: 'file', id: 'pc-file', class: 'vh file', multiple: true,
    'aria-describedby': 'pc-file-hint' });
  var fileLabel = h('label', { for: 'pc-file', class: 'pick' });
  var fileHint = h('p', { id: 'pc-file-hint', class: 'hint' });
  var fileList = h('ul', { class: 'files' });
  var attachSlot = h('div', { class: 'attach', hidden: true },
    [fileInput, fileLabel, fileHint, fileList]);
  var form = h('form', { class: 'compose' }, [attachSlot, inputLabel, h('div', { class: 'row' },
    [input, sendBtn])]);
  var statementLink = h('a', { href: safeUrl(statementUrl) || origin + '/tillganglighet',
    class: 'statement' });
  var panel = h('section', { id: 'pc-panel', class: 'panel', role: 'dialog',
    'aria-labelledby': 'pc-title', hidden: true }, [
    h('header', { class: 'head' }, [
      h('div', { class: 'bar' }, [exitBtn, closeBtn]),
      title,
      intro
    ]),
    tools,
    banner,
    handoverBox,
    status,
    logList,
    typing,
    form,
    h('p', { class: 'foot' }, [statementLink])
  ]);
  var root = h('div', { class: 'root' }, [launcher, panel, live]);
  shadow.appendChild(sheet);
  shadow.appendChild(root);

  /** Interface texts in the current language (also after switching). */
  function applyTexts() {
    root.setAttribute('lang', state.lang);
    root.setAttribute('dir', 'ltr'); // both interface languages; a page's rtl is not ours
    launcher.textContent = t('launcher') + (state.unread ? t('unread') : '');
    title.textContent = t('title');
    intro.textContent = t('intro');
    exitBtn.textContent = t('exit');
    exitBtn.setAttribute('aria-label', t('exitLabel'));
    closeBtn.textContent = t('close');
    closeBtn.setAttribute('aria-label', t('closeLabel'));
    langBtn.textContent = t('other');
    langBtn.setAttribute('lang', t('otherLang'));
    clearBtn.textContent = t('clear');
    downloadBtn.textContent = t('download');
    tools.setAttribute('aria-label', t('tools'));
    banner.setAttribute('aria-label', t('banner'));
    bannerHead.textContent = t('banner');
    logList.setAttribute('aria-label', t('log'));
    typing.firstChild.textContent = t('typing');
    inputLabel.textContent = t('input');
    sendBtn.textContent = t('send');
    statementLink.textContent = t('statement');
    renderAttach();
    renderHandover();
    renderStatus();
  }

  /* ------------------------------------------------------------- messaging */

  function save() {
    if (state.log.length > MAX_LOG) state.log = state.log.slice(-MAX_LOG);
    store.set('log', state.log);
    store.set('outbox', state.outbox);
  }

  /** Say `text` once through the live region; `prefix` (who) is in the interface language,
   * `text` in `lang` (the message's). */
  function announce(text, lang, prefix) {
    if (!text) return;
    live.appendChild(h('p', null, [prefix ? h('span', { text: prefix }) : null,
      h('span', { lang: lang, text: text })]));
    while (live.childNodes.length > 3) live.removeChild(live.firstChild);
  }

  function entryText(e) {
    var parts = [e.x || ''];
    (e.b || []).forEach(function (b) { if (b.u) parts.push(b.t + ': ' + b.u); });
    if (e.i) parts.push(t('image') + ': ' + e.i);
    return parts.filter(Boolean).join('\n');
  }

  function whoLabel(e) {
    return e.w === 'user' ? t('user') : e.w === 'agent' ? t('agent') : e.w === 'note' ?
      t('note') : t('bot');
  }

  function renderEntry(e) {
    // dir=auto: Swedish reads left to right and Arabic right to left, whatever the page's
    // direction.
    var body = h('div', { class: 'text', dir: 'auto' });
    richText(body, e.x || '');
    // The message is marked with the language it is written in (WCAG 3.1.2); what the
    // widget adds (who, "not sent yet") is in the interface language.
    var li = h('li', { class: 'msg ' + e.w, lang: e.l }, [h('span', { class: 'who',
      lang: state.lang, text: whoLabel(e) }), body]);
    if (e.i) {
      var src = safeUrl(e.i);
      if (src) {
        li.appendChild(h('img', { src: src, alt: e.a || t('image'), lang: e.a ? null :
          state.lang, loading: 'lazy' }));
      }
    }
    if (e.b && e.b.length) {
      var group = h('div', { class: 'choices', role: 'group', 'aria-label': t('choices') });
      e.b.forEach(function (b) {
        if (b.u) group.appendChild(anchor(b.u, b.t));
        else {
          group.appendChild(h('button', { type: 'button', class: 'choice', text: b.t,
            onclick: function () { send(b.p, b.t); } }));
        }
      });
      li.appendChild(group);
    }
    if (e.q) {
      li.appendChild(h('span', { class: 'queued', 'data-q': e.q, lang: state.lang,
        text: t('queued') }));
    }
    return li;
  }

  /** Keep the newest message in view; at 400 % zoom the whole panel scrolls instead. */
  function scrollDown() {
    logList.scrollTop = logList.scrollHeight;
    if (panel.scrollHeight > panel.clientHeight) panel.scrollTop = panel.scrollHeight;
  }

  function renderAll() {
    while (logList.firstChild) logList.removeChild(logList.firstChild);
    state.log.forEach(function (e) { logList.appendChild(renderEntry(e)); });
    scrollDown();
  }

  /** Add one entry to the conversation; new bot, agent and note entries are announced once. */
  function add(e) {
    e.d = Date.now();
    if (e.l == null) e.l = state.lang;
    state.log.push(e);
    save();
    logList.appendChild(renderEntry(e));
    scrollDown();
    if (e.w !== 'user') {
      announce(entryText(e), e.l, whoLabel(e) + ': ');
      if (panel.hidden) {
        state.unread = true;
        applyTexts();
      }
    }
  }

  function renderHandover() {
    var ho = state.handover;
    var s = ho && ho.state;
    handoverBox.hidden = s !== 'waiting' && s !== 'active';
    handoverBox.className = 'handover ' + (s || '');
    handoverBox.textContent = s === 'waiting' ? t('waiting') + (ho.position ? ' ' +
      t('position') + ho.position + '.' : '') : s === 'active' ? t('active') : '';
  }

  function setHandover(ho) {
    if (!ho || typeof ho !== 'object') return;
    var s = String(ho.state || '');
    if (['waiting', 'active', 'closed'].indexOf(s) < 0) return;
    var position = Number(ho.position) > 0 ? Math.floor(Number(ho.position)) : null;
    var prev = state.handover || {};
    state.handover = { state: s, position: position };
    store.set('handover', state.handover);
    renderHandover();
    if (prev.state === s && prev.position === position) return;
    var text = s === 'waiting' ? t('waiting') + (position ? ' ' + t('position') + position +
      '.' : '') : t(s);
    add({ w: 'note', x: text });
  }

  /** A bot_uttered event (Rasa's shapes): text, buttons/quick replies, links, an image; a
   * custom payload (handover states, a request for pictures); `metadata.language`, the
   * language it is written in, and `metadata.agent`, an agent's reply. */
  function handleBot(m) {
    if (!m || typeof m !== 'object') return;
    var custom = m.custom && typeof m.custom === 'object' ? m.custom : m;
    if (custom.handover) setHandover(custom.handover);
    var spec = uploadSpec(custom.upload);
    if (spec) {
      turnAsked = true;
      setUpload(spec);
    }
    var lang = langOf(m.metadata && m.metadata.language) || langOf(m.lang) ||
      langOf(m.language);
    if (lang) state.clang = lang;
    var buttons = [];
    (m.buttons || m.quick_replies || []).forEach(function (b) {
      if (!b || typeof b.title !== 'string') return;
      var url = b.url || (b.type === 'web_url' || b.content_type === 'web_url' ? b.payload :
        null);
      if (url) {
        var safe = safeUrl(url);
        if (safe) buttons.push({ t: b.title, u: safe });
      } else if (typeof b.payload === 'string') buttons.push({ t: b.title, p: b.payload });
    });
    var image = m.image || (m.attachment && m.attachment.type === 'image' &&
      m.attachment.payload && m.attachment.payload.src);
    var text = typeof m.text === 'string' ? m.text : '';
    if (!text && !buttons.length && !image) return;
    var meta = m.metadata && typeof m.metadata === 'object' ? m.metadata : {};
    // A line in another script (the 112 line in the citizen's language) is not marked as
    // Swedish or English: '' is "unknown" in HTML, as for the citizen's own messages.
    var e = { w: custom.agent === true || meta.agent === true ? 'agent' : 'bot', x: text,
      l: OTHER_SCRIPT.test(text) ? '' : lang || state.clang || state.lang };
    if (buttons.length) e.b = buttons;
    if (image && safeUrl(image)) e.i = safeUrl(image);
    add(e);
  }

  /* ---------------------------------------------------------------- pictures */

  var TYPES = { 'image/jpeg': 'JPEG', 'image/png': 'PNG', 'image/gif': 'GIF' };
  var uploading = false;
  // While a message's turn runs: false until a bot message of that turn asks for pictures.
  var turnAsked = null;

  /** What a bot message's `custom.upload` asks for, with safe values; null if nothing. */
  function uploadSpec(u) {
    if (!u || typeof u !== 'object') return null;
    var a = String(u.accept || '').toLowerCase().split(',').map(function (x) {
      return x.trim();
    }).filter(function (x) { return TYPES[x]; });
    var n = Math.floor(Number(u.max_files));
    var b = Math.floor(Number(u.max_bytes));
    return { a: a.length ? a : Object.keys(TYPES), n: n > 0 ? Math.min(n, 20) : 4,
      b: b > 0 ? b : 10485760 };
  }

  function mb(bytes) { return Math.round(bytes / 104857.6) / 10; }

  function savePics() {
    store.set('upload', state.upload);
    store.set('pics', state.pics);
  }

  /** Show the picture control for `spec`, or hide it (null) and forget the list. */
  function setUpload(spec) {
    if (!spec && !state.upload) return;
    state.upload = spec;
    if (!spec) state.pics = [];
    savePics();
    renderAttach();
  }

  function picStatus(p) {
    if (p.s === 'ok') return t('received');
    if (p.s === 'up') return t('uploading');
    var reason = p.r && typeof p.r[state.lang] === 'string' ? p.r[state.lang] : null;
    return t('notSent') + (reason || tf(p.k || 'failed', p.v || {}));
  }

  function renderAttach() {
    var spec = state.upload;
    attachSlot.hidden = !spec;
    while (fileList.firstChild) fileList.removeChild(fileList.firstChild);
    if (!spec) return;
    fileInput.setAttribute('accept', spec.a.join(','));
    fileLabel.textContent = t('attach');
    var names = spec.a.map(function (x) { return TYPES[x]; });
    var last = names.pop();
    fileHint.textContent = tf('attachHint', { t: (names.length ? names.join(', ') + t('or') :
      '') + last, n: spec.n, mb: mb(spec.b) });
    state.pics.forEach(function (p) {
      fileList.appendChild(h('li', { class: p.s === 'err' ? 'err' : null,
        text: p.f + ': ' + picStatus(p) }));
    });
    fileList.hidden = !state.pics.length;
  }

  /** POST one file; cb(ok, reason) with the server's {sv, en} reason when it refused. */
  function postPicture(file, cb) {
    var url = safeUrl(uploadUrl);
    if (!url || !window.fetch || !state.token) return cb(false, null);
    fetch(url, { method: 'POST', body: file, credentials: 'omit', headers: {
      Authorization: 'Bearer ' + state.token,
      'Content-Type': file.type || 'application/octet-stream',
      'X-Filename': encodeURIComponent(file.name || '')
    } }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (b) {
        cb(r.ok, b && b.reason && typeof b.reason === 'object' ? b.reason : null);
      });
    }).catch(function () { cb(false, null); });
  }

  /** Check the chosen files as the server will, send them one by one, say how it went,
   * then tell the bot (`/pictures_added`) so the tip form counts what it received. */
  function uploadFiles(files) {
    var spec = state.upload;
    if (!spec || uploading || !files.length) return;
    var count = 0;
    var bytes = 0;
    state.pics.forEach(function (p) {
      if (p.s === 'ok') {
        count += 1;
        bytes += p.z || 0;
      }
    });
    var jobs = [];
    var fresh = files.map(function (f) {
      var p = { f: String(f.name || '?').slice(0, 120), s: 'err', z: f.size };
      if (f.type && spec.a.indexOf(f.type) < 0) p.k = 'badType';
      else if (count + jobs.length >= spec.n) {
        p.k = 'tooMany';
        p.v = { n: spec.n };
      } else if (bytes + f.size > spec.b) {
        p.k = 'tooBig';
        p.v = { mb: mb(spec.b) };
      } else {
        p.s = 'up';
        jobs.push({ f: f, p: p });
        bytes += f.size;
      }
      state.pics.push(p);
      return p;
    });
    uploading = true;
    fileList.setAttribute('aria-busy', 'true');
    savePics();
    renderAttach();
    (function next() {
      var job = jobs.shift();
      if (job) {
        return postPicture(job.f, function (ok, reason) {
          job.p.s = ok ? 'ok' : 'err';
          if (reason) job.p.r = reason;
          savePics();
          renderAttach();
          next();
        });
      }
      uploading = false;
      fileList.removeAttribute('aria-busy');
      var got = fresh.filter(function (p) { return p.s === 'ok'; }).length;
      var lost = fresh.filter(function (p) { return p.s === 'err'; });
      announce([got ? tf('gotPics', { n: got }) : '', lost.length ?
        tf('lostPics', { n: lost.length }) : ''].concat(lost.map(function (p) {
        return p.f + ': ' + picStatus(p);
      })).filter(Boolean).join(' '), state.lang);
      if (got) send('/pictures_added', tf('sentPics', { n: got }));
    })();
  }

  /* ------------------------------------------------------------ connection */

  /** engine.io v4 + socket.io v5 over one WebSocket; reconnects with backoff until stopped. */
  var link = (function () {
    var ws = null;
    var stopped = true;
    var attempt = 0;
    var retryTimer = 0;
    var watchdog = 0;
    var ackId = 0;
    var acks = {};
    var liveness = 45000;

    function arm() {
      clearTimeout(watchdog);
      watchdog = setTimeout(function () { if (ws) ws.close(); }, liveness);
    }

    function sendRaw(s) {
      if (ws && ws.readyState === 1) ws.send(s);
    }

    function emit(event, payload, onAck) {
      if (onAck) {
        ackId += 1;
        acks[ackId] = onAck;
        sendRaw('42' + ackId + JSON.stringify([event, payload]));
      } else sendRaw('42' + JSON.stringify([event, payload]));
    }

    function onPacket(p) {
      arm();
      var type = p.charAt(0);
      if (type === '0') {
        try {
          var o = JSON.parse(p.slice(1));
          liveness = (o.pingInterval || 25000) + (o.pingTimeout || 20000);
        } catch (e) { /* keep the default */ }
        arm();
        sendRaw('40');
      } else if (type === '2') sendRaw('3');
      else if (type === '1') ws.close();
      else if (type === '4') onSocketIO(p.slice(1));
    }

    function onSocketIO(p) {
      var type = p.charAt(0);
      var rest = p.slice(1);
      if (type === '0') {
        attempt = 0;
        emit('session_request', { session_id: state.token });
      } else if (type === '1' || type === '4') ws.close();
      else if (type === '2' || type === '3') {
        var at = rest.indexOf('[');
        if (at < 0) return;
        var id = rest.slice(0, at);
        var args;
        try { args = JSON.parse(rest.slice(at)); } catch (e) { return; }
        if (type === '3') {
          var cb = acks[id];
          delete acks[id];
          if (cb) cb(args);
        } else onEvent(args[0], args[1]);
      }
    }

    function connect() {
      clearTimeout(retryTimer);
      if (stopped || ws) return;
      if (navigator.onLine === false) {
        setLink('offline');
        return;
      }
      setLink(attempt ? 'retrying' : 'connecting');
      var url = server.replace(/^http/, 'ws') + '/socket.io/?EIO=4&transport=websocket';
      var sock;
      try { sock = new WebSocket(url); } catch (e) { return retry(); }
      ws = sock;
      sock.onmessage = function (ev) { if (ws === sock) onPacket(String(ev.data)); };
      sock.onclose = function () {
        if (ws !== sock) return;
        ws = null;
        clearTimeout(watchdog);
        acks = {};
        onDown();
        retry();
      };
      arm();
    }

    function retry() {
      if (stopped) return;
      if (navigator.onLine === false) {
        setLink('offline');
        return;
      }
      setLink('retrying');
      var delay = Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      attempt += 1;
      retryTimer = setTimeout(connect, delay);
    }

    function drop() {
      var sock = ws;
      ws = null;
      clearTimeout(watchdog);
      acks = {};
      if (sock) {
        sock.onclose = null;
        sock.close();
      }
      onDown();
    }

    window.addEventListener('offline', function () {
      if (stopped) return;
      drop();
      setLink('offline');
    });
    window.addEventListener('online', function () {
      if (stopped) return;
      attempt = 0;
      connect();
    });

    return {
      start: function () { stopped = false; connect(); },
      stop: function () { stopped = true; clearTimeout(retryTimer); drop(); },
      /** A fresh socket (and so a fresh server-side room) for a new conversation. */
      restart: function () {
        if (stopped) return;
        drop();
        attempt = 0;
        connect();
      },
      emit: emit
    };
  })();

  var linkState = 'idle';

  function setLink(s) {
    linkState = s;
    renderStatus();
  }

  function renderStatus() {
    var text = linkState === 'connecting' ? t('connecting') : linkState === 'retrying' ?
      t('retrying') : linkState === 'offline' ? t('offline') : '';
    if (status.textContent !== text) status.textContent = text;
    status.hidden = !text;
    var marks = logList.querySelectorAll('.queued');
    for (var i = 0; i < marks.length; i++) {
      marks[i].textContent = t('queued');
      marks[i].hidden = state.ready;
    }
  }

  function onDown() {
    state.ready = false;
    state.inflight = null;
    typing.hidden = true;
    renderStatus();
  }

  function conversationOf(token) {
    return typeof token === 'string' ? token.split('.')[0] : null;
  }

  function onEvent(name, payload) {
    if (name === 'session_confirm' && typeof payload === 'string') {
      var before = conversationOf(state.token);
      state.token = payload;
      store.set('token', payload);
      if (before && before !== conversationOf(payload) && state.log.length) {
        // The server did not accept the old token: what is on screen belongs to another
        // conversation, so it goes, and the citizen is told.
        state.log = [];
        state.handover = null;
        store.set('handover', null);
        renderHandover();
        setUpload(null);
        state.outbox.forEach(function (o) {
          state.log.push({ w: 'user', x: o.show, q: o.id, l: o.lang });
        });
        save();
        renderAll();
        add({ w: 'note', x: t('fresh') });
      }
      state.ready = true;
      setLink('ready');
      flush();
    } else if (name === 'bot_uttered') handleBot(payload);
  }

  /** Send the oldest queued message; the next one only after the server acknowledged it. */
  function flush() {
    if (!state.ready || state.inflight || !state.outbox.length) return;
    var item = state.outbox[0];
    state.inflight = item.id;
    turnAsked = false;
    typing.hidden = false;
    link.emit('user_uttered', { message: item.text, session_id: state.token,
      metadata: { language: item.lang } }, function () {
      if (state.inflight !== item.id) return;
      state.inflight = null;
      // The bot's turn is done: a picture request not repeated in it is over.
      if (turnAsked === false) setUpload(null);
      turnAsked = null;
      state.outbox = state.outbox.filter(function (o) { return o.id !== item.id; });
      state.log.forEach(function (e) { if (e.q === item.id) delete e.q; });
      save();
      var mark = logList.querySelector('[data-q="' + item.id + '"]');
      if (mark) mark.parentNode.removeChild(mark);
      typing.hidden = true;
      flush();
    });
  }

  /** What the citizen sends: `shown` is what appears as their message (a button's title). */
  var OTHER_SCRIPT = /(?=\p{L})\P{Script=Latin}/u;

  function send(text, shown) {
    text = String(text || '').trim();
    if (!text) return;
    state.seq += 1;
    store.set('seq', state.seq);
    var id = 'm' + state.seq;
    state.outbox.push({ id: id, text: text, show: shown || text, lang: state.lang });
    // A message in another script is not marked as the interface's language ('' is
    // "unknown" in HTML); the widget cannot tell Arabic from Persian.
    add({ w: 'user', x: shown || text, q: id, l: OTHER_SCRIPT.test(shown || text) ? '' :
      state.lang });
    renderStatus();
    flush();
    if (shown) input.focus();
  }

  /* ------------------------------------------------------------------ panel */

  function loadBanner() {
    var url = safeUrl(bannerUrl);
    if (!url || !window.fetch) return;
    fetch(url, { credentials: 'omit' }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (b) {
        var text = b && typeof b.text === 'string' ? b.text.trim() : '';
        var changed = bannerText.textContent !== text;
        bannerText.textContent = text;
        banner.hidden = !text;
        if (text && changed) announce(t('banner') + ': ' + text);
      }).catch(function () { /* no banner is better than a broken panel */ });
  }

  function openPanel(focus) {
    state.open = true;
    store.set('open', true);
    state.unread = false;
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute('aria-expanded', 'true');
    applyTexts();
    // A first opening says who answers and what not to write (it used to fill the header
    // and leave the log empty until the citizen wrote).
    if (!state.log.length) {
      add({ w: 'note', x: t('welcome') });
      if (!langOf(asked)) LANG_NOTES.forEach(function (n) { add({ w: 'note', x: n.x, l: n.l }); });
    }
    scrollDown();
    loadBanner();
    link.start();
    if (focus) input.focus();
  }

  function closePanel() {
    state.open = false;
    store.set('open', false);
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
  }

  /** Quick exit: nothing of the conversation stays on the device, and the page is replaced. */
  function quickExit() {
    link.stop();
    store.clear();
    state.log = [];
    if (host.parentNode) host.parentNode.removeChild(host);
    location.replace(safeUrl(exitUrl) || origin + '/exit');
  }

  function clearHistory() {
    state.log = [];
    state.outbox = [];
    state.inflight = null;
    state.handover = null;
    state.token = null;
    store.set('token', null);
    store.set('handover', null);
    save();
    renderAll();
    renderHandover();
    setUpload(null);
    typing.hidden = true;
    link.restart();
    announce(t('cleared'));
    input.focus();
  }

  function two(n) { return (n < 10 ? '0' : '') + n; }

  function stamp(ms, withDate) {
    var d = new Date(ms);
    var time = two(d.getHours()) + ':' + two(d.getMinutes());
    return withDate ? d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) +
      ' ' + time : time;
  }

  function downloadTranscript() {
    var now = Date.now();
    var lines = [t('transcript'), stamp(now, true), ''];
    state.log.forEach(function (e) {
      lines.push('[' + stamp(e.d || now, false) + '] ' + whoLabel(e) + ': ' + entryText(e));
    });
    var blob = new Blob([lines.join('\n') + '\n'], { type: 'text/plain;charset=utf-8' });
    var url = URL.createObjectURL(blob);
    var a = h('a', { href: url, download: t('file') + stamp(now, true).slice(0, 10) + '.txt',
      class: 'vh' });
    root.appendChild(a);
    a.click();
    root.removeChild(a);
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  launcher.addEventListener('click', function () { openPanel(true); });
  closeBtn.addEventListener('click', closePanel);
  exitBtn.addEventListener('click', quickExit);
  clearBtn.addEventListener('click', clearHistory);
  downloadBtn.addEventListener('click', downloadTranscript);
  langBtn.addEventListener('click', function () {
    state.lang = t('otherLang');
    store.set('lang', state.lang);
    applyTexts();
    renderAll();
    langBtn.focus();
  });
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    input.value = '';
    send(text);
    input.focus();
  });
  fileInput.addEventListener('change', function () {
    var files = Array.prototype.slice.call(fileInput.files || []);
    fileInput.value = '';
    uploadFiles(files);
  });
  input.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit ? form.requestSubmit(sendBtn) : sendBtn.click();
    }
  });

  // Escape closes the panel; pressed twice (anywhere on the page, once the chat is in use)
  // it is the quick exit.
  var lastEscape = 0;
  window.addEventListener('keydown', function (ev) {
    if (ev.key !== 'Escape' && ev.key !== 'Esc') return;
    if (!state.open && !state.token && !state.log.length) return;
    var now = Date.now();
    if (now - lastEscape < ESC_WINDOW_MS) {
      ev.preventDefault();
      quickExit();
      return;
    }
    lastEscape = now;
    if (!panel.hidden) closePanel();
  }, true);

  applyTexts();
  renderAll();
  (document.body || document.documentElement).appendChild(host);
  if (state.open) openPanel(false);
})();
