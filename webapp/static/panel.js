// Pult panel: the one real-time socket. The server pushes small JSON notes after commit
// ({"topic": "message.created", "conversation_id": 12, "order_id": 7, ...}); each becomes a
// DOM event "pult:<topic with dots as dashes>" on <body>, so any htmx element can refresh
// itself with hx-trigger="pult:message-created from:body". No inline scripts (see CSP).
(function () {
  "use strict";
  var path = document.body.getAttribute("data-live");
  if (!path || !window.WebSocket) return;
  var banner = document.getElementById("live-status");
  var delay = 1000;
  var connectedOnce = false;
  // This tab is navigating away (say, its own "Sign out" form): its socket closing is expected.
  var leaving = false;
  window.addEventListener("beforeunload", function () { leaving = true; });

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + path);
    socket.onopen = function () {
      delay = 1000;
      if (banner) banner.hidden = true;
      // After a reconnect anything may have changed while we were away.
      if (connectedOnce) fire("pult:reconnected", {});
      connectedOnce = true;
    };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      if (!data || typeof data.topic !== "string") return;
      fire("pult:" + data.topic.replace(/\./g, "-"), data);
    };
    socket.onclose = function (event) {
      if (leaving) return;
      if (event.code === 4401) {  // the session ended: sign in again
        location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
        return;
      }
      if (banner) banner.hidden = false;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  function fire(name, detail) {
    document.body.dispatchEvent(new CustomEvent(name, { detail: detail, bubbles: true }));
  }

  connect();
})();
