"""The staff phone app: a gate in the browser, served by the sync server at ``/staff/``.

``static/`` holds the app (plain ES modules, a service worker, a web manifest and the vendored
zxing-cpp WebAssembly reader); ``routes.py`` serves it and adds the one thing a browser cannot
do with the gate API as it is: open the push WebSocket with a bearer credential.
"""
