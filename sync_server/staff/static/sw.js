// The service worker: the whole app cached at install, served from the cache (so the app starts
// with no network after its first load). The server names the cache after a hash of the app's
// files (routes.py), so a new version is a new worker that caches the new files together and
// then drops the old cache. The sync API (/api/..., /staff/api/...) never goes through here.

const CACHE = "encore-staff-dev";
const SHELL = [
  "/staff/", "/staff/app.js", "/staff/app.css", "/staff/db.js", "/staff/i18n.js", "/staff/identity.js",
  "/staff/roi.js", "/staff/rules.js", "/staff/samples.js", "/staff/scanner.js", "/staff/sync.js", "/staff/ticket.js", "/staff/manifest.webmanifest",
  "/staff/icon.svg", "/staff/icon-192.png", "/staff/icon-512.png",
  "/staff/vendor/zxing/zxing_reader.js", "/staff/vendor/zxing/zxing_reader.wasm",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin) return;
  if (!url.pathname.startsWith("/staff/") || url.pathname.startsWith("/staff/api/")) return;
  const key = url.pathname === "/staff/index.html" ? "/staff/" : url.pathname;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(key);
      if (cached) return cached;
      try {
        const response = await fetch(event.request);
        if (response.ok) cache.put(key, response.clone());
        return response;
      } catch {
        return new Response("offline", { status: 503 });
      }
    }),
  );
});
