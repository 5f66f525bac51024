// The custom Context Service page of Cisco's sample registration workflow.
// Every value from the URL or the API reaches the page as text (textContent) or as
// a link checked to be http(s), never as markup.
"use strict";

(function () {
  const root = document.getElementById("demo");
  const registrationPath = root.dataset.registrationPath;
  const callbackPath = root.dataset.callbackPath;
  const element = (id) => document.getElementById(id);

  // The browser supplies Basic credentials for same-origin requests once the user
  // has signed in at the 401 prompt.
  async function callApi(method, url, body) {
    const init = {
      method: method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/xml";
      init.body = body;
    }
    // Built on the origin, so a page opened as http://user:password@host/ still
    // works: fetch() rejects relative URLs on such a page.
    const fetched = await fetch(new URL(url, window.location.origin), init);
    const text = await fetched.text();
    let data = null;
    if ((fetched.headers.get("Content-Type") || "").includes("json")) {
      try {
        data = JSON.parse(text);
      } catch (error) {
        data = null;
      }
    }
    return { status: fetched.status, headers: fetched.headers, text: text, data: data };
  }

  function apiErrorsOf(response) {
    const errors = response.data && response.data.apiErrors && response.data.apiErrors.apiError;
    if (!errors) {
      return [];
    }
    return Array.isArray(errors) ? errors : [errors];
  }

  function describeErrors(response) {
    const errors = apiErrorsOf(response);
    if (errors.length === 0) {
      return response.text || "(no error details)";
    }
    return errors
      .map((error) => `${error.errorMessage || ""} (${error.errorType || "no errorType"})`)
      .join(" ");
  }

  function showOutcome(kind, tone, message) {
    element("outcome").hidden = false;
    const label = element("outcome-kind");
    label.textContent = kind;
    label.className = `kind ${tone}`;
    element("outcome-message").textContent = message;
    element("failed-devices").replaceChildren();
    element("retry").hidden = true;
  }

  function isHttpUrl(value) {
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:";
    } catch (error) {
      return false;
    }
  }

  async function showState() {
    const response = await callApi("GET", registrationPath);
    const state = element("state");
    if (response.status !== 200 || !response.data) {
      state.textContent = `unknown (HTTP ${response.status})`;
      if (response.status === 401) {
        showOutcome("Not signed in", "failed",
          "The configuration API answered 401: sign in with an administrator account " +
          "when the browser asks, then reload the page.");
      }
      return;
    }
    const registration = response.data;
    state.textContent = registration.state;
    element("register").hidden = registration.state === "registered";
    element("deregister").hidden = registration.state !== "registered";
    const manage = element("manage");
    manage.hidden = !(registration.managementUrl && isHttpUrl(registration.managementUrl));
    if (!manage.hidden) {
      manage.href = registration.managementUrl;
    }
  }

  // Steps 3 to 5: ask the API for the wizard URL with our callback, then go there.
  async function startWizard(field) {
    const callbackUrl = new URL(callbackPath, window.location.href).href;
    const query = `?callbackUrl=${encodeURIComponent(callbackUrl)}`;
    const response = await callApi("GET", registrationPath + query);
    const target = response.data && response.data[field];
    if (response.status !== 200 || !target || !isHttpUrl(target)) {
      showOutcome("Cannot start the wizard", "failed",
        `The configuration API answered HTTP ${response.status} without a usable ${field}. ` +
        describeErrors(response));
      return;
    }
    window.location.assign(target);
  }

  function updateBody(connectionData) {
    const escaped = connectionData
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;");
    return "<contextServiceRegistration>" +
      `<connectionData>${escaped}</connectionData>` +
      "</contextServiceRegistration>";
  }

  // Step 8: store the connection data and describe each documented response in words.
  async function sendUpdate(connectionData) {
    const action = connectionData ? "registration" : "deregistration";
    const response = await callApi("PUT", registrationPath, updateBody(connectionData));
    if (response.status === 200) {
      showOutcome("Saved", "ok", connectionData
        ? "The connection data was saved and every device took it."
        : "The connection data was cleared on the server and on every device.");
    } else if (response.status === 201) {
      showPartialSuccess(response);
    } else if (response.status === 503) {
      const wait = response.headers.get("Retry-After") || "a few";
      showOutcome("Busy", "warning",
        `A device sync is still running, so the ${action} was not saved. ` +
        `Retry after ${wait} s.`);
      const retry = element("retry");
      retry.hidden = false;
      retry.onclick = () => run(() => sendUpdate(connectionData));
    } else if (response.status === 400) {
      showOutcome("Rejected", "failed",
        `The configuration API rejected the ${action}: ${describeErrors(response)}`);
    } else if (response.status === 401) {
      showOutcome("Not signed in", "failed",
        "The configuration API answered 401: the browser has no valid credentials. " +
        "Reload the page and sign in with an administrator account.");
    } else if (response.status === 500) {
      showOutcome("Failed", "failed",
        `The database update failed and nothing was changed: ${describeErrors(response)}`);
    } else {
      showOutcome("Unexpected response", "failed",
        `HTTP ${response.status}: ${describeErrors(response)}`);
    }
    await showState();
  }

  function showPartialSuccess(response) {
    showOutcome("Partial success", "warning",
      "The connection data was saved in the database, but these devices did not take it:");
    const list = element("failed-devices");
    for (const error of apiErrorsOf(response)) {
      const item = document.createElement("li");
      item.textContent = `${error.errorData || "unknown device"}: ${error.errorMessage || ""}`;
      list.append(item);
    }
  }

  // Step 7: the wizard returned here with connectionData, or with an error.
  async function handleCallback() {
    const query = new URLSearchParams(window.location.search);
    // Drop the query from the address bar, so a reload does not send it again.
    window.history.replaceState(null, "", callbackPath);
    const errors = query.getAll("error");
    if (errors.length > 0) {
      showOutcome("Cancelled", "warning",
        `The wizard returned error=${errors[errors.length - 1]}; nothing was changed.`);
      await showState();
      return;
    }
    const values = query.getAll("connectionData");
    if (values.length === 0) {
      showOutcome("Nothing to save", "failed",
        "The callback URL has no connectionData parameter.");
      await showState();
      return;
    }
    // The wizard adds its parameter last, after any the callback URL already had.
    const connectionData = values[values.length - 1];
    if (connectionData && (await readState()) === "invalid" && !(await clearInvalid())) {
      return;
    }
    await sendUpdate(connectionData);
  }

  async function readState() {
    const response = await callApi("GET", registrationPath);
    return response.data ? response.data.state : null;
  }

  // The API takes a new value only after the stored one is cleared, and an invalid
  // registration recovers by registering again, so the page clears it first.
  async function clearInvalid() {
    const response = await callApi("PUT", registrationPath, updateBody(""));
    if (response.status === 200 || response.status === 201) {
      return true;
    }
    showOutcome("Failed", "failed",
      `Clearing the invalid connection data failed with HTTP ${response.status}: ` +
      describeErrors(response));
    await showState();
    return false;
  }

  async function run(task) {
    try {
      await task();
    } catch (error) {
      showOutcome("Request failed", "failed", String(error));
    }
  }

  element("register").addEventListener("click", () => run(() => startWizard("registrationUrl")));
  element("deregister").addEventListener("click", () => run(() => startWizard("deregistrationUrl")));
  run(root.dataset.page === "callback" ? handleCallback : showState);
})();
