// openai (Node) Chat Completions as an app uses it; refusals go back as empty content.
import OpenAI from "openai";
import * as s from "./scenario.mjs";

const client = () => new OpenAI({ baseURL: `${s.URL}/v1`, apiKey: s.KEY });
const weather = {
  type: "function",
  function: { name: "get_weather", description: "Weather for a city", parameters: s.WEATHER_SCHEMA },
};

export async function plain() {
  const completion = await client().chat.completions.create({
    model: s.MODEL_O, messages: [{ role: "user", content: s.GREETING }],
  });
  return { text: completion.choices[0].message.content };
}

export async function streamed() {
  const chunks = await client().chat.completions.create({
    model: s.MODEL_O, messages: [{ role: "user", content: s.GREETING }], stream: true,
  });
  const pieces = [];
  for await (const chunk of chunks) if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
  return { text: pieces.join(""), deltas: pieces.length };
}

export async function tool() {
  const c = client();
  const messages = [{ role: "user", content: s.TOOL_PROMPT }];
  const first = await c.chat.completions.create({ model: s.MODEL_O, messages, tools: [weather] });
  const reply = first.choices[0].message;
  const call = reply.tool_calls[0];
  messages.push(reply, { role: "tool", tool_call_id: call.id, content: s.TOOL_RESULT });
  const final = await c.chat.completions.create({ model: s.MODEL_O, messages, tools: [weather] });
  return { call: [call.function.name, JSON.parse(call.function.arguments)], text: final.choices[0].message.content };
}

async function play(c, stream) {
  const messages = [];
  let answer, signal;
  for (const turn of [s.GREETING, ...s.HARMFUL]) {
    messages.push({ role: "user", content: turn });
    if (stream) {
      answer = "";
      signal = null;
      const chunks = await c.chat.completions.create({ model: s.MODEL_O, messages, stream: true });
      for await (const chunk of chunks) {
        answer += chunk.choices[0].delta.content ?? "";
        if (chunk.choices[0].finish_reason) signal = chunk.conversation_ended ?? null;
      }
    } else {
      const completion = await c.chat.completions.create({ model: s.MODEL_O, messages });
      answer = completion.choices[0].message.content ?? "";
      signal = completion.conversation_ended ?? null;
    }
    messages.push({ role: "assistant", content: answer });
  }
  const via = stream ? "finish chunk .conversation_ended" : "completion.conversation_ended";
  return { messages, result: { text: answer, signal, via } };
}

export const ending = async () => (await play(client(), false)).result;
export const endingStreamed = async () => (await play(client(), true)).result;

export async function endedThread() {
  const c = client();
  const { messages } = await play(c, false);
  try {
    await c.chat.completions.create({ model: s.MODEL_O, messages: [...messages, { role: "user", content: s.AFTER }] });
  } catch (err) {
    if (!(err instanceof OpenAI.APIError)) throw err;
    return { status: err.status, ended: err.code === "conversation_ended", id: err.headers.get("x-conversation-id"), via: "err.code, err.headers" };
  }
  throw new Error("the ended thread went on");
}

export async function crisis() {
  const completion = await client().chat.completions.create(
    { model: s.MODEL_O, messages: [{ role: "user", content: s.CRISIS }] },
    { headers: { "Accept-Language": s.LOCALE } },
  );
  return { resources: completion.crisis_resources ?? null, via: "completion.crisis_resources" };
}
