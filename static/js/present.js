// The projector view: one sheet at a time, an always-ready entry line, the whole meeting
// by keyboard. Writes go through the JSON API (session + X-CSRFToken); what is shown is the
// server's own rendering, fetched by the same ETag polling as every other viewer (live.js),
// so the facilitator's screen and the attendees' screens cannot disagree.
(function () {
  "use strict";
  var stage = document.getElementById("stage");
  if (!stage) return;
  document.documentElement.classList.add("js");

  function $(id) { return document.getElementById(id); }
  function json(id, fallback) { var el = $(id); return el ? JSON.parse(el.textContent) : fallback; }
  var T = json("i18n", {});
  var people = json("people", []);
  var later = json("later", []);
  var editable = stage.dataset.editable === "true";
  var meetingId = stage.dataset.meeting;
  var itemsApi = stage.dataset.api;
  var itemApi = stage.dataset.itemApi.replace(/0$/, "");
  var liveUrl = stage.dataset.liveUrl;
  var loginUrl = stage.dataset.loginUrl;
  var etag = stage.dataset.etag;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var entry = $("entry"), label = $("entry-label"), message = $("message");
  var keys = $("keys"), complete = $("complete"), help = $("help");
  if ($("pentry")) $("pentry").hidden = false;
  var KEY = "sanmai:" + meetingId + ":";
  var INTERVAL = 500;

  var state = {
    sheet: +(sessionStorage.getItem(KEY + "sheet") || 1),
    selected: null,   // item id chosen in list mode
    goal: null,       // the goal a result typed in sheet ① goes under
    mode: editable ? "entry" : "list",
    pendingHtml: null,
    prompt: null,     // inline input: {input, item, submit, version}
    completion: [],
    completionIndex: 0,
  };

  // --- messages ----------------------------------------------------------------------------
  var messageTimer = null;
  function say(text, kind) {
    if (!message) return;
    message.textContent = text || "";
    message.className = "pmessage" + (kind ? " " + kind : "");
    clearTimeout(messageTimer);
    if (text && kind !== "error" && kind !== "sticky") {
      messageTimer = setTimeout(function () { message.textContent = ""; }, 4000);
    }
  }

  // --- sheets and items --------------------------------------------------------------------
  function sheetEl(n) { return stage.querySelector('.psheet[data-sheet="' + (n || state.sheet) + '"]'); }
  function items() { var s = sheetEl(); return s ? Array.prototype.slice.call(s.querySelectorAll(".pitem")) : []; }
  function itemById(id) { return id ? stage.querySelector('.pitem[data-id="' + id + '"]') : null; }
  function goals() { return Array.prototype.slice.call(stage.querySelectorAll(".pgoal")); }

  function currentGoal() {
    var all = goals();
    if (!all.length) return null;
    if (state.goal === "none") return null;
    var chosen = all.filter(function (g) { return g.dataset.id === String(state.goal); })[0];
    return chosen || all[all.length - 1];
  }

  function setSheet(n) {
    if (n < 1) n = 3;
    if (n > 3) n = 1;
    saveDraft();
    state.sheet = n;
    sessionStorage.setItem(KEY + "sheet", n);
    document.querySelectorAll(".psheet").forEach(function (s) {
      s.classList.toggle("active", +s.dataset.sheet === n);
    });
    document.querySelectorAll(".ptabs a").forEach(function (a) {
      if (+a.dataset.sheet === n) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    });
    state.selected = null;
    markSelected();
    if (entry) entry.value = localStorage.getItem(KEY + "draft" + n) || "";
    hideCompletion();
    updateLabel();
  }

  function updateLabel() {
    if (!label) return;
    if (state.sheet === 1) {
      var g = currentGoal();
      if (!goals().length) label.textContent = T.goal_entry;
      else if (!g) label.textContent = T.result_loose;
      else label.textContent = T.result_under.replace("{n}", g.dataset.goal);
      goals().forEach(function (el) { el.classList.toggle("target", el === g); });
    } else if (state.sheet === 2) {
      label.textContent = T.homework_entry;
    } else {
      label.textContent = T.third_entry;
    }
    if (keys) keys.textContent = state.mode === "entry" ? T.keys_entry : T.keys_list;
  }

  function markSelected() {
    stage.querySelectorAll(".pitem.selected").forEach(function (el) { el.classList.remove("selected"); });
    var el = itemById(state.selected);
    if (el) {
      el.classList.add("selected");
      el.scrollIntoView({ block: "nearest" });
      if (state.mode === "list") el.focus({ preventScroll: true });
    }
  }

  function toList() {
    hideCompletion();
    state.mode = "list";
    var list = items();
    if (!itemById(state.selected) && list.length) state.selected = list[list.length - 1].dataset.id;
    if (!list.length) stage.focus();
    markSelected();
    updateLabel();
  }

  function toEntry() {
    if (!entry) return;
    state.mode = "entry";
    closePrompt();
    entry.focus();
    updateLabel();
    applyPending();
  }

  function step(delta) {
    var list = items();
    if (!list.length) return;
    var ids = list.map(function (el) { return el.dataset.id; });
    var i = ids.indexOf(String(state.selected));
    i = i < 0 ? (delta > 0 ? 0 : list.length - 1) : Math.max(0, Math.min(list.length - 1, i + delta));
    state.selected = ids[i];
    var el = list[i];
    if (el.dataset.kind === "goal") state.goal = el.dataset.id;
    else if (el.dataset.parent) state.goal = el.dataset.parent;
    markSelected();
    updateLabel();
  }

  // --- drafts and pending writes (nothing typed is lost when the login expires) -------------
  function saveDraft() {
    if (entry) localStorage.setItem(KEY + "draft" + state.sheet, entry.value);
  }
  function pending() { return JSON.parse(localStorage.getItem(KEY + "pending") || "[]"); }
  function setPending(list) {
    if (list.length) localStorage.setItem(KEY + "pending", JSON.stringify(list));
    else localStorage.removeItem(KEY + "pending");
  }

  function loginExpired(op) {
    setPending(pending().concat([op]));
    saveDraft();
    say(T.login_again, "sticky");
    setTimeout(function () { window.location.href = loginUrl; }, 1500);
  }

  function replayPending() {
    var list = pending();
    if (!list.length) return;
    setPending([]);
    var chain = Promise.resolve();
    var done = 0;
    list.forEach(function (op) {
      chain = chain.then(function () {
        return send(op.method, op.url, op.body).then(function (r) { if (r.ok) done += 1; });
      });
    });
    chain.then(function () { if (done) say(T.replayed, "ok"); refresh(); });
  }

  // --- talking to the server ---------------------------------------------------------------
  function send(method, url, body, retried) {
    var op = { method: method, url: url, body: body };
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (r) {
      if (r.status === 401 || r.redirected) { loginExpired(op); return { ok: false, status: 401, data: {} }; }
      return r.json().catch(function () { return {}; }).then(function (data) {
        var error = (data.errors || [])[0] || "";
        if (r.status === 400 && /CSRF/.test(error) && !retried) {
          // The form token expired during a long meeting: fetch a fresh one, try once more.
          return fetchLive(true).then(function () { return send(method, url, body, true); });
        }
        return { ok: r.ok, status: r.status, data: data };
      });
    }, function () {
      say(T.offline, "error");
      return { ok: false, status: 0, data: {} };
    });
  }

  var polling = false, again = false;
  function fetchLive(force) {
    var headers = { "Accept": "application/json" };
    if (!force) headers["If-None-Match"] = '"' + etag + '"';
    return fetch(liveUrl, { headers: headers, credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 304) return null;
        if (r.status === 401 || r.redirected) throw new Error("login");
        if (!r.ok) throw new Error("http " + r.status);
        return r.json();
      })
      .then(function (data) {
        if (!data) return;
        if (data.csrf_token) csrf = data.csrf_token;
        etag = data.etag;
        state.pendingHtml = data.html;
        applyPending();
      });
  }

  function refresh() {
    if (polling) { again = true; return Promise.resolve(); }
    polling = true;
    return fetchLive(false).catch(function () {}).then(function () {
      polling = false;
      if (again) { again = false; return refresh(); }
    });
  }

  function loop() {
    var wait = document.hidden ? INTERVAL * 4 : INTERVAL;
    setTimeout(function () { refresh().then(loop); }, wait);
  }

  function applyPending() {
    if (state.pendingHtml === null || state.prompt || state.mode === "move" || state.mode === "delete") return;
    stage.innerHTML = state.pendingHtml;
    state.pendingHtml = null;
    document.querySelectorAll(".psheet").forEach(function (s) {
      s.classList.toggle("active", +s.dataset.sheet === state.sheet);
    });
    markSelected();
    updateLabel();
    if (state.mode === "entry" && entry && document.activeElement !== entry) entry.focus();
  }

  function afterWrite(result, okText) {
    if (result.ok) {
      say(okText || T.saved, "ok");
      if (result.data.item) {
        state.selected = state.mode === "list" ? String(result.data.item.id) : state.selected;
        if (result.data.item.kind === "goal" && state.mode === "entry") state.goal = String(result.data.item.id);
      }
      refresh();
    } else if (result.status !== 401 && result.status !== 0) {
      say((result.data.errors || ["?"]).join(" "), "error");
    }
    return result;
  }

  // --- the entry line ----------------------------------------------------------------------
  function saveEntry(shift) {
    var text = entry.value.trim();
    if (!text || entry.dataset.saving) return;
    var body, m;
    if (state.sheet === 1) {
      if ((m = text.match(/^(g|goal|目標|ゴール)\s*[:：]\s*/i))) { text = text.slice(m[0].length); shift = true; }
      var g = currentGoal();
      body = shift || !goals().length ? { kind: "goal", text: text } : { kind: "result", text: text, parent_item_id: g ? +g.dataset.id : null };
    } else if (state.sheet === 2) {
      body = { kind: "homework", line: text };
    } else {
      var kind = shift ? "preview" : "break";
      if ((m = text.match(/^(p|preview|さきどり|さ)\s*[:：]\s*/i))) { text = text.slice(m[0].length); kind = "preview"; }
      else if ((m = text.match(/^(b|break|ブレイク)\s*[:：]\s*/i))) { text = text.slice(m[0].length); kind = "break"; }
      body = { kind: kind, text: text };
    }
    entry.dataset.saving = "1";
    var sheet = state.sheet;
    send("POST", itemsApi, body).then(function (result) {
      delete entry.dataset.saving;
      if (result.ok) {
        if (state.sheet === sheet) entry.value = "";
        localStorage.removeItem(KEY + "draft" + sheet);
      }
      afterWrite(result);
    });
  }

  function caretWord() {
    var input = state.prompt ? state.prompt.input : entry;
    var before = input.value.slice(0, input.selectionStart);
    var m = before.match(/[@＠]([^\s@＠]*)$/);
    return m ? { query: m[1].toLowerCase(), start: before.length - m[0].length } : null;
  }

  function squash(s) { return (s || "").replace(/\s+/g, "").toLowerCase(); }

  function updateCompletion() {
    if (!complete) return;
    var word = state.sheet === 2 || state.prompt ? caretWord() : null;
    if (!word) return hideCompletion();
    state.completion = people.filter(function (p) {
      return (p.login && p.login.toLowerCase().indexOf(word.query) === 0) || squash(p.name).indexOf(word.query) >= 0;
    }).slice(0, 6);
    if (!state.completion.length) return hideCompletion();
    state.completionIndex = 0;
    drawCompletion();
  }

  function drawCompletion() {
    complete.innerHTML = "";
    state.completion.forEach(function (p, i) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.textContent = (p.login ? "@" + p.login + "  " : "") + p.name;
      if (i === state.completionIndex) { li.className = "active"; li.setAttribute("aria-selected", "true"); }
      complete.appendChild(li);
    });
    complete.hidden = false;
  }

  function hideCompletion() {
    if (complete) { complete.hidden = true; complete.innerHTML = ""; }
    state.completion = [];
  }

  function applyCompletion(input) {
    var word = caretWord();
    var p = state.completion[state.completionIndex];
    if (!word || !p) return hideCompletion();
    var handle = "@" + (p.login || squash(p.name)) + " ";
    var v = input.value, end = input.selectionStart;
    input.value = v.slice(0, word.start) + handle + v.slice(end).replace(/^\S*\s?/, "");
    var caret = word.start + handle.length;
    input.setSelectionRange(caret, caret);
    hideCompletion();
  }

  function completionKeys(e, input) {
    if (!state.completion.length) return false;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      var n = state.completion.length;
      state.completionIndex = (state.completionIndex + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      drawCompletion();
    } else if (e.key === "Tab" || e.key === "Enter") {
      applyCompletion(input);
    } else if (e.key === "Escape") {
      hideCompletion();
    } else {
      return false;
    }
    e.preventDefault();
    return true;
  }

  function sheetKeys(e) {
    // Alt+1/2/3 and Alt+←/→ switch sheets from inside an input.
    if (!e.altKey) return false;
    if (/^[123]$/.test(e.key)) setSheet(+e.key);
    else if (e.key === "ArrowLeft") setSheet(state.sheet - 1);
    else if (e.key === "ArrowRight") setSheet(state.sheet + 1);
    else if (state.sheet === 1 && (e.key === "ArrowUp" || e.key === "ArrowDown")) cycleGoal(e.key === "ArrowUp" ? -1 : 1);
    else return false;
    e.preventDefault();
    return true;
  }

  function cycleGoal(delta) {
    var all = goals().map(function (g) { return g.dataset.id; }).concat(["none"]);
    var cur = currentGoal();
    var i = all.indexOf(cur ? cur.dataset.id : "none");
    state.goal = all[(i + delta + all.length) % all.length];
    updateLabel();
  }

  if (entry) {
    entry.addEventListener("input", function () { saveDraft(); updateCompletion(); });
    entry.addEventListener("focus", function () { state.mode = "entry"; updateLabel(); });
    entry.addEventListener("keydown", function (e) {
      if (e.isComposing || e.keyCode === 229) return;
      if (completionKeys(e, entry) || sheetKeys(e)) return;
      if (e.key === "Enter") { e.preventDefault(); saveEntry(e.shiftKey); }
      else if (e.key === "Escape" || (e.key === "ArrowUp" && !entry.value)) { e.preventDefault(); entry.blur(); toList(); }
    });
  }

  // --- inline prompts: edit, decision, homework line ----------------------------------------
  function openPrompt(item, value, hint, submit) {
    closePrompt();
    var input = document.createElement("input");
    input.className = "pedit";
    input.value = value;
    input.setAttribute("aria-label", hint);
    input.placeholder = hint;
    item.classList.add("editing");
    item.appendChild(input);
    state.prompt = { input: input, item: item, submit: submit, version: +item.dataset.version };
    input.focus();
    input.setSelectionRange(value.length, value.length);
    input.addEventListener("input", updateCompletion);
    input.addEventListener("keydown", function (e) {
      if (e.isComposing || e.keyCode === 229) return;
      if (completionKeys(e, input)) return;
      if (e.key === "Enter") {
        e.preventDefault();
        var v = input.value.trim();
        if (v) submit(v, state.prompt);
      } else if (e.key === "Escape") {
        e.preventDefault();
        closePrompt();
        toList();
        applyPending();
      }
      e.stopPropagation();
    });
  }

  function closePrompt() {
    if (!state.prompt) return;
    var p = state.prompt;
    state.prompt = null;
    p.item.classList.remove("editing");
    if (p.input.parentNode) p.input.parentNode.removeChild(p.input);
    hideCompletion();
  }

  function homeworkLine(el) {
    var who = el.dataset.who || "";
    return "@" + squash(who) + " " + (el.dataset.what || "") + " " + (el.dataset.due || "");
  }

  function edit(el) {
    var isHw = el.dataset.kind === "homework";
    openPrompt(el, isHw ? homeworkLine(el) : el.dataset.text, isHw ? T.edit_homework : T[el.dataset.kind], function (value, prompt) {
      var body = isHw ? { line: value, version: prompt.version } : { text: value, version: prompt.version };
      send("PATCH", itemApi + el.dataset.id, body).then(function (r) {
        if (r.status === 409 && r.data.item) {
          // Someone saved first: show theirs, keep ours in the box; Enter again saves ours.
          var cur = r.data.item;
          var theirs = cur.kind === "homework" ? [cur.who, cur.what, cur.due_date].join(" / ") : cur.text;
          if (r.data.locked) return say(r.data.errors[0], "error");
          prompt.version = cur.version;
          say(T.conflict + " 「" + theirs + "」 " + T.conflict_again, "error");
          return;
        }
        if (r.ok) { closePrompt(); toList(); }
        afterWrite(r);
      });
    });
  }

  // --- moving, reordering, deleting ---------------------------------------------------------
  // The server's tables: the sheets each kind can move to, in the order offered
  // (minutes.items.MOVES), and the kinds a later meeting can take over as a goal (key n;
  // minutes.carry_over.TAKEN_OVER_AS_GOAL).
  var moves = json("moves", { sheet: {}, later: [] });
  var MOVE_KIND = { r: "result", h: "homework", g: "goal", p: "preview", b: "break" };
  var MOVE_KEY = {};
  Object.keys(MOVE_KIND).forEach(function (k) { MOVE_KEY[MOVE_KIND[k]] = k; });

  function moveKeys(kind) {
    var options = (moves.sheet[kind] || []).map(function (to) { return MOVE_KEY[to]; });
    if (moves.later.indexOf(kind) >= 0 && later.length) options.push("n");
    return options;
  }

  function startMove(el) {
    var options = moveKeys(el.dataset.kind);
    if (!options.length) return;
    state.mode = "move";
    say(T.move_to + " " + options.map(function (k) {
      return "[" + k + "] " + (k === "n" ? T.move_later : T[MOVE_KIND[k]]);
    }).join("  ") + "  [Esc]", "sticky");
  }

  function move(el, key) {
    var kind = MOVE_KIND[key];
    var url = itemApi + el.dataset.id + "/move";
    var version = +el.dataset.version;
    state.mode = "list";
    say("");
    if (key === "n") {
      state.mode = "later";
      say(T.choose_later + " " + later.map(function (m, i) { return "[" + (i + 1) + "] " + m.label; }).join("  "), "sticky");
      return;
    }
    if (kind === "homework") {
      var text = (el.dataset.text || "").split("\n")[0];
      openPrompt(el, "@", T.homework_entry + " — " + text, function (value) {
        send("POST", url, { kind: "homework", line: value, version: version }).then(function (r) {
          if (r.ok) { closePrompt(); toList(); }
          afterWrite(r);
        });
      });
      state.prompt.input.value = "@ " + text + " ";
      state.prompt.input.setSelectionRange(1, 1);
      return;
    }
    if (kind === "result" && el.dataset.kind === "homework") {
      openPrompt(el, el.dataset.what || "", T.decision, function (value) {
        send("POST", url, { kind: "result", what: value, version: version }).then(function (r) {
          if (r.ok) { closePrompt(); toList(); }
          afterWrite(r);
        });
      });
      return;
    }
    var body = { kind: kind, version: version };
    if (kind === "result") { var g = currentGoal(); if (g) body.parent_item_id = +g.dataset.id; }
    send("POST", url, body).then(function (r) { afterWrite(r); });
  }

  function moveLater(el, n) {
    state.mode = "list";
    say("");
    var target = later[n - 1];
    if (!target) return;
    send("POST", itemApi + el.dataset.id + "/move", { meeting_id: target.id }).then(function (r) {
      afterWrite(r, r.ok ? T.saved + " → " + target.label : null);
    });
  }

  function reorder(el, delta) {
    // Neighbours on screen: the same kind (results: under the same goal; sheet ③: both kinds).
    var siblings = items().filter(function (x) {
      var k = x.dataset.kind;
      if (el.dataset.kind === "result") return k === "result" && x.dataset.parent === el.dataset.parent;
      return el.dataset.kind === k || (/^(break|preview)$/.test(k) && /^(break|preview)$/.test(el.dataset.kind));
    });
    var i = siblings.indexOf(el);
    var to = i + delta;
    if (i < 0 || to < 0 || to >= siblings.length) return;
    // data-index is the neighbour's place in the server's order of that list.
    var position = +siblings[to].dataset.index;
    send("POST", itemApi + el.dataset.id + "/reorder", { position: position, version: +el.dataset.version })
      .then(function (r) { afterWrite(r); });
  }

  function remove(el) {
    state.mode = "list";
    send("DELETE", itemApi + el.dataset.id, { version: +el.dataset.version }).then(function (r) {
      if (r.ok) {
        var list = items(), i = list.indexOf(el);
        var next = list[i + 1] || list[i - 1];
        state.selected = next ? next.dataset.id : null;
      }
      afterWrite(r, T.deleted);
    });
  }

  // --- keys outside the inputs ---------------------------------------------------------------
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (t === entry || (state.prompt && t === state.prompt.input)) return;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) || e.ctrlKey || e.metaKey) return;
    var el = itemById(state.selected);
    if (state.mode === "move") {
      e.preventDefault();
      if (e.key === "Escape") { state.mode = "list"; say(""); return applyPending(); }
      if (el && moveKeys(el.dataset.kind).indexOf(e.key) >= 0) move(el, e.key);
      return applyPending();
    }
    if (state.mode === "later") {
      e.preventDefault();
      if (/^[1-9]$/.test(e.key) && el) moveLater(el, +e.key);
      else { state.mode = "list"; say(""); }
      return applyPending();
    }
    if (state.mode === "delete") {
      e.preventDefault();
      if ((e.key === "y" || e.key === "Enter") && el) remove(el);
      else { state.mode = "list"; say(""); }
      return applyPending();
    }
    if (e.key === "?") { help.hidden = !help.hidden; return e.preventDefault(); }
    if (!help.hidden && e.key === "Escape") { help.hidden = true; return e.preventDefault(); }
    state.mode = "list";
    var handled = true;
    if (/^[123]$/.test(e.key) && !e.altKey) setSheet(+e.key);
    else if (sheetKeys(e)) return;
    else if (e.key === "ArrowLeft") setSheet(state.sheet - 1);
    else if (e.key === "ArrowRight") setSheet(state.sheet + 1);
    else if (e.shiftKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) { if (el && editable) reorder(el, e.key === "ArrowUp" ? -1 : 1); }
    else if (e.key === "ArrowUp" || e.key === "k") step(-1);
    else if (e.key === "ArrowDown" || e.key === "j") step(1);
    else if (!editable) handled = false;
    else if ((e.key === "e" || e.key === "Enter" || e.key === "F2") && el) edit(el);
    else if (e.key === "m" && el) startMove(el);
    else if ((e.key === "x" || e.key === "Delete") && el) { state.mode = "delete"; say(T.delete_confirm, "sticky"); }
    else if (e.key === "i" || e.key === "Escape" || e.key === "/" || e.key === "Enter") toEntry();
    else handled = false;
    if (handled) e.preventDefault();
  });

  document.querySelectorAll(".ptabs a").forEach(function (a) {
    a.addEventListener("click", function (e) { e.preventDefault(); setSheet(+a.dataset.sheet); if (editable) toEntry(); });
  });

  // --- clock and elapsed time ----------------------------------------------------------------
  var clock = $("clock"), elapsed = $("elapsed");
  var starts = new Date(clock.dataset.starts).getTime();
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function hms(ms) { var s = Math.floor(Math.abs(ms) / 1000); return Math.floor(s / 3600) + ":" + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60); }
  function tick() {
    var now = new Date();
    clock.textContent = pad(now.getHours()) + ":" + pad(now.getMinutes()) + ":" + pad(now.getSeconds());
    var d = now.getTime() - starts;
    // Only around the meeting itself: a past meeting's "elapsed 349:27" says nothing.
    if (d >= 0 && d < 12 * 3600e3) elapsed.textContent = T.elapsed + " " + hms(d);
    else if (d < 0 && d > -24 * 3600e3) elapsed.textContent = T.until_start + " " + hms(d);
    else elapsed.textContent = "";
  }
  tick();
  setInterval(tick, 1000);

  // --- start -------------------------------------------------------------------------------------
  setSheet(Math.min(3, Math.max(1, state.sheet)));
  if (editable) toEntry(); else toList();
  replayPending();
  loop();
})();
