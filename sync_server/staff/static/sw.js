// The service worker: the app shell from the cache first (so the app starts with no network
// after its first load), refreshed from the network in the background when it answers.
// The sync API (/api/..., /staff/api/...) never goes through the cache.

const CACHE = "encore-staff-v1";
const SHELL = [
  "/staff/", "/staff/app.js", "/staff/app.css", "/staff/db.js", "/staff/i18n.js", "/staff/identity.js",
  "/staff/rules.js", "/staff/samples.js", "/staff/scanner.js", "/staff/sync.js", "/staff/ticket.js", "/staff/manifest.webmanifest",
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
      const fresh = fetch(event.request)
        .then((response) => {
          if (response.ok) cache.put(key, response.clone());
          return response;
        })
        .catch(() => null);
      if (cached) {
        event.waitUntil(fresh);
        return cached;
      }
      return (await fresh) || new Response("offline", { status: 503 });
    }),
  );
});
