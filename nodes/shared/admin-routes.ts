// The admin HTTP API under /m2m/ on Node-RED's admin server, and the live-update messages for the editor's
// M2M sidebar. Installed once per admin server by whichever m2m node module loads first.
import { AdminApi, adminStatus } from '../../lib/admin/api';
import { Coalescer } from '../../lib/admin/coalescer';
import { adminDirectory, type AdminDirectory } from '../../lib/admin/directory';
import {
  checkAlarmOp,
  checkBody,
  checkPathId,
  checkRuleName,
  parseAlarmQuery,
  parseCommandQuery,
  parseDeviceSearch,
  parseJobQuery,
  shelveDuration,
} from '../../lib/admin/requests';
import type { SourceKind } from '../../lib/admin/types';
import { errorMessage, M2MError } from '../../lib/errors';
import type { NodeAPI } from './node-red';

/** The parts of an Express request and response the routes use. */
export interface AdminRequest {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  user?: { username?: unknown };
  is(type: string): string | false | null;
}
export interface AdminResponse {
  status(code: number): AdminResponse;
  json(body: unknown): void;
  headersSent?: boolean;
}
type Next = (err?: unknown) => void;
type Handler = (req: AdminRequest, res: AdminResponse, next: Next) => void;
type ErrorHandler = (err: unknown, req: AdminRequest, res: AdminResponse, next: Next) => void;

export interface AdminHttp {
  get(path: string, ...handlers: Handler[]): void;
  post(path: string, ...handlers: Handler[]): void;
  use(path: string, handler: ErrorHandler): void;
}
export interface AdminAuth {
  needsPermission(permission: string): Handler;
}
interface Comms {
  publish(topic: string, data: unknown, retain: boolean): void;
}
interface AdminRED {
  httpAdmin?: AdminHttp;
  auth?: AdminAuth;
  comms?: Comms;
}

/** The comms topic prefix the sidebar subscribes to (`m2m/#`): `m2m/devices`, `m2m/alarms`, `m2m/commands`, `m2m/jobs`. */
export const LIVE_TOPIC = 'm2m/';
/** Live updates go out at most this often per topic, however fast things change. */
export const LIVE_INTERVAL_MS = 250;

const installed = new WeakSet<object>();
let comms: Comms | undefined;
let live: Coalescer | undefined;

/** Installs the routes on this runtime's admin server, once however many node modules call it. */
export function installAdminApi(RED: NodeAPI): void {
  const red = RED as unknown as AdminRED;
  if (red.comms) comms = red.comms;
  startLiveUpdates(adminDirectory);
  if (!red.httpAdmin || !red.auth || installed.has(red.httpAdmin)) return;
  installed.add(red.httpAdmin);
  registerAdminRoutes(red.httpAdmin, red.auth, adminDirectory);
}

function startLiveUpdates(directory: AdminDirectory): void {
  if (live) return;
  const coalescer = new Coalescer((topic) => comms?.publish(topic, { ts: Date.now() }, false), LIVE_INTERVAL_MS);
  directory.onChange((kind: SourceKind) => coalescer.mark(LIVE_TOPIC + kind));
  live = coalescer;
}

/**
 * Node-RED's permission check answers 401 both without a token and for a user who lacks the permission;
 * the second is a 403 (signed in, not allowed).
 */
function guarded(auth: AdminAuth, permission: string): Handler {
  const check = auth.needsPermission(permission);
  return (req, res, next) => {
    const status = res.status.bind(res);
    res.status = (code: number) => status(code === 401 && req.user ? 403 : code);
    check(req, res, (err?: unknown) => {
      res.status = status;
      next(err);
    });
  };
}

function fail(res: AdminResponse, err: unknown): void {
  const status = adminStatus(err);
  const body = err instanceof M2MError ? { code: err.code, message: err.message, field: err.field } : { code: 'INTERNAL', message: errorMessage(err) };
  res.status(status).json(body);
}

/** Runs a handler and answers its result as JSON, or its error as `{ code, message, field }`. */
function answer(work: (req: AdminRequest) => unknown): Handler {
  return (req, res) => {
    Promise.resolve()
      .then(() => work(req))
      .then(
        (result) => res.json(result),
        (err: unknown) => fail(res, err),
      );
  };
}

function hasBody(req: AdminRequest): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Who changed something: the signed-in admin user, or `editor` when the editor has no admin auth. */
function actor(req: AdminRequest): string {
  const name = req.user?.username;
  return typeof name === 'string' && name !== '' ? name : 'editor';
}

export function registerAdminRoutes(http: AdminHttp, auth: AdminAuth, directory: AdminDirectory): void {
  const api = new AdminApi(directory);
  const read = guarded(auth, 'm2m.read');
  const write = guarded(auth, 'm2m.write');

  http.get(
    '/m2m/registries',
    read,
    answer(() => api.registries()),
  );
  http.get(
    '/m2m/registries/:id/devices',
    read,
    answer((req) => api.devices(checkPathId(req.params.id, 'registry'), parseDeviceSearch(req.query))),
  );
  http.get(
    '/m2m/registries/:id/devices/:deviceId',
    read,
    answer((req) => api.device(checkPathId(req.params.id, 'registry'), checkPathId(req.params.deviceId, 'deviceId'))),
  );
  http.get(
    '/m2m/alarms',
    read,
    answer((req) => api.alarms(parseAlarmQuery(req.query))),
  );

  const control = (req: AdminRequest, rule: string | undefined): Promise<unknown> => {
    const node = checkPathId(req.params.node, 'node');
    const deviceId = checkPathId(req.params.deviceId, 'deviceId');
    const op = checkAlarmOp(req.params.op);
    const body = checkBody(req.body, hasBody(req), Boolean(req.is('application/json')));
    const duration = op === 'shelve' ? shelveDuration(body) : undefined;
    return api.controlAlarm(node, { op, deviceId, rule, duration, by: actor(req) });
  };
  // without a rule: every rule of the device on that node (ack-all)
  http.post(
    '/m2m/alarms/:node/:deviceId/:op',
    write,
    answer((req) => control(req, undefined)),
  );
  http.post(
    '/m2m/alarms/:node/:deviceId/:rule/:op',
    write,
    answer((req) => control(req, checkRuleName(req.params.rule))),
  );

  http.get(
    '/m2m/commands',
    read,
    answer((req) => api.commands(parseCommandQuery(req.query))),
  );
  http.post(
    '/m2m/commands/:node/:commandId/cancel',
    write,
    answer((req) => {
      const node = checkPathId(req.params.node, 'node');
      const commandId = checkPathId(req.params.commandId, 'commandId');
      checkBody(req.body, hasBody(req), Boolean(req.is('application/json')));
      return api.cancelCommand(node, commandId, actor(req));
    }),
  );

  http.get(
    '/m2m/jobs',
    read,
    answer((req) => api.jobs(parseJobQuery(req.query))),
  );

  // a body that is not valid JSON fails in the admin server's body parser, before any route: answer it as JSON too
  http.use('/m2m', (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    const status = (err as { status?: unknown }).status;
    if (status === 400 || status === 413) fail(res, new M2MError('INVALID_FIELD', `the body is not valid JSON: ${errorMessage(err)}`, { field: 'body' }));
    else next(err);
  });
}
