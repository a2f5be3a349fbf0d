// Live updates: records arrive as server-sent events holding ready-made (escaped) HTML, newest on top.
// Records start folded to their one-line summary; the newest is unfolded for you.
"use strict";
(function () {
  const UNFOLDED = 1;
  const list = document.getElementById("messages");
  const status = document.getElementById("status");
  const count = document.getElementById("count");
  const empty = document.getElementById("empty");
  const keep = Number(list.dataset.keep);

  function unfold(record) {
    record.open = true;
    record.dataset.unfolded = "auto";
    // Fold records we unfolded once newer ones push them down; ones you opened yourself stay open.
    const auto = list.querySelectorAll(':scope > details[data-unfolded="auto"]');
    for (let i = UNFOLDED; i < auto.length; i++) {
      auto[i].open = false;
      delete auto[i].dataset.unfolded;
    }
  }

  Array.from(list.children).slice(0, UNFOLDED).reverse().forEach(unfold);

  // EventSource resends the last event id on reconnect (Last-Event-ID), so nothing is shown twice.
  const source = new EventSource("/stream?after=" + encodeURIComponent(list.dataset.lastSeq));
  source.addEventListener("record", (event) => {
    list.insertAdjacentHTML("afterbegin", event.data);
    const record = list.firstElementChild;
    record.classList.add("fresh");
    unfold(record);
    while (list.children.length > keep) list.lastElementChild.remove();
    count.textContent = String(list.children.length);
    empty.hidden = true;
  });
  source.addEventListener("status", (event) => {
    status.textContent = event.data;
    status.classList.remove("lost");
  });
  source.addEventListener("error", () => {
    status.textContent = "connection lost: reconnecting…";
    status.classList.add("lost");
  });
})();
