"""Pure rules of the box office: no I/O, no database, plain values in and out."""
