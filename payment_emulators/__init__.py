"""Local emulators of payment providers (development and test tools, never mounted in production).

Each plays one provider's side of its real protocol with keys of its own, so the box office's
real SDK clients can be pointed at it on loopback.
"""
