// Real-name identity (DESIGN contract 3), the one module of the app that knows how identity
// reaches a gate. Today the snapshot carries, for each real-name ticket, HMAC-SHA256 digests
// (keyed per event, truncated to 16 bytes, hex) of the normalised ID and name; the app digests
// what staff type or the camera reads the same way (ticket_format/identity.py) and compares.
//
// The `gates` work is moving contract 3 to a per-ticket seal (`identity_sealed`, opened only
// with the presented ticket's COSE signature). `openSealedIdentity` implements that variant and
// `recordForRules` uses whichever the record carries, so the switch happens here and nowhere else.

import { cborDecode } from "./ticket.js";

const DIGEST_BYTES = 16;
const SEAL_VERSION = 1;
const ID_TYPES = ["cn_ric", "passport", "hk_mo_permit", "tw_permit"];
const PATTERNS = {
  passport: /^[A-Z0-9<]{5,20}$/,
  hk_mo_permit: /^[HM]\d{8}(\d{2})?$/,
  tw_permit: /^\d{8}$/,
};
const INTERPUNCTS = /[・•．‧∙⋅]/g;
const CJK_SPACE = /(?<=[\u3400-\u9fff\uf900-\ufaff·]) | (?=[\u3400-\u9fff\uf900-\ufaff·])/g;

/** Input that cannot be checked; `code` picks the message shown to staff (i18n.js id_errors). */
export class IdentityError extends Error {
  constructor(message, code = "bad_number") {
    super(message);
    this.code = code;
  }
}

/** `type:NUMBER` of a validated ID document (parse_id), or IdentityError. */
export function canonicalId(idType, number) {
  if (!ID_TYPES.includes(idType)) throw new IdentityError(`unknown ID type ${idType}`);
  let cleaned = String(number).normalize("NFKC").toUpperCase().replace(/[ -]/g, "");
  if (idType === "cn_ric") {
    cleaned = cleaned.trim();
    if (cleaned.length !== 18) throw new IdentityError("not a valid resident ID number: wrong length");
    if (!/^\d{17}$/.test(cleaned.slice(0, 17))) throw new IdentityError("not a valid resident ID number: format");
    const sum = (1n - 2n * BigInt(parseInt13(cleaned.slice(0, 17)))) % 11n;
    const check = (sum + 11n) % 11n;
    if (cleaned[17] !== (check === 10n ? "X" : String(check))) {
      throw new IdentityError("not a valid resident ID number: check digit");
    }
    const y = +cleaned.slice(6, 10), m = +cleaned.slice(10, 12), d = +cleaned.slice(12, 14);
    const date = new Date(Date.UTC(y, m - 1, d));
    if (y < 1 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
      throw new IdentityError("not a valid resident ID number: birth date");
    }
  } else if (!PATTERNS[idType].test(cleaned)) {
    throw new IdentityError(`not a valid ${idType} number`);
  }
  return `${idType}:${cleaned}`;
}

function parseInt13(digits) {
  let v = 0n;
  for (const ch of digits) v = v * 13n + BigInt(ch);
  return v;
}

/** Python's str.casefold for the letters that lower-casing alone does not fold. */
function casefold(text) {
  return text.toLowerCase().replace(/ß/g, "ss").replace(/ς/g, "σ").replace(/ﬁ/g, "fi").replace(/ﬂ/g, "fl");
}

/** The comparable form of a name (normalize_name), or IdentityError. */
export function normalizeName(name) {
  let text = String(name).normalize("NFKC").replace(INTERPUNCTS, "·");
  text = casefold(text.replace(/\s+/g, " ").trim());
  text = text.replace(CJK_SPACE, "");
  if (!text) throw new IdentityError("the name is empty", "bad_name");
  if (text.length > 100) throw new IdentityError("the name is longer than 100 characters", "bad_name");
  if (/\p{C}/u.test(text)) throw new IdentityError("the name contains control characters", "bad_name");
  return text;
}

function hexToBytes(hexText) {
  const out = new Uint8Array(hexText.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hexText.substr(i * 2, 2), 16);
  return out;
}
function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const hmacKeys = new Map();
async function hmacKey(keyHex) {
  let key = hmacKeys.get(keyHex);
  if (!key) {
    key = await crypto.subtle.importKey("raw", hexToBytes(keyHex), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    hmacKeys.set(keyHex, key);
  }
  return key;
}

export async function digest(keyHex, text) {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(keyHex), new TextEncoder().encode(text));
  return toHex(new Uint8Array(mac).slice(0, DIGEST_BYTES));
}

/**
 * Digests of what the holder showed, under the event's identity key:
 * {id_type, id_number, name} -> {id_digest, name_digest}. IdentityError on a bad number.
 */
export async function presentedIdentity(identityKeyHex, shown) {
  if (!identityKeyHex) throw new IdentityError("the snapshot carries no identity key for this event", "no_key");
  const idDigest = shown.id_type && shown.id_number
    ? await digest(identityKeyHex, "id|" + canonicalId(shown.id_type, shown.id_number)) : null;
  const nameDigest = shown.name ? await digest(identityKeyHex, "name|" + normalizeName(shown.name)) : null;
  if (idDigest === null && nameDigest === null) {
    throw new IdentityError("give the ID type and number (and the name if the document shows it)", "missing");
  }
  return { id_digest: idDigest, name_digest: nameDigest };
}

function same(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Why the presented identity does not match the record's digests, or null when it does. */
export function identityMismatch(record, presented) {
  if (presented.id_digest == null && presented.name_digest == null) return "no ID presented";
  const held = record.identity || { id_digest: record.id_digest ?? null, name_digest: record.name_digest ?? null };
  if (held.id_digest == null && held.name_digest == null) return "the ticket list has no holder identity for this ticket";
  if (presented.id_digest != null) {
    if (held.id_digest == null || !same(held.id_digest, presented.id_digest)) return "ID number does not match the ticket holder";
  } else if (held.id_digest != null) {
    return "the ID number is needed, not only the name";
  }
  if (presented.name_digest != null && held.name_digest != null && !same(held.name_digest, presented.name_digest)) {
    return "name does not match the ticket holder";
  }
  return null;
}

/**
 * The sealed variant (the `gates` work on contract 3): a record's `identity_sealed` is unpadded
 * base64url of `version (1) || 12-byte nonce || AES-256-GCM ciphertext` of the CBOR map
 * {1: id digest, 2: name digest} (16 raw bytes each), key = HKDF-SHA256(ikm = the ticket's
 * COSE signature, salt "encore-identity-v1", info = ticket id UTF-8, 32 bytes), associated
 * data = ticket id UTF-8. Returns {id_digest, name_digest} (hex) or throws if it does not open.
 */
export async function openSealedIdentity(sealed, signature, ticketId) {
  const blob = typeof sealed === "string" ? b64(sealed) : sealed;
  if (blob.length < 1 + 12 + 16 || blob[0] !== SEAL_VERSION) throw new Error("unknown seal version or truncated seal");
  const info = new TextEncoder().encode(ticketId);
  const ikm = await crypto.subtle.importKey("raw", signature, "HKDF", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new TextEncoder().encode("encore-identity-v1"), info },
    ikm, { name: "AES-GCM", length: 256 }, false, ["decrypt"],
  );
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: blob.slice(1, 13), additionalData: info }, key, blob.slice(13),
  );
  const map = cborDecode(new Uint8Array(plain));
  if (!(map instanceof Map)) throw new Error("the sealed identity is not a map");
  const part = (k) => {
    const v = map.get(k);
    if (v === undefined || v === null) return null;
    if (!(v instanceof Uint8Array) || v.length !== DIGEST_BYTES) throw new Error("a sealed digest is 16 bytes");
    return toHex(v);
  };
  return { id_digest: part(1), name_digest: part(2) };
}

function b64(text) {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/**
 * The record as the rules need it: with the sealed identity (if the snapshot carries one)
 * opened into `identity` with the presented ticket's signature; a seal that does not open
 * leaves no holder identity (identity_mismatch), as on the gate. Plain digests are used as
 * they are.
 */
export async function recordForRules(record, signature) {
  if (!record || !record.real_name || !record.identity_sealed) return record;
  try {
    return { ...record, identity: await openSealedIdentity(record.identity_sealed, signature, record.ticket_id) };
  } catch {
    return { ...record, identity: { id_digest: null, name_digest: null } };
  }
}
