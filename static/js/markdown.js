// Markdown toolbar (B I S C H1 H2 H3 pre) and preview for [data-md-editor] blocks.
(function () {
  "use strict";
  var WRAP = { bold: ["**", "**"], italic: ["*", "*"], strike: ["~~", "~~"], code: ["`", "`"] };
  var PREFIX = { h1: "# ", h2: "## ", h3: "### " };

  function replaceSelection(ta, before, text, after) {
    var start = ta.selectionStart, end = ta.selectionEnd;
    ta.setRangeText(before + text + after, start, end, "end");
    ta.setSelectionRange(start + before.length, start + before.length + text.length);
    ta.focus();
    ta.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function apply(ta, action) {
    var selected = ta.value.slice(ta.selectionStart, ta.selectionEnd);
    if (WRAP[action]) {
      replaceSelection(ta, WRAP[action][0], selected, WRAP[action][1]);
    } else if (PREFIX[action]) {
      var lineStart = ta.value.lastIndexOf("\n", ta.selectionStart - 1) + 1;
      ta.setSelectionRange(lineStart, ta.selectionEnd);
      var lines = ta.value.slice(lineStart, ta.selectionEnd).split("\n").map(function (line) {
        return PREFIX[action] + line.replace(/^#{1,6} /, "");
      });
      replaceSelection(ta, "", lines.join("\n"), "");
    } else if (action === "pre") {
      var lead = ta.selectionStart > 0 && ta.value[ta.selectionStart - 1] !== "\n" ? "\n" : "";
      replaceSelection(ta, lead + "```\n", selected, "\n```\n");
    }
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  document.querySelectorAll("[data-md-editor]").forEach(function (editor) {
    var ta = editor.querySelector("textarea");
    var preview = editor.querySelector(".md-preview");
    if (!ta) return;
    editor.querySelectorAll("[data-md]").forEach(function (button) {
      button.addEventListener("click", function () { apply(ta, button.dataset.md); });
    });
    editor.querySelectorAll("[data-md-tab]").forEach(function (tab) {
      tab.addEventListener("click", function () {
        var showPreview = tab.dataset.mdTab === "preview";
        editor.querySelectorAll("[data-md-tab]").forEach(function (t) {
          t.setAttribute("aria-pressed", String(t === tab));
        });
        ta.closest(".field").hidden = showPreview;
        preview.hidden = !showPreview;
        if (!showPreview) { ta.focus(); return; }
        var body = new URLSearchParams({ text: ta.value });
        fetch(editor.dataset.previewUrl, {
          method: "POST",
          headers: { "X-CSRFToken": csrfToken() },
          body: body,
          credentials: "same-origin",
        }).then(function (r) { return r.text(); }).then(function (html) {
          preview.innerHTML = html; // sanitised on the server (markup.render_markdown)
        });
      });
    });
  });

  // Closing a ticket that backs homework: point at the decision field.
  var status = document.querySelector("select[data-closed-statuses]");
  var decision = document.querySelector("[data-decision]");
  if (status && decision) {
    var closed = status.dataset.closedStatuses.split(",");
    var mark = function () { decision.classList.toggle("asked", closed.indexOf(status.value) >= 0); };
    status.addEventListener("change", mark);
    mark();
  }
})();
