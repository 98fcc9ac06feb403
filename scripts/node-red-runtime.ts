// Node-RED embedded in our own http server (npm start): the parts of its
// runtime API and of express used to do that. node-red brings express; neither ships types that are installed here.
import type http from 'http';

/** An express request handler, as app.use and Node-RED's httpAdmin / httpNode are. */
export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse, next?: () => void) => void;

/** The express application: a handler that mounts others under a path. */
export interface ExpressApp extends RequestHandler {
  use(path: string, handler: RequestHandler): void;
}

/** require('node-red'): initialised on a server with settings, started, stopped; its admin and node HTTP apps. */
export interface NodeRedRuntime {
  init(server: http.Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  httpAdmin: RequestHandler;
  httpNode: RequestHandler;
}
