// Vercel AI SDK with @ai-sdk/openai's Chat Completions model, `openai.chat(model)`.
import { createOpenAI } from "@ai-sdk/openai";
import * as s from "./scenario.mjs";
import { scenarios } from "./vercel.mjs";

const provider = () => createOpenAI({ baseURL: `${s.URL}/v1`, apiKey: s.KEY });
const signalOf = (raw) => raw?.conversation_ended;

export const { plain, streamed, tool, ending, endingStreamed, endedThread, crisis } = scenarios(
  () => provider().chat(s.MODEL_O),
  signalOf,
);
