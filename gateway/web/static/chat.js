// Lastword demo chat: the browser side of a chat app whose backend talks to an LLM
// through the Lastword gateway. Plain JavaScript, no build step, no libraries.
//
// What a client app does with the gateway, in the order it appears below:
//  1. Keep the conversation history itself and send all of it every turn: it is the
//     Messages API, which has no server-side thread.
//  2. Read the streamed answer (server-sent events) with fetch + ReadableStream and show
//     the text as it arrives.
//  3. Show the helplines when the gateway attaches `crisis_resources`.
//  4. Treat the end signal as final. It comes in band on the turn that ends the
//     conversation (a `conversation_ended` object with status "ended" on `message_delta`),
//     or as a 410 with error type `conversation_ended` to any later attempt. Either way: disable the input, offer a new conversation.
//  5. Let the user edit an earlier message: the history is cut there, and what they send
//     next is a new branch, which the gateway lets through.
//
// The page talks only to its own backend (`POST /api/messages`). The backend adds the
// API key, the model and `stream: true`, and passes the gateway's answer through unchanged.

const $ = (id) => document.getElementById(id);
const STORAGE_KEY = "lastword-demo-history";

// ---- State -------------------------------------------------------------------------

// The history as the Messages API wants it: [{role: "user" | "assistant", content: "..."}].
// Kept in sessionStorage so that a reload keeps the thread. Whether the thread has ended
// is deliberately not kept: the gateway owns that, and answers 410 to the next send.
let history = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "[]");
let ended = false; // the gateway said this conversation has ended
let busy = false; // an answer is streaming

function saveHistory() {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(history));
}

// ---- Reading the stream ------------------------------------------------------------

// Yields {event, data} for each server-sent event of a fetch response. An event is a
// block of lines ended by a blank line: `event: <name>` and `data: <json>`.
async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replaceAll("\r", ""); // CRLF line ends become LF
    let blank;
    // A network chunk may hold several events, or part of one: keep the rest for later.
    while ((blank = buffer.indexOf("\n\n")) !== -1) {
      const block = buffer.slice(0, blank);
      buffer = buffer.slice(blank + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

// Reads one streamed answer, writing its text into `bubble` as it comes.
// Returns the text and, when this turn ended the conversation, the `conversation_ended` object.
async function readAnswer(response, bubble) {
  let text = "";
  let endedBy = null;
  let complete = false;
  for await (const { event, data } of readEvents(response)) {
    switch (event) {
      case "message_start":
        // The gateway attaches crisis resources to the first event of the stream.
        if (data.crisis_resources) showCrisis(data.crisis_resources);
        break;
      case "content_block_delta":
        if (data.delta.type === "text_delta") {
          text += data.delta.text;
          bubble.textContent = text;
        }
        break;
      case "message_delta":
        // The event that carries the stop reason also carries the end signal, and the
        // helplines when the crisis was only recognised in the answer.
        if (data.conversation_ended?.status === "ended") endedBy = data.conversation_ended;
        if (data.crisis_resources) showCrisis(data.crisis_resources);
        break;
      case "message_stop":
        complete = true;
        break;
      case "error":
        throw new Error(data.error?.message || "The answer failed.");
    }
  }
  // An ending is stored before it is signalled: it stands even if the stream broke after.
  if (!complete && !endedBy) throw new Error("The answer was interrupted.");
  return { text, endedBy };
}

// ---- Sending a turn ----------------------------------------------------------------

async function send(text) {
  const before = history.length;
  history.push({ role: "user", content: text });
  addBubble("user", text, before);
  const answer = addBubble("assistant", "");
  answer.parentElement.classList.add("streaming");
  busy = true;
  showError("");
  updateControls();

  // The turn did not happen: take it back out, and give the text back to the input box.
  const takeBack = () => {
    history.length = before;
    renderHistory();
    $("input").value = text;
  };

  try {
    const response = await fetch("/api/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ messages: history }), // the whole history, every turn
    });
    showConversation(response.headers.get("X-Conversation-Id"),
                     response.headers.get("X-Conversation-Status"));
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      takeBack();
      // The terminal answer: this thread continues an ended one and will never be served.
      // Helplines ride on error answers too: a person in crisis is never left without them.
      if (body.crisis_resources) showCrisis(body.crisis_resources);
      if (response.status === 410 && body.error?.type === "conversation_ended") {
        showEnded(body.conversation_ended);
      } else {
        showError(body.error?.message || `The request failed (HTTP ${response.status}).`);
      }
      return;
    }
    const reply = await readAnswer(response, answer);
    answer.parentElement.classList.remove("streaming");
    history.push({ role: "assistant", content: reply.text || "…" });
    saveHistory();
    if (reply.endedBy) showEnded(reply.endedBy);
  } catch (error) {
    takeBack();
    showError(error.message);
  } finally {
    busy = false;
    updateControls();
  }
}

// ---- Editing, starting over --------------------------------------------------------

// Editing message `index` drops it and everything after it. What the user sends next makes
// a new branch of the conversation, which the gateway serves even when the old one ended.
function editFrom(index) {
  const text = history[index].content;
  history = history.slice(0, index);
  saveHistory();
  renderHistory();
  ended = false;
  showError("");
  updateControls();
  $("input").value = text;
  $("input").focus();
}

function newConversation() {
  history = [];
  saveHistory();
  renderHistory();
  ended = false;
  $("crisis-banner").hidden = true;
  $("conversation-status").textContent = "New conversation";
  showError("");
  updateControls();
  $("input").focus();
}

// ---- Showing things ----------------------------------------------------------------

// One bubble per message; returns the element that holds its text. User messages get an
// Edit button. Text goes in with textContent, never innerHTML: model output is not markup.
function addBubble(role, text, index) {
  const bubble = document.createElement("article");
  bubble.className = `message ${role}`;
  const body = document.createElement("p");
  body.className = "text";
  body.textContent = text;
  bubble.append(body);
  if (role === "user") {
    const edit = document.createElement("button");
    edit.type = "button";
    edit.className = "edit";
    edit.textContent = "Edit";
    edit.addEventListener("click", () => editFrom(index));
    bubble.append(edit);
  }
  $("messages").append(bubble);
  bubble.scrollIntoView({ block: "end" });
  return body;
}

function renderHistory() {
  $("messages").replaceChildren();
  history.forEach((message, index) => addBubble(message.role, message.content, index));
}

// The input is disabled for good once the conversation has ended; Send only while an
// answer streams. Edit stays available after an ending: that is how a user goes on.
function updateControls() {
  $("messages").setAttribute("aria-busy", String(busy));
  $("input").disabled = ended;
  $("send").disabled = ended || busy;
  $("ended-notice").hidden = !ended;
  for (const button of document.querySelectorAll("button.edit")) button.disabled = busy;
}

function showEnded(conversation) {
  ended = true;
  if (conversation) showConversation(conversation.id, "ended");
  updateControls();
}

function showConversation(id, status) {
  if (id) $("conversation-status").textContent = `Conversation ${id} · ${status}`;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

// A link that the phone or browser can act on; only the schemes a helpline needs.
function link(href, label) {
  const a = document.createElement("a");
  if (/^(https?:|tel:|sms:)/.test(href)) a.href = href;
  if (href.startsWith("http")) {
    a.target = "_blank";
    a.rel = "noopener";
  }
  a.textContent = label;
  return a;
}

// The banner: the gateway's message, then each local line with every way to reach it.
function showCrisis(resources) {
  $("crisis-message").textContent = resources.message;
  const lines = [];
  for (const line of resources.lines || []) {
    const item = document.createElement("li");
    const name = document.createElement("strong");
    name.textContent = line.name;
    item.append(name);
    if (line.phone) item.append(" · call ", link(`tel:${line.phone.replace(/\s/g, "")}`, line.phone));
    if (line.text) item.append(" · text ", link(`sms:${line.text.replace(/\s/g, "")}`, line.text));
    if (line.chat_url) item.append(" · ", link(line.chat_url, "chat online"));
    if (line.hours) item.append(` · ${line.hours}`);
    lines.push(item);
  }
  $("crisis-lines").replaceChildren(...lines);
  const more = $("crisis-more");
  more.replaceChildren();
  if (resources.emergency) more.append(`In an emergency, call ${resources.emergency}. `);
  if (resources.fallback?.url) {
    more.append("More helplines: ", link(resources.fallback.url, resources.fallback.name));
  }
  $("crisis-banner").hidden = false;
}

// ---- Wiring ------------------------------------------------------------------------

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("input").value.trim();
  if (!text || busy || ended) return;
  $("input").value = "";
  send(text);
});

// Enter sends, Shift+Enter starts a new line.
$("input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

$("new-conversation").addEventListener("click", newConversation);
$("start-new").addEventListener("click", newConversation);

renderHistory();
updateControls();
