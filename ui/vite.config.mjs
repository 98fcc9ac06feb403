// Builds one Dashboard 2.0 widget (M2M_WIDGET, e.g. ui-m2m-alarms) as the dashboard loads third-party widgets:
// a UMD library named after the widget, Vue left out (the dashboard provides window.Vue), written to resources/,
// which Node-RED serves as /resources/@m2mflow/node-red-m2m/. scripts/build-widgets.js runs it per widget.
import { resolve } from 'path';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const ENTRIES = { 'ui-m2m-alarms': 'alarms/index.js', 'ui-m2m-devices': 'devices/index.js' };

export default defineConfig(() => {
  const widget = process.env.M2M_WIDGET;
  if (!ENTRIES[widget]) throw new Error(`M2M_WIDGET must be one of ${Object.keys(ENTRIES).join(', ')}`);
  return {
    plugins: [vue()],
    logLevel: 'warn',
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
    build: {
      lib: {
        entry: resolve(import.meta.dirname, ENTRIES[widget]),
        name: widget,
        formats: ['umd'],
        fileName: () => `${widget}.umd.js`,
      },
      outDir: resolve(import.meta.dirname, '..', 'resources'),
      emptyOutDir: false,
      copyPublicDir: false,
      rollupOptions: {
        external: ['vue'],
        output: { globals: { vue: 'Vue' } },
      },
    },
  };
});
