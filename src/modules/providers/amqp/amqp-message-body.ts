import { gunzipSync, inflateSync } from 'node:zlib';
import type { Message } from 'amqplib';

/** What a message's body holds: its JSON, or why it holds none this consumer can read. */
export type MessageBody = { ok: true; data: unknown } | { ok: false; reason: string };

/** Strict UTF-8: a body in another charset is refused, not stored with U+FFFD in place of its letters. A BOM is dropped. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The JSON a message carries, read as its sender wrote it: decompressed when its
 * `content-encoding` says gzip or deflate, then read as UTF-8 (RFC 8259 lets a sender put a byte
 * order mark first). Decompressing stops past `maxBytes`, so a small message cannot unpack into
 * gigabytes.
 */
export function readMessageBody(message: Message, maxBytes: number): MessageBody {
  const encoding = (message.properties as { contentEncoding?: unknown }).contentEncoding;
  let content = message.content;
  try {
    content = decoded(content, typeof encoding === 'string' ? encoding.trim().toLowerCase() : '', maxBytes);
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  let text: string;
  try {
    text = UTF8.decode(content);
  } catch {
    return { ok: false, reason: 'is not UTF-8' };
  }
  try {
    return { ok: true, data: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: 'is not JSON' };
  }
}

function decoded(content: Buffer, encoding: string, maxBytes: number): Buffer {
  const unpack = (inflate: (body: Buffer) => Buffer, name: string) => {
    try {
      return inflate(content);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new Error(
        code === 'ERR_BUFFER_TOO_LARGE'
          ? `unpacks to more than ${maxBytes} bytes`
          : `is not the ${name} its content-encoding says`,
      );
    }
  };
  switch (encoding) {
    case '':
    case 'identity':
    case 'utf-8':
    case 'utf8':
      return content;
    case 'gzip':
    case 'x-gzip':
      return unpack((body) => gunzipSync(body, { maxOutputLength: maxBytes }), 'gzip');
    case 'deflate':
      return unpack((body) => inflateSync(body, { maxOutputLength: maxBytes }), 'deflate');
    default:
      throw new Error(`has a content-encoding (${encoding}) this consumer cannot read`);
  }
}
