// How the Dashboard 2.0 widgets hold up with 1,000 active alarms and 10,000 devices, in Chromium against a real
// Node-RED with @flowfuse/node-red-dashboard: time until every row is there, then an alarm storm of 1,000
// transitions a second for 5 s. Figures beside the same page at rest (the baseline, measured in this run): frame
// times, how long a typed filter takes to show, socket messages per second. Needs `npm run build` first.
import path from 'path';
import type { Page } from 'playwright-core';
import { launchChromium } from '../test/browser/support/editor';
import { startNodeRed } from '../test/browser/support/node-red-process';
import { percentile } from './harness';

const ALARMS = 1000;
const DEVICES = 10000;
const STORM_PER_SECOND = 1000;
const STORM_SECONDS = 5;

const FLOW = [
  { id: 'b.tab', type: 'tab', label: 'bench' },
  {
    id: 'b.base',
    type: 'ui-base',
    name: 'bench',
    path: '/dashboard',
    includeClientData: true,
    acceptsClientConfig: ['ui-notification', 'ui-control'],
    headerContent: 'page',
    navigationStyle: 'default',
    titleBarStyle: 'default',
  },
  {
    id: 'b.theme',
    type: 'ui-theme',
    name: 't',
    colors: { surface: '#ffffff', primary: '#0094ce', bgPage: '#eeeeee', groupBg: '#ffffff', groupOutline: '#cccccc' },
    sizes: { density: 'default', pagePadding: '12px', groupGap: '12px', groupBorderRadius: '4px', widgetGap: '12px' },
  },
  {
    id: 'b.page',
    type: 'ui-page',
    name: 'bench',
    ui: 'b.base',
    path: '/bench',
    icon: 'home',
    layout: 'grid',
    theme: 'b.theme',
    breakpoints: [{ name: 'Default', px: 0, cols: 12 }],
    order: 1,
    visible: 'true',
    disabled: 'false',
  },
  {
    id: 'b.g1',
    type: 'ui-group',
    name: 'alarms',
    page: 'b.page',
    width: 12,
    height: 1,
    order: 1,
    showTitle: true,
    visible: 'true',
    disabled: 'false',
    groupType: 'default',
  },
  {
    id: 'b.g2',
    type: 'ui-group',
    name: 'devices',
    page: 'b.page',
    width: 12,
    height: 1,
    order: 2,
    showTitle: true,
    visible: 'true',
    disabled: 'false',
    groupType: 'default',
  },
  { id: 'b.alarms', type: 'ui-m2m-alarms', z: 'b.tab', group: 'b.g1', width: 12, height: 8, pageSize: 50, syncOnStart: false, x: 500, y: 100, wires: [[]] },
  { id: 'b.devices', type: 'ui-m2m-devices', z: 'b.tab', group: 'b.g2', width: 12, height: 8, pageSize: 25, x: 500, y: 200, wires: [[]] },
  ...['alarms', 'devices'].flatMap((what, i) => [
    {
      id: `b.in.${what}`,
      type: 'http in',
      z: 'b.tab',
      url: `/bench/${what}`,
      method: 'post',
      upload: false,
      x: 100,
      y: 100 + i * 100,
      wires: [[`b.split.${what}`, `b.ok.${what}`]],
    },
    {
      id: `b.split.${what}`,
      type: 'split',
      z: 'b.tab',
      splt: '\\n',
      spltType: 'str',
      arraySplt: 1,
      arraySpltType: 'len',
      stream: false,
      addname: '',
      x: 300,
      y: 100 + i * 100,
      wires: [[`b.${what}`]],
    },
    { id: `b.ok.${what}`, type: 'http response', z: 'b.tab', statusCode: '204', x: 300, y: 140 + i * 100, wires: [] },
  ]),
];

const alarm = (i: number, event: string, acknowledged: boolean): object => ({
  event,
  severity: ['critical', 'major', 'minor', 'warning'][i % 4],
  deviceId: `dev-${String(i).padStart(5, '0')}`,
  rule: 'temperature',
  text: `dev-${i} temperature ${event}`,
  metric: 'temperature',
  value: 80 + (i % 20),
  threshold: 80,
  active: true,
  acknowledged,
  raisedAt: Date.now() - i * 1000,
  ts: Date.now(),
});
const device = (i: number): object => ({
  id: `dev-${String(i).padStart(5, '0')}`,
  name: `Device ${i}`,
  type: ['press', 'oven', 'pump'][i % 3],
  attributes: {},
  tags: [],
  createdAt: 1,
  updatedAt: 1,
  lastSeen: Date.now() - i * 1000,
  online: i % 5 !== 0,
});

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
}

async function until(page: Page, widget: string, pattern: RegExp, timeoutMs = 120000): Promise<void> {
  await page.waitForFunction(
    ({ widget, source }) =>
      new RegExp(source).test(
        (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }).document.querySelector(`${widget} .m2m-page-info`)
          ?.textContent ?? '',
      ),
    { widget, source: pattern.source },
    { timeout: timeoutMs, polling: 'raf' },
  );
}

/** Frame times in the page over `ms`: what an operator feels as smooth or stuck. */
async function frames(page: Page, ms: number): Promise<{ p95: number; max: number; long: number }> {
  const gaps = (await page.evaluate(
    (ms) =>
      new Promise<number[]>((resolve) => {
        const g = globalThis as unknown as { requestAnimationFrame(cb: (t: number) => void): void };
        const out: number[] = [];
        let last = -1;
        const start = performance.now();
        const tick = (t: number): void => {
          if (last >= 0) out.push(t - last);
          last = t;
          if (t - start < ms) g.requestAnimationFrame(tick);
          else resolve(out);
        };
        g.requestAnimationFrame(tick);
      }),
    ms,
  )) as number[];
  const sorted = Float64Array.from(gaps).sort();
  return { p95: percentile(sorted, 95), max: sorted[sorted.length - 1], long: gaps.filter((g) => g > 50).length };
}

/** The page's main thread: seconds busy with tasks and with script, from Chromium's own counters. */
async function busy(page: Page): Promise<() => Promise<{ task: number; script: number }>> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const read = async (): Promise<Record<string, number>> =>
    Object.fromEntries(
      ((await cdp.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> }).metrics.map((m) => [m.name, m.value]),
    );
  const before = await read();
  const began = Date.now();
  return async () => {
    const after = await read();
    const seconds = (Date.now() - began) / 1000;
    return { task: (after.TaskDuration - before.TaskDuration) / seconds, script: (after.ScriptDuration - before.ScriptDuration) / seconds };
  };
}

/** Typing into a widget's filter until its table shows the one row: what "responsive" means to an operator. */
async function filterLatency(page: Page, widget: string, text: string): Promise<number> {
  const input = page.locator(`${widget} .m2m-search`);
  const start = Date.now();
  await input.fill(text);
  await until(page, widget, /^1–1 of 1$/, 30000);
  const ms = Date.now() - start;
  await input.fill('');
  return ms;
}

async function main(): Promise<void> {
  const nodeRed = await startNodeRed();
  const browser = await launchChromium();
  let received = 0;
  try {
    const res = await fetch(`${nodeRed.url}/flows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(FLOW),
    });
    if (res.status !== 204) throw new Error(`deploy: ${res.status} ${await res.text()}`);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    // tsx compiles named functions with a `__name` helper that the browser lacks
    await page.addInitScript('window.__name = (f) => f;');
    page.on('websocket', (ws) =>
      ws.on('framereceived', (frame) => {
        if (typeof frame.payload === 'string' && frame.payload.includes('msg-input:b.alarms')) received++;
      }),
    );
    await page.goto(`${nodeRed.url}/dashboard`);
    await page.locator('.m2m-alarms .m2m-page-info').waitFor({ timeout: 60000 });

    let start = Date.now();
    await post(
      `${nodeRed.url}/bench/devices`,
      Array.from({ length: DEVICES }, (_, i) => device(i)),
    );
    await until(page, '.m2m-devices', new RegExp(`of ${DEVICES}$`));
    const devicesMs = Date.now() - start;
    start = Date.now();
    await post(
      `${nodeRed.url}/bench/alarms`,
      Array.from({ length: ALARMS }, (_, i) => alarm(i, 'raised', false)),
    );
    await until(page, '.m2m-alarms', new RegExp(`of ${ALARMS}$`));
    const alarmsMs = Date.now() - start;
    console.log(`load: ${DEVICES} devices in the table after ${devicesMs} ms, ${ALARMS} alarms in the list after ${alarmsMs} ms (sent as one message each)`);

    const restBusy = await busy(page);
    const restFrames = await frames(page, 3000);
    const restFilter = await filterLatency(page, '.m2m-devices', 'dev-09999');
    const restAlarmFilter = await filterLatency(page, '.m2m-alarms', 'dev-00999');
    const rest = await restBusy();

    // the storm: every alarm acknowledged, then raised again, 1,000 transitions a second
    let sent = 0;
    let stop = false;
    const storm = (async () => {
      const began = Date.now();
      while (!stop && Date.now() - began < STORM_SECONDS * 1000) {
        const batch = Array.from({ length: STORM_PER_SECOND / 10 }, () => {
          const i = sent++ % ALARMS;
          const round = Math.floor(sent / ALARMS) % 2;
          return alarm(i, round ? 'raised' : 'acknowledged', round === 0);
        });
        await post(`${nodeRed.url}/bench/alarms`, batch);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, began + (sent / STORM_PER_SECOND) * 1000 - Date.now())));
      }
      return (Date.now() - began) / 1000;
    })();
    const receivedBefore = received;
    const stormBusy = await busy(page);
    const stormFrames = await frames(page, 2500);
    const stormFilter = await filterLatency(page, '.m2m-devices', 'dev-09999');
    const stormAlarmFilter = await filterLatency(page, '.m2m-alarms', 'dev-00999');
    const stormed = await stormBusy();
    const seconds = await storm;
    stop = true;
    const deltas = received - receivedBefore;

    const row = (name: string, rest: number, busy: number, unit: string): string =>
      `  ${name.padEnd(40)} ${rest.toFixed(0).padStart(7)} ${unit}   ${busy.toFixed(0).padStart(7)} ${unit}   x${(busy / Math.max(rest, 1)).toFixed(2)}`;
    console.log(`\nwith ${ALARMS} alarms and ${DEVICES} devices shown         at rest (baseline)   storm ${Math.round(sent / seconds)}/s     ratio`);
    console.log(row('main thread busy (ms per s)', rest.task * 1000, stormed.task * 1000, 'ms'));
    console.log(row('  of it in script (ms per s)', rest.script * 1000, stormed.script * 1000, 'ms'));
    console.log(row('frame time p95', restFrames.p95, stormFrames.p95, 'ms'));
    console.log(row('frame time max', restFrames.max, stormFrames.max, 'ms'));
    console.log(row('frames over 50 ms', restFrames.long, stormFrames.long, '  '));
    console.log(row('device filter typed → 1 row shown', restFilter, stormFilter, 'ms'));
    console.log(row('alarm filter typed → 1 row shown', restAlarmFilter, stormAlarmFilter, 'ms'));
    console.log(
      `\nsocket messages to the browser during the storm: ${(deltas / seconds).toFixed(1)}/s for ${Math.round(sent / seconds)} transitions/s (x${(sent / Math.max(deltas, 1)).toFixed(0)} fewer)`,
    );
    console.log(`(Chromium headless on ${path.basename(process.execPath)} ${process.version}; Node-RED and the browser share this machine's cores)`);
  } finally {
    await browser.close();
    await nodeRed.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
