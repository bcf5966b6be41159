"""The venue feed (contract 5): ticket changes out to sync servers, check-ins back."""
