"""The device profiles shipped with the gate agent: one TOML file per scanner model or family.

Data only; a package so that a wheel carries the files and ``importlib.resources`` finds them
(``gate_agent.profiles.PACKAGED_PROFILES``) wherever the agent is installed.
"""
