// Lastword review: reads and acts through the gateway's JSON admin API, nothing else.
// The admin token and the tenant stay in this tab's sessionStorage, never in a URL; every
// value shown is set as text, never as HTML.

const $ = (id) => document.getElementById(id);
const STORED = {
  token: "lastword-review-token",
  tenant: "lastword-review-tenant",
  kind: "lastword-review-tenant-kind",
  actor: "lastword-review-actor",
};
const PAGE_SIZE = 25;
// Alias look-ups for the endings list run a few at a time, not one burst per row.
const LOOKUPS_AT_ONCE = 4;

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function stored() {
  const get = (key) => sessionStorage.getItem(STORED[key]) || "";
  return { token: get("token"), tenant: get("tenant"), kind: get("kind") || "hash",
           actor: get("actor") || "admin" };
}

// The admin API: /admin/<path> on this gateway (absolute: the gateway serves this page
// at /admin/ui whether or not the address typed ends in a slash).
async function api(path, { method = "GET", body } = {}) {
  const session = stored();
  const headers = { Authorization: `Bearer ${session.token}` };
  headers[session.kind === "key" ? "X-Api-Key" : "X-Lastword-Tenant"] = session.tenant;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`/admin/${path}`, {
      method, headers, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "The gateway cannot be reached.");
  }
  let data = null;
  try { data = await response.json(); } catch { /* an error page that is not JSON */ }
  if (!response.ok) {
    throw new ApiError(response.status, data?.error?.message || `HTTP ${response.status}`);
  }
  return data;
}

// "2026-12-05T08:40:12.345Z" -> a <time> reading "2026-12-05 08:40:12".
function timeElement(iso) {
  const time = document.createElement("time");
  time.dateTime = iso;
  time.textContent = iso.slice(0, 19).replace("T", " ");
  return time;
}

function cell(content, className) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content); else td.textContent = content;
  if (className) td.className = className;
  return td;
}

// A row of `table`; each cell carries its column's name, which narrow screens show
// beside it when the table is laid out as one card per row.
function tableRow(table, cells) {
  const names = [...table.tHead.rows[0].cells].map((th) => th.textContent);
  const tr = document.createElement("tr");
  cells.forEach((td, i) => { if (names[i] && td.colSpan === 1) td.dataset.label = names[i]; });
  tr.append(...cells);
  return tr;
}

function fillTable(table, rows, emptyText) {
  const tbody = table.tBodies[0];
  tbody.replaceChildren();
  if (!rows.length) {
    const td = cell(emptyText, "muted");
    td.colSpan = table.tHead.rows[0].cells.length;
    rows = [[td]];
  }
  for (const cells of rows) tbody.append(tableRow(table, cells));
}

function lifted(at) {
  if (!at) return cell("no, standing", "state-ended");
  const td = cell("yes, ", "state-lifted");
  td.append(timeElement(at));
  return td;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

// A refused token ends the session: the reviewer signs in again.
function failed(error) {
  if (error.status === 401) {
    signOut();
    showError("The admin token was refused. Sign in again.");
  } else {
    showError(error.message);
  }
}

// ---- the endings list ----

let nextCursor = null;
const aliases = new Map(); // conversation id -> its alias (or "")

async function loadEndings(more = false) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (more && nextCursor) query.set("before", nextCursor);
  const page = await api(`endings?${query}`);
  nextCursor = page.next;
  const tbody = $("endings").tBodies[0];
  if (!more) tbody.replaceChildren();
  for (const ending of page.endings) tbody.append(endingRow(ending));
  $("endings-empty").hidden = tbody.rows.length > 0;
  $("more-endings").hidden = !nextCursor;
  fillAliases(page.endings.map((e) => e.conversation_id));
}

function endingRow(ending) {
  const open = document.createElement("button");
  open.type = "button";
  open.className = "link";
  open.textContent = ending.conversation_id;
  open.setAttribute("aria-label",
    `Open the record of ${ending.conversation_id}, ended ${ending.at.slice(0, 19).replace("T", " ")}`);
  open.addEventListener("click", () => openRecord(ending.conversation_id));
  const known = aliases.has(ending.conversation_id);
  const alias = cell(known ? aliases.get(ending.conversation_id) || "none" : "…");
  alias.dataset.aliasFor = ending.conversation_id;
  return tableRow($("endings"), [
    cell(timeElement(ending.at)), cell(open), alias, cell(ending.reason),
    cell(ending.categories.join(", ") || "none"), lifted(ending.lifted_at),
  ]);
}

// The endings list carries no aliases: each conversation's record names it.
async function fillAliases(ids) {
  const missing = [...new Set(ids)].filter((id) => !aliases.has(id));
  const work = async () => {
    for (let id = missing.shift(); id !== undefined; id = missing.shift()) {
      try {
        const { conversation } = await api(`conversations/${encodeURIComponent(id)}`);
        aliases.set(id, conversation.alias || "");
      } catch {
        aliases.set(id, "");
      }
      showAlias(id);
    }
  };
  await Promise.all(Array.from({ length: LOOKUPS_AT_ONCE }, work));
}

function showAlias(id) {
  for (const td of document.querySelectorAll("td[data-alias-for]")) {
    if (td.dataset.aliasFor === id) td.textContent = aliases.get(id) || "none";
  }
}

// ---- the hourly counts ----

function drawChart(chart, buckets, key) {
  const top = Math.max(1, ...buckets.map((b) => b[key]));
  chart.replaceChildren();
  for (const bucket of buckets) {
    const bar = document.createElement("div");
    bar.className = bucket[key] ? "bar" : "bar zero";
    bar.style.height = `${(100 * bucket[key]) / top}%`;
    bar.title = `${bucket.start.slice(11, 16)} UTC: ${bucket[key]}`;
    if (bucket[key]) {
      const label = document.createElement("span");
      label.textContent = String(bucket[key]);
      bar.append(label);
    }
    chart.append(bar);
  }
  const axis = document.createElement("div");
  axis.className = "axis";
  const first = buckets[0].start, last = buckets[buckets.length - 1].start;
  for (const text of [`from ${first.slice(0, 16).replace("T", " ")} UTC`,
                      `${last.slice(11, 16)} UTC, this hour`]) {
    const tick = document.createElement("span");
    tick.textContent = text;
    axis.append(tick);
  }
  chart.after(axis);
}

async function loadStats() {
  const { stats } = await api("stats?hours=24");
  const { endings, crisis } = stats.totals;
  $("stats-totals").textContent =
    `${endings} ${endings === 1 ? "ending" : "endings"} and ${crisis} crisis ` +
    `${crisis === 1 ? "redirect" : "redirects"} in the last ${stats.hours} hours (UTC).`;
  const crisisFrom = stats.counted_from.crisis;
  $("stats-retention").hidden = crisisFrom === stats.from;
  $("stats-retention").textContent =
    `Crisis marks are kept for less than this window: counted from ${crisisFrom.slice(0, 16).replace("T", " ")} UTC.`;
  for (const axis of document.querySelectorAll(".axis")) axis.remove();
  drawChart($("endings-chart"), stats.buckets, "endings");
  drawChart($("crisis-chart"), stats.buckets, "crisis");
  fillTable($("stats-table"), [...stats.buckets].reverse().map((b) => [
    cell(timeElement(b.start)), cell(String(b.endings), "num"), cell(String(b.crisis), "num"),
  ]), "No hours.");
}

// ---- one conversation's record ----

let shown = null; // the conversation id whose record is open

function renderRecord(conversation) {
  shown = conversation.id;
  $("record-title").textContent = `Conversation ${conversation.id}`;
  $("record-status").textContent = conversation.status === "ended"
    ? "Ended: its endings stand" : "Active: no ending stands";
  $("record-status").className = conversation.status === "ended" ? "state-ended" : "state-lifted";
  $("record-alias").textContent = conversation.alias || "none";
  fillTable($("record-strikes"), conversation.strikes.map((s) => [
    cell(timeElement(s.at)), cell(s.category), cell(s.source),
    cell(s.forgiven ? "yes, by an unlock" : "no"),
  ]), "No strikes retained.");
  fillTable($("record-endings"), conversation.endings.map((e) => [
    cell(timeElement(e.at)), cell(e.reason), cell(e.categories.join(", ") || "none"),
    lifted(e.lifted_at),
  ]), "No endings.");
  fillTable($("record-crisis"), conversation.crisis.map((c) => [
    cell(timeElement(c.at)), cell(c.category),
  ]), "No crisis marks retained.");
  fillTable($("record-unlocks"), conversation.unlocks.map((u) => [
    cell(timeElement(u.at)), cell(u.actor), cell(u.note), cell(String(u.lifted), "num"),
  ]), "No unlocks.");
  $("unlock").textContent = `Unlock ${conversation.alias || conversation.id}`;
  $("record").hidden = false;
}

async function openRecord(name) {
  showError("");
  $("unlock-result").textContent = "";
  $("conversation").value = name;
  try {
    const { conversation } = await api(`conversations/${encodeURIComponent(name)}`);
    renderRecord(conversation);
    $("record-title").focus();
  } catch (error) {
    $("record").hidden = true;
    failed(error);
  }
}

async function unlock(event) {
  event.preventDefault();
  const note = $("note").value.trim();
  if (!note || !shown) return;
  const button = $("unlock");
  button.disabled = true;
  showError("");
  try {
    const body = { note, actor: stored().actor };
    const done = await api(`conversations/${encodeURIComponent(shown)}/unlock`,
                           { method: "POST", body });
    renderRecord(done.conversation);
    $("note").value = "";
    const count = done.unlock.lifted;
    $("unlock-result").textContent = `Unlocked by ${done.unlock.actor}: ` +
      `${count} ${count === 1 ? "ending" : "endings"} lifted, earlier strikes forgiven.`;
    $("unlock-result").focus();
    await Promise.all([loadEndings(), loadStats()]);
  } catch (error) {
    failed(error);
  } finally {
    button.disabled = false;
  }
}

// ---- signing in and out ----

async function showReview() {
  const session = stored();
  $("sign-in").hidden = true;
  $("signed-in").hidden = false;
  $("tenant-shown").textContent = session.kind === "key"
    ? "named by its API key" : session.tenant;
  $("review").hidden = false;
  try {
    await Promise.all([loadEndings(), loadStats()]);
    return true;
  } catch (error) {
    failed(error);
    return false;
  }
}

function signOut() {
  for (const key of Object.values(STORED)) sessionStorage.removeItem(key);
  aliases.clear();
  shown = null;
  $("review").hidden = true;
  $("record").hidden = true;
  $("signed-in").hidden = true;
  $("sign-in").hidden = false;
  $("token").value = "";
}

async function signIn(event) {
  event.preventDefault();
  showError("");
  const kind = document.querySelector('input[name="tenant-kind"]:checked').value;
  sessionStorage.setItem(STORED.token, $("token").value.trim());
  sessionStorage.setItem(STORED.tenant, $("tenant").value.trim());
  sessionStorage.setItem(STORED.kind, kind);
  sessionStorage.setItem(STORED.actor, $("actor").value.trim() || "admin");
  $("token").value = "";
  if (await showReview()) $("endings-heading").focus();
  else if (!$("sign-in").hidden) $("token").focus();
}

function start() {
  if (document.body.dataset.adminApi === "off") {
    $("api-off").hidden = false;
    return;
  }
  $("sign-in").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => { signOut(); $("token").focus(); });
  $("more-endings").addEventListener("click", async () => {
    const more = $("more-endings");
    more.disabled = true; // one page at a time: a second click must not repeat it
    try { await loadEndings(true); } catch (error) { failed(error); } finally { more.disabled = false; }
  });
  $("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("conversation").value.trim();
    if (name) openRecord(name);
  });
  $("unlock-form").addEventListener("submit", unlock);
  if (stored().token) showReview();
  else $("sign-in").hidden = false;
}

start();
