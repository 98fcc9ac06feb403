import { decodeWirePayload, type WireMetric, type WirePayload, type WirePropertyValue } from '../telemetry/sparkplug-codec';

// The parts of the decoded payload the telemetry decoder does not type: the host reads every field of the
// specification's Payload (section 6.4), all of which the shared descriptor already decodes.
// 64-bit fields are unsigned decimal strings and bytes are base64 text, as decodeWirePayload hands them over.

export interface FullPropertyValue extends WirePropertyValue {
  intValue?: number;
  longValue?: string;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  propertysetValue?: FullPropertySet;
  propertysetsValue?: { propertyset?: FullPropertySet[] };
}
export interface FullPropertySet {
  keys?: string[];
  values?: FullPropertyValue[];
}
export interface WireScalar {
  intValue?: number;
  longValue?: string;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
}
export interface WireDataSet {
  numOfColumns?: string;
  columns?: string[];
  types?: number[];
  rows?: { elements?: WireScalar[] }[];
}
export interface WireTemplate {
  version?: string;
  metrics?: FullMetric[];
  parameters?: (WireScalar & { name?: string; type?: number })[];
  templateRef?: string;
  isDefinition?: boolean;
}
export interface FullMetric extends Omit<WireMetric, 'properties'> {
  isHistorical?: boolean;
  isTransient?: boolean;
  properties?: FullPropertySet;
  bytesValue?: string;
  datasetValue?: WireDataSet;
  templateValue?: WireTemplate;
  metadata?: { fileName?: string; fileType?: string; contentType?: string; md5?: string; description?: string };
}
export interface FullPayload extends Omit<WirePayload, 'metrics'> {
  metrics?: FullMetric[];
  uuid?: string;
}

export function decodeFullPayload(bytes: Uint8Array): FullPayload {
  return decodeWirePayload(bytes) as FullPayload;
}
