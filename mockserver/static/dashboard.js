// The live dashboard: polls the control API every second and shows what it returns.
// Every value from the API reaches the page as text (textContent), never as markup.
"use strict";

(function () {
  const root = document.getElementById("dashboard");
  const element = (id) => document.getElementById(id);
  const TOKEN_KEY = "mockserver.controlToken";
  const INTERVAL_MS = 1000;
  const sources = {
    state: root.dataset.statePath,
    scenario: root.dataset.scenarioPath,
    devices: root.dataset.devicesPath,
    journal: root.dataset.journalPath,
  };

  // The token is kept in this tab's sessionStorage only, so it ends with the tab.
  function storedToken() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (error) {
      return "";
    }
  }

  function storeToken(token) {
    try {
      if (token) {
        window.sessionStorage.setItem(TOKEN_KEY, token);
      } else {
        window.sessionStorage.removeItem(TOKEN_KEY);
      }
    } catch (error) {
      // Storage may be disabled, and then the token lasts until the page reloads.
    }
  }

  let token = storedToken();

  async function readJson(path) {
    const headers = { Accept: "application/json" };
    if (token) {
      headers.Authorization = `Bearer ${token}`;
    }
    const response = await fetch(new URL(path, window.location.origin), {
      credentials: "same-origin",
      cache: "no-store",
      headers: headers,
    });
    if (!response.ok) {
      const failure = new Error(`${path} returned HTTP ${response.status}`);
      failure.status = response.status;
      throw failure;
    }
    return response.json();
  }

  function showMessage(text) {
    const message = element("message");
    message.textContent = text;
    message.hidden = !text;
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (className) {
      td.className = className;
    }
    return td;
  }

  function fillTable(id, rows, emptyText) {
    const table = element(id);
    const body = table.tBodies[0];
    if (rows.length === 0) {
      const note = cell(emptyText, "empty");
      note.colSpan = table.tHead.rows[0].cells.length;
      const tr = document.createElement("tr");
      tr.append(note);
      body.replaceChildren(tr);
      return;
    }
    body.replaceChildren(...rows.map((cells) => {
      const tr = document.createElement("tr");
      tr.append(...cells);
      return tr;
    }));
  }

  function shorten(value) {
    if (!value) {
      return "(empty)";
    }
    if (value.length <= 24) {
      return value;
    }
    return `${value.slice(0, 12)}…${value.slice(-6)} (${value.length} chars)`;
  }

  function yesNo(flag) {
    return cell(flag ? "yes" : "no", flag ? "in-sync yes" : "in-sync no");
  }

  function showState(state) {
    const field = element("state");
    field.textContent = state.state;
    field.className = state.state;
    element("version").textContent = String(state.version);
    element("busy").textContent = state.busy ? "yes (update or sync running)" : "no";
  }

  function showScenario(scenario) {
    element("scenario-name").textContent = scenario.name;
    element("scenario-description").textContent = scenario.description || "";
    fillTable("faults", scenario.faults.map((rule) => [
      cell(rule.index),
      cell(rule.target),
      cell(rule.description ? `${rule.rule}: ${rule.description}` : rule.rule),
      cell(rule.calls, "calls"),
      cell(rule.firings, "firings"),
    ]), "No fault rules.");
  }

  function showDevices(devices) {
    fillTable("devices", devices.devices.map((device) => [
      cell(device.name, "name"),
      cell(device.type),
      cell(shorten(device.connectionData), "value"),
      cell(device.version),
      yesNo(device.inSync),
      cell(device.syncCount, "sync-count"),
      cell(device.lastError || "", "error"),
    ]), "No devices.");
  }

  function showJournal(journal) {
    const entries = journal.entries.slice().reverse();
    fillTable("journal", entries.map((entry) => [
      cell(entry.time),
      cell(entry.role, "role"),
      cell(entry.method, "method"),
      cell(entry.query ? `${entry.path}?${entry.query}` : entry.path, "path"),
      cell(entry.status, "status"),
      cell(entry.fault || "", "fault"),
      cell(entry.validation.length, "validation"),
    ]), "No requests recorded.");
  }

  function describeFailure(error) {
    if (error.status === 401) {
      return token
        ? "The control API refused the token (HTTP 401). Enter the token the " +
          "server was started with (--control-token or MOCKSERVER_CONTROL_TOKEN)."
        : "The control API needs a token (HTTP 401): the server runs with " +
          "--control-token. Enter that token above.";
    }
    return `Cannot read the control API: ${error.message || error}. ` +
      "Is the mock still running?";
  }

  async function refresh() {
    try {
      const [state, scenario, devices, journal] = await Promise.all([
        readJson(sources.state),
        readJson(sources.scenario),
        readJson(sources.devices),
        readJson(sources.journal),
      ]);
      showState(state);
      showScenario(scenario);
      showDevices(devices);
      showJournal(journal);
      showMessage("");
      element("updated").textContent = new Date().toLocaleTimeString();
    } catch (error) {
      showMessage(describeFailure(error));
    }
  }

  // The next poll starts once the previous one ended, so slow responses never pile up.
  async function poll() {
    await refresh();
    window.setTimeout(poll, INTERVAL_MS);
  }

  element("token").value = token;
  element("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    token = element("token").value.trim();
    storeToken(token);
    refresh();
  });
  element("forget-token").addEventListener("click", () => {
    token = "";
    element("token").value = "";
    storeToken("");
    refresh();
  });
  poll();
})();
