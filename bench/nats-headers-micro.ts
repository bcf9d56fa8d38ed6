/**
 * Micro-benchmark of the NATS header work done per message, candidates side by side, as ratios to
 * what the code did before (bounded: a fixed number of iterations, a few rounds, medians).
 *
 *   npx ts-node -r tsconfig-paths/register --transpile-only bench/nats-headers-micro.ts
 */
import type { MsgHdrs } from 'nats';
import { EncodedHeaders, parseHeaderBlock } from '@app/relay';
// The class nats.js decodes received headers with (`msg.headers`), not exported from 'nats'.
import { MsgHdrsImpl } from 'nats/lib/nats-base-client/headers';

const ITERATIONS = 200_000;
const ROUNDS = 5;

// What a replica receives on `live.>`: ours (origin, dedupe id) and JetStream's republish headers.
const LIVE_BLOCK = Buffer.from(
  'NATS/1.0\r\nRt-Origin: c0a8f3e2-1b7d-4a0e-9f3c-5d2e8b7a6c41\r\n' +
    'Nats-Msg-Id: 6f1c2a9e-8d4b-4e37-a1f0-93b2c5d7e8a1.1k3f\r\nNats-Stream: history\r\n' +
    'Nats-Subject: rt.room.r42\r\nNats-Sequence: 1234567\r\n' +
    'Nats-Time-Stamp: 2026-12-05T21:12:18.161234567Z\r\nNats-Last-Sequence: 1234566\r\n\r\n',
);
const ORIGIN = 'c0a8f3e2-1b7d-4a0e-9f3c-5d2e8b7a6c41';
const PREFIX = '6f1c2a9e-8d4b-4e37-a1f0-93b2c5d7e8a1.';

let sink = 0;

function time(fn: (i: number) => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / ITERATIONS;
}

function compare(title: string, cases: Record<string, (i: number) => void>): void {
  const names = Object.keys(cases);
  const samples = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating order each round, so neither side always runs on a warmer heap.
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      samples.get(name)!.push(time(cases[name]!));
    }
  }
  const medians = names.map((n) => median(samples.get(n)!));
  console.log(`\n${title}`);
  names.forEach((n, i) => {
    const ns = medians[i]!;
    console.log(
      `  ${n.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns  ${(ns / medians[0]!).toFixed(2)}×`,
    );
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

// --- live side: the record a subscriber gets --------------------------------------------------

function fromNatsHeadersBefore(hdrs: MsgHdrs): Record<string, string> {
  const record: Record<string, string> = {};
  for (const key of hdrs.keys()) record[key] = hdrs.get(key);
  return record;
}

function fromNatsHeadersIterated(hdrs: MsgHdrs): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, values] of hdrs) record[key] = values[0] ?? '';
  return record;
}

compare('live: a received header block → the record of first values', {
  'before: MsgHdrsImpl.decode + keys()/get()': () => {
    sink += Object.keys(fromNatsHeadersBefore(MsgHdrsImpl.decode(LIVE_BLOCK))).length;
  },
  'decode + iterate the map': () => {
    sink += Object.keys(fromNatsHeadersIterated(MsgHdrsImpl.decode(LIVE_BLOCK))).length;
  },
  'after: parseHeaderBlock (the raw block)': () => {
    sink += Object.keys(parseHeaderBlock(LIVE_BLOCK)).length;
  },
});

// --- publish side: the headers of one append, encoded as nats.js does per publish -------------

compare('publish: origin + dedupe id → the encoded header bytes', {
  'before: headers() + set() ×2, encode()': (i) => {
    const hdrs = new MsgHdrsImpl();
    hdrs.set('Rt-Origin', ORIGIN);
    hdrs.set('Nats-Msg-Id', PREFIX + i.toString(36));
    sink += hdrs.encode().length;
  },
  'headers() + append() ×2, encode()': (i) => {
    const hdrs = new MsgHdrsImpl();
    hdrs.append('Rt-Origin', ORIGIN);
    hdrs.append('Nats-Msg-Id', PREFIX + i.toString(36));
    sink += hdrs.encode().length;
  },
  'after: new EncodedHeaders(record), encode()': (i) => {
    const hdrs = new EncodedHeaders({
      'Rt-Origin': ORIGIN,
      'Nats-Msg-Id': PREFIX + i.toString(36),
    });
    sink += hdrs.encode().length;
  },
});

if (sink === 0) console.log('');
