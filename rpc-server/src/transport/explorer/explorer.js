// The API explorer: reads the connection's rpc.discover, builds a form per
// method from its parameter schemas, calls over the page's own WebSocket,
// and shows results, errors and the server's notifications. No library, no
// request outside this server. Everything from the server goes into the
// page as text, never as HTML.
"use strict";

const $ = (selector) => document.querySelector(selector);
const MAX_NOTIFICATIONS = 200;

let socket = null;
let nextId = 1;
const pending = new Map();
let schemas = {};

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function setStatus(text, kind) {
  const status = $("#status");
  status.textContent = text;
  status.className = kind;
}

// ---- the connection ----

function connect() {
  if (socket) {
    // Nothing from the old connection reaches the page any more.
    socket.onclose = socket.onmessage = socket.onopen = null;
    socket.close(1000);
    socket = null;
  }
  failPending("reconnecting");
  // The endpoint is where the page is: "/" for /explorer, "/rpc/" for an
  // endpoint mounted at /rpc.
  const url = new URL(".", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const token = $("#token").value.trim();
  setStatus("connecting…", "");
  // A browser cannot set headers on a WebSocket; the token goes as the
  // subprotocols ["bearer", token], which the server reads and never echoes.
  let ws;
  try {
    ws = token ? new WebSocket(url, ["bearer", token]) : new WebSocket(url);
  } catch (error) {
    // A subprotocol is a token of the HTTP grammar: no spaces, `/`, `=`, `,`.
    setStatus(`cannot send this token from a browser: ${error.message}`, "bad");
    return;
  }
  socket = ws;
  ws.onopen = () => {
    setStatus("connected", "ok");
    discover();
  };
  ws.onmessage = (event) => receive(ws, event.data);
  ws.onclose = (event) => {
    if (socket !== ws) return;
    const why = event.code === 1006
      ? "could not connect (if the server needs a token, enter it and connect)"
      : `closed (${event.code}${event.reason ? ": " + event.reason : ""})`;
    setStatus(why, "bad");
    failPending("the connection closed");
  };
}

function failPending(why) {
  for (const { reject } of pending.values()) reject(new Error(why));
  pending.clear();
}

function send(message) {
  if (!socket || socket.readyState !== WebSocket.OPEN) throw new Error("not connected");
  socket.send(JSON.stringify(message));
}

// Calls `method`; resolves with the response and the round trip in ms.
function request(method, params) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    const message = { jsonrpc: "2.0", method, id };
    if (params !== undefined) message.params = params;
    const started = performance.now();
    pending.set(id, {
      resolve: (response) => resolve({ response, ms: performance.now() - started }),
      reject,
    });
    try {
      send(message);
    } catch (error) {
      pending.delete(id);
      reject(error);
    }
  });
}

function receive(ws, text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return;
  }
  for (const item of Array.isArray(message) ? message : [message]) {
    if (item === null || typeof item !== "object") continue;
    if (typeof item.method === "string") {
      if ("id" in item) {
        // The server calls the page: the explorer serves no methods.
        ws.send(JSON.stringify({ jsonrpc: "2.0", id: item.id, error: { code: -32601, message: "Method not found" } }));
      } else {
        showNotification(item);
      }
    } else if (pending.has(item.id)) {
      const waiting = pending.get(item.id);
      pending.delete(item.id);
      waiting.resolve(item);
    }
  }
}

// ---- the methods ----

async function discover() {
  try {
    const { response } = await request("rpc.discover");
    if (response.error) throw new Error(`rpc.discover: ${response.error.message}`);
    showDocument(response.result);
  } catch (error) {
    setStatus(`connected, but the service has no description: ${error.message}`, "bad");
  }
}

function showDocument(doc) {
  schemas = (doc.components && doc.components.schemas) || {};
  const info = doc.info || {};
  $("#title").textContent = `${info.title || "API"} ${info.version || ""}`.trim();
  document.title = `${$("#title").textContent}: API explorer`;
  $("#description").textContent = info.description || "";
  const list = $("#methods");
  list.replaceChildren();
  for (const method of doc.methods || []) {
    const button = element("button", { type: "button", "data-method": method.name },
      element("code", { text: method.name }),
      element("small", { text: method.summary || "" }));
    button.addEventListener("click", () => {
      for (const other of list.querySelectorAll("button")) other.removeAttribute("aria-current");
      button.setAttribute("aria-current", "true");
      showMethod(method);
    });
    list.append(element("li", {}, button));
  }
}

function deref(schema) {
  for (let depth = 0; schema && typeof schema.$ref === "string" && depth < 32; depth++) {
    schema = schemas[schema.$ref.split("/").pop()];
  }
  return schema || {};
}

// A JSON Schema as a short type: integer, string[], Point, "a" | "b".
function typeName(schema) {
  if (schema === true || !schema) return "any";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  const options = schema.anyOf || schema.oneOf;
  if (options) return options.map(typeName).join(" | ");
  const types = [].concat(schema.type || "any");
  return types.map((type) => type === "array" ? `${typeName(schema.items)}[]` : type).join(" | ");
}

function showMethod(method) {
  $("#method").hidden = false;
  $("#method-name").textContent = method.name;
  // OpenRPC 1.2 marks one with x-notification (and a null result); 1.3 by
  // leaving the result out.
  const notification = method["x-notification"] === true || !method.result;
  const tags = [];
  if (notification) tags.push("notification");
  if (method.deprecated) tags.push("deprecated");
  const subscription = method["x-subscription"];
  if (subscription) tags.push(`subscription: notifications ${subscription.notification}, ended by ${subscription.unsubscribe}`);
  if (!notification) tags.push(`returns ${typeName(method.result.schema)}`);
  $("#method-tags").replaceChildren(...tags.map((tag) => element("span", { class: "tag", text: tag })));
  // Doc comments wrap lines; a single line break is a space, as in Markdown.
  $("#method-docs").textContent = (method.description || method.summary || "").replace(/(?<!\n)\n(?!\n)/g, " ");
  $("#outcome").replaceChildren();
  const form = $("#params");
  form.replaceChildren();
  const fields = (method.params || []).map((param) => {
    const field = paramField(param);
    form.append(field.label, field.input, field.hint);
    return field;
  });
  form.append(element("button", { id: "call", type: "submit", text: notification ? "Send" : "Call" }));
  form.onsubmit = (event) => {
    event.preventDefault();
    const params = collect(method, fields);
    if (params !== null) invoke(method, params, notification);
  };
}

// One input for a parameter: text, number, a choice, or JSON.
function paramField(param) {
  const schema = deref(param.schema);
  const types = [].concat(schema.type || []).filter((type) => type !== "null");
  const nullable = [].concat(schema.type || []).includes("null");
  const kind = schema.enum && schema.enum.every((v) => typeof v === "string") ? "enum"
    : types.length === 1 && ["string", "integer", "number", "boolean"].includes(types[0]) ? types[0]
    : "json";
  const optional = !param.required;
  const label = element("label", { for: `param-${param.name}` },
    element("code", { text: param.name }), " ",
    element("small", { text: `${typeName(param.schema)}${optional ? " (optional)" : ""}` }));
  let input;
  if (kind === "enum" || kind === "boolean") {
    const values = kind === "enum" ? schema.enum : ["true", "false"];
    input = element("select", {});
    if (optional || nullable) input.append(element("option", { value: "", text: "" }));
    for (const value of values) input.append(element("option", { value, text: value }));
  } else if (kind === "json") {
    input = element("textarea", { placeholder: `JSON: ${typeName(param.schema)}`, spellcheck: "false" });
  } else {
    input = element("input", kind === "string" ? { type: "text" }
      : { type: "number", step: kind === "integer" ? "1" : "any" });
  }
  input.id = `param-${param.name}`;
  input.name = param.name;
  const hint = element("div", { class: "hint" });
  const field = { param, kind, optional, nullable, input, label, hint };
  input.addEventListener("input", () => check(field));
  return field;
}

// The field's value, `undefined` when left empty, or throws why it is wrong.
function valueOf(field) {
  const raw = field.input.value;
  if (raw.trim() === "" && field.kind !== "string") {
    if (field.optional) return undefined;
    if (field.nullable) return null;
    throw new Error("required");
  }
  switch (field.kind) {
    case "string": return raw === "" && field.optional ? undefined : raw;
    case "boolean": return raw === "true";
    case "enum": return raw;
    case "integer":
    case "number": {
      const number = Number(raw);
      if (!Number.isFinite(number)) throw new Error("not a number");
      if (field.kind === "integer" && !Number.isInteger(number)) throw new Error("not an integer");
      // Past 2^53 a browser's numbers are not exact: the server would get
      // another integer than the one typed.
      if (field.kind === "integer" && !Number.isSafeInteger(number)) throw new Error("too large to send exactly from a browser");
      return number;
    }
    default:
      try {
        return JSON.parse(raw);
      } catch (error) {
        throw new Error(`not valid JSON: ${error.message}`);
      }
  }
}

function check(field) {
  try {
    valueOf(field);
    field.input.classList.remove("invalid");
    field.hint.textContent = "";
    return true;
  } catch (error) {
    field.input.classList.add("invalid");
    field.hint.textContent = error.message;
    return false;
  }
}

// The params to send (by name unless the method takes them by position),
// or null when a field is wrong.
function collect(method, fields) {
  if (!fields.every(check)) return null;
  if (fields.length === 0) return undefined;
  if (method.paramStructure === "by-position") {
    const values = fields.map(valueOf);
    while (values.length && values[values.length - 1] === undefined) values.pop();
    return values.map((value) => value === undefined ? null : value);
  }
  const params = {};
  for (const field of fields) {
    const value = valueOf(field);
    if (value !== undefined) params[field.param.name] = value;
  }
  return params;
}

async function invoke(method, params, notification) {
  const outcome = $("#outcome");
  try {
    if (notification) {
      const message = { jsonrpc: "2.0", method: method.name };
      if (params !== undefined) message.params = params;
      send(message);
      outcome.replaceChildren(element("p", { class: "ok", text: "sent (a notification has no answer)" }));
      return;
    }
    outcome.replaceChildren(element("p", { text: "calling…" }));
    const { response, ms } = await request(method.name, params);
    const elapsed = element("p", { id: "elapsed", text: `answered in ${ms.toFixed(1)} ms` });
    if (response.error) {
      const error = response.error;
      const shown = [element("p", { class: "bad error" },
        "error ", element("code", { class: "code", text: String(error.code) }), `: ${error.message}`)];
      if ("data" in error) shown.push(element("pre", { class: "data", text: JSON.stringify(error.data, null, 2) }));
      outcome.replaceChildren(...shown, elapsed);
    } else {
      outcome.replaceChildren(element("pre", { class: "result", text: JSON.stringify(response.result, null, 2) }), elapsed);
    }
  } catch (error) {
    outcome.replaceChildren(element("p", { class: "bad", text: error.message }));
  }
}

// ---- notifications ----

function showNotification(notification) {
  const list = $("#notifications");
  const item = element("li", { "data-method": notification.method },
    element("time", { text: new Date().toLocaleTimeString() }),
    element("code", { text: notification.method }));
  if ("params" in notification) item.append(element("pre", { text: JSON.stringify(notification.params, null, 2) }));
  list.prepend(item);
  while (list.children.length > MAX_NOTIFICATIONS) list.lastElementChild.remove();
}

$("#connection").addEventListener("submit", (event) => {
  event.preventDefault();
  connect();
});
$("#clear").addEventListener("click", () => $("#notifications").replaceChildren());
connect();
