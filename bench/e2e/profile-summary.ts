// Summarises a .cpuprofile of bench:e2e --profile: self time by function (with its file) and by file, so the
// per-message cost can be attributed. Usage: tsx bench/e2e/profile-summary.ts <file.cpuprofile> [top]
import fs from 'fs';
import path from 'path';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topText] = process.argv.slice(2);
const top = Number(topText ?? 40);
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame;
  const where = url
    ? url
        .replace(/^file:\/\//, '')
        .replace(/.*node_modules\//, '~/')
        .replace(path.join(__dirname, '../..') + '/', '')
    : '(native)';
  const fn = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  byFile.set(where, (byFile.get(where) ?? 0) + us);
}
// inclusive time of the pack's own functions (each counted once per sample, however deep it recurses)
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inclusive = new Map<string, number>();
for (const [id, us] of self) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const { functionName, url, lineNumber } = (byId.get(at) as ProfileNode).callFrame;
    if (!/e2e-build\/(lib|nodes)\//.test(url)) continue;
    const fn = `${functionName || '(anonymous)'} ${url.replace(/.*e2e-build\//, '')}:${lineNumber + 1}`;
    if (seen.has(fn)) continue;
    seen.add(fn);
    inclusive.set(fn, (inclusive.get(fn) ?? 0) + us);
  }
}
const print = (title: string, map: Map<string, number>): void => {
  console.log(`\n${title}`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
};
print('self time by function', byFunction);
print('self time by file', byFile);
print("inclusive time of the pack's functions", inclusive);
