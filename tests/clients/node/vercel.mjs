// The Vercel AI SDK (generateText, streamText) over any provider, as an app uses it.
import { APICallError, generateText, jsonSchema, stepCountIs, streamText, tool as aiTool } from "ai";
import * as s from "./scenario.mjs";

const weatherTools = () => ({
  get_weather: aiTool({
    description: "Weather for a city",
    inputSchema: jsonSchema(s.WEATHER_SCHEMA),
    execute: async () => s.TOOL_RESULT,
  }),
});

// Every stream part the app would see; error parts are what broke useChat.
async function drain(result) {
  const parts = { text: "", deltas: 0, errors: [], raw: [] };
  for await (const part of result.fullStream) {
    if (part.type === "text-delta") {
      parts.text += part.text;
      parts.deltas += 1;
    } else if (part.type === "error") {
      parts.errors.push(String(part.error?.message ?? part.error));
    } else if (part.type === "raw") {
      parts.raw.push(part.rawValue);
    }
  }
  return parts;
}

// One library's scenarios: `model()` gives the provider's model, `signalOf(raw)` finds the
// end signal in a raw stream chunk (the provider's own event).
export function scenarios(model, signalOf) {
  const plain = async () => ({ text: (await generateText({ model: model(), prompt: s.GREETING })).text });

  const streamed = async () => {
    const parts = await drain(streamText({ model: model(), prompt: s.GREETING }));
    return { text: parts.text, deltas: parts.deltas, errors: parts.errors };
  };

  const tool = async () => {
    const result = await generateText({
      model: model(), prompt: s.TOOL_PROMPT, tools: weatherTools(), stopWhen: stepCountIs(2),
    });
    const call = result.steps[0].toolCalls[0];
    return { call: [call.toolName, call.input], text: result.text };
  };

  async function play(stream) {
    const messages = [];
    let result, signal, errors = [];
    for (const turn of [s.GREETING, ...s.HARMFUL]) {
      messages.push({ role: "user", content: turn });
      if (stream) {
        result = streamText({ model: model(), messages, includeRawChunks: true });
        const parts = await drain(result);
        errors = errors.concat(parts.errors);
        signal = parts.raw.map(signalOf).find((found) => found) ?? null;
      } else {
        result = await generateText({ model: model(), messages });
        signal = result.response.body?.conversation_ended ?? null;
      }
      messages.push(...(await result.response).messages);
    }
    const via = stream ? "raw chunk (includeRawChunks)" : "result.response.body.conversation_ended";
    return { messages, result: { text: await result.text, signal, via, errors } };
  }

  const ending = async () => (await play(false)).result;
  const endingStreamed = async () => (await play(true)).result;

  const endedThread = async () => {
    const { messages } = await play(false);
    try {
      await generateText({ model: model(), messages: [...messages, { role: "user", content: s.AFTER }] });
    } catch (err) {
      if (!APICallError.isInstance(err)) throw err;
      const body = JSON.parse(err.responseBody);
      return {
        status: err.statusCode,
        ended: err.responseHeaders["x-conversation-status"] === "ended",
        id: body.conversation_ended.id,
        via: "APICallError.responseBody",
        retryable: err.isRetryable,
      };
    }
    throw new Error("the ended thread went on");
  };

  // Not streamed: the raw body. Streamed: the first raw chunk, and no error part (a named
  // crisis_resources event, sent by default before, broke useChat on every crisis turn).
  const crisis = async () => {
    const options = { prompt: s.CRISIS, headers: { "Accept-Language": s.LOCALE } };
    const result = await generateText({ model: model(), ...options });
    const parts = await drain(streamText({ model: model(), ...options, includeRawChunks: true }));
    return {
      resources: result.response.body?.crisis_resources ?? null,
      via: "result.response.body.crisis_resources",
      streamed_resources: parts.raw.map((raw) => raw.crisis_resources).find((found) => found) ?? null,
      errors: parts.errors,
    };
  };

  return { plain, streamed, tool, ending, endingStreamed, endedThread, crisis };
}
