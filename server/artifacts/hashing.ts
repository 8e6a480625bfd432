// SHA-256 of a body as it streams past: the bytes are hashed exactly as they are written, with no second read.
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { chunksOf } from "./fs-store";

type Body = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** Passes `body` through unchanged, feeding every chunk to `hash`; stopping early cancels the body. */
export async function* hashing(body: Body, hash: Hash): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunksOf(body)) {
    hash.update(chunk);
    yield chunk;
  }
}

export const sha256 = () => createHash("sha256");

/** SHA-256 (hex) of a file on disk, read as a stream. */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = sha256();
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
