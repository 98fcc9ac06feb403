import assert from 'assert';
import { TelemetryDecoder, decodeLpp, compileFrame, decodeBinary, DEFAULT_LIMITS } from '../../lib/telemetry';
import { M2MError } from '../../lib/errors';

const NOW = 1_700_000_000_000;
const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const lpp = (text: string) => decodeLpp(hex(text), NOW, DEFAULT_LIMITS);

describe('lpp: the Cayenne LPP documentation example frames', () => {
  it('03 67 01 10 05 67 00 FF: two temperature sensors, 27.2 and 25.5 °C', () => {
    const record = lpp('03 67 01 10 05 67 00 FF');
    assert.deepStrictEqual(record.payload, { temperature_3: 27.2, temperature_5: 25.5 });
    assert.deepStrictEqual(record.units, { temperature_3: 'Cel', temperature_5: 'Cel' });
  });

  it('01 67 FF D7 06 71 04 D2 FB 2E 00 00: temperature -4.1 (signed) and an accelerometer', () => {
    assert.deepStrictEqual(lpp('01 67 FF D7 06 71 04 D2 FB 2E 00 00').payload, {
      temperature_1: -4.1,
      accelerometer_6_x: 1.234,
      accelerometer_6_y: -1.234,
      accelerometer_6_z: 0,
    });
  });

  it('01 88 06 76 5F F2 96 0A 00 03 E8: GPS 42.3519, -87.9094, 10 m', () => {
    const record = lpp('01 88 06 76 5F F2 96 0A 00 03 E8');
    assert.deepStrictEqual(record.payload, { gps_1_latitude: 42.3519, gps_1_longitude: -87.9094, gps_1_altitude: 10 });
    assert.deepStrictEqual(record.units, { gps_1_latitude: 'lat', gps_1_longitude: 'lon', gps_1_altitude: 'm' });
  });

  it('decodes every type of the reference implementation, signed where the type is signed', () => {
    const frame = [
      '00 00 0A', // digital in 10
      '01 01 FF', // digital out 255
      '02 02 FF 38', // analog in -2.00
      '03 03 01 F4', // analog out 5.00
      '04 65 FF FF', // luminosity 65535 (unsigned)
      '05 66 01', // presence 1
      '06 68 61', // humidity 48.5
      '07 73 FF FF', // barometer 6553.5 (unsigned)
      '08 86 FF 9C 00 64 80 00', // gyrometer -1, 1, -327.68
    ].join('');
    assert.deepStrictEqual(lpp(frame).payload, {
      digital_in_0: 10,
      digital_out_1: 255,
      analog_in_2: -2,
      analog_out_3: 5,
      luminosity_4: 65535,
      presence_5: 1,
      relative_humidity_6: 48.5,
      barometric_pressure_7: 6553.5,
      gyrometer_8_x: -1,
      gyrometer_8_y: 1,
      gyrometer_8_z: -327.68,
    });
  });

  it('a truncated entry is an error naming the byte offset, not zeros', () => {
    assert.throws(
      () => lpp('03 67 01 10 05 67 00'),
      (err: unknown) => err instanceof M2MError && err.code === 'FRAME_TOO_SHORT' && /byte offset 6/.test(err.message),
    );
    assert.throws(
      () => lpp('03 42 01'),
      (err: unknown) => err instanceof M2MError && /unknown LPP type 66 \(0x42\) at byte offset 1/.test(err.message),
    );
  });

  it('decodes the extended types (ElectronicCats CayenneLPP.h) with their sizes, signedness, scale and units', () => {
    const entries: [string, string, number, string?][] = [
      // frame bytes, metric, value, unit
      ['01 64 FF FF FF FF', 'generic_1', 4294967295], // 4 bytes unsigned
      ['02 74 5A 00', 'voltage_2', 230.4, 'V'], // 2 bytes, 0.01 V
      ['03 74 FF FF', 'voltage_3', 655.35, 'V'], // unsigned
      ['04 75 27 10', 'current_4', 10, 'A'], // 2 bytes, 0.001 A
      ['05 76 00 00 C3 50', 'frequency_5', 50000, 'Hz'], // 4 bytes, 1 Hz
      ['06 78 64', 'percentage_6', 100, '%'], // 1 byte
      ['07 79 FF 9C', 'altitude_7', -100, 'm'], // 2 bytes signed, 1 m
      ['08 7D 01 90', 'concentration_8', 400, 'ppm'], // 2 bytes, 1 ppm
      ['09 80 FF FF', 'power_9', 65535, 'W'], // 2 bytes unsigned, 1 W
      ['0A 82 00 01 E2 40', 'distance_10', 123.456, 'm'], // 4 bytes, 0.001 m
      ['0B 83 80 00 00 00', 'energy_11', 2147483.648, 'kWh'], // 4 bytes unsigned, 0.001 kWh
      ['0C 84 01 68', 'direction_12', 360, 'deg'], // 2 bytes, 1 degree
      ['0D 85 65 53 F1 00', 'time_13', 1700000000, 's'], // 4 bytes, unix time
      ['0F 8E 01', 'switch_15', 1], // 1 byte
    ];
    const record = lpp(entries.map(([bytes]) => bytes).join('') + '0E 87 FF 80 00'); // colour: r, g, b
    assert.deepStrictEqual(record.payload, {
      ...Object.fromEntries(entries.map(([, metric, value]) => [metric, value])),
      colour_14_r: 255,
      colour_14_g: 128,
      colour_14_b: 0,
    });
    assert.deepStrictEqual(record.units, Object.fromEntries(entries.filter(([, , , unit]) => unit).map(([, metric, , unit]) => [metric, unit])));
  });

  it('a truncated extended entry is FRAME_TOO_SHORT; a polyline is named as unsupported', () => {
    assert.throws(() => lpp('01 64 00 00 01'), {
      code: 'FRAME_TOO_SHORT',
      message: /LPP generic on channel 1 needs 4 bytes at byte offset 2, but the frame ends at 5/,
    });
    assert.throws(() => lpp('01 87 01 02'), { code: 'FRAME_TOO_SHORT', message: /LPP colour on channel 1 needs 3 bytes/ });
    assert.throws(() => lpp('03 67 01 10 01 F0 08 01'), {
      code: 'INVALID_PAYLOAD',
      message: /LPP polyline \(type 240\) at byte offset 5 has a variable length and is not supported/,
    });
  });

  it('accepts hex and base64 strings as well as Buffers', () => {
    const decoder = new TelemetryDecoder({ format: 'lpp', deviceIdFrom: 'fixed', fixedDeviceId: 'node-1' });
    for (const payload of ['0367011005670 0FF'.replace(' ', ''), 'A2cBEAVnAP8=', hex('03670110056700FF'), [3, 0x67, 1, 0x10, 5, 0x67, 0, 0xff]]) {
      assert.deepStrictEqual(decoder.decode({ payload, now: NOW }).records[0].payload, { temperature_3: 27.2, temperature_5: 25.5 });
    }
  });
});

describe('binary: declarative frame spec', () => {
  const frame = compileFrame([
    { name: 'temperature', type: 'int16', byteOffset: 0, scale: 0.01, unit: 'Cel' },
    { name: 'humidity', type: 'uint8', byteOffset: 2, scale: 0.5, unit: '%RH' },
    { name: 'pressure', type: 'uint32', endian: 'little', byteOffset: 3, scale: 0.01, offset: 0 },
    { name: 'door', type: 'bits', byteOffset: 7, bitOffset: 0, bitLength: 1 },
    { name: 'mode', type: 'bits', byteOffset: 7, bitOffset: 4, bitLength: 3 },
    { name: 'energy', type: 'uint64', byteOffset: 8 },
    { name: 'delta', type: 'int64', endian: 'little', byteOffset: 16 },
    { name: 'ratio', type: 'float32', byteOffset: 24 },
    { name: 'precise', type: 'float64', endian: 'little', byteOffset: 28 },
    { name: 'level', type: 'int8', byteOffset: 36, offset: 100 },
    { name: 'count', type: 'uint16', endian: 'little', byteOffset: 37 },
    { name: 'signed32', type: 'int32', byteOffset: 39 },
  ]);

  function sample(): Buffer {
    const b = Buffer.alloc(43);
    b.writeInt16BE(-1234, 0);
    b.writeUInt8(81, 2);
    b.writeUInt32LE(101325, 3);
    b.writeUInt8(0b0101_0001, 7);
    b.writeBigUInt64BE(2n ** 40n, 8);
    b.writeBigInt64LE(-5n, 16);
    b.writeFloatBE(0.5, 24);
    b.writeDoubleLE(Math.PI, 28);
    b.writeInt8(-1, 36);
    b.writeUInt16LE(513, 37);
    b.writeInt32BE(-70000, 39);
    return b;
  }

  it('reads every type in either byte order, applies scale and offset, and reads bit fields', () => {
    const record = decodeBinary(sample(), NOW, frame);
    assert.deepStrictEqual(record.payload, {
      temperature: -12.34,
      humidity: 40.5,
      pressure: 1013.25,
      door: true,
      mode: 5,
      energy: 2 ** 40,
      delta: -5,
      ratio: 0.5,
      precise: Math.PI,
      level: 99,
      count: 513,
      signed32: -70000,
    });
    assert.deepStrictEqual(record.units, { temperature: 'Cel', humidity: '%RH' });
  });

  it('a frame shorter than its spec is an error naming the field and byte offset', () => {
    assert.throws(
      () => decodeBinary(sample().subarray(0, 20), NOW, frame),
      (err: unknown) => err instanceof M2MError && err.code === 'FRAME_TOO_SHORT' && /frame is 20 bytes; field "delta" needs bytes 16..23/.test(err.message),
    );
  });

  it('refuses a bad spec when the node is configured', () => {
    assert.throws(() => compileFrame([{ name: '__proto__', type: 'uint8', byteOffset: 0 }]), /not allowed/);
    assert.throws(() => compileFrame([{ name: 'a', type: 'uint9' as 'uint8', byteOffset: 0 }]), /type "uint9"/);
    assert.throws(() => compileFrame([{ name: 'a', type: 'uint8', byteOffset: -1 }]), /byte offset/);
    assert.throws(() => compileFrame([{ name: 'a', type: 'bits', byteOffset: 0, bitOffset: 30, bitLength: 8 }]), /bit length/);
    assert.throws(() => compileFrame([]), /at least one field/);
  });
});
