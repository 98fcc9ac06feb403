import type { PropertySchema } from '../../lib/config/reader';

// The properties every Dashboard 2.0 widget saves (read by the dashboard itself): its group, place and size.
export interface WidgetLayout {
  version: number;
  name: string;
  group: string;
  order: number;
  width: number;
  height: number;
}

export const WIDGET_LAYOUT_SCHEMA: Record<string, PropertySchema> = {
  name: { type: 'string', default: '' },
  group: { type: 'string', minLength: 1 },
  order: { type: 'integer', minimum: 0, default: 0 },
  width: { type: 'integer', minimum: 0, default: 0 },
  height: { type: 'integer', minimum: 0, default: 0 },
};
