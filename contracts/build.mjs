#!/usr/bin/env node
// Compiles contracts/src/*.sol offline with solc-js (standard JSON) and writes
// contracts/out/<Name>.json as {"abi": [...], "bytecode": {"object": "0x..."}},
// the artifact shape alloy's `sol!` macro reads. Output is deterministic (keys
// sorted, fixed settings), so a rebuild of unchanged sources changes no file.
// Fails with a non-zero exit on any compiler error.
//
//   node contracts/build.mjs

import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'package.json'));
const solc = require('solc');

export const CONTRACTS = ['PayQuestToken', 'PayoutBatch'];
const EXPECTED_SOLC = '0.8.37';

function fail(message) {
  console.error(`build.mjs: ${message}`);
  process.exit(1);
}

const version = solc.version();
if (!version.startsWith(`${EXPECTED_SOLC}+`)) {
  fail(`solc ${EXPECTED_SOLC} expected, found ${version} (run npm ci at the repo root)`);
}

const sources = {};
for (const name of CONTRACTS) {
  const path = `src/${name}.sol`;
  sources[path] = { content: readFileSync(join(here, path), 'utf8') };
}

const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};

// solc-js may print lines starting with ">>>" before the JSON; keep only the JSON.
const raw = solc.compile(JSON.stringify(input));
const output = JSON.parse(
  raw
    .split('\n')
    .filter((line) => !line.startsWith('>>>'))
    .join('\n'),
);

const diagnostics = output.errors ?? [];
for (const d of diagnostics) console.error((d.formattedMessage ?? d.message).trimEnd());
const errors = diagnostics.filter((d) => d.severity === 'error');
if (errors.length > 0) fail(`${errors.length} compiler error(s)`);

// JSON with object keys sorted at every level (array order kept), two-space indent.
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical(value[k])]),
    );
  }
  return value;
}

mkdirSync(join(here, 'out'), { recursive: true });
for (const name of CONTRACTS) {
  const compiled = output.contracts?.[`src/${name}.sol`]?.[name];
  const object = compiled?.evm?.bytecode?.object;
  if (!compiled || !object) fail(`no bytecode for ${name}`);
  const artifact = canonical({ abi: compiled.abi, bytecode: { object: `0x${object}` } });
  const file = join(here, 'out', `${name}.json`);
  writeFileSync(file, `${JSON.stringify(artifact, null, 2)}\n`);
  console.log(`${name}: ${object.length / 2} bytes of init code -> ${relative(process.cwd(), file)}`);
}
console.log(`compiled with solc ${version}`);
