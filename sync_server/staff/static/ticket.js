// The signed ticket (DESIGN contract 1) in the browser: EN1: + Base45 of a COSE_Sign1 signed
// with Ed25519. A port of ticket_format/token.py and claims.py that gives the same outcome for
// every input: the claims, or an error whose `kind` is the gate verdict (malformed,
// unknown_key, invalid_signature). Ed25519 is checked by WebCrypto; nothing here touches the
// network or the page, so the verdict vectors test it directly.

export const PREFIX = "EN1:";
const MAX_TOKEN_LENGTH = 2048;
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const DIGITS = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DIGITS[ALPHABET.charCodeAt(i)] = i;

export class TicketError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}
const malformed = (message) => new TicketError("malformed", message);

export function base45Decode(text) {
  const n = text.length;
  if (n % 3 === 1) throw malformed("bad Base45: length leaves a dangling character");
  const out = new Uint8Array(Math.floor(n / 3) * 2 + (n % 3 ? 1 : 0));
  let o = 0;
  const digit = (i) => {
    const c = text.charCodeAt(i);
    const d = c < 128 ? DIGITS[c] : -1;
    if (d < 0) throw malformed("bad Base45: character outside the alphabet");
    return d;
  };
  let i = 0;
  for (; i + 3 <= n; i += 3) {
    const v = digit(i) + 45 * digit(i + 1) + 2025 * digit(i + 2);
    if (v > 0xffff) throw malformed("bad Base45: a group's value exceeds 65535");
    out[o++] = v >> 8;
    out[o++] = v & 0xff;
  }
  if (i < n) {
    const v = digit(i) + 45 * digit(i + 1);
    if (v > 0xff) throw malformed("bad Base45: the final pair's value exceeds 255");
    out[o++] = v;
  }
  return out;
}

// ---------------------------------------------------------------- CBOR (RFC 8949), decoding only

export class Tagged {
  constructor(tag, value) {
    this.tag = tag;
    this.value = value;
  }
}
const UNDEFINED = Symbol("undefined");
const DEPTH_LIMIT = 64;

class Reader {
  constructor(bytes) {
    this.b = bytes;
    this.p = 0;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n) {
    if (this.p + n > this.b.length) throw malformed("CBOR ends early");
  }
  length(info) {
    if (info < 24) return info;
    if (info === 24) { this.need(1); return this.b[this.p++]; }
    if (info === 25) { this.need(2); const v = this.view.getUint16(this.p); this.p += 2; return v; }
    if (info === 26) { this.need(4); const v = this.view.getUint32(this.p); this.p += 4; return v; }
    if (info === 27) {
      this.need(8);
      const v = this.view.getBigUint64(this.p);
      this.p += 8;
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    throw malformed("CBOR indefinite or reserved length");
  }
  item(depth = 0) {
    if (depth > DEPTH_LIMIT) throw malformed("CBOR nested too deeply");
    this.need(1);
    const head = this.b[this.p++];
    const major = head >> 5;
    const info = head & 31;
    if (major === 7) return this.simple(info);
    const arg = this.length(info);
    switch (major) {
      case 0: return arg;
      case 1: return typeof arg === "bigint" ? -1n - arg : -1 - arg;
      case 2: case 3: {
        if (typeof arg === "bigint") throw malformed("CBOR string too long");
        this.need(arg);
        const raw = this.b.subarray(this.p, this.p + arg);
        this.p += arg;
        if (major === 2) return raw.slice();
        try { return new TextDecoder("utf-8", { fatal: true }).decode(raw); }
        catch { throw malformed("CBOR text is not UTF-8"); }
      }
      case 4: {
        if (typeof arg === "bigint" || arg > this.b.length) throw malformed("CBOR array too long");
        const out = [];
        for (let i = 0; i < arg; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        if (typeof arg === "bigint" || arg > this.b.length) throw malformed("CBOR map too long");
        const out = new Map();
        for (let i = 0; i < arg; i++) {
          const key = this.item(depth + 1);
          if (key instanceof Map || Array.isArray(key)) throw malformed("CBOR map key is not hashable");
          out.set(key instanceof Uint8Array ? bytesKey(key) : key, this.item(depth + 1));
        }
        return out;
      }
      case 6: {
        const value = this.item(depth + 1);
        if ((arg === 2 || arg === 3) && value instanceof Uint8Array) {
          let big = 0n;
          for (const byte of value) big = (big << 8n) | BigInt(byte);
          return arg === 2 ? big : -1n - big;
        }
        return new Tagged(arg, value);
      }
    }
    throw malformed("CBOR major type");
  }
  simple(info) {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    if (info === 23) return UNDEFINED;
    if (info === 25) { this.need(2); const h = this.view.getUint16(this.p); this.p += 2; return half(h); }
    if (info === 26) { this.need(4); const v = this.view.getFloat32(this.p); this.p += 4; return new Float(v); }
    if (info === 27) { this.need(8); const v = this.view.getFloat64(this.p); this.p += 8; return new Float(v); }
    if (info === 24) { this.need(1); this.p++; return UNDEFINED; }
    if (info < 20) return UNDEFINED;
    throw malformed("CBOR break or reserved simple value");
  }
}

/** A CBOR float, kept apart from integers (Python's cbor2 makes it a float, never a claim int). */
export class Float {
  constructor(value) { this.value = value; }
}
function half(h) {
  const exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  const v = exp === 0 ? frac * 2 ** -24 : exp === 31 ? (frac ? NaN : Infinity) : (1 + frac / 1024) * 2 ** (exp - 15);
  return new Float(h & 0x8000 ? -v : v);
}
/** Byte strings as map keys: compared by content, as Python does with bytes. */
function bytesKey(bytes) {
  return "\u0000bytes:" + hex(bytes);
}

export function cborDecode(bytes, { strict = false, what = "CBOR" } = {}) {
  const reader = new Reader(bytes);
  let value;
  try {
    value = reader.item();
  } catch (err) {
    if (err instanceof TicketError) throw malformed(`${what} is not valid CBOR (${err.message})`);
    throw err;
  }
  if (strict && reader.p !== bytes.length) throw malformed(`${what} has trailing bytes`);
  return value;
}

/** Size of the shortest CBOR encoding of a decoded value, as cbor2.dumps would write it. */
function encodedSize(value) {
  const head = (n) => {
    const big = typeof n === "bigint" ? n : BigInt(n);
    return big < 24n ? 1 : big < 0x100n ? 2 : big < 0x10000n ? 3 : big < 0x100000000n ? 5 : 9;
  };
  if (typeof value === "number" || typeof value === "bigint") {
    return head(value < 0 ? -BigInt(value) - 1n : value);
  }
  if (typeof value === "boolean" || value === null || value === UNDEFINED) return 1;
  if (value instanceof Float) return 9;
  if (value instanceof Uint8Array) return head(value.length) + value.length;
  if (typeof value === "string") {
    if (value.startsWith("\u0000bytes:")) { const n = (value.length - 7) / 2; return head(n) + n; }
    const n = new TextEncoder().encode(value).length;
    return head(n) + n;
  }
  if (Array.isArray(value)) return value.reduce((s, v) => s + encodedSize(v), head(value.length));
  if (value instanceof Map) {
    let size = head(value.size);
    for (const [k, v] of value) size += encodedSize(k) + encodedSize(v);
    return size;
  }
  if (value instanceof Tagged) return head(value.tag) + encodedSize(value.value);
  return 9;
}

function bstrSize(n) {
  return n < 24 ? 1 + n : n < 0x100 ? 2 + n : (n < 0x10000 ? 3 : 5) + n;
}
function bstrHead(n) {
  if (n < 24) return [0x40 | n];
  if (n < 0x100) return [0x58, n];
  if (n < 0x10000) return [0x59, n >> 8, n & 0xff];
  return [0x5a, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}
const SIG1_HEAD = [0x84, 0x6a, ...new TextEncoder().encode("Signature1")];

export function sigStructure(protectedBytes, payload) {
  const parts = [SIG1_HEAD, bstrHead(protectedBytes.length), protectedBytes, [0x40], bstrHead(payload.length), payload];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function hex(bytes) {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

// ---------------------------------------------------------------- keyring

/**
 * Trusted public keys by key id (hex), from the snapshot's `encore-keyring/1` JSON.
 * Keys are imported into WebCrypto once and kept.
 */
export class Keyring {
  constructor(json) {
    if (!json || json.format !== "encore-keyring/1" || !Array.isArray(json.keys)) {
      throw new Error("not an encore-keyring/1 keyring");
    }
    this.byKid = new Map();
    for (const entry of json.keys) {
      const raw = b64url(entry.public_key);
      const item = { raw, validFrom: entry.valid_from ?? null, validUntil: entry.valid_until ?? null, key: null };
      const kid = entry.kid;
      if (!this.byKid.has(kid)) this.byKid.set(kid, []);
      this.byKid.get(kid).push(item);
    }
  }
  candidates(kidHex) {
    return this.byKid.get(kidHex) || [];
  }
  trustedAt(kidHex, now) {
    return this.candidates(kidHex).filter(
      (k) => (k.validFrom === null || now >= k.validFrom) && (k.validUntil === null || now <= k.validUntil),
    );
  }
}

function b64url(text) {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function cryptoKey(entry) {
  if (!entry.key) {
    entry.key = await crypto.subtle.importKey("raw", entry.raw, { name: "Ed25519" }, false, ["verify"]);
  }
  return entry.key;
}

// ---------------------------------------------------------------- COSE_Sign1

function parseSign1(message) {
  const item = cborDecode(message, { what: "message" });
  if (!(item instanceof Tagged) || item.tag !== 18) throw malformed("not a COSE_Sign1 message");
  const parts = item.value;
  if (!Array.isArray(parts) || parts.length !== 4) throw malformed("COSE_Sign1 must be an array of 4");
  const [prot, unprot, payload, signature] = parts;
  if (!(prot instanceof Uint8Array) || !(payload instanceof Uint8Array)) {
    throw malformed("protected header and payload must be byte strings");
  }
  if (!(signature instanceof Uint8Array) || signature.length !== 64) {
    throw malformed("an Ed25519 signature is 64 bytes");
  }
  if (!(unprot instanceof Map)) throw malformed("unprotected header must be a map");
  const unprotSize = unprot.size === 0 ? 1 : encodedSize(unprot);
  const expected = 2 + bstrSize(prot.length) + unprotSize + bstrSize(payload.length) + 66;
  if (expected !== message.length) throw malformed("message has trailing bytes or a non-shortest encoding");
  return { prot, unprot, payload, signature };
}

function protectedKid(prot) {
  const header = cborDecode(prot, { strict: true, what: "protected header" });
  if (!(header instanceof Map)) throw malformed("protected header is not a map");
  if (header.get(1) !== -8) throw malformed("algorithm is not EdDSA");
  const kid = header.get(4);
  if (kid !== undefined && !(kid instanceof Uint8Array)) throw malformed("key id must be a byte string");
  return kid;
}

/**
 * The verified claims of a scanned text, or a TicketError (kind = verdict).
 * Also returns the COSE signature bytes: the sealed-identity variant of contract 3 derives the
 * ticket's identity key from them.
 */
export async function verifyToken(token, keyring, now) {
  if (typeof token !== "string") throw malformed("token is not text");
  if (token.length > MAX_TOKEN_LENGTH) throw malformed(`token longer than ${MAX_TOKEN_LENGTH} characters`);
  if (!token.startsWith(PREFIX)) throw malformed(`no ${PREFIX} prefix: not an Encore ticket`);
  const message = base45Decode(token.slice(PREFIX.length));
  const { prot, unprot, payload, signature } = parseSign1(message);
  let kid = protectedKid(prot);
  if (kid === undefined) kid = unprot.get(4);
  if (!(kid instanceof Uint8Array)) throw new TicketError("unknown_key", "message carries no key id");
  const kidHex = hex(kid);
  if (keyring.candidates(kidHex).length === 0) {
    throw new TicketError("unknown_key", `key ${kidHex} is not trusted here`);
  }
  const current = keyring.trustedAt(kidHex, now);
  if (current.length === 0) throw new TicketError("unknown_key", `key ${kidHex} is outside its validity window`);
  const signed = sigStructure(prot, payload);
  for (const entry of current) {
    if (await crypto.subtle.verify({ name: "Ed25519" }, await cryptoKey(entry), signature, signed)) {
      let map;
      try {
        map = cborDecode(payload, { what: "signed payload" });
      } catch {
        throw malformed("signed payload is not valid CBOR");
      }
      return { claims: claimsFromMap(map), signature };
    }
  }
  throw new TicketError("invalid_signature", "signature does not verify: forged or altered");
}

// ---------------------------------------------------------------- claims

const FIELDS = ["ticket_id", "event_id", "session_id", "zone", "seat", "ticket_type", "valid_from", "valid_until", "version"];
const isInt = (v) => (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
const TYPES = {
  ticket_id: (v) => typeof v === "string",
  event_id: (v) => typeof v === "string" || isInt(v),
  session_id: (v) => typeof v === "string" || isInt(v),
  zone: (v) => typeof v === "string",
  seat: (v) => typeof v === "string",
  ticket_type: (v) => typeof v === "string",
  valid_from: isInt,
  valid_until: isInt,
  version: isInt,
};

/** Claims from the decoded payload map (TicketClaims.from_cbor_map), or malformed. */
export function claimsFromMap(packed) {
  if (!(packed instanceof Map)) throw malformed("payload is not a map");
  const known = {};
  const extra = {};
  for (const [key, value] of packed) {
    if (typeof key === "number" && Number.isInteger(key)) {
      const name = FIELDS[key - 1];
      if (!name || key < 1) throw malformed(`unknown claim key ${key}`);
      known[name] = value;
    } else if (typeof key === "string" && !key.startsWith("\u0000bytes:") && !FIELDS.includes(key)) {
      extra[key] = value;
    } else {
      throw malformed("bad claim key");
    }
  }
  let ticketId = known.ticket_id;
  if (ticketId instanceof Uint8Array) {
    if (ticketId.length !== 16) throw malformed("packed ticket id is not 16 bytes");
    const h = hex(ticketId);
    known.ticket_id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  if (isInt(known.valid_from) && isInt(known.valid_until)) {
    known.valid_until = Number(known.valid_from) + Number(known.valid_until);
  }
  if (known.version === undefined) known.version = 1;
  if (known.ticket_id === undefined || known.event_id === undefined) {
    throw malformed("bad claims: claims need at least 'ticket_id' and 'event_id'");
  }
  for (const [name, value] of Object.entries(known)) {
    if (value !== null && !TYPES[name](value)) throw malformed(`bad claims: '${name}' has the wrong type`);
  }
  for (const name of ["ticket_id", "event_id", "version"]) {
    if (known[name] === null) throw malformed(`bad claims: '${name}' must not be null`);
  }
  if (!known.ticket_id) throw malformed("bad claims: 'ticket_id' must not be empty");
  if (known.version < 0) throw malformed("bad claims: 'version' must be >= 0");
  if (known.valid_from != null && known.valid_until != null && known.valid_until < known.valid_from) {
    throw malformed("bad claims: 'valid_until' is before 'valid_from'");
  }
  if (Object.keys(extra).length > 16) throw malformed("bad claims: at most 16 extra fields");
  const claims = { session_id: null, zone: null, seat: null, ticket_type: null, valid_from: null, valid_until: null };
  for (const [name, value] of Object.entries(known)) claims[name] = typeof value === "bigint" ? Number(value) : value;
  claims.extra = extra;
  return claims;
}
