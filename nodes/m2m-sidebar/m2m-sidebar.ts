// The runtime side of the editor's M2M sidebar (an editor plugin; its tab is in m2m-sidebar.html): the admin
// API it reads from. The m2m node modules install the same API; whichever loads first does it, once.
import { installAdminApi } from '../shared/admin-routes';
import type { NodeAPI } from '../shared/node-red';

interface PluginAPI {
  plugins?: { registerPlugin(id: string, definition: object): void };
}

export = function (RED: NodeAPI): void {
  installAdminApi(RED);
  (RED as unknown as PluginAPI).plugins?.registerPlugin('m2m-sidebar', { type: 'm2m-sidebar' });
};
