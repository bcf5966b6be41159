"""Payment providers behind one interface, and the sandbox provider used in tests and demos."""
