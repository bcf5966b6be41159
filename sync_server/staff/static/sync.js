// The app's sync client: the browser twin of gate_agent/sync/client.py (contract 4).
//
// Down: the snapshot (streamed, resumable after the last ticket stored), then deltas by cursor,
// then the live push channel; without a push channel it polls deltas; with no answer at all it
// is offline and retries with backoff (0.5 s to 10 s) until the link comes back by itself.
// Up: the oldest unacknowledged scans in batches (partial: true), marking only the ids the
// server acknowledged, so a batch sent twice is stored once (scan ids are made here).
// A 401/403 means the device was revoked: the credential and the ticket list are wiped.

export const SOFTWARE_VERSION = "encore-staff/1";
const BATCH = 200;
const SNAPSHOT_BATCH = 2000;
const POLL_INTERVAL = 5000;
const PUSH_RETRY = 30000;

export class Revoked extends Error {}
class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export class Sync extends EventTarget {
  constructor(store) {
    super();
    this.store = store;
    this.running = false;
    this.ws = null;
    this.state = "offline";
    this.progress = null;
    this.error = null;
    this.backlog = 0;
    this.quarantined = 0;
    this.lastSync = null;
    this.uploaded = 0;
    this._wakeUp = null;
    this._wakeDown = null;
    this._chain = Promise.resolve();
    this.batch = BATCH;
  }

  // ------------------------------------------------------------ plumbing

  emit() {
    this.dispatchEvent(new Event("status"));
  }
  setState(state, error = null) {
    this.state = state;
    this.error = error;
    this.emit();
  }
  credential() {
    const enrolment = this.store.get("enrolment");
    return enrolment ? enrolment.credential : null;
  }

  async request(path, options = {}) {
    const headers = { ...(options.headers || {}) };
    const credential = this.credential();
    if (credential) headers.Authorization = `Bearer ${credential}`;
    let response;
    try {
      response = await fetch(path, { ...options, headers, cache: "no-store" });
    } catch (err) {
      throw new HttpError(0, `network: ${err.message}`);
    }
    if (response.status === 401 || response.status === 403) {
      if (path !== "/api/enrol") throw new Revoked(await message(response));
    }
    if (!response.ok) throw new HttpError(response.status, await message(response));
    return response;
  }

  /** Spend an enrolment code: the device's own credential and gate configuration. */
  async enrol(code) {
    const response = await fetch("/api/enrol", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code, device_name: deviceName(), software_version: SOFTWARE_VERSION }),
    });
    if (!response.ok) throw new HttpError(response.status, await message(response));
    const enrolment = await response.json();
    await this.store.setMeta({ enrolment, revoked: undefined });
    return enrolment;
  }

  start() {
    if (this.running) return;
    this.running = true;
    addEventListener("online", () => this.wake());
    addEventListener("offline", () => {
      if (this.ws) this.ws.close();
      this.setState("offline", "no network");
    });
    this.downLoop();
    this.upLoop();
    this.refreshCounts();
  }

  stop() {
    this.running = false;
    if (this.ws) this.ws.close();
    this.wake();
  }

  /** Wake both loops now (a new scan to upload, the network back). */
  wake() {
    if (this._wakeUp) this._wakeUp();
    if (this._wakeDown) this._wakeDown();
  }
  sleep(ms, which) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this[which] = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** A scan was journalled: one more to upload, and the up loop wakes now. */
  noteJournalled() {
    this.backlog += 1;
    this.emit();
    if (this._wakeUp) this._wakeUp();
  }

  async refreshCounts() {
    this.backlog = await this.store.countState(0);
    this.quarantined = await this.store.countState(2);
    this.emit();
    this.sendStatus();
  }

  async revoked(reason) {
    this.running = false;
    if (this.ws) this.ws.close();
    await this.store.wipeForRevocation();
    this.setState("revoked", reason);
  }

  // ------------------------------------------------------------ down

  async downLoop() {
    let backoff = 500;
    while (this.running) {
      try {
        if (!this.store.get("header") || this.store.get("loading")) await this.downloadSnapshot();
        await this.catchUp();
        backoff = 500;
        const opened = await this.pushChannel();
        if (!opened && this.running) {
          this.setState("polling");
          const until = Date.now() + PUSH_RETRY;
          while (this.running && Date.now() < until && this.state === "polling") {
            await this.sleep(POLL_INTERVAL, "_wakeDown");
            await this.catchUp();
          }
        }
      } catch (err) {
        if (err instanceof Revoked) return this.revoked(err.message);
        if (!this.running) return;
        this.setState("offline", err.message);
        await this.sleep(backoff, "_wakeDown");
        backoff = Math.min(backoff * 2, 10000);
      }
    }
  }

  async downloadSnapshot() {
    let loading = this.store.get("loading");
    if (!loading) {
      const slot = this.store.spareSlot();
      await this.store.clear(slot);
      loading = { slot, last_id: null, count: 0, blocks: 0, header: null };
      await this.store.setMeta({ loading });
    }
    const query = loading.last_id ? `?after=${encodeURIComponent(loading.last_id)}` : "";
    this.setState("loading");
    const response = await this.request(`/api/snapshot${query}`);
    const total = loading.count + Number(response.headers.get("X-Snapshot-Tickets") || 0);
    this.progress = { done: loading.count, total };
    this.emit();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let batch = [];
    let part = 0;
    let footer = null;
    const flush = async () => {
      if (!batch.length) return;
      loading = {
        ...loading,
        last_id: batch[batch.length - 1].ticket_id,
        count: loading.count + batch.length,
        blocks: loading.blocks + 1,
      };
      await this.store.putTickets(loading.slot, batch, loading);
      batch = [];
      this.progress = { done: loading.count, total };
      this.emit();
    };
    const line = async (text) => {
      if (!text.trim()) return;
      const data = JSON.parse(text);
      if (data.type === "header") {
        if (data.format !== "encore-snapshot/1") throw new Error(`unsupported snapshot ${data.format}`);
        if (!loading.header) loading = { ...loading, header: data };
        await this.store.setMeta({ loading });
      } else if (data.type === "footer") {
        footer = data;
      } else {
        delete data.type;
        batch.push(data);
        part += 1;
        if (batch.length >= SNAPSHOT_BATCH) await flush();
      }
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const lines = (buffer + value).split("\n");
      buffer = lines.pop();
      for (const text of lines) await line(text);
    }
    await line(buffer);
    await flush();
    if (!footer) throw new Error(`snapshot truncated after ${loading.count} tickets; resuming`);
    if (footer.count !== part) throw new Error(`snapshot footer says ${footer.count} tickets, ${part} read`);
    const header = loading.header;
    await this.store.switchSnapshot(loading.slot, {
      header, cursor: String(header.cursor), loading: undefined,
      snapshot_count: loading.count, snapshot_at: Date.now() / 1000,
    });
    this.progress = null;
    this.lastSync = Date.now();
    this.dispatchEvent(new Event("snapshot"));
    this.emit();
  }

  /** Deltas from the cursor until the server has no more. */
  async catchUp() {
    for (;;) {
      const cursor = this.store.get("cursor") || "0";
      const response = await this.request(`/api/deltas?after=${encodeURIComponent(cursor)}&limit=1000`);
      const page = await response.json();
      if (page.tickets.length || page.cursor !== cursor) await this.applyPage(page);
      this.lastSync = Date.now();
      this.emit();
      if (!page.more) return;
    }
  }

  async applyPage(page) {
    const records = page.tickets.map((t) => {
      const r = { ...t };
      delete r.type;
      return r;
    });
    await this.store.applyDelta(records, String(page.cursor), page.keyring || null);
    if (records.length) this.dispatchEvent(new CustomEvent("delta", { detail: records }));
  }

  /** The live channel; resolves when it closes. False if it could not be opened at all. */
  async pushChannel() {
    let ticket;
    try {
      ({ ticket } = await (await this.request("/staff/api/push-ticket", { method: "POST" })).json());
    } catch (err) {
      // A server (or proxy) that answers but offers no push channel: poll instead.
      if (err instanceof HttpError && err.status !== 0) return false;
      throw err;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/staff/api/push?ticket=${encodeURIComponent(ticket)}`);
    this.ws = ws;
    return new Promise((resolve) => {
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this.setState("online");
        this.sendStatus();
      };
      ws.onmessage = (event) => {
        this._chain = this._chain.then(() => this.onPush(JSON.parse(event.data))).catch((err) => {
          if (err instanceof Revoked) this.revoked(err.message);
          else ws.close();
        });
      };
      ws.onclose = (event) => {
        this.ws = null;
        if (event.code === 4003) {
          this.request("/api/deltas?after=0&limit=1").catch((err) => {
            if (err instanceof Revoked) this.revoked(err.message);
          });
        }
        resolve(opened);
      };
    });
  }

  async onPush(message) {
    if (message.type === "delta") {
      if (String(message.after) === this.store.get("cursor")) await this.applyPage(message);
      else await this.catchUp();
    } else if (message.type === "behind" || message.type === "hello") {
      await this.catchUp();
    }
    this.lastSync = Date.now();
    this.emit();
  }

  sendStatus() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "status", cursor: this.store.get("cursor") || null, backlog: this.backlog }));
    }
  }

  // ------------------------------------------------------------ up

  async upLoop() {
    let backoff = 500;
    while (this.running) {
      let sent = 0;
      try {
        sent = await this.uploadOnce();
        backoff = 500;
      } catch (err) {
        if (err instanceof Revoked) return this.revoked(err.message);
        if (this.state !== "loading") this.setState("offline", err.message);
        await this.sleep(backoff, "_wakeUp");
        backoff = Math.min(backoff * 2, 10000);
        continue;
      }
      if (!sent) await this.sleep(2000, "_wakeUp");
    }
  }

  /** Send one batch of unacknowledged scans; returns how many were settled. */
  async uploadOnce() {
    const pending = await this.store.pending(this.batch);
    if (!pending.length) {
      await this.refreshCounts();
      return 0;
    }
    const enrolment = this.store.get("enrolment");
    if (!enrolment) return 0;
    const body = {
      scans: pending.map(wireScan),
      cursor: this.store.get("cursor") || null,
      backlog: this.backlog,
      software_version: SOFTWARE_VERSION,
      partial: true,
    };
    let response;
    try {
      response = await this.request("/api/scans", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (err) {
      const transient = [0, 404, 405, 408, 429].includes(err.status) || err.status >= 500;
      if (err instanceof HttpError && !transient) {
        if (pending.length === 1) {
          await this.store.settle([], [{ scan_id: pending[0].scan_id, error: err.message }]);
          await this.refreshCounts();
          return 1;
        }
        this.batch = Math.max(1, Math.floor(pending.length / 2));
        return 0;
      }
      throw err;
    }
    const ack = await response.json();
    await this.store.settle(ack.acknowledged || [], ack.rejected || []);
    this.uploaded += (ack.acknowledged || []).length;
    this.batch = BATCH;
    this.lastSync = Date.now();
    if (this.state === "offline") this.setState(this.ws ? "online" : "polling");
    await this.refreshCounts();
    return pending.length;
  }
}

/** A journal row as contract 4's Scan (wire/sync_api.py). */
export function wireScan(row) {
  return {
    scan_id: row.scan_id, at: row.at, verdict: row.verdict, gate: row.gate, device: row.device,
    direction: row.direction, admit: row.admit, reason: row.reason, source: row.source,
    ticket_id: row.ticket_id, ticket_version: row.ticket_version, details: row.details || {},
  };
}

async function message(response) {
  try {
    const data = await response.json();
    return data.detail || data.error || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

function deviceName() {
  const ua = navigator.userAgent;
  const model = /Android[^;)]*;\s*([^;)]+)/.exec(ua) || /(iPhone|iPad)/.exec(ua);
  return `staff phone${model ? ` (${model[1].trim().slice(0, 40)})` : ""}`;
}
