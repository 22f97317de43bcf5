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
//     or as a 410 with error type `conversation_ended` to any later attempt. Either way:
//     disable the input, say so where focus goes, offer a new conversation. Helplines can
//     ride on that 410 too (someone in crisis writing into an ended thread): show them.
//  5. Let the user edit an earlier message: what they send is a new branch, which the
//     gateway lets through; until it is sent, Cancel gives the thread back as it was.
//
// The page talks only to its own backend (`POST /api/messages`). The backend adds the
// API key, the model and `stream: true`, and passes the gateway's answer through unchanged.

const $ = (id) => document.getElementById(id);
const STORAGE_KEY = "lastword-demo-history";

// ---- State -------------------------------------------------------------------------

// The history as the Messages API wants it: [{role: "user" | "assistant", content: "..."}].
// Kept in sessionStorage with what the user must still see after a reload: that the thread
// has ended, and the helplines they were shown. The gateway stays the authority on endings
// (a thread the page forgot answers 410 on the next send); the page only remembers them.
const STORE = {
  history: "lastword-demo-history",
  ended: "lastword-demo-ended",
  crisis: "lastword-demo-crisis",
};
const stored = (key, fallback) => JSON.parse(sessionStorage.getItem(key) || "null") ?? fallback;
let history = stored(STORE.history, []);
let ended = stored(STORE.ended, null); // the `conversation_ended` object, once it has ended
let crisis = stored(STORE.crisis, null); // the last `crisis_resources` shown
let editing = null; // {index, draft} while the user edits message `index`
let busy = false; // an answer is streaming

function save() {
  sessionStorage.setItem(STORE.history, JSON.stringify(history));
  sessionStorage.setItem(STORE.ended, JSON.stringify(ended));
  sessionStorage.setItem(STORE.crisis, JSON.stringify(crisis));
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

// Sends `text` as the next user turn. `previous` is the state to go back to if the turn
// does not happen (the thread as it was before an edit, and the edit, say).
async function send(text, previous = { history: [...history], ended, editing: null }) {
  history.push({ role: "user", content: text });
  renderHistory();
  const answer = addBubble("assistant", "");
  answer.closest("article").classList.add("streaming");
  busy = true;
  showError("");
  showNotSent("");
  updateControls();

  // The turn did not happen: the thread goes back to what it was.
  const takeBack = () => {
    history = previous.history;
    ended = previous.ended;
    editing = previous.editing; // a failed edit is still an edit: it can be retried or cancelled
    renderHistory();
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
      // Helplines ride on error answers too, the terminal 410 included: a person in crisis
      // who writes into an ended thread is never left without them.
      if (body.crisis_resources) showCrisis(body.crisis_resources);
      if (response.status === 410 && body.error?.type === "conversation_ended") {
        // The terminal answer: this thread continues an ended one and will never be served.
        // The words were not sent: say so, and keep them readable, not in a dead input box.
        showNotSent(text);
        showEnded(body.conversation_ended ?? { status: "ended" });
      } else {
        $("input").value = text; // a failure worth retrying: the text goes back to the box
        showError(body.error?.message || `The request failed (HTTP ${response.status}).`);
      }
      return;
    }
    const reply = await readAnswer(response, answer);
    answer.closest("article").classList.remove("streaming");
    history.push({ role: "assistant", content: reply.text || "…" });
    if (reply.endedBy) showEnded(reply.endedBy);
  } catch (error) {
    takeBack();
    $("input").value = text;
    showError(error.message);
  } finally {
    busy = false;
    save();
    updateControls();
  }
}

// ---- Editing, starting over --------------------------------------------------------

// Editing message `index` puts its text in the input and marks it and every later message
// as about to be replaced; nothing is dropped until the edit is sent, and Cancel (or
// Escape) gives the thread back as it was. What is sent makes a new branch of the
// conversation, which the gateway serves even when the old one ended.
function editFrom(index) {
  if (!editing) editing = { index, draft: $("input").value };
  else editing.index = index;
  showError("");
  renderHistory();
  updateControls();
  $("input").value = history[index].content;
  $("input").focus();
}

function cancelEdit() {
  if (!editing) return;
  const { index, draft } = editing;
  editing = null;
  renderHistory();
  updateControls();
  $("input").value = draft;
  // Back to where the user was: the Edit button of the message, or the ended notice.
  const button = document.querySelector(`button.edit[data-index="${index}"]`);
  (ended ? $("ended-notice") : button ?? $("input")).focus();
}

function newConversation() {
  history = [];
  ended = null;
  crisis = null;
  editing = null;
  save();
  renderHistory();
  $("crisis-banner").hidden = true;
  $("conversation-status").textContent = "New conversation";
  $("input").value = ""; // nothing of the old thread comes along, refused words included
  showError("");
  showNotSent("");
  updateControls();
  $("input").focus();
}

// ---- Showing things ----------------------------------------------------------------

// One message; returns the element that holds its text. Each says who wrote it (a hidden
// label a screen reader announces); user messages get an Edit button named after the
// message. Text goes in with textContent, never innerHTML: model output is not markup.
function addBubble(role, text, index) {
  const bubble = document.createElement("article");
  bubble.className = `message ${role}`;
  const who = document.createElement("h2");
  who.className = "visually-hidden";
  who.textContent = role === "user" ? "You said:" : "Assistant said:";
  const body = document.createElement("p");
  body.className = "text";
  body.textContent = text;
  bubble.append(who, body);
  if (editing && index !== undefined && index >= editing.index) {
    bubble.classList.add("replaced"); // what sending the edit will replace
    const note = document.createElement("span");
    note.className = "visually-hidden";
    note.textContent = "(replaced if you send your edit)";
    bubble.append(note);
  }
  if (role === "user" && index !== undefined) {
    const number = history.slice(0, index + 1).filter((m) => m.role === "user").length;
    body.id = `message-${index}`;
    const edit = document.createElement("button");
    edit.type = "button";
    edit.className = "edit";
    edit.dataset.index = String(index);
    edit.textContent = "Edit";
    edit.setAttribute("aria-label", `Edit message ${number}`);
    edit.setAttribute("aria-describedby", body.id);
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

// The input is disabled once the conversation has ended, unless the user is editing an
// earlier message (that makes a new branch); Send only while no answer streams. Edit stays
// available after an ending: that is how a user goes on.
function updateControls() {
  const closed = ended && !editing;
  $("messages").setAttribute("aria-busy", String(busy));
  $("input").disabled = closed;
  $("send").disabled = closed || busy;
  $("send").textContent = editing ? "Send edit" : "Send";
  $("ended-notice").hidden = !closed;
  $("editing").hidden = !editing;
  if (editing) {
    const number = history.slice(0, editing.index + 1).filter((m) => m.role === "user").length;
    $("editing-label").textContent =
      `Editing message ${number}: sending replaces it and everything after it.`;
  }
  for (const button of document.querySelectorAll("button.edit")) button.disabled = busy;
}

// The conversation has ended: close the thread, and move focus to the notice so a screen
// reader says so (the input it was in is now disabled: focus would fall to the page).
function showEnded(conversation) {
  ended = conversation;
  editing = null;
  if (conversation?.id) showConversation(conversation.id, "ended");
  save();
  renderHistory();
  updateControls();
  const notice = $("ended-notice");
  notice.scrollIntoView({ block: "nearest" });
  notice.focus();
}

function showConversation(id, status) {
  if (id) $("conversation-status").textContent = `Conversation ${id} · ${status}`;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

// Words the gateway refused to pass on, because the thread has ended.
function showNotSent(text) {
  $("not-sent-text").textContent = text;
  $("not-sent").hidden = !text;
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

// The banner's own words, in each language the crisis directory writes its messages in.
// Each link says what it does ("Call 988", "Text 988"), so no two links share a name.
const BANNER = {
  en: { title: "Help is available", call: (n) => `Call ${n}`, text: (n) => `Text ${n}`,
        chat: "Chat online", emergency: (n) => `In an emergency, call ${n}.`,
        more: "More helplines:" },
  fr: { title: "De l'aide est disponible", call: (n) => `Appeler le ${n}`,
        text: (n) => `SMS au ${n}`, chat: "Discuter en ligne",
        emergency: (n) => `En cas d'urgence, appelez le ${n}.`,
        more: "Autres lignes d'écoute :" },
  es: { title: "Hay ayuda disponible", call: (n) => `Llamar al ${n}`,
        text: (n) => `SMS al ${n}`, chat: "Chat en línea",
        emergency: (n) => `En caso de emergencia, llama al ${n}.`,
        more: "Más líneas de ayuda:" },
  de: { title: "Hilfe ist erreichbar", call: (n) => `${n} anrufen`,
        text: (n) => `SMS an ${n}`, chat: "Online-Chat",
        emergency: (n) => `Im Notfall: ${n} anrufen.`, more: "Weitere Hilfsangebote:" },
  it: { title: "Un aiuto è disponibile", call: (n) => `Chiama il ${n}`,
        text: (n) => `SMS al ${n}`, chat: "Chat online",
        emergency: (n) => `In caso di emergenza, chiama il ${n}.`,
        more: "Altre linee di ascolto:" },
  pt: { title: "Há ajuda disponível", call: (n) => `Ligar para ${n}`,
        text: (n) => `SMS para ${n}`, chat: "Chat online",
        emergency: (n) => `Em caso de emergência, ligue ${n}.`,
        more: "Mais linhas de apoio:" },
  nl: { title: "Er is hulp", call: (n) => `Bel ${n}`, text: (n) => `Sms ${n}`,
        chat: "Online chatten", emergency: (n) => `Bel in noodgevallen ${n}.`,
        more: "Meer hulplijnen:" },
  ja: { title: "相談できる窓口があります", call: (n) => `${n} に電話`,
        text: (n) => `${n} にSMS`, chat: "オンラインで相談",
        emergency: (n) => `緊急の場合は ${n} に電話してください。`,
        more: "その他の相談窓口：" },
};

// The banner: the gateway's message, then each local line with every way to reach it, all
// in the language the gateway chose for the message (`resources.language`).
function showCrisis(resources) {
  crisis = resources;
  sessionStorage.setItem(STORE.crisis, JSON.stringify(crisis)); // a reload keeps them

  const language = BANNER[resources.language] ? resources.language : "en";
  const words = BANNER[language];
  $("crisis-banner").lang = language;
  $("crisis-title").textContent = words.title;
  $("crisis-message").textContent = resources.message;
  const lines = [];
  for (const line of resources.lines || []) {
    const item = document.createElement("li");
    const name = document.createElement("strong");
    name.textContent = line.name;
    const ways = [];
    if (line.phone) ways.push(link(`tel:${line.phone.replace(/\s/g, "")}`, words.call(line.phone)));
    if (line.text) ways.push(link(`sms:${line.text.replace(/\s/g, "")}`, words.text(line.text)));
    if (line.chat_url) ways.push(link(line.chat_url, words.chat));
    if (!ways.length && line.url) ways.push(link(line.url, line.url.replace(/^https?:\/\//, "")));
    item.append(name);
    for (const way of ways) item.append(" · ", way);
    if (line.hours) item.append(` · ${line.hours}`);
    lines.push(item);
  }
  $("crisis-lines").replaceChildren(...lines);
  const more = $("crisis-more");
  more.replaceChildren();
  if (resources.emergency) more.append(`${words.emergency(resources.emergency)} `);
  if (resources.fallback?.url) {
    more.append(`${words.more} `, link(resources.fallback.url, resources.fallback.name));
  }
  $("crisis-banner").hidden = false;
}

// ---- Wiring ------------------------------------------------------------------------

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("input").value.trim();
  if (!text || busy || (ended && !editing)) return;
  $("input").value = "";
  if (editing) {
    // The edit is sent: the thread is cut at the edited message. Should the turn fail,
    // the whole thread as it was before the edit comes back.
    const previous = { history: [...history], ended, editing };
    history = history.slice(0, editing.index);
    ended = null;
    editing = null;
    send(text, previous);
  } else {
    send(text);
  }
});

// Enter sends, Shift+Enter starts a new line, Escape cancels an edit.
$("input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  } else if (event.key === "Escape" && editing) {
    event.preventDefault();
    cancelEdit();
  }
});

$("new-conversation").addEventListener("click", newConversation);
$("start-new").addEventListener("click", newConversation);
$("cancel-edit").addEventListener("click", cancelEdit);

renderHistory();
if (crisis) showCrisis(crisis);
if (ended) showConversation(ended.id, "ended");
updateControls();
