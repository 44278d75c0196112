// CPU time and peak memory of a process tree, from /proc (Linux only).
import { readFileSync, readdirSync } from 'node:fs';

const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

function stat(pid) {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const rest = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); field n is rest[n - 3].
    return {
      ppid: Number(rest[1]),
      utime: Number(rest[11]), stime: Number(rest[12]),
      cutime: Number(rest[13]), cstime: Number(rest[14]),
    };
  } catch {
    return null;
  }
}

/** The pid and every live descendant of it. */
export function tree(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(name);
    if (!s) continue;
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid).push(Number(name));
  }
  const out = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop();
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * CPU milliseconds (user + system) used so far by the tree under `root`, counting the
 * children it has already reaped (cutime/cstime).
 */
export function cpuMs(root) {
  let ticks = 0;
  for (const pid of tree(root)) {
    const s = stat(pid);
    if (s) ticks += s.utime + s.stime + s.cutime + s.cstime;
  }
  return ticks * TICK_MS;
}

function statusKb(pid, field) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Peak resident memory (VmHWM) of each live process of the tree, in MiB: total and per process. */
export function peakRssMiB(root) {
  const per = tree(root).map((pid) => ({ pid, comm: comm(pid), mib: statusKb(pid, 'VmHWM') / 1024 }));
  return { total: per.reduce((a, p) => a + p.mib, 0), per };
}

export function comm(pid) {
  try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return '?'; }
}

export function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? 'unknown';
  const mem = readFileSync('/proc/meminfo', 'utf8').match(/^MemTotal:\s+(\d+) kB/m);
  return {
    cpuModel: model,
    memGiB: mem ? Number(mem[1]) / 1024 / 1024 : null,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
  };
}

export function loadavg() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

/** Busy and total jiffies of the whole machine (all CPUs), to tell how loaded it was. */
export function systemCpu() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3] + (line[4] ?? 0);
  const total = line.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}
