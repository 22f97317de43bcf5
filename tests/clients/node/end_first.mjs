// openai (Node) responses.stream() in front of an upstream whose end call comes first:
// prints what the app sees (output_index values, echoed tools, final output, the signal).
import OpenAI from "openai";
import * as s from "./scenario.mjs";

const client = new OpenAI({ baseURL: `${s.URL}/v1`, apiKey: s.KEY });
const weather = { type: "function", name: "get_weather", parameters: s.WEATHER_SCHEMA, strict: false };
const seen = { indexes: [], tools: [], output: null, signal: null, error: null };
try {
  const stream = client.responses.stream({ model: s.MODEL_O, input: s.HARMFUL[0], tools: [weather] });
  for await (const event of stream) {
    if (event.output_index !== undefined) seen.indexes.push(event.output_index);
    if (event.response?.tools) seen.tools.push(...event.response.tools.map((t) => t.name));
    if (event.type === "response.completed") seen.signal = event.conversation_ended ?? null;
  }
  const final = await stream.finalResponse();
  seen.output = final.output.map((item) => item.type);
  seen.text = final.output_text;
} catch (err) {
  seen.error = String(err.message ?? err);
}
console.log(JSON.stringify(seen));
