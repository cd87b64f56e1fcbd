// Editor console: find a guide, edit its JSON as a draft, validate, preview the bot's reply, publish;
// and the to-do list of questions the bot declined or answers citizens rated 没用.
// The draft workflow and its version checks are described in docs/editor-api.md.
(function () {
  "use strict";
  var C = window.DaobanConsole;
  var el = C.el;
  var $ = function (id) { return document.getElementById(id); };

  var KINDS = { item: "事项", bundle: "一件事一次办", cross_province: "跨省通办" };
  var STATUSES = { published: "已发布", unpublished: "已下架", draft: "草稿（未发布）" };
  var DECISIONS = { answer: "直接答复", suggest: "请群众确认事项", reject: "拒答" };
  var ASPECTS = { materials: "所需材料", procedure: "办理流程", time: "办理时限", fee: "收费标准", place: "办理地点", online: "网上办理" };
  var TODO_KINDS = { unanswered: "未能回答", rated_useless: "被评为“没用”" };

  // code: the open record; baseVersion / draftVersion: what the next save sends (editor-api.md);
  // savedText: the textarea as last loaded or saved, to tell unsaved edits apart.
  var state = { code: null, record: null, baseVersion: 0, draftVersion: null, savedText: "" };

  function label(map, key) { return map[key] || key || "—"; }
  function pretty(data) { return JSON.stringify(data, null, 2); }
  function dirty() { return state.code !== null && $("record-json").value !== state.savedText; }
  function status(text, kind) { C.say($("editor-status"), text, kind); }

  function showProblems(problems) {
    var list = $("problems");
    C.clear(list);
    (problems || []).forEach(function (p) {
      list.appendChild(el("li", null, null, el("code", null, p.field || "（整条记录）"), document.createTextNode("　" + p.message)));
    });
  }

  // The textarea's JSON, or null after saying what is wrong with it.
  function parsed() {
    try {
      var data = JSON.parse($("record-json").value);
      if (!data || typeof data !== "object" || Array.isArray(data)) throw new Error("记录必须是一个 JSON 对象");
      return data;
    } catch (err) {
      status("JSON 格式有误：" + err.message, "error");
      return null;
    }
  }

  // A refused save or publish: 409 names the versions, 422 the fields.
  function refused(result, what) {
    var body = result.body || {};
    if (result.status === 409) {
      var versions = body.expected !== undefined ? "（预期版本 " + body.expected + "，实际版本 " + body.actual + "）" : "";
      status("冲突，" + what + "未成功：" + C.detail(result) + versions +
        "。别人已先修改了这条指南：请复制您的修改，点“重新载入”查看最新内容，合并后再保存。", "error");
      $("editor-status").classList.add("conflict");
      return;
    }
    if (result.status === 422 && Array.isArray(body.problems)) {
      status(what + "未成功：" + C.detail(result), "error");
      showProblems(body.problems);
      return;
    }
    status(what + "未成功：" + C.detail(result), "error");
  }

  // ---- 查找 ----

  function search() {
    var params = new URLSearchParams();
    var q = $("record-search").value.trim();
    if (q) params.set("q", q);
    if ($("record-kind").value) params.set("kind", $("record-kind").value);
    if ($("record-status").value) params.set("status", $("record-status").value);
    params.set("limit", "100");
    C.say($("record-count"), "正在搜索…", "");
    return C.api("GET", "/api/editor/records?" + params.toString()).then(function (result) {
      var list = $("record-list");
      C.clear(list);
      if (!result.ok) { C.say($("record-count"), "搜索失败：" + C.detail(result), "error"); return; }
      var records = result.body.records || [];
      C.say($("record-count"), "共 " + result.body.total + " 条" + (result.body.total > records.length ? "，显示前 " + records.length + " 条" : ""), "");
      records.forEach(function (r) {
        var row = el("button", { type: "button", className: "record-row" + (r.code === state.code ? " selected" : ""), dataset: { code: r.code } },
          null,
          el("div", null, r.name),
          el("div", { className: "code" }, [r.code, label(KINDS, r.kind), label(STATUSES, r.status), "第 " + r.version + " 版",
            r.draft_version ? "有草稿" : ""].filter(Boolean).join(" · ")));
        row.addEventListener("click", function () { open(r.code); });
        list.appendChild(el("li", null, null, row));
      });
    });
  }

  $("record-search-form").addEventListener("submit", function (event) { event.preventDefault(); search(); });

  // ---- 打开、保存、校验、发布 ----

  function describe(record) {
    var text = record.code + " · " + label(KINDS, record.kind) + " · " + label(STATUSES, record.status) + " · 已发布第 " + record.version + " 版";
    if (record.draft) {
      text += "；草稿第 " + record.draft.version + " 次保存（基于第 " + record.draft.base_version + " 版，" +
        record.draft.actor + " 于 " + C.formatTime(record.draft.updated_at) + "），文本框显示草稿";
    }
    return text;
  }

  function open(code, keepStatus) {
    if (dirty() && code !== state.code && !keepStatus) {
      status("注意：上一条指南有未保存的修改，已放弃。", "error");
      keepStatus = true;
    }
    return C.api("GET", "/api/editor/records/" + encodeURIComponent(code)).then(function (result) {
      if (!result.ok) { status("打开失败：" + C.detail(result), "error"); return; }
      var record = result.body;
      state.code = record.code;
      state.record = record;
      state.baseVersion = record.draft ? record.draft.base_version : record.version;
      state.draftVersion = record.draft ? record.draft.version : null;
      var text = pretty(record.draft ? record.draft.data : (record.published || {}));
      $("record-json").value = text;
      state.savedText = text;
      $("record-title").textContent = record.name;
      $("record-version").textContent = describe(record);
      $("record-load-published").hidden = !(record.draft && record.published);
      $("record-empty").hidden = true;
      $("record-editor").hidden = false;
      $("preview-result").hidden = true;
      C.say($("preview-status"), "", "");
      if (!keepStatus) { status("", ""); showProblems([]); }
      $("editor-status").classList.remove("conflict");
      updateDirty();
      Array.prototype.forEach.call(document.querySelectorAll(".record-row"), function (row) {
        row.classList.toggle("selected", row.dataset.code === record.code);
      });
    });
  }

  function updateDirty() { $("record-dirty").hidden = !dirty(); }
  $("record-json").addEventListener("input", updateDirty);

  $("record-reload").addEventListener("click", function () { if (state.code) open(state.code, false); });
  $("record-load-published").addEventListener("click", function () {
    if (!state.record || !state.record.published) return;
    $("record-json").value = pretty(state.record.published);
    updateDirty();
    status("已载入已发布的第 " + state.record.version + " 版内容；保存后将覆盖现有草稿。", "");
  });

  $("draft-save").addEventListener("click", function () {
    var data = parsed();
    if (!data || !state.code) return;
    var text = $("record-json").value;
    showProblems([]);
    status("正在保存…", "");
    var body = { data: data, base_version: state.baseVersion, draft_version: state.draftVersion };
    C.api("PUT", "/api/editor/records/" + encodeURIComponent(state.code) + "/draft", body).then(function (result) {
      if (!result.ok) { refused(result, "保存"); return; }
      state.draftVersion = result.body.version;
      state.baseVersion = result.body.base_version;
      state.savedText = text;
      updateDirty();
      if (state.record) {
        state.record.draft = result.body;
        $("record-version").textContent = describe(state.record);
        $("record-load-published").hidden = !state.record.published;
      }
      status("草稿已保存（第 " + result.body.version + " 次保存，基于已发布第 " + result.body.base_version + " 版）。", "ok");
    });
  });

  $("draft-validate").addEventListener("click", function () {
    if (!state.code) return;
    if (state.draftVersion === null) { status("还没有草稿：请先保存草稿再校验。", "error"); return; }
    var warning = dirty() ? "（注意：校验的是已保存的草稿，文本框里还有未保存的修改）" : "";
    status("正在校验…", "");
    C.api("POST", "/api/editor/records/" + encodeURIComponent(state.code) + "/validate").then(function (result) {
      if (!result.ok) { refused(result, "校验"); return; }
      showProblems(result.body.problems);
      if (result.body.valid) status("校验通过，可以发布。" + warning, "ok");
      else status("校验发现 " + result.body.problems.length + " 个问题：" + warning, "error");
    });
  });

  $("draft-publish").addEventListener("click", function () {
    if (!state.code) return;
    if (state.draftVersion === null) { status("还没有草稿：请先保存草稿、校验，再发布。", "error"); return; }
    if (dirty()) { status("有未保存的修改：请先保存草稿并校验，再发布。", "error"); return; }
    showProblems([]);
    status("正在发布…", "");
    C.api("POST", "/api/editor/records/" + encodeURIComponent(state.code) + "/publish", { draft_version: state.draftVersion })
      .then(function (result) {
        if (!result.ok) { refused(result, "发布"); return; }
        var message = "已发布：" + result.body.code + " 第 " + result.body.version + " 版（知识库修订号 " + result.body.revision + "），下一次提问即生效。";
        return open(state.code, true).then(function () { status(message, "ok"); search(); });
      });
  });

  // ---- 预览 ----

  $("preview-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var question = $("preview-question").value.trim();
    if (!question) return;
    var record;
    try { record = JSON.parse($("record-json").value); } catch (err) {
      C.say($("preview-status"), "JSON 格式有误：" + err.message, "error");
      return;
    }
    C.say($("preview-status"), "正在生成预览…", "");
    C.api("POST", "/api/editor/preview", { record: record, question: question }).then(function (result) {
      if (!result.ok) {
        C.say($("preview-status"), "预览未成功：" + C.detail(result), "error");
        if (result.body && Array.isArray(result.body.problems)) showProblems(result.body.problems);
        return;
      }
      C.say($("preview-status"), "", "");
      renderPreview(result.body);
    });
  });

  function renderPreview(body) {
    var reply = body.reply || {};
    $("preview-result").hidden = false;
    $("preview-aspect").textContent = "问题所问的方面：" + label(ASPECTS, body.aspect);
    $("preview-reply").textContent = reply.text || "（没有答复文本）";
    var buttons = (reply.buttons || []).map(function (b) { return b.title; });
    $("preview-buttons").textContent = buttons.length ? "按钮：" + buttons.join(" / ") : "";
    C.say($("preview-verdict"), body.would_answer_this_record
      ? "已发布知识库的检索会用这条指南回答这个问题。"
      : "注意：已发布知识库的检索不会用这条指南回答这个问题（可考虑补充别名或常见问法）。",
      body.would_answer_this_record ? "ok" : "error");
    var retrieval = body.retrieval || {};
    $("preview-decision").textContent = "检索判断：" + label(DECISIONS, retrieval.decision);
    var list = $("preview-retrieval");
    C.clear(list);
    (retrieval.top || []).forEach(function (t) {
      list.appendChild(el("li", null, t.name + "（" + t.code + "）  匹配分 " + Number(t.score).toFixed(4)));
    });
  }

  // ---- 待办 ----

  function loadTodo() {
    C.say($("todo-status"), "正在加载…", "");
    return C.api("GET", "/api/editor/todo").then(function (result) {
      var list = $("todo-list");
      C.clear(list);
      if (!result.ok) { C.say($("todo-status"), "待办加载失败：" + C.detail(result), "error"); return; }
      var groups = result.body.groups || [];
      C.say($("todo-status"), groups.length ? "共 " + groups.length + " 组，按数量从多到少。" : "暂无待办。", "");
      groups.forEach(function (g) {
        var examples = el("ul", { "aria-label": "示例问题" });
        (g.examples || []).forEach(function (x) { examples.appendChild(el("li", null, x)); });
        var item = g.item_code ? (g.item_name || "") + "（" + g.item_code + "）" : "未对应到事项";
        var group = el("li", { className: "todo-group", dataset: { key: g.key, kind: g.kind } }, null,
          el("div", { className: "head" }, null,
            el("span", { className: "count" }, g.count),
            el("span", { className: "tag" }, label(TODO_KINDS, g.kind)),
            el("span", null, item),
            el("span", { className: "muted" }, "最近 " + C.formatTime(g.last_at))),
          examples);
        if (g.item_code) {
          var button = el("button", { type: "button", className: "secondary todo-open" }, "打开这条指南");
          button.addEventListener("click", function () { showView("records"); open(g.item_code); });
          group.appendChild(el("div", { className: "row" }, null, button));
        }
        list.appendChild(group);
      });
    });
  }

  $("todo-refresh").addEventListener("click", loadTodo);

  function showView(name) {
    $("records-view").hidden = name !== "records";
    $("todo-view").hidden = name !== "todo";
    $("tab-records").setAttribute("aria-selected", name === "records" ? "true" : "false");
    $("tab-todo").setAttribute("aria-selected", name === "todo" ? "true" : "false");
    if (name === "todo") loadTodo();
  }

  $("tab-records").addEventListener("click", function () { showView("records"); });
  $("tab-todo").addEventListener("click", function () { showView("todo"); });

  C.start({ role: "editor", roleName: "编辑", onReady: function () { search(); } });
})();
