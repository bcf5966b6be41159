// The app's durable state in IndexedDB: what a gate agent keeps in its SQLite file.
//
//   meta      key -> value: enrolment (credential, gate), snapshot header, cursor, active slot,
//             an interrupted download's progress
//   tickets_a / tickets_b   the snapshot's ticket records in blocks (block number -> array of
//             records, one block per downloaded batch); one slot is active, the other receives
//             the next snapshot, which is switched in by one write of `meta`. Blocks, not one
//             IndexedDB record per ticket: 50,000 single puts took 10 s at 4x CPU throttling,
//             50 blocks take 0.25 s (bench/staff_app.py)
//   changes   ticket records from deltas since the active snapshot, by ticket_id (they win)
//   usage     what this device knows about each ticket's use (entries, inside, first/last)
//   journal   every scan, oldest first (auto-increment seq), with `state` 0 = not yet
//             acknowledged by the server, 1 = acknowledged, 2 = refused by the server for good
//
// Decisions read an in-memory copy of the ticket list and the usage rows (`warm()`), so a scan
// costs ONE write transaction (journal + usage) with strict durability, and the caller shows
// the verdict only after it completed (contract 4).

const DB_NAME = "encore-staff";
const DB_VERSION = 1;
export const PENDING = 0, ACKED = 1, QUARANTINED = 2;

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}
function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

export async function openStore(name = DB_NAME) {
  const request = indexedDB.open(name, DB_VERSION);
  request.onupgradeneeded = () => {
    const db = request.result;
    db.createObjectStore("meta");
    db.createObjectStore("tickets_a");
    db.createObjectStore("tickets_b");
    db.createObjectStore("changes", { keyPath: "ticket_id" });
    db.createObjectStore("usage", { keyPath: "ticket_id" });
    const journal = db.createObjectStore("journal", { keyPath: "seq", autoIncrement: true });
    journal.createIndex("state", "state");
    journal.createIndex("scan_id", "scan_id", { unique: true });
  };
  return new Store(await promised(request));
}

export class Store {
  constructor(db) {
    this.db = db;
    this.meta = new Map();
    this.tickets = null; // ticket_id -> record, once warm
    this.usage = null; // ticket_id -> usage row, once warm
    this._lock = Promise.resolve();
  }

  /**
   * Run `fn` alone among warm(), applyDelta() and decideAndJournal(), so the in-memory copy
   * never misses a write made while it was being loaded.
   */
  exclusive(fn) {
    const run = this._lock.then(fn);
    this._lock = run.catch(() => {});
    return run;
  }

  /** Load the active ticket list, its changes and the usage rows into memory. */
  warm() {
    return this.exclusive(() => this._warm());
  }

  async _warm() {
    const slot = this.activeSlot();
    const tx = this.db.transaction([slot, "changes", "usage"]);
    const [blocks, changes, usage] = await Promise.all([
      promised(tx.objectStore(slot).getAll()),
      promised(tx.objectStore("changes").getAll()),
      promised(tx.objectStore("usage").getAll()),
    ]);
    if (slot !== this.activeSlot()) return this._warm(); // a new snapshot was switched in meanwhile
    const tickets = new Map();
    for (const block of blocks) for (const r of block) tickets.set(r.ticket_id, r);
    for (const r of changes) tickets.set(r.ticket_id, r);
    this.tickets = tickets;
    this.usage = new Map(usage.map((u) => [u.ticket_id, u]));
  }

  async loadMeta() {
    const tx = this.db.transaction("meta");
    const store = tx.objectStore("meta");
    const [keys, values] = await Promise.all([promised(store.getAllKeys()), promised(store.getAll())]);
    this.meta = new Map(keys.map((k, i) => [k, values[i]]));
    return this.meta;
  }

  get(key) {
    return this.meta.get(key);
  }

  /** Write meta values durably (strict) and keep them in memory. */
  async setMeta(values) {
    const tx = this.db.transaction("meta", "readwrite", { durability: "strict" });
    const store = tx.objectStore("meta");
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) store.delete(k); else store.put(v, k);
    }
    await done(tx);
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) this.meta.delete(k); else this.meta.set(k, v);
    }
  }

  activeSlot() {
    return this.get("active") || "tickets_a";
  }
  spareSlot() {
    return this.activeSlot() === "tickets_a" ? "tickets_b" : "tickets_a";
  }

  async clear(storeName) {
    const tx = this.db.transaction(storeName, "readwrite");
    tx.objectStore(storeName).clear();
    await done(tx);
  }

  /**
   * One downloaded batch of a snapshot as block `progress.blocks - 1` of the spare slot, with
   * the download's progress, in one transaction (relaxed: the switch itself is strict).
   */
  async putTickets(slot, records, progress) {
    const tx = this.db.transaction(["meta", slot], "readwrite", { durability: "relaxed" });
    tx.objectStore(slot).put(records, progress.blocks - 1);
    tx.objectStore("meta").put(progress, "loading");
    await done(tx);
    this.meta.set("loading", progress);
  }

  /**
   * Switch a fully downloaded snapshot in: one strict transaction makes it active and drops the
   * previous snapshot's changes; then the in-memory copy is rebuilt from it.
   */
  switchSnapshot(slot, meta) {
    return this.exclusive(async () => {
      const tx = this.db.transaction(["meta", "changes"], "readwrite", { durability: "strict" });
      tx.objectStore("changes").clear();
      const store = tx.objectStore("meta");
      for (const [k, v] of Object.entries({ ...meta, active: slot })) {
        if (v === undefined) store.delete(k); else store.put(v, k);
      }
      await done(tx);
      for (const [k, v] of Object.entries({ ...meta, active: slot })) {
        if (v === undefined) this.meta.delete(k); else this.meta.set(k, v);
      }
      await this._warm();
    });
  }

  /** Changed tickets of a delta page and the new cursor (and keyring), in one transaction. */
  applyDelta(records, cursor, keyring) {
    return this.exclusive(() => this._applyDelta(records, cursor, keyring));
  }

  async _applyDelta(records, cursor, keyring) {
    const tx = this.db.transaction(["meta", "changes"], "readwrite", { durability: "strict" });
    const changes = tx.objectStore("changes");
    for (const r of records) changes.put(r);
    const meta = tx.objectStore("meta");
    meta.put(cursor, "cursor");
    const header = keyring ? { ...this.get("header"), keyring } : null;
    if (header) meta.put(header, "header");
    await done(tx);
    if (this.tickets) for (const r of records) this.tickets.set(r.ticket_id, r);
    this.meta.set("cursor", cursor);
    if (header) this.meta.set("header", header);
  }

  /** How many tickets a slot holds (the active one: with the changes since its snapshot). */
  async ticketCount(slot = this.activeSlot()) {
    if (slot === this.activeSlot() && this.tickets) return this.tickets.size;
    const blocks = await promised(this.db.transaction(slot).objectStore(slot).getAll());
    return blocks.reduce((n, b) => n + b.length, 0);
  }

  /**
   * Decide and journal one scan atomically: `decideWith(record, usage)` runs synchronously on
   * the in-memory state and returns {decision, usage, entry}; the scan and the ticket's new use
   * are written in one strict transaction. Resolves once it is durable.
   */
  decideAndJournal(ticketId, decideWith) {
    return this.exclusive(async () => {
      if (!this.tickets || !this.usage) await this._warm();
      const record = ticketId ? this.tickets.get(ticketId) || null : null;
      const usage = ticketId ? this.usage.get(ticketId) || null : null;
      const result = decideWith(record, usage);
      const tx = this.db.transaction(ticketId ? ["usage", "journal"] : ["journal"], "readwrite", { durability: "strict" });
      tx.objectStore("journal").add(result.entry);
      let next = null;
      if (ticketId && (result.entry.verdict === "ok" || result.entry.verdict === "exit_ok")) {
        next = nextUsage(result.usage ?? usage, result.entry);
        tx.objectStore("usage").put(next);
      }
      await done(tx);
      if (next) this.usage.set(ticketId, next);
      return result;
    });
  }

  /** A ticket's record and usage row as the rules will see them. */
  lookup(ticketId) {
    return this.exclusive(async () => {
      if (!this.tickets || !this.usage) await this._warm();
      return { record: this.tickets.get(ticketId) || null, usage: this.usage.get(ticketId) || null };
    });
  }

  async pending(limit) {
    const index = this.db.transaction("journal").objectStore("journal").index("state");
    return promised(index.getAll(PENDING, limit));
  }

  async countState(state) {
    return promised(this.db.transaction("journal").objectStore("journal").index("state").count(state));
  }

  async recentScans(limit = 20) {
    const store = this.db.transaction("journal").objectStore("journal");
    const out = [];
    return new Promise((resolve, reject) => {
      const req = store.openCursor(null, "prev");
      req.onsuccess = () => {
        const cursor = req.result;
        if (!cursor || out.length >= limit) return resolve(out);
        out.push(cursor.value);
        cursor.continue();
      };
      req.onerror = () => reject(req.error);
    });
  }

  async allScans() {
    return promised(this.db.transaction("journal").objectStore("journal").getAll());
  }

  /** Mark scans the server acknowledged (1) or refused for good (2, with its message). */
  async settle(ackedIds, rejected = []) {
    const tx = this.db.transaction("journal", "readwrite", { durability: "strict" });
    const store = tx.objectStore("journal");
    const index = store.index("scan_id");
    const set = (scanId, change) => {
      const req = index.get(scanId);
      req.onsuccess = () => {
        const row = req.result;
        if (row && row.state === PENDING) store.put({ ...row, ...change });
      };
    };
    for (const id of ackedIds) set(id, { state: ACKED });
    for (const r of rejected) if (r.scan_id) set(r.scan_id, { state: QUARANTINED, refused: r.error });
    await done(tx);
  }

  /** Forget the credential and the ticket list (a revoked device); the journal stays. */
  async wipeForRevocation() {
    const tx = this.db.transaction(["meta", "tickets_a", "tickets_b", "changes"], "readwrite", { durability: "strict" });
    tx.objectStore("tickets_a").clear();
    tx.objectStore("tickets_b").clear();
    tx.objectStore("changes").clear();
    const meta = tx.objectStore("meta");
    for (const key of ["enrolment", "header", "cursor", "loading", "active"]) meta.delete(key);
    meta.put(true, "revoked");
    await done(tx);
    this.tickets = null;
    this.usage = null;
    await this.loadMeta();
  }
}

/** A ticket's use after a journalled entry or exit (GateStore._mark_entry / _mark_exit). */
export function nextUsage(usage, entry) {
  const u = usage || { ticket_id: entry.ticket_id, entries: 0, inside: false, first_at: null, first_gate: null, last_at: null, last_gate: null };
  if (entry.verdict === "exit_ok") return { ...u, ticket_id: entry.ticket_id, inside: false, last_at: u.last_at ?? entry.at, last_gate: u.last_gate ?? entry.gate };
  const first = u.first_at == null || entry.at < u.first_at;
  const last = u.last_at == null || entry.at >= u.last_at;
  return {
    ticket_id: entry.ticket_id,
    entries: u.entries + 1,
    inside: true,
    first_at: first ? entry.at : u.first_at,
    first_gate: first ? entry.gate : u.first_gate,
    last_at: last ? entry.at : u.last_at,
    last_gate: last ? entry.gate : u.last_gate,
  };
}
