"""What is for sale: principals, venues, events and sessions, changes after on-sale, keys, cache."""
