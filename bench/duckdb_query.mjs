// The questions bench_report asks of llmcost and SQLite, asked of DuckDB
// (@duckdb/node-api, installed by bench/run_report.sh into bench/duckdb):
// the CSV of the same calls is loaded into an in-memory database, then
// each query runs RUNS times and the median of the script's own timing
// of it (no process start, no load) is printed as a "metric" line.
// Usage: node duckdb_query.mjs CALLS.csv DAY_NS FROM_NS RUNS
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "duckdb", "package.json"));
const { DuckDBInstance } = require("@duckdb/node-api");

const [csv, dayNs, fromNs, runsArg] = process.argv.slice(2);
const runs = Number(runsArg);
const db = await DuckDBInstance.create(":memory:");
const con = await db.connect();
let t0 = process.hrtime.bigint();
await con.run(`CREATE TABLE calls AS SELECT * FROM read_csv('${csv}',
  header = false, columns = {
    'start_ns': 'UBIGINT', 'feature': 'VARCHAR', 'provider': 'VARCHAR',
    'model': 'VARCHAR', 'env': 'VARCHAR', 'customer': 'VARCHAR',
    'user_tier': 'VARCHAR', 'region': 'VARCHAR', 'tag': 'VARCHAR',
    'in_tokens': 'UBIGINT', 'cache_read_tokens': 'UBIGINT',
    'out_tokens': 'UBIGINT', 'cost_pusd': 'BIGINT'})`);
const loadS = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`DuckDB: loaded the CSV in ${loadS.toFixed(1)} s`);

const q = {
  feature_24h: `SELECT feature, count(*), sum(in_tokens), sum(out_tokens),
    sum(cost_pusd) FROM calls WHERE start_ns >= ${dayNs} GROUP BY feature
    ORDER BY 5 DESC`,
  feature_30d: `SELECT feature, count(*), sum(in_tokens), sum(out_tokens),
    sum(cost_pusd) FROM calls WHERE start_ns >= ${fromNs} GROUP BY feature
    ORDER BY 5 DESC`,
  meta_customer_30d: `SELECT customer, count(*), sum(cost_pusd) FROM calls
    WHERE start_ns >= ${fromNs} GROUP BY customer ORDER BY 3 DESC`,
};
for (const [name, sql] of Object.entries(q)) {
  const t = [];
  for (let i = 0; i < runs; i++) {
    t0 = process.hrtime.bigint();
    const r = await con.runAndReadAll(sql);
    r.getRows();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  const med = t[Math.floor(runs / 2)];
  console.log(`duckdb ${name}: ${med.toFixed(2)} ms (in-process query)`);
  console.log(`metric report.duckdb_${name}_ms ${med}`);
}
