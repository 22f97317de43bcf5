// Vercel AI SDK with @ai-sdk/openai: `openai(model)` is the Responses API.
import { createOpenAI } from "@ai-sdk/openai";
import * as s from "./scenario.mjs";
import { scenarios } from "./vercel.mjs";

const provider = () => createOpenAI({ baseURL: `${s.URL}/v1`, apiKey: s.KEY });
const signalOf = (raw) =>
  raw?.type === "response.completed" || raw?.type === "response.incomplete"
    ? raw.conversation_ended ?? raw.response?.conversation_ended
    : undefined;

export const { plain, streamed, tool, ending, endingStreamed, endedThread, crisis } = scenarios(
  () => provider()(s.MODEL_O),
  signalOf,
);
