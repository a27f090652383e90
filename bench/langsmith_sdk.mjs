// The official langsmith JS SDK sending the same runs as bench_langsmith
// exports: n root `llm` runs, each complete when it is posted (ended
// before its batch is flushed, so the SDK sends one post with end_time,
// outputs and usage), with the metadata, tag and usage of the benchmark's
// call, auto-batched to /runs/multipart.  Prints the process's CPU time
// per run from the first run to the last batch acknowledged.
// Usage: node langsmith_sdk.mjs URL N   (LANGSMITH_API_KEY in the env)
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "sdk", "package.json"));
const { Client, RunTree } = require("langsmith");

const [url, nArg] = process.argv.slice(2);
const n = Number(nArg);
const client = new Client({
  apiUrl: url,
  apiKey: process.env.LANGSMITH_API_KEY,
  autoBatchTracing: true,
});
const usage = {
  input_tokens: 1500, output_tokens: 200, total_tokens: 1700,
  input_token_details: { cache_read: 300 },
};

const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  const rt = new RunTree({
    name: "gpt-4o-mini",
    run_type: "llm",
    project_name: "bench-sdk",
    client,
    inputs: {},
    tags: ["beta"],
    extra: {
      metadata: {
        feature: "rag-search", env: "production", user_tier: "pro",
        ls_provider: "openai", ls_model_name: "gpt-4o-mini",
        usage_metadata: usage,
      },
    },
  });
  await rt.end({ usage_metadata: usage });
  await rt.postRun();
}
await client.awaitPendingTraceBatches();
const cpu = process.cpuUsage(cpu0);
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`cpu_us_per_run ${((cpu.user + cpu.system) / n).toFixed(2)}`);
console.log(`runs_per_s ${(n / secs).toFixed(0)}`);
