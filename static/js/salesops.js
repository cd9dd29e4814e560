// Salesops: small progressive enhancements. htmx does the partial updates; the CSRF
// header for htmx requests is set with hx-headers on <body>.
(function () {
  "use strict";

  // A refused form shown again in answer to a POST (a failed approval, say) would leave the
  // address bar on the action's URL, and a reload would post again: show the page's own
  // address instead (data-page-url, set by base.html for such answers).
  const pageUrl = document.body && document.body.dataset.pageUrl;
  if (pageUrl && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", pageUrl + window.location.hash);
  }

  // A Copy button next to a field (data-copy-target="#id"): copies its value, says so.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy-target]");
    if (!button) {
      return;
    }
    const field = document.querySelector(button.dataset.copyTarget);
    if (!field) {
      return;
    }
    const status = document.querySelector("[data-copy-status]");
    const done = function (ok) {
      button.textContent = ok ? "Copied" : "Select and copy";
      if (status) {
        status.textContent = ok ? "Copied to the clipboard." : "Copying failed: select the key and copy it.";
        status.classList.remove("visually-hidden");
      }
      if (!ok) {
        field.select();
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () { done(false); });
    } else {
      field.select();
      let ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (error) {
        ok = false;
      }
      done(ok);
    }
  });

  // A form that deletes for good asks first (data-confirm="the question"). Listening in
  // the capture phase, before anything on the form itself (htmx), so a "Cancel" stops it.
  document.addEventListener(
    "submit",
    function (event) {
      const form = event.target;
      if (form.matches && form.matches("form[data-confirm]") && !window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        event.stopPropagation();
      }
    },
    true
  );

  // A progress bar's width from data-progress (a percentage): set through the DOM, since
  // the Content-Security-Policy refuses style="" in the markup. Again on every htmx swap.
  function showProgress(root) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    const bars = Array.from(root.querySelectorAll("[data-progress]"));
    if (root.matches && root.matches("[data-progress]")) {
      bars.push(root);
    }
    bars.forEach(function (bar) {
      const percent = Math.max(0, Math.min(100, Number(bar.dataset.progress) || 0));
      bar.style.width = percent + "%";
    });
  }
  showProgress(document);
  document.addEventListener("htmx:load", function (event) {
    showProgress(event.detail && event.detail.elt);
  });

  // Filter forms marked data-autosubmit submit when a field changes.
  document.addEventListener("change", function (event) {
    const form = event.target.closest("form[data-autosubmit]");
    if (form) {
      form.requestSubmit();
    }
  });

  // Dim a milestone while its tick is being saved, a card while it is being moved.
  document.addEventListener("htmx:beforeRequest", function (event) {
    const row = event.target.closest(".so-milestone, .so-card");
    if (row) {
      row.classList.add("so-busy");
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const row = event.target.closest && event.target.closest(".so-milestone, .so-card");
    if (row) {
      row.classList.remove("so-busy");
    }
  });

  // Keep the tab in view after an htmx swap put an error into it.
  document.addEventListener("htmx:afterSwap", function (event) {
    const invalid = event.detail.target.querySelector(".is-invalid, .alert-danger");
    if (invalid && typeof invalid.scrollIntoView === "function") {
      invalid.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  });

  // --- Board: drag a card onto another column ------------------------------------------
  // A drop submits the card's own "Move…" form (the keyboard's way to move it), so both
  // send the same request to the same view, service and gate. The card changes column
  // only when the server re-renders the board; a refusal opens the move dialog instead.
  let dragged = null;

  function columnOf(el) {
    return el && el.closest ? el.closest(".so-column[data-stage-id]") : null;
  }

  function clearDropTargets() {
    document.querySelectorAll(".so-drop-target").forEach(function (column) {
      column.classList.remove("so-drop-target");
    });
  }

  function acceptsDrop(column) {
    return dragged !== null && column !== null && column !== columnOf(dragged);
  }

  document.addEventListener("dragstart", function (event) {
    const card = event.target.closest && event.target.closest(".so-card[draggable=true]");
    if (!card || !card.querySelector("form[data-move-form]")) {
      return;
    }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.card);
    card.classList.add("so-dragging");
  });

  document.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("so-dragging");
    }
    dragged = null;
    clearDropTargets();
  });

  document.addEventListener("dragover", function (event) {
    const column = columnOf(event.target);
    if (!acceptsDrop(column)) {
      return;
    }
    event.preventDefault(); // this column takes the drop
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("so-drop-target")) {
      clearDropTargets();
      column.classList.add("so-drop-target");
    }
  });

  document.addEventListener("dragleave", function (event) {
    const column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) {
      column.classList.remove("so-drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    const column = columnOf(event.target);
    if (!acceptsDrop(column)) {
      return;
    }
    event.preventDefault();
    clearDropTargets();
    const form = dragged.querySelector("form[data-move-form]");
    form.elements.stage.value = column.dataset.stageId;
    form.requestSubmit();
  });

  // The move dialog: opened when the server refuses a move from the board (and fills it
  // with what is missing), closed when a move succeeds.
  function moveDialog() {
    const element = document.getElementById("board-move");
    return element && window.bootstrap ? window.bootstrap.Modal.getOrCreateInstance(element) : null;
  }

  document.addEventListener("board-move-refused", function () {
    const dialog = moveDialog();
    if (dialog) {
      dialog.show();
    }
  });

  document.addEventListener("board-moved", function () {
    // Keyboard users keep their place: focus follows the card to its new column.
    function focusMovedCard() {
      const link = document.querySelector("#board [data-moved] a");
      if (link) {
        link.focus();
      }
    }
    const element = document.getElementById("board-move");
    const dialog = moveDialog();
    if (dialog && element.classList.contains("show")) {
      element.addEventListener("hidden.bs.modal", focusMovedCard, { once: true });
      dialog.hide();
    } else {
      focusMovedCard();
    }
  });

  // A move the server would not even look at (not yours to see, session expired…).
  document.addEventListener("htmx:responseError", function (event) {
    const status = document.getElementById("board-status");
    if (status && event.target.closest && event.target.closest("#board, #board-move")) {
      status.innerHTML = "";
      const alert = document.createElement("div");
      alert.className = "alert alert-danger py-1 px-2 d-inline-block mb-2";
      alert.textContent =
        "That move could not be made (" + event.detail.xhr.status + "). Reload the board and try again.";
      status.appendChild(alert);
    }
  });
})();
