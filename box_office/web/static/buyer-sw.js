// The buyer's tickets page as an installable web app that opens with no signal (issue #13).
// The tickets page is fetched from the network when there is one (and kept), and from what
// was kept when there is none. Nothing else is cached: orders and sign-in need the server.
const CACHE = "encore-tickets-v1";
const KEEP = ["/me/tickets", "/me/manifest.webmanifest", "/me/icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(KEEP)).then(() => self.skipWaiting()));
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
  if (event.request.method !== "GET" || url.origin !== location.origin || !KEEP.includes(url.pathname)) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        // keep only a real tickets page (a signed-out visit is redirected to sign-in)
        if (response.ok && !response.redirected) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        return response;
      })
      .catch(() => caches.match(url.pathname).then((kept) => kept || Response.error())),
  );
});
