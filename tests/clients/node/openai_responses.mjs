// openai (Node) Responses as an app uses it: output items go back as input.
import OpenAI from "openai";
import * as s from "./scenario.mjs";

const client = () => new OpenAI({ baseURL: `${s.URL}/v1`, apiKey: s.KEY });
const weather = { type: "function", name: "get_weather", parameters: s.WEATHER_SCHEMA, strict: false };

export async function plain() {
  return { text: (await client().responses.create({ model: s.MODEL_O, input: s.GREETING })).output_text };
}

export async function streamed() {
  const pieces = [];
  const stream = client().responses.stream({ model: s.MODEL_O, input: s.GREETING });
  for await (const event of stream) if (event.type === "response.output_text.delta") pieces.push(event.delta);
  await stream.finalResponse();
  return { text: pieces.join(""), deltas: pieces.length };
}

export async function tool() {
  const c = client();
  const input = [{ role: "user", content: s.TOOL_PROMPT }];
  const first = await c.responses.create({ model: s.MODEL_O, input, tools: [weather] });
  const call = first.output.find((item) => item.type === "function_call");
  input.push(...first.output, { type: "function_call_output", call_id: call.call_id, output: s.TOOL_RESULT });
  const final = await c.responses.create({ model: s.MODEL_O, input, tools: [weather] });
  return { call: [call.name, JSON.parse(call.arguments)], text: final.output_text };
}

async function play(c, stream) {
  const input = [];
  let response, signal;
  for (const turn of [s.GREETING, ...s.HARMFUL]) {
    input.push({ role: "user", content: turn });
    if (stream) {
      signal = null;
      const events = c.responses.stream({ model: s.MODEL_O, input });
      for await (const event of events) {
        if (event.type === "response.completed") signal = event.conversation_ended ?? null;
      }
      response = await events.finalResponse();
    } else {
      response = await c.responses.create({ model: s.MODEL_O, input });
      signal = response.conversation_ended ?? null;
    }
    input.push(...response.output);
  }
  const via = stream ? "response.completed event .conversation_ended" : "response.conversation_ended";
  const conversation = response.conversation ?? null; // OpenAI's own field: never written
  return { input, result: { text: response.output_text, signal, via, conversation } };
}

export const ending = async () => (await play(client(), false)).result;
export const endingStreamed = async () => (await play(client(), true)).result;

export async function endedThread() {
  const c = client();
  const { input } = await play(c, false);
  try {
    await c.responses.create({ model: s.MODEL_O, input: [...input, { role: "user", content: s.AFTER }] });
  } catch (err) {
    if (!(err instanceof OpenAI.APIError)) throw err;
    return { status: err.status, ended: err.code === "conversation_ended", id: err.headers.get("x-conversation-id"), via: "err.code, err.headers" };
  }
  throw new Error("the ended thread went on");
}

export async function crisis() {
  const response = await client().responses.create(
    { model: s.MODEL_O, input: s.CRISIS },
    { headers: { "Accept-Language": s.LOCALE } },
  );
  return { resources: response.crisis_resources ?? null, via: "response.crisis_resources" };
}
