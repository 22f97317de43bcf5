// Vercel AI SDK with @ai-sdk/anthropic.
import { createAnthropic } from "@ai-sdk/anthropic";
import * as s from "./scenario.mjs";
import { scenarios } from "./vercel.mjs";

const provider = () => createAnthropic({ baseURL: `${s.URL}/v1`, apiKey: s.KEY });
const signalOf = (raw) => (raw?.type === "message_delta" ? raw.conversation_ended : undefined);

export const { plain, streamed, tool, ending, endingStreamed, endedThread, crisis } = scenarios(
  () => provider()(s.MODEL_A),
  signalOf,
);
