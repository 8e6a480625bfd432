// CRC-32 (IEEE 802.3), as zip stores it per entry and PNG per chunk. zlib's native crc32 (Node 20.15+)
// where there is one: it runs per inflated chunk on the event loop, so it must be fast; a table otherwise.
import zlib from "node:zlib";

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function tableCrc32(data: Uint8Array, seed = 0): number {
  let c = (seed ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** The CRC-32 of `data`, continuing from `seed` (the CRC of what came before). */
export function crc32(data: Uint8Array, seed = 0): number {
  return native ? native(data, seed) >>> 0 : tableCrc32(data, seed);
}
