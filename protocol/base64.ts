/**
 * Base64 for bytes that are not text (binary keys and values in the JSON API).
 * Standard alphabet with padding, as JSON APIs of Kafka (Confluent's REST proxy) use.
 */
import { EdgelogError } from "./errors";

const CHUNK = 0x8000;

/**
 * Bytes to base64.
 *
 * @example
 * toBase64(new Uint8Array([0xff, 0x00])) // "/wA="
 */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}

/**
 * Bytes to URL-safe base64 without padding (RFC 4648 §5): JWT parts, ids and secrets.
 *
 * @example
 * toBase64Url(new Uint8Array([0xff, 0xef])) // "_-8"
 */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Base64 to bytes; anything that is not base64 is INVALID_RECORD.
 *
 * @example
 * fromBase64("/wA=") // Uint8Array [0xff, 0x00]
 */
export function fromBase64(text: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new EdgelogError("INVALID_RECORD", "a base64 field is not valid base64");
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
