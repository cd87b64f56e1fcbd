// Hotline agent console: suggested answers for a caller's question, the handover ticket queue,
// one ticket at a time, and taking over a live conversation. Needs the role "agent" (or "admin").
(function () {
  "use strict";
  var C = window.DaobanConsole;
  var el = C.el;
  var $ = function (id) { return document.getElementById(id); };

  var DECISIONS = { answer: "可直接答复", suggest: "请确认事项", reject: "不在指南范围" };
  var REASONS = {
    human: "群众要求转人工", cannot_get_done: "办不成事", repeated_failure: "智能客服多次未能解答",
    door_to_door: "上门办", agent_takeover: "坐席接管"
  };
  var STATUSES = { waiting: "待处理", taken: "处理中", closed: "已结束", handed_back: "已交还机器人" };
  var CHANNELS = { web: "网页", rest: "网页", wechat: "微信公众号" };
  var ROLES = { citizen: "群众", bot: "智能客服", agent: "工作人员", system: "系统" };
  var QUEUE_POLL_MS = 5000;

  var state = { tab: "waiting", selected: null, ticket: null, shownMessages: -1, pollTimer: null, pollGeneration: 0 };

  function label(map, key) { return map[key] || key || "—"; }

  // ---- (a) 来电问题 ----

  function copyButton(textFor) {
    var button = el("button", { type: "button", className: "secondary copy-button" }, "复制");
    button.addEventListener("click", function () {
      C.copyText(textFor()).then(function (done) {
        button.textContent = done ? "已复制" : "复制失败，请手动选择";
        setTimeout(function () { button.textContent = "复制"; }, 2000);
      });
    });
    return button;
  }

  function variantText(d) {
    if (!d) return "";
    var parts = [d.district + "：" + (d.place || "")];
    if (d.window) parts.push("窗口 " + d.window);
    if (d.hours) parts.push("办公时间 " + d.hours);
    if (d.phone) parts.push("咨询电话 " + d.phone);
    if (d.promised_limit_days !== null && d.promised_limit_days !== undefined) parts.push("承诺时限 " + d.promised_limit_days + " 个工作日");
    return parts.join("；");
  }

  // How sure the engine is, in a word an agent reads at a glance; the raw score stays in the tooltip.
  var CONFIDENCE = { high: "把握较大", medium: "可能相关", low: "仅供参考" };
  function confidence(level, score) {
    var attrs = { className: "muted score confidence-" + level };
    if (score !== null && score !== undefined && !isNaN(score)) attrs.title = "匹配分 " + Number(score).toFixed(3);
    return el("span", attrs, CONFIDENCE[level]);
  }

  function answerCard(answer, decision, score) {
    var source = "来源：《" + answer.name + "》办事指南（" + answer.item_id + "），第 " + answer.version + " 版，更新于 " + C.formatTime(answer.updated_at).slice(0, 10);
    var variant = variantText(answer.district);
    var card = el("li", { className: "suggestion answer", dataset: { code: answer.item_id } },
      null,
      el("div", { className: "head" }, null,
        el("span", { className: "name" }, answer.name),
        el("span", { className: "tag decision " + decision }, label(DECISIONS, decision)),
        confidence("high", score)),
      el("div", { className: "text" }, answer.text),
      el("div", { className: "source" }, source),
      variant ? el("div", { className: "variant" }, "办理地点　" + variant) : null);
    card.appendChild(el("div", { className: "row" }, null, copyButton(function () {
      // the answer's own text already ends with its source: name it once
      var cited = answer.text.indexOf("来源") >= 0;
      return [answer.text, cited ? null : source, variant].filter(Boolean).join("\n");
    })));
    return card;
  }

  // decision: the engine's decision for the whole question; a candidate beside a direct answer is only "其他候选".
  function candidateCard(candidate, decision) {
    var card = el("li", { className: "suggestion", dataset: { code: candidate.item_id } },
      null,
      el("div", { className: "head" }, null,
        el("span", { className: "name" }, candidate.name),
        el("span", { className: "tag decision " + (decision === "answer" ? "other" : decision) },
          decision === "answer" ? "其他候选" : label(DECISIONS, decision)),
        confidence(decision === "answer" ? "low" : "medium", Number(candidate.score))),
      candidate.snippet ? el("div", { className: "text" }, candidate.snippet) : null,
      el("div", { className: "source" }, "事项编码 " + candidate.item_id));
    card.appendChild(el("div", { className: "row" }, null, copyButton(function () {
      return candidate.name + (candidate.snippet ? "\n" + candidate.snippet : "");
    })));
    return card;
  }

  function renderAssist(body) {
    var box = $("assist-results");
    C.clear(box);
    var list = el("ul", { className: "list", "aria-label": "建议答复" });
    var candidates = body.candidates || [];
    var answer = body.answer;
    if (answer) {
      var top = candidates.filter(function (c) { return c.item_id === answer.item_id; })[0];
      list.appendChild(answerCard(answer, body.decision, top ? Number(top.score) : null));
    }
    candidates.forEach(function (c) {
      if (!answer || c.item_id !== answer.item_id) list.appendChild(candidateCard(c, body.decision));
    });
    box.appendChild(list);
    var summary = "判断：" + label(DECISIONS, body.decision) + "，共 " + list.children.length + " 条建议。";
    if (!list.children.length) summary = "没有找到相关的办事指南，可引导来电人拨打 12345 政务服务便民热线。";
    var corrections = (body.corrections || []).map(function (c) { return "“" + c.typed + "”按“" + c.read_as + "”理解"; });
    if (corrections.length) summary = "已纠正输入：" + corrections.join("，") + "。" + summary;
    C.say($("assist-status"), summary, "");
  }

  $("assist-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var question = $("assist-question").value.trim();
    if (!question) return;
    var district = $("assist-district").value || null;
    $("assist-submit").disabled = true;
    C.say($("assist-status"), "正在查询…", "");
    C.api("POST", "/api/assist", { question: question, district: district, top_k: 5 }).then(function (result) {
      $("assist-submit").disabled = false;
      if (!result.ok) { C.say($("assist-status"), C.detail(result), "error"); return; }
      renderAssist(result.body);
    });
  });

  // ---- (b) 工单队列 ----

  function ticketRow(t) {
    var firstResponse = t.first_response_seconds === null || t.first_response_seconds === undefined
      ? "尚未回复" : C.formatDuration(t.first_response_seconds);
    var row = el("button", { type: "button", className: "ticket-row" + (t.overdue ? " overdue" : ""), dataset: { number: t.number } },
      null,
      el("div", null, null,
        el("span", { className: "number" }, t.number), document.createTextNode("　" + label(STATUSES, t.status) + "　"),
        t.overdue ? el("span", { className: "late" }, "已超时") : null),
      el("div", { className: "meta" }, [label(REASONS, t.reason), t.item_name || "未识别事项", t.district || "地区未知",
        label(CHANNELS, t.channel)].join(" · ")),
      el("div", { className: "meta" }, "已等待 " + C.formatDuration(C.since(t.created_at)) + " · 首次响应 " + firstResponse +
        (t.assignee ? " · 受理人 " + t.assignee : "")));
    if (t.number === state.selected) row.classList.add("selected");
    row.setAttribute("aria-current", t.number === state.selected ? "true" : "false");
    row.addEventListener("click", function () {
      select(t.number);
      if (window.matchMedia("(max-width: 1100px)").matches) $("ticket-panel").scrollIntoView({ block: "start" });
    });
    return row;
  }

  function renderQueue(tickets) {
    var list = $("ticket-list");
    var focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.number : null;
    C.clear(list);
    tickets.forEach(function (t) {
      var row = ticketRow(t);
      list.appendChild(el("li", null, null, row));
      if (focused && focused === t.number) row.focus();
    });
    var overdue = tickets.filter(function (t) { return t.overdue; }).length;
    C.say($("queue-status"), tickets.length ? "共 " + tickets.length + " 张" + (overdue ? "，其中 " + overdue + " 张已超时" : "") +
      "（每 5 秒刷新）" : "暂无工单。", overdue ? "error" : "");
  }

  function loadQueue() {
    var statuses = state.tab.split(",");
    var tab = state.tab;
    return Promise.all(statuses.map(function (s) {
      return C.api("GET", "/api/agent/tickets?status=" + encodeURIComponent(s));
    })).then(function (results) {
      if (tab !== state.tab) return;
      var failed = results.filter(function (r) { return !r.ok; })[0];
      if (failed) { C.say($("queue-status"), "工单列表加载失败：" + C.detail(failed), "error"); return; }
      var tickets = [];
      results.forEach(function (r) { tickets = tickets.concat(r.body.tickets || []); });
      tickets.sort(function (a, b) { return String(b.created_at).localeCompare(String(a.created_at)); });
      renderQueue(tickets);
    });
  }

  // One chain of polls at a time: a newer poll() (a tab switch) retires the older chain.
  function poll() {
    clearTimeout(state.pollTimer);
    var generation = ++state.pollGeneration;
    var next = function () {
      if (generation === state.pollGeneration) state.pollTimer = setTimeout(poll, QUEUE_POLL_MS);
    };
    Promise.all([loadQueue(), state.selected ? loadTicket(state.selected) : null]).then(next, next);
  }

  Array.prototype.forEach.call(document.querySelectorAll(".ticket-tab"), function (tab) {
    tab.addEventListener("click", function () { showTab(tab.dataset.status); });
  });

  function showTab(status) {
    state.tab = status;
    Array.prototype.forEach.call(document.querySelectorAll(".ticket-tab"), function (t) {
      t.setAttribute("aria-selected", t.dataset.status === status ? "true" : "false");
    });
    C.clear($("ticket-list"));
    C.say($("queue-status"), "正在加载…", "");
    poll();
  }

  // ---- (c) 选中的工单 ----

  function select(number) {
    state.selected = number;
    state.shownMessages = -1;
    C.say($("ticket-status"), "", "");
    Array.prototype.forEach.call(document.querySelectorAll(".ticket-row"), function (row) {
      row.classList.toggle("selected", row.dataset.number === number);
      row.setAttribute("aria-current", row.dataset.number === number ? "true" : "false");
    });
    return loadTicket(number);
  }

  function loadTicket(number) {
    return C.api("GET", "/api/agent/tickets/" + encodeURIComponent(number)).then(function (result) {
      if (number !== state.selected) return;
      if (!result.ok) { C.say($("ticket-status"), "工单加载失败：" + C.detail(result), "error"); return; }
      renderTicket(result.body);
    });
  }

  function renderTicket(t) {
    state.ticket = t;
    $("ticket-empty").hidden = true;
    $("ticket-detail").hidden = false;
    $("ticket-title").textContent = "工单 " + t.number;
    var context = $("ticket-context");
    C.clear(context);
    var due = C.formatTime(t.reply_due_at) + (t.overdue ? "（已超时）" : "");
    var missing = t.missing_materials && t.missing_materials.length ? t.missing_materials.join("、") : "无";
    [["状态", label(STATUSES, t.status)], ["原因", label(REASONS, t.reason)], ["渠道", label(CHANNELS, t.channel)],
      ["事项", t.item_name ? t.item_name + (t.item_code ? "（" + t.item_code + "）" : "") : "未识别"],
      ["地区", t.district || "未知"], ["缺少材料", missing], ["创建时间", C.formatTime(t.created_at)],
      ["应答时限", due], ["首次响应", t.first_response_seconds === null || t.first_response_seconds === undefined
        ? "尚未回复" : C.formatDuration(t.first_response_seconds)], ["受理人", t.assignee || "—"]
    ].forEach(function (pair) {
      context.appendChild(el("dt", null, pair[0]));
      var dd = el("dd", { className: pair[0] === "应答时限" && t.overdue ? "late" : "" }, pair[1]);
      context.appendChild(dd);
    });
    var messages = t.messages || [];
    if (messages.length !== state.shownMessages) {
      var transcript = $("ticket-transcript");
      C.clear(transcript);
      messages.forEach(function (m) {
        transcript.appendChild(el("li", { className: m.role }, null,
          el("span", { className: "who" }, label(ROLES, m.role) + " · " + C.formatTime(m.at)),
          document.createTextNode(m.text)));
      });
      if (!messages.length) transcript.appendChild(el("li", { className: "system" }, "暂无消息。"));
      transcript.scrollTop = transcript.scrollHeight;
      state.shownMessages = messages.length;
    }
    var active = t.status === "waiting" || t.status === "taken";
    $("ticket-take").disabled = !(t.status === "waiting" || t.status === "handed_back");
    $("ticket-reply-send").disabled = t.status !== "taken";
    $("ticket-reply-text").disabled = t.status !== "taken";
    $("ticket-reply-text").placeholder = t.status === "taken" ? "输入回复内容，群众将在网页或微信中收到" : "接单后才能回复";
    $("ticket-close").disabled = !(active || t.status === "handed_back");
    $("ticket-hand-back").disabled = t.status !== "taken";
  }

  function act(action, body, done) {
    var ticket = state.ticket;
    if (!ticket) return;
    var number = ticket.number;
    C.say($("ticket-status"), "正在提交…", "");
    return C.api("POST", "/api/agent/tickets/" + encodeURIComponent(number) + "/" + action, body).then(function (result) {
      if (!result.ok) { C.say($("ticket-status"), "操作未成功：" + C.detail(result), "error"); return; }
      C.say($("ticket-status"), done, "ok");
      state.shownMessages = -1;
      loadQueue();
      return loadTicket(number);
    });
  }

  $("ticket-take").addEventListener("click", function () {
    var taking = act("take", undefined, "已接单，请尽快回复群众。");
    if (taking) taking.then(function () { if (state.ticket && state.ticket.status === "taken") showTab("taken"); });
  });
  $("ticket-close").addEventListener("click", function () { act("close", undefined, "工单已结束，智能客服将继续服务群众。"); });
  $("ticket-hand-back").addEventListener("click", function () { act("hand-back", undefined, "已交还智能客服。"); });
  $("ticket-reply-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("ticket-reply-text").value.trim();
    if (!text) return;
    $("ticket-reply-send").disabled = true;
    var sent = act("reply", { text: text }, "回复已发送。");
    if (!sent) return;
    sent.then(function () {
      if ($("ticket-status").classList.contains("ok")) $("ticket-reply-text").value = "";
      $("ticket-reply-send").disabled = !state.ticket || state.ticket.status !== "taken";
    });
  });

  // ---- 接管会话 ----

  // quiet: keep the status line (it tells how the last takeover went).
  function loadConversations(quiet) {
    if (!quiet) C.say($("takeover-status"), "正在加载…", "");
    return C.api("GET", "/api/agent/conversations").then(function (result) {
      var list = $("conversation-list");
      C.clear(list);
      if (!result.ok) { C.say($("takeover-status"), "会话列表加载失败：" + C.detail(result), "error"); return; }
      var conversations = result.body.conversations || [];
      if (!quiet) C.say($("takeover-status"), conversations.length ? "" : "暂无最近会话。", "");
      conversations.forEach(function (c) {
        var button = el("button", { type: "button", className: "secondary takeover-button", disabled: !!c.held,
          "aria-label": "接管会话 " + c.sender_id }, c.held ? "人工处理中" : "接管");
        button.addEventListener("click", function () { takeOver(c.sender_id, button); });
        list.appendChild(el("li", { className: "conversation-row", dataset: { sender: c.sender_id } }, null,
          el("div", { className: "text" }, null,
            el("div", { className: "muted" }, [label(CHANNELS, c.channel), c.sender_id, C.formatTime(c.last_at)].join(" · ")),
            el("div", { className: "last", title: c.last_text || "" }, c.last_text || "")),
          button));
      });
    });
  }

  function takeOver(senderId, button) {
    button.disabled = true;
    C.api("POST", "/api/agent/takeover", { sender_id: senderId }).then(function (result) {
      if (!result.ok) {
        button.disabled = false;
        C.say($("takeover-status"), "接管未成功：" + C.detail(result), "error");
        return;
      }
      C.say($("takeover-status"), "已接管，工单 " + result.body.number + "。", "ok");
      state.selected = result.body.number;
      showTab("taken");
      select(result.body.number);
      loadConversations(true);
    });
  }

  $("takeover-form").addEventListener("submit", function (event) {
    event.preventDefault();
    loadConversations(false);
  });

  C.start({
    role: "agent", roleName: "坐席",
    onReady: function () {
      poll();
      loadConversations(false);
    }
  });
})();
