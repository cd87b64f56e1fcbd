// Web chat: plain DOM, no framework. Text is always inserted with textContent, never as HTML.
// Bot messages can be rated (有用 / 没用); while a person holds the conversation (handover) the page
// polls /api/chat/updates for what staff write; 长辈版 (elder mode) is a class on <html>.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("ask");
  var input = document.getElementById("text");
  var banner = document.getElementById("handover-banner");
  var elderToggle = document.getElementById("elder-toggle");
  var ELDER_KEY = "daoban.elder";
  var POLL_MS = 3000;
  var IDLE_POLL_MS = 10000;  // a person may also take the conversation over without being asked

  // Who this citizen is lives in an HttpOnly cookie the server sets on the first message: this script
  // never sees it, and nothing here can speak as another citizen. An id an earlier version kept here is dropped.
  localStorage.removeItem("daoban.sender");

  // ---- 长辈版 ----

  var STANDARD_PLACEHOLDER = input.getAttribute("placeholder");
  function setElder(on) {
    document.documentElement.classList.toggle("elder", on);
    elderToggle.setAttribute("aria-pressed", on ? "true" : "false");
    // the button says what it does now: on, it leaves 长辈版; the shorter placeholder fits large type
    elderToggle.textContent = on ? "退出长辈版" : "长辈版";
    elderToggle.title = on ? "回到标准版" : "大字体、高对比度";
    input.setAttribute("placeholder", on ? "请输入您的问题" : STANDARD_PLACEHOLDER);
    if (on) localStorage.setItem(ELDER_KEY, "1");
    else localStorage.removeItem(ELDER_KEY);
  }

  var mode = new URLSearchParams(window.location.search).get("mode");
  setElder(mode === "elder" || (mode !== "standard" && localStorage.getItem(ELDER_KEY) === "1"));
  elderToggle.addEventListener("click", function () {
    var on = !document.documentElement.classList.contains("elder");
    setElder(on);
    if (mode) {  // the address should not switch it back on the next visit
      var url = new URL(window.location.href);
      url.searchParams.delete("mode");
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
      mode = null;
    }
  });

  // ---- messages ----

  function add(kind, text, who) {
    var div = document.createElement("div");
    div.className = "msg " + kind;
    if (who) {
      var label = document.createElement("span");
      label.className = "who";
      label.textContent = who;
      div.appendChild(label);
    }
    var body = document.createElement("div");
    body.className = "text";
    body.textContent = text;
    div.appendChild(body);
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

  function node(tag, className, text) {
    var n = document.createElement(tag);
    if (className) n.className = className;
    if (text) n.textContent = text;
    return n;
  }

  // 好差评: 有用 posts at once; 没用 first opens an optional reason (≤ 200 characters) and 提交.
  function addRating(parent, messageId) {
    var box = node("div", "rating");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "评价这条回答");
    var useful = node("button", "rate-useful", "有用");
    var useless = node("button", "rate-useless", "没用");
    useful.type = useless.type = "button";
    useless.setAttribute("aria-expanded", "false");
    var reasonForm = node("form", "rate-reason");
    reasonForm.hidden = true;
    var reasonId = "rate-reason-" + String(messageId).replace(/[^A-Za-z0-9_-]/g, "_");
    var reasonLabel = node("label", null, "哪里没帮到您？（选填，200 字以内）");
    reasonLabel.setAttribute("for", reasonId);
    var reason = node("textarea", "rate-reason-text");
    reason.id = reasonId;
    reason.maxLength = 200;
    reason.rows = 2;
    var submit = node("button", "rate-submit", "提交");
    submit.type = "submit";
    var thanks = node("span", "rate-thanks");
    thanks.setAttribute("role", "status");
    reasonForm.appendChild(reasonLabel);
    reasonForm.appendChild(reason);
    reasonForm.appendChild(submit);
    box.appendChild(node("span", "rate-ask", "这条回答有用吗？"));
    box.appendChild(useful);
    box.appendChild(useless);
    box.appendChild(reasonForm);
    box.appendChild(thanks);
    parent.appendChild(box);

    function rate(isUseful, why) {
      var controls = [useful, useless, submit, reason];
      controls.forEach(function (c) { c.disabled = true; });
      thanks.textContent = "";
      fetch("/api/ratings", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ message_id: messageId, useful: isUseful, reason: why || null })
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        thanks.textContent = "谢谢您的评价";
        box.classList.add("rated", isUseful ? "rated-useful" : "rated-useless");
        reasonForm.hidden = true;
        useless.setAttribute("aria-expanded", "false");
      }).catch(function () {
        controls.forEach(function (c) { c.disabled = false; });
        thanks.textContent = "评价没有提交成功，请稍后再试。";
      });
    }

    useful.addEventListener("click", function () { rate(true, null); });
    useless.addEventListener("click", function () {
      reasonForm.hidden = false;
      useless.setAttribute("aria-expanded", "true");
      reason.focus();
    });
    reasonForm.addEventListener("submit", function (event) {
      event.preventDefault();
      rate(false, reason.value.trim().slice(0, 200));
    });
  }

  // Only an answer from a guide is rated: "请问预约人的姓名是？" is nothing to judge.
  function addBot(m) {
    var div = add("bot", m.text);
    addButtons(div, m.buttons);
    if (m.id !== undefined && m.id !== null && m.id !== "") {
      div.dataset.id = String(m.id);
      if (m.kind === "answer") addRating(div, m.id);
    }
    log.scrollTop = log.scrollHeight;  // after the buttons: they must not sit below the fold
    return div;
  }

  // ---- 人工客服 (handover) ----

  var handover = null;
  var lastUpdate = "";
  var seen = {};
  var pollTimer = null;
  var polling = false;

  // fromPoll: the state came with an updates answer, so its closing messages are already shown.
  function showHandover(state, fromPoll) {
    var was = handover;
    handover = state || null;
    if (handover) {
      document.getElementById("handover-title").textContent = handover.status === "waiting"
        ? "已转人工（工单 " + handover.ticket + "），等待工作人员接入"
        : "人工客服（工单 " + handover.ticket + "）正在为您服务";
      var due = new Date(handover.reply_due_at);
      document.getElementById("handover-due").textContent = handover.status === "waiting" && !isNaN(due.getTime())
        ? "工作人员将于 " + (due.toDateString() === new Date().toDateString() ? "" : (due.getMonth() + 1) + "月" + due.getDate() + "日 ")
          + due.getHours() + ":" + String(due.getMinutes()).padStart(2, "0") + " 前回复您（办公时间内），请留在本页面。"
        : "您发送的消息将由工作人员直接阅读和回复。";
      banner.hidden = false;
      if (!pollTimer && !polling) pollTimer = setTimeout(poll, POLL_MS);
    } else {
      banner.hidden = true;
      clearTimeout(pollTimer);
      pollTimer = null;
      scheduleIdle();
      if (was && !fromPoll) fetchUpdates(true).catch(function () { /* shown on the next question */ });  // closing words
    }
  }

  function showUpdate(m) {
    if (m.id !== undefined && m.id !== null) {
      if (seen[m.id]) return;
      seen[m.id] = true;
    }
    if (m.role === "agent") add("agent", m.text, "工作人员");
    else if (m.role === "system") add("system", m.text, "系统消息");
    else if (m.role === "bot") addBot(m);
  }

  // show: whether to put the messages on the page (false on load when nobody holds the conversation).
  function fetchUpdates(show) {
    var url = "/api/chat/updates?after=" + encodeURIComponent(lastUpdate);
    return fetch(url, { headers: { "Accept": "application/json" } }).then(function (response) {
      if (response.status === 404) lastUpdate = "";  // an id the server no longer knows: ask from the start (seen dedupes)
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (body) {
      var messages = body.messages || [];
      var display = show || !!body.handover;
      messages.forEach(function (m) {
        if (display) showUpdate(m);
        else if (m.id !== undefined && m.id !== null) seen[m.id] = true;
        if (m.id !== undefined && m.id !== null) lastUpdate = String(m.id);
      });
      return body;
    });
  }

  // While the bot talks, look now and then whether a person took the conversation over.
  var idleTimer = null;
  function scheduleIdle() {
    if (idleTimer || handover || !lastSent) return;
    idleTimer = setTimeout(function () {
      idleTimer = null;
      if (handover) return;
      fetchUpdates(false).then(function (body) {
        if (body.handover) showHandover(body.handover, true);
        else scheduleIdle();
      }, scheduleIdle);
    }, IDLE_POLL_MS);
  }

  function poll() {
    pollTimer = null;
    polling = true;
    fetchUpdates(true).then(function (body) {
      polling = false;
      showHandover(body.handover, true);
    }, function () {
      polling = false;  // keep trying while a person holds the conversation
      if (handover && !pollTimer) pollTimer = setTimeout(poll, POLL_MS);
    });
  }

  // ---- sending ----

  var lastSent = false;
  var sendButton = document.getElementById("send");
  var typing = null;

  // While the bot answers: a typing indicator, and no second message sent over the first.
  function waiting(on) {
    sendButton.disabled = on;
    log.setAttribute("aria-busy", on ? "true" : "false");
    if (on && !typing) {
      typing = add("bot typing", "正在输入…");
      typing.setAttribute("role", "status");
    } else if (!on && typing) {
      typing.remove();
      typing = null;
    }
  }

  function send(text, shown) {
    if (sendButton.disabled) return;
    add("user", shown || text);
    lastSent = true;
    waiting(true);
    fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: text })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      waiting(false);
      if (!result.ok) {
        add("error", (result.body && typeof result.body.detail === "string") ? result.body.detail : "请求未成功，请稍后再试。");
        return;
      }
      (result.body.messages || []).forEach(addBot);
      showHandover(result.body.handover);
    }).catch(function () {
      waiting(false);
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

  // A reload: the conversation so far comes back from the server (the citizen's cookie says whose), booking
  // reference included, and the banner if a person holds it.
  function showKept(m) {
    if (m.role === "citizen") add("user", m.text);
    else if (m.role === "bot") addBot(m);
    else showUpdate(m);
    if (m.id !== undefined && m.id !== null) {
      seen[m.id] = true;
      lastUpdate = String(m.id);
    }
  }
  fetch("/api/chat/history", { headers: { "Accept": "application/json" } }).then(function (response) {
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }).then(function (body) {
    (body.messages || []).forEach(showKept);
    if ((body.messages || []).length) lastSent = true;
    showHandover(body.handover, true);
  }).catch(function () { /* nothing kept, or not reachable: a new conversation */ });
})();
