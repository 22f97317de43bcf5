// @anthropic-ai/sdk as an app uses it: messages.create and messages.stream.
import Anthropic from "@anthropic-ai/sdk";
import * as s from "./scenario.mjs";

const client = () => new Anthropic({ baseURL: s.URL, apiKey: s.KEY });
const text = (message) => message.content.filter((b) => b.type === "text").map((b) => b.text).join("");
const weather = { name: "get_weather", description: "Weather for a city", input_schema: s.WEATHER_SCHEMA };
const create = (c, messages, options = {}) =>
  c.messages.create({ model: s.MODEL_A, max_tokens: 200, messages, ...options.body }, options.request);

export async function plain() {
  return { text: text(await create(client(), [{ role: "user", content: s.GREETING }])) };
}

export async function streamed() {
  const pieces = [];
  const stream = client().messages.stream({
    model: s.MODEL_A, max_tokens: 200, messages: [{ role: "user", content: s.GREETING }],
  });
  stream.on("text", (piece) => pieces.push(piece));
  await stream.finalMessage();
  return { text: pieces.join(""), deltas: pieces.length };
}

export async function tool() {
  const c = client();
  const messages = [{ role: "user", content: s.TOOL_PROMPT }];
  const first = await create(c, messages, { body: { tools: [weather] } });
  const call = first.content.find((b) => b.type === "tool_use");
  messages.push({ role: "assistant", content: first.content });
  messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: s.TOOL_RESULT }] });
  const final = await create(c, messages, { body: { tools: [weather] } });
  return { call: [call.name, call.input], text: text(final) };
}

async function play(c, stream) {
  const messages = [];
  let answer, signal;
  for (const turn of [s.GREETING, ...s.HARMFUL]) {
    messages.push({ role: "user", content: turn });
    if (stream) {
      signal = null;
      const events = c.messages.stream({ model: s.MODEL_A, max_tokens: 200, messages });
      for await (const event of events) {
        if (event.type === "message_delta") signal = event.conversation_ended ?? null;
      }
      answer = await events.finalMessage();
    } else {
      answer = await create(c, messages);
      signal = answer.conversation_ended ?? null;
    }
    messages.push({ role: "assistant", content: answer.content });
  }
  const via = stream ? "message_delta event .conversation_ended" : "message.conversation_ended";
  return { messages, result: { text: text(answer), signal, via } };
}

export const ending = async () => (await play(client(), false)).result;
export const endingStreamed = async () => (await play(client(), true)).result;

export async function endedThread() {
  const c = client();
  const { messages } = await play(c, false);
  try {
    await create(c, [...messages, { role: "user", content: s.AFTER }]);
  } catch (err) {
    if (!(err instanceof Anthropic.APIError)) throw err;
    return s.terminal(err, err.error); // err.error: the whole body
  }
  throw new Error("the ended thread went on");
}

export async function crisis() {
  const message = await create(client(), [{ role: "user", content: s.CRISIS }], {
    request: { headers: { "Accept-Language": s.LOCALE } },
  });
  return { resources: message.crisis_resources ?? null, via: "message.crisis_resources" };
}
