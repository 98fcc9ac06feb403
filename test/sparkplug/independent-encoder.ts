import { parse, type Type } from 'protobufjs';

// An encoder independent of the pack's descriptor: the Payload message of the Sparkplug 3.0 specification
// (section 6.4.1, field numbers and types as the specification gives them) written out as .proto text here
// and compiled by protobufjs's own parser. snake_case fields become camelCase in protobufjs objects.
const PROTO = `
syntax = "proto2";
message Payload {
  message Template {
    message Parameter {
      optional string name = 1; optional uint32 type = 2;
      oneof value { uint32 int_value = 3; uint64 long_value = 4; float float_value = 5; double double_value = 6; bool boolean_value = 7; string string_value = 8; }
    }
    optional string version = 1; repeated Metric metrics = 2; repeated Parameter parameters = 3;
    optional string template_ref = 4; optional bool is_definition = 5;
  }
  message DataSet {
    message DataSetValue {
      oneof value { uint32 int_value = 1; uint64 long_value = 2; float float_value = 3; double double_value = 4; bool boolean_value = 5; string string_value = 6; }
    }
    message Row { repeated DataSetValue elements = 1; }
    optional uint64 num_of_columns = 1; repeated string columns = 2; repeated uint32 types = 3; repeated Row rows = 4;
  }
  message PropertyValue {
    optional uint32 type = 1; optional bool is_null = 2;
    oneof value {
      uint32 int_value = 3; uint64 long_value = 4; float float_value = 5; double double_value = 6; bool boolean_value = 7;
      string string_value = 8; PropertySet propertyset_value = 9; PropertySetList propertysets_value = 10;
    }
  }
  message PropertySet { repeated string keys = 1; repeated PropertyValue values = 2; }
  message PropertySetList { repeated PropertySet propertyset = 1; }
  message MetaData {
    optional bool is_multi_part = 1; optional string content_type = 2; optional uint64 size = 3; optional uint64 seq = 4;
    optional string file_name = 5; optional string file_type = 6; optional string md5 = 7; optional string description = 8;
  }
  message Metric {
    optional string name = 1; optional uint64 alias = 2; optional uint64 timestamp = 3; optional uint32 datatype = 4;
    optional bool is_historical = 5; optional bool is_transient = 6; optional bool is_null = 7;
    optional MetaData metadata = 8; optional PropertySet properties = 9;
    oneof value {
      uint32 int_value = 10; uint64 long_value = 11; float float_value = 12; double double_value = 13;
      bool boolean_value = 14; string string_value = 15; bytes bytes_value = 16; DataSet dataset_value = 17; Template template_value = 18;
    }
  }
  optional uint64 timestamp = 1; repeated Metric metrics = 2; optional uint64 seq = 3; optional string uuid = 4; optional bytes body = 5;
}`;

const Payload: Type = parse(PROTO).root.lookupType('Payload');

export type IndependentMetric = Record<string, unknown>;

export function encodeIndependently(payload: { timestamp?: number; seq?: number; metrics: IndependentMetric[] }): Buffer {
  const message = Payload.fromObject(payload);
  const problem = Payload.verify(message);
  if (problem) throw new Error(problem);
  return Buffer.from(Payload.encode(message).finish());
}

export function decodeIndependently(bytes: Uint8Array): Record<string, unknown> {
  return Payload.toObject(Payload.decode(bytes), { longs: String, bytes: Buffer }) as Record<string, unknown>;
}
