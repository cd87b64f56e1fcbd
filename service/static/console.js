// Shared by the agent and editor consoles: JSON requests, login, small DOM and time helpers.
// The session lives in an HttpOnly cookie set by POST /api/auth/login; scripts never see the token.
// Text always goes in with textContent, never as HTML.
(function () {
  "use strict";

  var onLoggedOut = null;

  // A JSON request; resolves to {status, ok, body} (body null when the answer is not JSON).
  // A 401 on anything but the login itself shows the login form again.
  function api(method, url, body) {
    var options = { method: method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (ignored) { parsed = null; }
        var result = { status: response.status, ok: response.ok, body: parsed };
        if (response.status === 401 && url !== "/api/auth/login" && onLoggedOut) onLoggedOut();
        return result;
      });
    }, function () {
      return { status: 0, ok: false, body: { detail: "网络连接失败，请检查网络后重试。" } };
    });
  }

  // The answer's reason in words: FastAPI gives a string, or a list of field errors for a bad request.
  function detail(result, fallback) {
    var body = result && result.body;
    if (body && typeof body.detail === "string") return body.detail;
    if (body && Array.isArray(body.detail)) {
      return "请求内容有误：" + body.detail.map(function (d) {
        return (Array.isArray(d.loc) ? d.loc.slice(1).join(".") + " " : "") + (d.msg || "");
      }).join("；");
    }
    if (result && result.status === 403) return "当前账号没有权限。";
    return fallback || ("请求未成功（" + (result ? result.status : "?") + "），请稍后再试。");
  }

  // el("li", {className: "x", dataset: {code: "A"}, type: "button"}, "text", child, ...)
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "dataset") {
        Object.keys(attrs.dataset).forEach(function (d) { node.dataset[d] = attrs.dataset[d]; });
      } else if (key === "className" || key === "type" || key === "disabled" || key === "hidden" || key === "value") {
        node[key] = attrs[key];
      } else {
        node.setAttribute(key, attrs[key]);
      }
    });
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (var i = 3; i < arguments.length; i++) if (arguments[i]) node.appendChild(arguments[i]);
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  // A status line: kind "error", "ok" or "" (plain).
  function say(node, text, kind) {
    node.textContent = text || "";
    node.classList.remove("error", "ok");
    if (kind) node.classList.add(kind);
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function formatTime(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) return "—";
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + " 秒";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " 分钟";
    var hours = Math.floor(minutes / 60);
    if (hours < 24) return hours + " 小时 " + (minutes % 60) + " 分";
    return Math.floor(hours / 24) + " 天 " + (hours % 24) + " 小时";
  }

  function since(iso) {
    var t = new Date(iso).getTime();
    return isNaN(t) ? null : (Date.now() - t) / 1000;
  }

  // Copies text; falls back to a hidden textarea and execCommand where the Clipboard API is missing
  // (plain http on a hall intranet is not a secure context).
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () { return true; }, function () { return fallbackCopy(text); });
    }
    return Promise.resolve(fallbackCopy(text));
  }

  function fallbackCopy(text) {
    var area = el("textarea", { className: "copy-buffer", readonly: "readonly", "aria-hidden": "true" });
    area.value = text;
    document.body.appendChild(area);
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (ignored) { done = false; }
    document.body.removeChild(area);
    return done;
  }

  // Login handling for a console page. The page has #login-section (a form with #login-username,
  // #login-password, #login-submit, #login-error), #app (hidden until logged in), #whoami and #logout.
  // options: {role: "agent" | "editor", roleName: "坐席", onReady: function (account) {...}}
  function start(options) {
    var loginSection = document.getElementById("login-section");
    var loginForm = document.getElementById("login-form");
    var loginError = document.getElementById("login-error");
    var app = document.getElementById("app");
    var who = document.getElementById("whoami");
    var logout = document.getElementById("logout");
    var ready = false;

    function hasRole(account) {
      var roles = account.roles || [];
      return roles.indexOf(options.role) >= 0 || roles.indexOf("admin") >= 0;
    }

    function showLogin(message) {
      app.hidden = true;
      logout.hidden = true;
      who.textContent = "";
      loginSection.hidden = false;
      say(loginError, message || "", message ? "error" : "");
      document.getElementById("login-username").focus();
    }

    function enter(account) {
      if (!hasRole(account)) {
        showLogin("账号“" + account.username + "”没有" + options.roleName + "权限，请换一个账号登录。");
        logout.hidden = false;
        return;
      }
      loginSection.hidden = true;
      app.hidden = false;
      logout.hidden = false;
      who.textContent = (account.display_name || account.username) + "（" + account.username + "）";
      if (!ready) {
        ready = true;
        options.onReady(account);
      }
    }

    function checkMe() {
      return api("GET", "/api/auth/me").then(function (result) {
        if (result.ok && result.body) enter(result.body);
        else showLogin("");
      });
    }

    onLoggedOut = function () {
      if (!ready || app.hidden) return;
      showLogin("登录已过期，请重新登录。");
    };

    loginForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var submit = document.getElementById("login-submit");
      var username = document.getElementById("login-username").value.trim();
      var password = document.getElementById("login-password").value;
      if (!username || !password) { say(loginError, "请输入用户名和密码。", "error"); return; }
      submit.disabled = true;
      say(loginError, "正在登录…", "");
      api("POST", "/api/auth/login", { username: username, password: password }).then(function (result) {
        submit.disabled = false;
        if (result.status === 401) {
          var reason = detail(result, "");
          say(loginError, "登录失败：" + (reason === "username or password is wrong" ? "用户名或密码错误，或账号已停用。" : reason), "error");
          return;
        }
        if (!result.ok) { say(loginError, "登录失败：" + detail(result), "error"); return; }
        document.getElementById("login-password").value = "";
        return checkMe();
      });
    });

    logout.addEventListener("click", function () {
      api("POST", "/api/auth/logout").then(function () { window.location.reload(); });
    });

    checkMe();
  }

  window.DaobanConsole = {
    api: api, detail: detail, el: el, clear: clear, say: say, start: start, copyText: copyText,
    formatTime: formatTime, formatDuration: formatDuration, since: since
  };
})();
