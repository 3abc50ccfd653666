// The PouchDB peer of `python bench/sync_push.py --peer`: PouchDB 9 on leveldb (leveldown) on both sides,
// express-pouchdb (mode minimumForPouchDB) as the server, a PouchDB client replicating to it over HTTP on
// 127.0.0.1 in batches of 500. Three commands, each its own process so that each peak RSS is its own:
//
//   node peer.js load DOCS.jsonl DBDIR        the client's local database, filled from one JSON document a line
//   node peer.js serve DBDIR                   the server; prints {"port": N} once it listens
//   node peer.js push DBDIR URL NOOPS [PID]    replicate DBDIR's database to URL (timed), then NOOPS no-op
//                                              replications each way; prints the figures as one JSON line
//                                              (with the CPU time this process, and the server's process PID,
//                                              spent on the timed replication)
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const PouchDB = require('pouchdb');

const BATCH = 500;

function peakRssMb() {
  // VmHWM: the peak resident set of this process (as the Python side reads it for its own processes).
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return line ? Number(line.split(/\s+/)[1]) / 1024 : NaN;
}

function processCpuSeconds(pid) {
  // utime + stime of a process (all its threads), from /proc/PID/stat, in seconds (clock ticks of 1/100 s).
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop().split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function load(docsFile, dir) {
  const db = new PouchDB(path.join(dir, 'client'));
  const lines = readline.createInterface({ input: fs.createReadStream(docsFile), crlfDelay: Infinity });
  let batch = [];
  let count = 0;
  for await (const line of lines) {
    if (!line) continue;
    batch.push(JSON.parse(line));
    if (batch.length === BATCH) {
      count += (await db.bulkDocs(batch)).length;
      batch = [];
    }
  }
  if (batch.length) count += (await db.bulkDocs(batch)).length;
  await db.close();
  process.stdout.write(JSON.stringify({ loaded: count }) + '\n');
}

function serve(dir) {
  const express = require('express');
  const expressPouchDB = require('express-pouchdb');
  const ServerPouch = PouchDB.defaults({ prefix: path.join(dir, 'server') + path.sep });
  fs.mkdirSync(path.join(dir, 'server'), { recursive: true });
  process.chdir(dir); // express-pouchdb keeps its files (log) in the working folder
  const app = express();
  app.use('/', expressPouchDB(ServerPouch, { mode: 'minimumForPouchDB', inMemoryConfig: true }));
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

async function push(dir, url, noops, serverPid) {
  const local = new PouchDB(path.join(dir, 'client'));
  const remote = new PouchDB(url);
  const cpuBefore = process.cpuUsage();
  const serverBefore = serverPid ? processCpuSeconds(serverPid) : NaN;
  let started = process.hrtime.bigint();
  const result = await local.replicate.to(remote, { batch_size: BATCH });
  const pushSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const serverCpu = serverPid ? processCpuSeconds(serverPid) - serverBefore : NaN;
  const oneWay = [];
  const twoWay = [];
  for (let i = 0; i < noops; i++) {
    started = process.hrtime.bigint();
    const again = await local.replicate.to(remote, { batch_size: BATCH });
    oneWay.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (again.docs_written !== 0) throw new Error(`a no-op replication wrote ${again.docs_written} documents`);
    started = process.hrtime.bigint();
    const both = await local.sync(remote, { batch_size: BATCH });
    twoWay.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (both.push.docs_written !== 0 || both.pull.docs_written !== 0) throw new Error('a no-op sync wrote documents');
  }
  const remoteInfo = await remote.info();
  await local.close();
  process.stdout.write(JSON.stringify({
    push_seconds: pushSeconds, docs_written: result.docs_written, server_docs: remoteInfo.doc_count,
    noop_ms: median(oneWay), noop_sync_ms: median(twoWay), client_peak_rss_mb: peakRssMb(),
    client_cpu: (cpu.user + cpu.system) / 1e6, server_cpu: serverCpu,
  }) + '\n');
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'load') await load(args[0], args[1]);
  else if (command === 'serve') serve(args[0]);
  else if (command === 'push') await push(args[0], args[1], Number(args[2]), args[3] ? Number(args[3]) : 0);
  else throw new Error(`usage: node peer.js load DOCS DBDIR | serve DBDIR | push DBDIR URL NOOPS [SERVER_PID]`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
