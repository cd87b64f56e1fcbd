// Web chat: plain DOM, no framework. Text is always inserted with textContent, never as HTML.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("ask");
  var input = document.getElementById("text");
  var key = "daoban.sender";
  var sender = localStorage.getItem(key);
  if (!sender) {
    sender = "web-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
    localStorage.setItem(key, sender);
  }

  function add(kind, text) {
    var div = document.createElement("div");
    div.className = "msg " + kind;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function addButtons(parent, buttons) {
    if (!buttons || !buttons.length) return;
    var row = document.createElement("div");
    row.className = "buttons";
    buttons.forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = b.title;
      button.addEventListener("click", function () { send(b.payload, b.title); });
      row.appendChild(button);
    });
    parent.appendChild(row);
  }

  function send(text, shown) {
    add("user", shown || text);
    fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender_id: sender, text: text })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (!result.ok) {
        add("error", (result.body && typeof result.body.detail === "string") ? result.body.detail : "请求未成功，请稍后再试。");
        return;
      }
      result.body.messages.forEach(function (m) { addButtons(add("bot", m.text), m.buttons); });
    }).catch(function () {
      add("error", "网络连接失败，请稍后再试。");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });

  add("bot", "您好！我是导办智能客服。请告诉我您要办什么事，例如“办理居住证需要什么材料？”");
})();
