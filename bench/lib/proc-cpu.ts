import { readFileSync } from 'node:fs';

/** Clock ticks a second of /proc's utime and stime (USER_HZ): 100 on every Linux we run on. */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) a process, or one of its threads, has used so far, from
 * /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat. The command name (field 2) may hold spaces
 * and parentheses, so the fields are counted from its closing parenthesis.
 */
export function cpuSecondsOf(pid: number, tid?: number): number {
  const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  const text = readFileSync(path, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds of a process and of its main thread (its pid is its main thread's tid). */
export interface CpuSample {
  process: number;
  mainThread: number;
}

export function sampleCpu(pid: number): CpuSample {
  return { process: cpuSecondsOf(pid), mainThread: cpuSecondsOf(pid, pid) };
}
