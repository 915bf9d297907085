// File inputs with clipboard paste: a screen hard copy pasted (Ctrl+V) into the form is
// added to the form's files, so it is uploaded with the rest of the form.
(function () {
  "use strict";

  function pad(n) { return String(n).padStart(2, "0"); }
  function stamp() {
    var d = new Date();
    return d.getFullYear() + pad(d.getMonth() + 1) + pad(d.getDate()) + "-" +
      pad(d.getHours()) + pad(d.getMinutes()) + pad(d.getSeconds());
  }
  function size(bytes) {
    return bytes < 1024 * 1024 ? (bytes / 1024).toFixed(1) + " KB" : (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  document.querySelectorAll("[data-attachments]").forEach(function (box) {
    var input = box.querySelector('input[type="file"]');
    var list = box.querySelector(".attachment-list");
    var zone = box.querySelector(".paste-zone");
    var form = box.closest("form");
    var max = parseInt(box.dataset.maxBytes, 10) || 0;
    var kept = new DataTransfer();

    function render() {
      input.files = kept.files;
      list.innerHTML = "";
      Array.prototype.forEach.call(kept.files, function (file, index) {
        var li = document.createElement("li");
        if (file.type.indexOf("image/") === 0) {
          var img = document.createElement("img");
          img.src = URL.createObjectURL(file);
          img.alt = "";
          li.appendChild(img);
        }
        var name = document.createElement("span");
        name.className = "name";
        name.textContent = file.name + " (" + size(file.size) + ")";
        li.appendChild(name);
        if (max && file.size > max) {
          var warn = document.createElement("span");
          warn.className = "error";
          warn.textContent = box.dataset.tooLarge;
          li.appendChild(warn);
        }
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "linkish danger";
        remove.textContent = box.dataset.remove;
        remove.addEventListener("click", function () {
          var next = new DataTransfer();
          Array.prototype.forEach.call(kept.files, function (f, i) { if (i !== index) next.items.add(f); });
          kept = next;
          render();
        });
        li.appendChild(remove);
        list.appendChild(li);
      });
    }

    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files, function (f) { kept.items.add(f); });
      render();
    });

    function onPaste(event) {
      var data = event.clipboardData;
      if (!data) return;
      var pasted = Array.prototype.filter.call(data.files || [], function (f) { return f.size > 0; });
      if (!pasted.length) return; // plain text: paste as usual
      event.preventDefault();
      pasted.forEach(function (blob, n) {
        var ext = (blob.type.split("/")[1] || "png").replace("jpeg", "jpg");
        var name = "screenshot-" + stamp() + (n ? "-" + n : "") + "." + ext;
        kept.items.add(new File([blob], name, { type: blob.type || "image/png" }));
      });
      render();
    }
    (form || box).addEventListener("paste", onPaste);
    if (zone) zone.addEventListener("click", function () { zone.focus(); });
  });
})();
