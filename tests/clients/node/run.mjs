// Run one scenario of one library against the gateway at LASTWORD_URL and print the
// result as JSON on the last line: `node run.mjs <library> <scenario>`.
const DRIVERS = {
  "anthropic-node": "./anthropic_sdk.mjs",
  "openai-node-chat": "./openai_chat.mjs",
  "openai-node-responses": "./openai_responses.mjs",
  "vercel-anthropic": "./vercel_anthropic.mjs",
  "vercel-openai-responses": "./vercel_openai.mjs",
  "vercel-openai-chat": "./vercel_openai_chat.mjs",
};
const [library, scenario] = process.argv.slice(2);
const driver = await import(DRIVERS[library]);
const name = scenario.replace(/_(\w)/g, (_, c) => c.toUpperCase()); // ending_streamed -> endingStreamed
const result = await driver[name]();
console.log(JSON.stringify(result));
