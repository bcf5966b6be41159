"""Local emulators that play payment providers' side of their real protocols (development and
tests only: started by the tests and ``encore demo``, never mounted in a production box office)."""
