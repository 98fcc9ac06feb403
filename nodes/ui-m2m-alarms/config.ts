import { defineNodeConfig } from '../../lib/config/reader';
import { WIDGET_LAYOUT_SCHEMA, type WidgetLayout } from '../shared/widget-config';

// The saved properties of a ui-m2m-alarms widget, each default here and in the editor's defaults.

export interface AlarmsWidgetConfig extends WidgetLayout {
  /** Seconds an alarm is shelved for by the widget's shelve button. */
  shelveFor: number;
  /** A short tone besides the flash when a new unacknowledged alarm comes in. */
  sound: boolean;
  /** Sends `{ topic: "list" }` after each deploy, so the wired rule nodes' active alarms show at once. */
  syncOnStart: boolean;
  /** Rows per page in the browser. */
  pageSize: number;
  /** The most alarms the widget keeps; more are counted and shown as dropped. */
  maxAlarms: number;
}

export const ALARMS_WIDGET_CONFIG = defineNodeConfig<AlarmsWidgetConfig>({
  type: 'ui-m2m-alarms',
  steps: [],
  schema: {
    type: 'object',
    properties: {
      ...WIDGET_LAYOUT_SCHEMA,
      shelveFor: { type: 'number', exclusiveMinimum: 0, maximum: 2147483, default: 3600 },
      sound: { type: 'boolean', default: false },
      syncOnStart: { type: 'boolean', default: true },
      pageSize: { type: 'integer', minimum: 5, maximum: 500, default: 50 },
      maxAlarms: { type: 'integer', minimum: 1, maximum: 100000, default: 10000 },
    },
    required: ['group'],
  },
});
