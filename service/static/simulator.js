// Phone simulator: plays Africa's Talking and a basic phone against this service.
// Posts form-urlencoded fields to /ussd, /ussd/events and /sms/inbound as AT does
// (docs/gateway-africastalking.md §2–§4) and polls /simulator/messages.
// Everything shown goes through textContent: texts come from users.
"use strict";

(() => {
  const handset = document.getElementById("phone");
  if (!handset) return;
  const cfg = handset.dataset; // phone, serviceCode, shortCode, networkCode, key, timezone, words
  const words = JSON.parse(cfg.words || "{}"); // the page's language (service/templates/simulator.toml)
  const say = (key, fallback) => words[key] || fallback;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 2000;

  const randomHex = (bytes) =>
    Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
  const atDate = (d) => d.toISOString().slice(0, 19).replace("T", " "); // YYYY-MM-DD HH:MM:SS, UTC
  const withKey = (path) => (cfg.key ? `${path}?key=${encodeURIComponent(cfg.key)}` : path);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clock(date) {
    const opts = { hour: "2-digit", minute: "2-digit" };
    try {
      return date.toLocaleTimeString("en-GB", { ...opts, timeZone: cfg.timezone });
    } catch (err) { // unknown zone name
      return date.toLocaleTimeString("en-GB", opts);
    }
  }

  // ---- requests, with a visible log (the token is never shown) ----
  function log(path, fields, outcome) {
    const item = el("li");
    item.append(el("strong", "", `POST ${path} → ${outcome}`));
    item.append(el("pre", "", Object.entries(fields).map(([k, v]) => `${k}=${v}`).join("\n")));
    const list = $("log");
    list.prepend(item);
    while (list.children.length > 20) list.lastChild.remove();
  }

  async function post(path, fields) {
    try {
      const resp = await fetch(withKey(path), { method: "POST", body: new URLSearchParams(fields), cache: "no-store" });
      const body = await resp.text();
      log(path, fields, `HTTP ${resp.status}`);
      return { status: resp.status, body };
    } catch (err) {
      log(path, fields, say("no_connection", "no connection"));
      return { status: 0, body: "" };
    }
  }

  // ---- USSD: one session per dial; text = every input so far joined by "*" ----
  const ussd = {
    overlay: $("ussd"), body: $("ussd-body"), form: $("ussd-form"), input: $("ussd-input"),
    end: $("ussd-end"),
  };
  let session = null; // { id, inputs, started, hops, last }

  const hopFields = (s) => ({
    sessionId: s.id, serviceCode: cfg.serviceCode, phoneNumber: cfg.phone, networkCode: cfg.networkCode,
  });

  function show(text, mode) { // mode: "busy" | "con" | "end"
    ussd.overlay.hidden = false;
    ussd.overlay.dataset.mode = mode;
    ussd.body.textContent = text;
    ussd.form.hidden = mode !== "con";
    ussd.end.hidden = mode !== "end";
    if (mode === "con") {
      ussd.input.value = "";
      ussd.input.focus();
    }
  }

  function close() {
    ussd.overlay.hidden = true;
    $("dial").focus();
  }

  // The end-of-session notice AT posts to the events URL.
  function notify(status, errorMessage) {
    const s = session;
    session = null;
    const fields = {
      date: atDate(new Date()), ...hopFields(s), status, cost: "TJS 0.00",
      durationInMillis: String(Date.now() - s.started), hopsCount: String(s.hops),
      input: s.inputs.join("*"), lastAppResponse: s.last,
    };
    if (errorMessage) fields.errorMessage = errorMessage;
    return post("/ussd/events", fields);
  }

  async function hop() {
    show(say("running", "USSD code running…"), "busy");
    const res = await post("/ussd", { ...hopFields(session), text: session.inputs.join("*") });
    session.hops += 1;
    if (res.status === 200 && /^(CON|END) /.test(res.body)) {
      session.last = res.body;
      const ended = res.body.startsWith("END ");
      show(res.body.slice(4), ended ? "end" : "con");
      if (ended) await notify("Success");
    } else {
      const why = res.status ? `HTTP ${res.status}` : say("no_connection", "no connection");
      show(`${say("problem", "Connection problem or invalid MMI code.")} (${why})`, "end");
      await notify("Failed", res.status === 200 ? "answer without CON/END" : why);
    }
  }

  $("dial").addEventListener("click", () => {
    session = { id: `ATUid_${randomHex(16)}`, inputs: [], started: Date.now(), hops: 0, last: "" };
    hop();
  });
  ussd.form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!session) return;
    session.inputs.push(ussd.input.value);
    hop();
  });
  $("ussd-cancel").addEventListener("click", () => {
    if (session) notify("Incomplete");
    close();
  });
  $("ussd-ok").addEventListener("click", close);

  // ---- SMS: the conversation as the server stores it (what the phone sent and what the outbox
  // holds for it, each reply after its cause), plus what this page is still sending ----
  const pending = []; // { id, text, at, outcome }: posted, not yet in the server's list
  let conversation = [];
  let shown = 0;

  function bubble(item) {
    const node = el("div", item.mine ? "msg mo" : "msg mt");
    node.append(el("p", "text", item.text));
    node.append(el("small", "meta", `${clock(item.at)} · ${item.meta}`));
    if (item.status) node.dataset.status = item.status;
    return node;
  }

  function render() {
    const stored = new Set(conversation.filter((m) => m.direction === "in").map((m) => m.gateway_id));
    for (let i = pending.length - 1; i >= 0; i -= 1) {
      if (stored.has(pending[i].id)) pending.splice(i, 1);
    }
    const items = [
      ...conversation.map((m) => (m.direction === "in"
        ? { mine: true, text: m.text, at: new Date(m.created_at), meta: say("sent", "sent") }
        : {
          mine: false, text: m.text, at: new Date(m.created_at), status: m.status,
          meta: `${m.kind} · ${m.encoding} · ${m.segments} SMS · ${m.status}`,
        })),
      ...pending.map((s) => ({ mine: true, text: s.text, at: s.at, meta: s.outcome })),
    ];
    const thread = $("thread");
    thread.replaceChildren(...items.map(bubble));
    if (items.length !== shown) thread.scrollTop = thread.scrollHeight;
    shown = items.length;
  }

  let lastJson = "";
  async function poll() {
    try {
      const resp = await fetch(`/simulator/messages?phone=${encodeURIComponent(cfg.phone)}`, { cache: "no-store" });
      if (!resp.ok) return;
      const json = await resp.text();
      if (json !== lastJson) {
        lastJson = json;
        conversation = JSON.parse(json);
        render();
      }
    } catch (err) {
      // server restarting: the next tick tries again
    }
  }

  $("sms-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("sms-text");
    const text = box.value;
    if (!text.trim()) return;
    box.value = "";
    const item = { id: `ATXid_${randomHex(16)}`, text, at: new Date(), outcome: say("sending", "sending…") };
    pending.push(item);
    render();
    const res = await post("/sms/inbound", {
      id: item.id, from: cfg.phone, to: cfg.shortCode, text,
      date: atDate(item.at), networkCode: cfg.networkCode,
    });
    const ok = res.status >= 200 && res.status < 300;
    item.outcome = ok ? say("sent", "sent")
      : `${say("not_accepted", "not accepted")} (${res.status ? `HTTP ${res.status}` : say("no_connection", "no connection")})`;
    render();
    poll();
  });
  $("sms-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("sms-form").requestSubmit();
    }
  });

  poll();
  setInterval(poll, POLL_MS);
})();
