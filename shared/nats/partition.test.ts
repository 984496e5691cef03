import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  eventsStream,
  fnv1a32,
  jobsStream,
  noteSessionLayout,
  partitionNames,
  partitionOf,
  sessionsBucket,
  setPartitionLayout,
  subjects,
} from './subjects.js';

/** One source of truth with the Python bridge (bridges/autogen/tests/test_partition.py). */
const vectors = JSON.parse(readFileSync(new URL('./partition-vectors.json', import.meta.url), 'utf8')) as {
  vectors: { sid: string; fnv1a32: number; partitions: Record<string, number> }[];
};

describe('session partitions', () => {
  afterEach(() => setPartitionLayout(1));

  it('hashes sids with FNV-1a 32 and maps them to the shared vectors', () => {
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    for (const v of vectors.vectors) {
      expect(fnv1a32(v.sid)).toBe(v.fnv1a32);
      for (const [p, want] of Object.entries(v.partitions)) expect(partitionOf(v.sid, Number(p))).toBe(want);
    }
  });

  it('keeps the unpartitioned names at P = 1', () => {
    setPartitionLayout(1);
    expect(subjects.events('t1', 's_abc')).toBe('fabric.ev.t1.s_abc');
    expect(subjects.job('builtin', 's_abc')).toBe('fabric.jobs.builtin');
    expect(eventsStream('s_abc')).toBe('FABRIC_EVENTS');
    expect(jobsStream('s_abc')).toBe('FABRIC_JOBS');
    expect(sessionsBucket('s_abc')).toBe('fabric_sessions');
    expect(partitionNames().map((p) => p.eventsSubjects)).toEqual(['fabric.ev.*.*']);
  });

  it('appends the partition token at P = 3 and keeps sessions of an earlier layout where they are', () => {
    setPartitionLayout(3, [1, 3]);
    // s_abc: partition 2 of 3 (partition-vectors.json)
    expect(subjects.events('t1', 's_abc')).toBe('fabric.ev.t1.s_abc.2');
    expect(subjects.live('t1', 's_abc')).toBe('fabric.live.t1.s_abc');
    expect(subjects.job('builtin', 's_abc')).toBe('fabric.jobs.builtin.2');
    expect(eventsStream('s_abc')).toBe('FABRIC_EVENTS_2');
    expect(sessionsBucket('s_abc')).toBe('fabric_sessions_2');
    noteSessionLayout('s_abc', 1); // found in the P = 1 registry bucket
    expect(subjects.events('t1', 's_abc')).toBe('fabric.ev.t1.s_abc');
    expect(eventsStream('s_abc')).toBe('FABRIC_EVENTS');
    // The job queue is the current layout's whatever the session's.
    expect(subjects.job('builtin', 's_abc')).toBe('fabric.jobs.builtin.2');
  });
});
