/**
 * DynamoDB's item size, by the documented rules
 * (docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * attribute names count as their UTF-8 bytes; strings their UTF-8 bytes;
 * numbers about 1 byte per 2 significant digits plus 1; booleans and null 1;
 * lists and maps 3 bytes plus their elements plus 1 byte per element.
 */
function numberSize(value: number | string): number {
  const digits = String(value).replace(/^-/, '').replace('.', '').replace(/e.*$/i, '').replace(/^0+/, '').replace(/0+$/, '') || '0';
  return Math.ceil(digits.length / 2) + 1;
}

function valueSize(value: unknown): number {
  if (value === null || value === undefined) return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return numberSize(value);
  if (typeof value === 'boolean') return 1;
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, element) => sum + valueSize(element) + 1, 0);
  if (typeof value === 'object') {
    return 3 + Object.entries(value as Record<string, unknown>).reduce((sum, [name, element]) => sum + Buffer.byteLength(name) + valueSize(element) + 1, 0);
  }
  return 0;
}

function marshalledValueSize(value: Record<string, any>): number {
  if ('S' in value) return Buffer.byteLength(value.S, 'utf8');
  if ('N' in value) return numberSize(value.N);
  if ('BOOL' in value || 'NULL' in value) return 1;
  if ('B' in value) return (value.B as Uint8Array).length;
  if ('L' in value) return 3 + (value.L as Record<string, any>[]).reduce((sum, element) => sum + marshalledValueSize(element) + 1, 0);
  if ('M' in value) return 3 + Object.entries(value.M as Record<string, any>).reduce((sum, [name, element]) => sum + Buffer.byteLength(name) + marshalledValueSize(element) + 1, 0);
  if ('SS' in value) return (value.SS as string[]).reduce((sum, element) => sum + Buffer.byteLength(element), 0);
  if ('NS' in value) return (value.NS as string[]).reduce((sum, element) => sum + numberSize(element), 0);
  return 0;
}

/** Bytes of an item, plain (document client form) or marshalled ({S: ...}). */
export function itemSizeBytes(item: Record<string, unknown>, options: { marshalled?: boolean } = {}): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + (options.marshalled ? marshalledValueSize(value as Record<string, any>) : valueSize(value)),
    0,
  );
}
