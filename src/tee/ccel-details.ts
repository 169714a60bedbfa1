import { ByteReader } from './byte-reader.js';

/**
 * Names and decoded event data of TCG PC Client (crypto-agile) events, in the shape Trustee's
 * event log parser serialises them (`type_name`, `details.{string, unicode_name, …, device_paths}`),
 * so attestation policies written for Trustee's `uefi_event_logs` claim work unchanged.
 */
export const TCG_EVENT_TYPE_NAMES: Readonly<Record<number, string>> = {
  0x0: 'EV_PREBOOT_CERT',
  0x1: 'EV_POST_CODE',
  0x2: 'EV_UNUSED',
  0x3: 'EV_NO_ACTION',
  0x4: 'EV_SEPARATOR',
  0x5: 'EV_ACTION',
  0x6: 'EV_EVENT_TAG',
  0x7: 'EV_S_CRTM_CONTENTS',
  0x8: 'EV_S_CRTM_VERSION',
  0x9: 'EV_CPU_MICROCODE',
  0xa: 'EV_PLATFORM_CONFIG_FLAGS',
  0xb: 'EV_TABLE_OF_DEVICES',
  0xc: 'EV_COMPACT_HASH',
  0xd: 'EV_IPL',
  0xe: 'EV_IPL_PARTITION_DATA',
  0xf: 'EV_NONHOST_CODE',
  0x10: 'EV_NONHOST_CONFIG',
  0x11: 'EV_NONHOST_INFO',
  0x12: 'EV_OMIT_BOOT_DEVICE_EVENTS',
  0x80000000: 'EV_EFI_EVENT_BASE',
  0x80000001: 'EV_EFI_VARIABLE_DRIVER_CONFIG',
  0x80000002: 'EV_EFI_VARIABLE_BOOT',
  0x80000003: 'EV_EFI_BOOT_SERVICES_APPLICATION',
  0x80000004: 'EV_EFI_BOOT_SERVICES_DRIVER',
  0x80000005: 'EV_EFI_RUNTIME_SERVICES_DRIVER',
  0x80000006: 'EV_EFI_GPT_EVENT',
  0x80000007: 'EV_EFI_ACTION',
  0x80000008: 'EV_EFI_PLATFORM_FIRMWARE_BLOB',
  0x80000009: 'EV_EFI_HANDOFF_TABLES',
  0x8000000a: 'EV_EFI_PLATFORM_FIRMWARE_BLOB2',
  0x8000000b: 'EV_EFI_HANDOFF_TABLES2',
  0x8000000c: 'EV_EFI_VARIABLE_BOOT2',
  0x80000010: 'EV_EFI_HCRTM_EVENT',
  0x800000e0: 'EV_EFI_VARIABLE_AUTHORITY',
  0x800000e1: 'EV_EFI_SPDM_FIRMWARE_BLOB',
  0x800000e2: 'EV_EFI_SPDM_FIRMWARE_CONFIG',
};

/** TPM_ALG_ID → the name Trustee prints. */
export const TPM_ALG_NAMES: Readonly<Record<number, string>> = {
  0x0004: 'SHA-1',
  0x000b: 'SHA-256',
  0x000c: 'SHA-384',
  0x000d: 'SHA-512',
  0x0012: 'SM3-256',
};

/** The event type's TCG name, or `0x<hex>` for a type the spec does not define. */
export function tcgEventTypeName(type: number): string {
  return TCG_EVENT_TYPE_NAMES[type] ?? `0x${type.toString(16).padStart(8, '0')}`;
}

export interface CcelEventDetails {
  string?: string;
  unicode_name?: string;
  unicode_name_length?: number;
  variable_data?: string;
  variable_data_length?: number;
  variable_name?: string;
  device_paths?: string[];
}

/** UTF-8 text without trailing NULs (invalid sequences become U+FFFD). */
function text(b: Uint8Array): string {
  return Buffer.from(b).toString('utf8').replace(/\0+$/, '');
}

function utf16(b: Uint8Array): string {
  return Buffer.from(b.subarray(0, b.byteLength & ~1))
    .toString('utf16le')
    .replace(/\0+$/, '');
}

/** A GUID's 16 bytes as hex in byte order, grouped 4-2-2-2-6 (how Trustee prints variable GUIDs). */
function rawGuid(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A GUID in its registry form (first three fields little-endian), upper case. */
function efiGuid(b: Uint8Array): string {
  const d = Buffer.from(b);
  const hex = (x: Buffer): string => x.toString('hex');
  return [
    hex(Buffer.from(d.subarray(0, 4)).reverse()),
    hex(Buffer.from(d.subarray(4, 6)).reverse()),
    hex(Buffer.from(d.subarray(6, 8)).reverse()),
    hex(d.subarray(8, 10)),
    hex(d.subarray(10, 16)),
  ]
    .join('-')
    .toUpperCase();
}

/** UEFI_VARIABLE_DATA: GUID, u64 name length (chars), u64 data length, UTF-16 name, data. */
function variableDetails(data: Uint8Array): CcelEventDetails {
  const r = new ByteReader(data, 'uefi variable data');
  const guid = r.bytes('variable_name', 16);
  const nameLength = Number(r.u64('unicode_name_length'));
  const dataLength = Number(r.u64('variable_data_length'));
  const name = r.bytes('unicode_name', nameLength * 2);
  const value = r.bytes('variable_data', dataLength);
  return {
    unicode_name: utf16(name),
    unicode_name_length: nameLength,
    variable_data: Buffer.from(value).toString('base64'),
    variable_data_length: dataLength,
    variable_name: rawGuid(guid),
  };
}

/** UEFI device path nodes in their text form (the common ones; others as `Path(t,s,hex)`). */
export function devicePathText(path: Uint8Array): string[] {
  const out: string[] = [];
  const r = new ByteReader(path, 'device path');
  while (r.remaining >= 4) {
    const type = r.u8('type');
    const subtype = r.u8('subtype');
    const length = r.u16('length');
    if (length < 4) break;
    const body = r.bytes('node', length - 4);
    if (type === 0x7f) break;
    if (type === 4 && subtype === 3 && body.byteLength >= 16)
      out.push(
        `VenMedia(${efiGuid(body.subarray(0, 16))},${Buffer.from(body.subarray(16)).toString('hex')})`,
      );
    else if (type === 4 && subtype === 4) out.push(`File(${utf16(body)})`);
    else out.push(`Path(${String(type)},${String(subtype)},${Buffer.from(body).toString('hex')})`);
  }
  return out;
}

/** UEFI_IMAGE_LOAD_EVENT: u64 location, u64 length, u64 link-time address, u64 path length, path. */
function imageLoadDetails(data: Uint8Array): CcelEventDetails {
  const r = new ByteReader(data, 'uefi image load event');
  r.skip('image_location_in_memory', 8);
  r.skip('image_length_in_memory', 8);
  r.skip('image_link_time_address', 8);
  const pathLength = Number(r.u64('length_of_device_path'));
  return { device_paths: devicePathText(r.bytes('device_path', pathLength)) };
}

/** TCG_PCClientTaggedEvent: u32 id, u32 size, data (a NUL-terminated string for OVMF's tags). */
function taggedDetails(data: Uint8Array): CcelEventDetails {
  const r = new ByteReader(data, 'tagged event');
  r.skip('tagged_event_id', 4);
  return { string: text(r.bytes('tagged_event_data', r.u32('tagged_event_data_size'))) };
}

/** UEFI_PLATFORM_FIRMWARE_BLOB2 / UEFI_HANDOFF_TABLE_POINTERS2: u8 description size, description. */
function describedDetails(data: Uint8Array): CcelEventDetails {
  const r = new ByteReader(data, 'described event');
  return { string: text(r.bytes('description', r.u8('description_size'))) };
}

/**
 * Decodes an event's data for the `details` member. Throws TeeError (ERR_TEE_TRUNCATED) when a
 * structure the type promises runs past the data.
 */
export function ccelEventDetails(eventType: number, data: Uint8Array): CcelEventDetails {
  switch (tcgEventTypeName(eventType)) {
    case 'EV_EFI_VARIABLE_DRIVER_CONFIG':
    case 'EV_EFI_VARIABLE_BOOT':
    case 'EV_EFI_VARIABLE_BOOT2':
    case 'EV_EFI_VARIABLE_AUTHORITY':
      return variableDetails(data);
    case 'EV_EFI_BOOT_SERVICES_APPLICATION':
    case 'EV_EFI_BOOT_SERVICES_DRIVER':
    case 'EV_EFI_RUNTIME_SERVICES_DRIVER':
      return imageLoadDetails(data);
    case 'EV_EVENT_TAG':
      return taggedDetails(data);
    case 'EV_EFI_PLATFORM_FIRMWARE_BLOB2':
    case 'EV_EFI_HANDOFF_TABLES2':
      return describedDetails(data);
    case 'EV_EFI_ACTION':
    case 'EV_ACTION':
    case 'EV_PLATFORM_CONFIG_FLAGS':
    case 'EV_IPL':
      return { string: text(data) };
    default:
      return {};
  }
}
