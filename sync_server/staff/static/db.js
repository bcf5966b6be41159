// The app's durable state in IndexedDB: what a gate agent keeps in its SQLite file.
//
//   meta      key -> value: enrolment (credential, gate), snapshot header, cursor, active slot,
//             an interrupted download's progress
//   tickets_a / tickets_b   the snapshot's ticket records by ticket_id; one is active, the
//             other receives the next snapshot, which is switched in by one write of `meta`
//   usage     what this device knows about each ticket's use (entries, inside, first/last)
//   journal   every scan, oldest first (auto-increment seq), with `state` 0 = not yet
//             acknowledged by the server, 1 = acknowledged, 2 = refused by the server for good
//
// A scan's verdict is decided and journalled in ONE readwrite transaction with strict
// durability, and the caller shows it only after that transaction completed (contract 4).

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
    db.createObjectStore("tickets_a", { keyPath: "ticket_id" });
    db.createObjectStore("tickets_b", { keyPath: "ticket_id" });
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
    // The active snapshot and the usage rows, also held in memory once warm(): a scan then
    // needs no IndexedDB read, only its one write transaction (the journal is still the truth).
    this.tickets = null;
    this.usage = null;
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

  /** Load the active ticket list and the usage rows into memory (about 1 s for 50,000 tickets). */
  warm() {
    return this.exclusive(() => this._warm());
  }

  async _warm() {
    const slot = this.activeSlot();
    const tx = this.db.transaction([slot, "usage"]);
    const [records, usage] = await Promise.all([
      promised(tx.objectStore(slot).getAll()),
      promised(tx.objectStore("usage").getAll()),
    ]);
    if (slot !== this.activeSlot()) return this._warm(); // a new snapshot was switched in meanwhile
    this.tickets = new Map(records.map((r) => [r.ticket_id, r]));
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

  /** Ticket records of one snapshot part, into the spare slot (durability relaxed: the switch is strict). */
  async putTickets(slot, records, progress) {
    const tx = this.db.transaction(["meta", slot], "readwrite", { durability: "relaxed" });
    const store = tx.objectStore(slot);
    for (const r of records) store.put(r);
    if (progress) tx.objectStore("meta").put(progress, "loading");
    await done(tx);
    if (progress) this.meta.set("loading", progress);
  }

  /** Changed tickets of a delta page and the new cursor (and keyring), in one transaction. */
  applyDelta(records, cursor, keyring) {
    return this.exclusive(() => this._applyDelta(records, cursor, keyring));
  }

  async _applyDelta(records, cursor, keyring) {
    const slot = this.activeSlot();
    const tx = this.db.transaction(["meta", slot], "readwrite", { durability: "strict" });
    const store = tx.objectStore(slot);
    for (const r of records) store.put(r);
    const meta = tx.objectStore("meta");
    meta.put(cursor, "cursor");
    if (keyring) {
      const header = { ...this.get("header"), keyring };
      meta.put(header, "header");
    }
    await done(tx);
    if (this.tickets) for (const r of records) this.tickets.set(r.ticket_id, r);
    this.meta.set("cursor", cursor);
    if (keyring) this.meta.set("header", { ...this.get("header"), keyring });
  }

  async ticketCount(slot = this.activeSlot()) {
    return promised(this.db.transaction(slot).objectStore(slot).count());
  }

  /**
   * Decide and journal one scan atomically: `decideWith(record, usage)` runs synchronously
   * inside the transaction and returns {decision, entry}; the scan and the ticket's new use are
   * written in the same transaction. Resolves once it is durable.
   */
  decideAndJournal(ticketId, decideWith) {
    return this.exclusive(() =>
      this.tickets && this.usage ? this.decideFromMemory(ticketId, decideWith) : this._decideFromDb(ticketId, decideWith),
    );
  }

  async _decideFromDb(ticketId, decideWith) {
    const slot = this.activeSlot();
    const stores = ticketId ? [slot, "usage", "journal"] : ["journal"];
    const tx = this.db.transaction(stores, "readwrite", { durability: "strict" });
    const finished = done(tx);
    let result;
    const write = (record, usage) => {
      result = decideWith(record, usage);
      tx.objectStore("journal").add(result.entry);
      if (ticketId && (result.entry.verdict === "ok" || result.entry.verdict === "exit_ok")) {
        tx.objectStore("usage").put(nextUsage(result.usage ?? usage, result.entry));
      }
    };
    if (!ticketId) {
      write(null, null);
    } else {
      const recordReq = tx.objectStore(slot).get(ticketId);
      const usageReq = tx.objectStore("usage").get(ticketId);
      usageReq.onsuccess = () => {
        try {
          write(recordReq.result || null, usageReq.result || null);
        } catch (err) {
          result = { error: err };
          tx.abort();
        }
      };
    }
    try {
      await finished;
    } catch (err) {
      if (result && result.error) throw result.error;
      throw err;
    }
    return result;
  }

  /** As decideAndJournal, reading the warm in-memory state: one write-only transaction. */
  async decideFromMemory(ticketId, decideWith) {
    const record = ticketId ? this.tickets.get(ticketId) || null : null;
    const usage = ticketId ? this.usage.get(ticketId) || null : null;
    const result = decideWith(record, usage);
    const stores = ticketId ? ["usage", "journal"] : ["journal"];
    const tx = this.db.transaction(stores, "readwrite", { durability: "strict" });
    tx.objectStore("journal").add(result.entry);
    let next = null;
    if (ticketId && (result.entry.verdict === "ok" || result.entry.verdict === "exit_ok")) {
      next = nextUsage(result.usage ?? usage, result.entry);
      tx.objectStore("usage").put(next);
    }
    await done(tx);
    if (next) this.usage.set(ticketId, next);
    return result;
  }

  async lookup(ticketId) {
    if (this.tickets && this.usage) {
      return { record: this.tickets.get(ticketId) || null, usage: this.usage.get(ticketId) || null };
    }
    const slot = this.activeSlot();
    const tx = this.db.transaction([slot, "usage"]);
    const [record, usage] = await Promise.all([
      promised(tx.objectStore(slot).get(ticketId)),
      promised(tx.objectStore("usage").get(ticketId)),
    ]);
    return { record: record || null, usage: usage || null };
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
    const tx = this.db.transaction(["meta", "tickets_a", "tickets_b"], "readwrite", { durability: "strict" });
    tx.objectStore("tickets_a").clear();
    tx.objectStore("tickets_b").clear();
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
