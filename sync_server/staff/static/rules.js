// The gate's decision as a pure function, ported from gate_agent/rules.py line for line:
// verified claims + the snapshot's record of the ticket + its known use + the gate's settings
// -> one verdict (DESIGN contract 2). No I/O, no clock: `now` is passed in. The verdict vectors
// in tests/vectors/verdicts.json hold both implementations to the same answers.

import { identityMismatch } from "./identity.js";

/** Admit (true), refuse (false), or neither (null: an exit or a hold for the ID check). */
export function admitOf(verdict) {
  if (verdict === "ok") return true;
  if (verdict === "exit_ok" || verdict === "identity_required") return null;
  return false;
}

function clock(moment) {
  return new Date(moment * 1000).toTimeString().slice(0, 8);
}

export function ticketSummary(claims) {
  return {
    ticket_id: claims.ticket_id,
    event_id: claims.event_id,
    session_id: claims.session_id,
    zone: claims.zone,
    seat: claims.seat,
    ticket_type: claims.ticket_type,
    version: claims.version,
  };
}

export const NO_USAGE = Object.freeze({
  entries: 0, inside: false, first_at: null, first_gate: null, last_at: null, last_gate: null,
});

/**
 * One verdict for a ticket whose signature verified.
 * `gate`: {gate_id, event_id, session_id, direction, allowed_zones, allowed_ticket_types,
 *          reentry, clock_skew, require_in_snapshot, static_codes}
 * `presented`: null, or {id_digest, name_digest} of what the holder showed.
 */
export function decide(claims, record, usage, gate, now, presented = null) {
  const summary = ticketSummary(claims);
  const verdict = (code, reason, details = {}) => ({ verdict: code, reason, admit: admitOf(code), ticket: summary, details });

  if (String(claims.event_id) !== String(gate.event_id)) {
    return verdict("wrong_event", `ticket is for event ${claims.event_id}, not ${gate.event_id}`);
  }
  if (gate.session_id != null && claims.session_id != null && String(claims.session_id) !== String(gate.session_id)) {
    return verdict("wrong_event", `session ${claims.session_id}, not ${gate.session_id}`);
  }

  if (record) {
    if (record.version > claims.version) {
      return verdict("revoked", `replaced by v${record.version} (this is v${claims.version})`);
    }
    if (record.status === "revoked" && record.version >= claims.version) return verdict("revoked", "refunded or cancelled");
    if (record.status === "blocked") return verdict("blocked", "blocked by the organiser");
  } else if (gate.require_in_snapshot) {
    return verdict("revoked", "not in this gate's ticket list");
  }

  // The app reads printed (static) codes only: a ticket bound to a buyer's phone never enters on
  // its picture, nor does any ticket at an event that admits live codes only (rules.py, `live`).
  if (claims.extra && claims.extra.dk != null) {
    return verdict("stale_code", "bound to the buyer's phone: scan its live code, not a picture");
  }
  if (gate.static_codes === "refused") {
    return verdict("stale_code", "this event admits live codes from the ticket page only");
  }

  const skew = gate.clock_skew ?? 300;
  if (claims.valid_from != null && now < claims.valid_from - skew) {
    return verdict("not_yet_valid", `valid from ${clock(claims.valid_from)}`);
  }
  if (claims.valid_until != null && now > claims.valid_until + skew) {
    return verdict("expired", `valid until ${clock(claims.valid_until)}`);
  }

  const zones = gate.allowed_zones || [];
  const types = gate.allowed_ticket_types || [];
  if (zones.length && !zones.includes(claims.zone)) {
    return verdict("wrong_gate", `zone ${claims.zone || "(none)"} does not enter here`);
  }
  if (types.length && !types.includes(claims.ticket_type)) {
    return verdict("wrong_gate", `type ${claims.ticket_type || "(none)"} does not enter here`);
  }

  if (gate.direction === "out") return verdict("exit_ok", "exit recorded");

  const use = usage || NO_USAGE;
  if (use.entries > 0) {
    const reentry = gate.reentry === "any" || (gate.reentry === "after_exit" && !use.inside);
    if (!reentry) {
      const when = use.last_at != null ? use.last_at : use.first_at;
      const where = use.last_gate || use.first_gate || "another gate";
      const told = when != null ? ` at ${clock(when)}` : "";
      return verdict("already_used", `entered${told} at gate ${where}`, { used_at: when, used_gate: where });
    }
  }

  if (record && record.real_name) {
    if (!presented) return verdict("identity_required", "check the holder's ID");
    const mismatch = identityMismatch(record, presented);
    if (mismatch) return verdict("identity_mismatch", mismatch);
    return verdict("ok", "ID checked" + (use.entries ? ", re-entry" : ""));
  }
  return verdict("ok", use.entries ? "re-entry" : "welcome");
}

/** The decision for a token that did not verify. */
export function refuse(error) {
  return { verdict: error.kind, reason: error.message, admit: false, ticket: null, details: {} };
}

/**
 * The gate's settings: its enrolment, with the snapshot's event-wide rules where the enrolment
 * does not set them (GateConfig.with_rules). An enrolment's own zones win; a list of none means
 * "every zone", so the event's zone rule applies then.
 */
export function gateSettings(enrolment, header) {
  const rules = (header && header.rules) || {};
  const gate = {
    gate_id: enrolment.gate_id,
    event_id: enrolment.event_id,
    session_id: enrolment.session_id ?? (header ? header.session_id : null) ?? null,
    direction: enrolment.direction || "in",
    allowed_zones: enrolment.allowed_zones || [],
    allowed_ticket_types: [],
    reentry: "none",
    clock_skew: 300,
    require_in_snapshot: false,
    static_codes: "allowed",
  };
  if (["none", "after_exit", "any"].includes(rules.reentry)) gate.reentry = rules.reentry;
  if (typeof rules.clock_skew === "number") gate.clock_skew = rules.clock_skew;
  if (Array.isArray(rules.allowed_zones) && !gate.allowed_zones.length) gate.allowed_zones = rules.allowed_zones.map(String);
  if (Array.isArray(rules.allowed_ticket_types)) gate.allowed_ticket_types = rules.allowed_ticket_types.map(String);
  if (typeof rules.require_in_snapshot === "boolean") gate.require_in_snapshot = rules.require_in_snapshot;
  if (["allowed", "refused"].includes(rules.static_codes)) gate.static_codes = rules.static_codes;
  return gate;
}

/**
 * The use of a ticket as the gate knows it: its own usage row, with the server-known entry
 * (`used_at`/`used_gate` of the snapshot or a delta) folded in, keeping the earliest
 * (GateStore._merge_used).
 */
export function knownUsage(record, usage) {
  const use = usage ? { ...usage } : { ...NO_USAGE };
  if (record && record.used_at != null && record.used_at > 0) {
    if (!usage) {
      return { entries: 1, inside: true, first_at: record.used_at, first_gate: record.used_gate ?? null,
               last_at: record.used_at, last_gate: record.used_gate ?? null };
    }
    use.entries = Math.max(use.entries, 1);
    if (use.first_at == null || record.used_at < use.first_at) {
      use.first_at = record.used_at;
      use.first_gate = record.used_gate ?? null;
    }
  }
  return use;
}
