import { defineNodeConfig } from '../../lib/config/reader';
import { WIDGET_LAYOUT_SCHEMA, type WidgetLayout } from '../shared/widget-config';

// The saved properties of a ui-m2m-devices widget, each default here and in the editor's defaults.

export interface DevicesWidgetConfig extends WidgetLayout {
  /** An m2m-registry whose devices the table shows; '' when it is fed by the messages wired in. */
  registry: string;
  /** Rows per page in the browser. */
  pageSize: number;
  /** The most devices the widget keeps; more are counted and shown as dropped. */
  maxDevices: number;
}

export const DEVICES_WIDGET_CONFIG = defineNodeConfig<DevicesWidgetConfig>({
  type: 'ui-m2m-devices',
  steps: [],
  schema: {
    type: 'object',
    properties: {
      ...WIDGET_LAYOUT_SCHEMA,
      registry: { type: 'string', default: '' },
      pageSize: { type: 'integer', minimum: 5, maximum: 500, default: 25 },
      maxDevices: { type: 'integer', minimum: 1, maximum: 1000000, default: 100000 },
    },
    required: ['group'],
  },
});
